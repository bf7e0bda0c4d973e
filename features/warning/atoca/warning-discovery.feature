# IUT: an ECRF with warning mappings (draft-rosen-atoca-server-discovery). The harness is the
# citizen's LoST client. Embedded runs test the harness's own ECRF over the sample warning
# areas (warn-a: civil protection of area A, warn-a-met: a weather service of area A, warn-b:
# civil protection of area B); a real one is named in the target file ([warning] ecrf).
# Test purpose ids: TP_WARN_DISC_* (discovery), TP_WARN_<SIP|XMPP|HTTP>_* (delivery).
@warning @LoST
Feature: Discovery of alert servers by LoST (draft-rosen-atoca-server-discovery)

  Background:
    Given a warning distribution deployment

  @TP_WARN_DISC_LIST_BV_01 @clause-ATOCA-6.1 @BV
  Scenario: listServicesByLocation under urn:service:warning names warning sub-services only
    When the citizen in area A lists the services at its location under "urn:service:warning"
    Then every service listed is a warning service, and a sub-service is among them (draft-rosen-atoca-server-discovery 6.1)

  @TP_WARN_DISC_FIND_BV_01 @clause-ATOCA-3 @BV
  Scenario: findService for urn:service:warning gives mappings with sip, xmpp or http URIs and a boundary around the citizen
    When the citizen in area A asks the ECRF for "urn:service:warning" with the boundary by value
    Then every mapping is for a warning service with only sip, xmpp or http URIs (draft-rosen-atoca-server-discovery 3)
    And every mapping's service boundary contains the citizen's location (RFC 5222 8)

  @TP_WARN_DISC_FIND_BV_02 @clause-ATOCA-3 @BV
  Scenario: Several organisations warn for one place: findService returns a mapping for each
    When the citizen in area A asks the ECRF for "urn:service:warning.met" with the boundary by value
    Then the ECRF returns a mapping for every organisation that warns there (draft-rosen-atoca-server-discovery 3)
    And every mapping is for a warning service with only sip, xmpp or http URIs (draft-rosen-atoca-server-discovery 3)
