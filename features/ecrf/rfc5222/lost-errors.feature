# IUT: an ECRF. The harness is the LoST client (RFC 5222) and sends findService requests the
# ECRF cannot answer with a mapping; each must get the error RFC 5222 Section 13.1 names for its
# cause, not a generic one. Embedded runs test the lmpe-locsvc ECRF; a real one is named in the
# target file ([ecrf] url, optional point / unserved_service).
@clause-RFC5222-13.1 @LoST @location-iut
Feature: LoST errors (ECRF, RFC 5222)

  Background:
    Given an ECRF under test

  @TP_ECRF_LOST1_ERROR_BI_01 @BI
  Scenario: findService for a service the ECRF does not serve gets serviceNotImplemented
    When the harness asks the ECRF for a service it does not serve at the mapped point
    Then the ECRF answers with the LoST error "serviceNotImplemented" (RFC 5222 13.1)

  @TP_ECRF_LOST1_ERROR_BI_02 @BI
  Scenario: findService at a latitude of 95 degrees gets locationInvalid
    When the harness asks the ECRF for "urn:service:sos" at a latitude of 95.0 degrees
    Then the ECRF answers with the LoST error "locationInvalid" (RFC 5222 13.1)

  @TP_ECRF_LOST1_ERROR_BI_03 @clause-RFC5222-12.1 @BI
  Scenario: findService with a location in a profile the ECRF does not know gets locationProfileUnrecognized
    When the harness asks the ECRF for "urn:service:sos" at a location in a profile it does not know
    Then the ECRF answers with the LoST error "locationProfileUnrecognized" (RFC 5222 13.1)
