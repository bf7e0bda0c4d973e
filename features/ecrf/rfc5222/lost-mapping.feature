# IUT: an ECRF. The harness is the LoST client (RFC 5222). Embedded runs test the lmpe-locsvc
# ECRF over the sample areas (area A -> sip:psap-a@127.0.0.1:5070); a real one is named in the
# target file ([ecrf] url, optional point / expect_uri / outside / civic / wrong_a3).
# Test purpose ids: LOST1 = RFC 5222 with the ECRF as server (LOST2: the ESRP as LoST client,
# features/esrp/location/).
@LoST @location-iut
Feature: LoST mapping (ECRF, RFC 5222)

  Background:
    Given an ECRF under test

  @TP_ECRF_LOST1_FIND_BV_01 @clause-RFC5222-8 @BV
  Scenario: findService with a geodetic point maps urn:service:sos to the PSAP of the area
    When the harness asks the ECRF for "urn:service:sos" at the mapped point
    Then the ECRF maps it to a URI for "urn:service:sos" (RFC 5222 8)

  @TP_ECRF_LOST1_FIND_BV_02 @clause-RFC5222-8 @BV
  Scenario: findService with a civic address maps urn:service:sos
    When the harness asks the ECRF for "urn:service:sos" at the civic address "AT" "Wien"
    Then the ECRF maps it to a URI for "urn:service:sos" (RFC 5222 8)

  @TP_ECRF_LOST1_VALIDATE_BV_01 @clause-RFC5222-8.4.2 @BV
  Scenario: findService with validateLocation lists each civic element once, namespace-qualified, and a wrong A3 not as valid
    When the harness asks the ECRF for "urn:service:sos" at a civic address it knows, with a wrong A3, validating the location
    Then the ECRF answers with a locationValidation of namespace-qualified names (RFC 5222 8.4.2, RFC 6848 6)
    And the validation names each civic element sent exactly once (RFC 5222 8.4.2)
    And the wrong A3 is not listed as valid (RFC 5222 8.4.2)

  @TP_ECRF_LOST1_BOUNDARY_BV_01 @clause-RFC5222-8 @BV
  Scenario: serviceBoundary="value" returns a boundary that contains the point
    When the harness asks the ECRF for "urn:service:sos" at the mapped point with the boundary by value
    Then the mapping's service boundary by value contains the point (RFC 5222 8)

  @TP_ECRF_LOST1_BOUNDARY_BV_02 @clause-RFC5222-9 @BV
  Scenario: A serviceBoundaryReference resolves with getServiceBoundary to a boundary that contains the point
    When the harness asks the ECRF for "urn:service:sos" at the mapped point
    And the harness asks the ECRF for the service boundary of the mapping
    Then the ECRF answers with a boundary containing the point (RFC 5222 9)

  @TP_ECRF_LOST1_LIST_BV_01 @clause-RFC5222-10 @BV
  Scenario: listServices names urn:service:sos
    When the harness asks the ECRF to list its services
    Then the ECRF lists "urn:service:sos" (RFC 5222 10-11)

  @TP_ECRF_LOST1_LIST_BV_02 @clause-RFC5222-11 @BV
  Scenario: listServicesByLocation names urn:service:sos at the mapped point
    When the harness asks the ECRF to list the services at the mapped point
    Then the ECRF lists "urn:service:sos" (RFC 5222 10-11)

  @TP_ECRF_LOST1_NOTFOUND_BI_01 @clause-RFC5222-13 @BI
  Scenario: A location no PSAP serves gets the LoST error notFound
    When the harness asks the ECRF for "urn:service:sos" outside every service area
    Then the ECRF answers with the LoST error "notFound" (RFC 5222 13)

  @TP_ECRF_LOST1_ROBUST_BI_01 @clause-RFC5222-13 @BI
  Scenario: A body that is not XML gets an error answer, and the ECRF keeps serving
    When the harness sends the ECRF "not XML"
    Then the ECRF rejects it with a LoST error or an HTTP 4xx within 2000 ms (RFC 5222 13)
    And the ECRF still maps a valid request

  @TP_ECRF_LOST1_ROBUST_BI_02 @clause-RFC5222-13 @BI
  Scenario: An oversized request (1.5 MB) gets an error answer, and the ECRF keeps serving
    When the harness sends the ECRF "an oversized request"
    Then the ECRF rejects it with a LoST error or an HTTP 4xx within 2000 ms (RFC 5222 13)
    And the ECRF still maps a valid request

  @TP_ECRF_LOST1_ROBUST_BI_03 @clause-RFC5222-13 @BI
  Scenario: A truncated request, binary garbage and deep nesting get error answers
    When the harness sends the ECRF "a truncated request"
    Then the ECRF rejects it with a LoST error or an HTTP 4xx within 2000 ms (RFC 5222 13)
    When the harness sends the ECRF "binary garbage"
    Then the ECRF rejects it with a LoST error or an HTTP 4xx within 2000 ms (RFC 5222 13)
    When the harness sends the ECRF "a deeply nested request"
    Then the ECRF rejects it with a LoST error or an HTTP 4xx within 2000 ms (RFC 5222 13)
    And the ECRF still maps a valid request
