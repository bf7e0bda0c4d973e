# IUT: the ESRP (through the BCF). The harness plays the APP, the ECRF the ESRP queries, and two
# PSAPs: the ECRF maps area A (16.0-16.4 E, 48.0-48.4 N) to PSAP A and area B (16.4-16.8 E) to
# PSAP B, and leaves area C (16.8-17.2 E) to a second LoST server, ecrf-c.lmpe.test, which
# maps it to PSAP B (a real ESRP must resolve that name to [ecrf] redirect_listen). Routing decisions are observed on the SIP side. Against a real ESRP the target file
# gives [harness_psap] (PSAP A), [ecrf] listen (the ECRF URL the SUT is configured with) and
# [ecrf] psap_b_listen.
# Clause: RFC 6881 Section 8 (routing the call by LoST mapping of the caller's location, of
# whatever shape: RFC 5222 8 and RFC 5491; the harness's ECRF maps a shape to the area that
# contains it, else to the one it overlaps most);
# TS 103 698 6.1.2.9 for the answer when the ECRF fails. Test purpose ids: LOST2 = the ESRP as
# LoST client.
@clause-RFC6881-8 @LoST @needs-harness-psap @serial
Feature: Location-based routing by the ESRP (LoST)

  Background:
    Given the embedded reference ESInet
    And the harness plays PSAP A and PSAP B behind the ESRP and the ECRF that maps areas A and B to them
    And a simulated APP

  @TP_ESRP_LOST2_ROUTE_BV_01 @BV
  Scenario: A chat started in area A reaches PSAP A only
    Given the APP is located at 48.2, 16.2
    When the APP starts a chat to "urn:service:sos" with the text "Help, I am in area A"
    Then the start reaches PSAP A only (RFC 6881 8)

  @TP_ESRP_LOST2_ROUTE_BV_02 @BV
  Scenario: A chat started in area B reaches PSAP B only
    Given the APP is located at 48.2, 16.6
    When the APP starts a chat to "urn:service:sos" with the text "Help, I am in area B"
    Then the start reaches PSAP B only (RFC 6881 8)

  @TP_ESRP_LOST2_ROUTE_BV_03 @BV
  Scenario: A sub-service chat in area B reaches PSAP B only
    Given the APP is located at 48.2, 16.6
    When the APP starts a chat to "urn:service:sos.fire" with the text "Fire in area B"
    Then the start reaches PSAP B only (RFC 6881 8)

  @TP_ESRP_LOST2_ROUTE_BV_04 @BV
  Scenario: A chat with its location by reference (a LIS location URI) reaches the PSAP of the dereferenced location
    Given the APP sends its location by reference, a location URI of "sip:app-b@127.0.0.1" from the LIS
    When the APP starts a chat to "urn:service:sos" with the text "Help, my location is at the LIS"
    Then the start reaches PSAP B only (RFC 6881 8)

  @TP_ESRP_LOST2_NOTFOUND_BI_01 @BI
  Scenario: A location no PSAP serves (LoST notFound) is rejected with 404
    Given the APP is located at 47.0, 10.0
    When the APP starts a chat to "urn:service:sos" with the text "Help, nobody serves me"
    Then the ESRP answers the start with 404 (RFC 6881 8)

  @TP_ESRP_LOST2_ROBUST_BI_01 @clause-6.1.2.9 @BI
  Scenario: An ECRF answer that is not XML gets a final response other than 503, and the ESRP keeps routing
    Given the APP is located at 48.2, 16.2
    And the ECRF misbehaves: "ecrf-not-xml"
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the ESRP answers the start with a final response other than 503 within 4000 ms (6.1.2.9)
    When the ECRF behaves again
    And the APP starts a chat to "urn:service:sos" with the text "Help again"
    Then the start reaches PSAP A only (RFC 6881 8)

  @TP_ESRP_LOST2_ROBUST_BI_02 @clause-6.1.2.9 @BI
  Scenario: An ECRF that answers after 6 s does not hold the request: a final response other than 503 within 4 s
    Given the APP is located at 48.2, 16.2
    And the ECRF misbehaves: "ecrf-slow:6"
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the ESRP answers the start with a final response other than 503 within 4000 ms (6.1.2.9)

  @TP_ESRP_LOST2_ROBUST_BI_03 @clause-6.1.2.9 @BI
  Scenario: An ECRF answer cut off in the middle of its XML gets a final response other than 503, and the ESRP keeps routing
    Given the APP is located at 48.2, 16.2
    And the ECRF misbehaves: "ecrf-malformed-xml"
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the ESRP answers the start with a final response other than 503 within 4000 ms (6.1.2.9)
    When the ECRF behaves again
    And the APP starts a chat to "urn:service:sos" with the text "Help again"
    Then the start reaches PSAP A only (RFC 6881 8)

  @TP_ESRP_LOST2_ROBUST_BI_04 @clause-6.1.2.9 @BI
  Scenario: An ECRF answer in a foreign XML namespace gets a final response other than 503, and the ESRP keeps routing
    Given the APP is located at 48.2, 16.2
    And the ECRF misbehaves: "ecrf-wrong-namespace"
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the ESRP answers the start with a final response other than 503 within 4000 ms (6.1.2.9)
    When the ECRF behaves again
    And the APP starts a chat to "urn:service:sos" with the text "Help again"
    Then the start reaches PSAP A only (RFC 6881 8)

  @TP_ESRP_LOST2_ROBUST_BI_05 @clause-6.1.2.9 @BI
  Scenario: An ECRF mapping whose service boundary has coordinates of 301 digits gets a final response other than 503, and the ESRP keeps routing
    Given the APP is located at 48.2, 16.2
    And the ECRF misbehaves: "ecrf-oversize-coordinates"
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the ESRP answers the start with a final response other than 503 within 4000 ms (6.1.2.9)
    When the ECRF behaves again
    And the APP starts a chat to "urn:service:sos" with the text "Help again"
    Then the start reaches PSAP A only (RFC 6881 8)

  @TP_ESRP_LOST2_ROBUST_BI_06 @clause-6.1.2.9 @BI
  Scenario: A LIS that answers the dereference of a location URI with a body that is not XML gets a final response other than 503, and the ESRP keeps routing
    Given the APP sends its location by reference, a location URI of "sip:app-b@127.0.0.1" from the LIS
    And the LIS misbehaves: "lis-not-xml"
    When the APP starts a chat to "urn:service:sos" with the text "Help, my location is at the LIS"
    Then the ESRP answers the start with a final response other than 503 within 4000 ms (6.1.2.9)
    When the LIS behaves again
    And the APP starts a chat to "urn:service:sos" with the text "Help again"
    Then the start reaches PSAP B only (RFC 6881 8)

  @TP_ESRP_LOST2_SHAPE_BV_01 @BV
  Scenario: A chat whose location is a polygon, its first corner in area A and nearly all of it in area B, reaches PSAP B only
    Given the APP is located in the polygon "48.2 16.38, 48.2 16.78, 48.3 16.78, 48.3 16.38"
    When the APP starts a chat to "urn:service:sos" with the text "Help, I am somewhere in this area"
    Then the start reaches PSAP B only (RFC 6881 8)

  @TP_ESRP_LOST2_REDIRECT_BV_01 @clause-RFC5222-8.3.3 @BV
  Scenario: A chat in area C, which the ECRF leaves to another LoST server with a redirect, reaches the PSAP that server names
    Given the ECRF answers every query for a location another LoST server serves with a redirect
    And the APP is located at 48.2, 17.0
    When the APP starts a chat to "urn:service:sos" with the text "Help, I am in area C"
    Then the start reaches PSAP B only (RFC 6881 8)
    And the ESRP's query to the other LoST server names the ECRF in its path (RFC 5222 6)

  @TP_ESRP_LOST2_REDIRECT_BI_01 @clause-RFC5222-6 @BI
  Scenario: An ECRF that redirects to itself does not make the ESRP loop: a bounded number of queries and a final response other than 503
    Given the APP is located at 48.2, 16.2
    And the ECRF misbehaves: "ecrf-redirect-loop"
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the ESRP answers the start with a final response other than 503 within 4000 ms (6.1.2.9)
    And the ESRP asked the ECRF at most 2 times (RFC 5222 6)

  @TP_ESRP_HELD2_ROUTING_BV_01 @clause-RFC7840-4 @BV
  Scenario: Without an ECRF the ESRP routes by the LIS's routing information for the caller's identity
    Given the ESRP has no ECRF, only a LIS that returns routing information
    And the APP asserts the identity "sip:app-b@127.0.0.1"
    When the APP starts a chat to "urn:service:sos" with the text "Help, route me by the LIS"
    Then the start reaches PSAP B only (RFC 6881 8)
