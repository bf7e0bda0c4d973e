# IUT: the alert servers a LoST mapping names (draft-rosen-atoca-server-discovery 3), reached
# as the draft prescribes: sip URIs with the SIP event package for CAP (draft-rosen-sipping-cap,
# RFC 6665), xmpp URIs with CAP over XMPP publish-subscribe (XEP-0127, XEP-0060), http URIs as
# a GeoRSS feed carrying CAP. The harness is the citizen in area A and in area B and the alert
# originator (CAP 1.2 alerts, validated against the OASIS schema rules, POSTed to the ingest
# of the deployment). Each subscription of the citizen in the alert's area must receive the
# alert once, schema-valid and equal to what was published; the other citizen nothing.
# Embedded runs use the harness's reference alert server and the embedded XMPP server; a target
# file's [warning] names a real ECRF and ingest, and [warning.xmpp] a real XMPP server
# (tests/prosody.rs runs these against Prosody).
@warning @serial
Feature: Alert delivery over SIP, XMPP and HTTP (draft-rosen-atoca-server-discovery 3)

  Background:
    Given a warning distribution deployment

  @TP_WARN_SIP_BV_01 @clause-ATOCA-3 @BV
  Scenario: Every sip subscription in the alert's area gets the CAP alert in a NOTIFY, intact
    When the citizens in areas A and B subscribe on every sip URI LoST gives them for "urn:service:warning.met"
    And the originator publishes an alert for area A
    Then every subscription of the citizen in area A receives the alert intact within 3000 ms (draft-rosen-atoca-server-discovery 3)
    And the citizen in area B receives no alert within 500 ms (draft-rosen-atoca-server-discovery 1)

  @TP_WARN_XMPP_BV_01 @clause-ATOCA-3 @BV
  Scenario: Every xmpp subscription in the alert's area gets the CAP alert as a pubsub item, intact
    When the citizens in areas A and B subscribe on every xmpp URI LoST gives them for "urn:service:warning.met"
    And the originator publishes an alert for area A
    Then every subscription of the citizen in area A receives the alert intact within 3000 ms (draft-rosen-atoca-server-discovery 3)
    And the citizen in area B receives no alert within 500 ms (draft-rosen-atoca-server-discovery 1)

  @TP_WARN_HTTP_BV_01 @clause-ATOCA-3 @BV
  Scenario: Every http subscription in the alert's area finds the CAP alert in its GeoRSS feed, intact
    When the citizens in areas A and B subscribe on every http URI LoST gives them for "urn:service:warning.met"
    And the originator publishes an alert for area A
    Then every subscription of the citizen in area A receives the alert intact within 3000 ms (draft-rosen-atoca-server-discovery 3)
    And the citizen in area B receives no alert within 500 ms (draft-rosen-atoca-server-discovery 1)

  @TP_WARN_AREA_BV_01 @clause-ATOCA-1 @BV
  Scenario: An alert for area B reaches area B on every channel and area A on none
    When the citizens in areas A and B subscribe on every sip, xmpp and http URI LoST gives them for "urn:service:warning"
    And the originator publishes an alert for area B
    Then every subscription of the citizen in area B receives the alert intact within 3000 ms (draft-rosen-atoca-server-discovery 3)
    And the citizen in area A receives no alert within 500 ms (draft-rosen-atoca-server-discovery 1)

  @TP_WARN_SIP_BI_01 @clause-RFC6665-8.2.1 @BI
  Scenario: A SUBSCRIBE for another event package is refused with 489
    When a subscriber sends a SUBSCRIBE for the event package "presence" to the first sip URI LoST gives for "urn:service:warning"
    Then the alert server refuses it with 489 (RFC 6665 8.2.1)
