# IUT: a LIS. The harness is the HELD client (RFC 5985; device identity RFC 6155; dereference
# RFC 6753; routing information RFC 7840; flow identity RFC 6915). Embedded runs test the
# lmpe-locsvc LIS; a real one is named in the target file ([lis] url, optional device /
# unknown_device / civic_device / geodetic_only_device / msisdn / flow_ip).
# Test purpose ids: HELD1 = RFC 5985 core requests and errors, HELD2 = the extensions
# (device identity other than uri, flow identity, location URIs and their dereference, routing
# information).
@HELD @location-iut
Feature: HELD location requests (LIS, RFC 5985)

  Background:
    Given a LIS under test

  @TP_LIS_HELD1_LOCREQ_BV_01 @clause-RFC5985-5.2 @BV
  Scenario: A locationRequest for any type in emergencyRouting time, by device identity, gets a PIDF-LO
    When the harness requests "any" location for the known device
    Then the LIS answers with a PIDF-LO holding a location (RFC 5985 5.2)

  @TP_LIS_HELD1_LOCREQ_BV_02 @clause-RFC5985-6.2.1 @BV
  Scenario: An exact request for geodetic location gets geodetic location only
    When the harness requests exactly "geodetic" location for the known device
    Then the PIDF-LO holds only "geodetic" locations (RFC 5985 6.2.1 exact)

  @TP_LIS_HELD1_LOCREQ_BV_03 @clause-RFC5985-6.2.1 @BV
  Scenario: An exact request for civic location gets a civic address only
    When the harness requests exactly "civic" location for the civic device
    Then the PIDF-LO holds only "civic" locations (RFC 5985 6.2.1 exact)

  @TP_LIS_HELD1_ERROR_BI_02 @clause-RFC5985-6.2.1 @BI
  Scenario: An exact request for a type the device's location does not have gets cannotProvideLiType
    When the harness requests exactly "civic" location for a device the LIS has no civic location for
    Then the LIS answers with the HELD error "cannotProvideLiType" (RFC 5985 6.2.1, 6.3)

  @TP_LIS_HELD1_ERROR_BI_03 @clause-RFC5985-5.1 @BI
  Scenario: A HELD message that is not a locationRequest gets unsupportedMessage
    When the harness sends the LIS a HELD locationResponse instead of a request
    Then the LIS answers with the HELD error "unsupportedMessage" (RFC 5985 5.1)

  @TP_LIS_HELD2_IDENTITY_BV_01 @clause-RFC6155-3 @BV
  Scenario: A request naming the device by its MSISDN gets the device's location
    When the harness requests "any" location by the MSISDN of a device the LIS knows
    Then the LIS answers with a PIDF-LO holding a location (RFC 6155 3.7)

  @TP_LIS_HELD2_FLOW_BV_01 @clause-RFC6915-3 @BV
  Scenario: A request naming the device by a flow it is the source of gets the device's location
    When the harness requests "any" location by the flow identity of a device the LIS knows, the device being the flow's source
    Then the LIS answers with a PIDF-LO holding a location (RFC 6915 3)

  @TP_LIS_HELD2_LOCURI_BV_01 @clause-RFC6753-4 @BV
  Scenario: An exact request for a location URI gets one that dereferences to a PIDF-LO
    When the harness requests exactly "locationURI" location for the known device
    Then the LIS answers with a location URI that dereferences to a PIDF-LO (RFC 6753 4)

  @TP_LIS_HELD2_ROUTING_BV_01 @clause-RFC7840-4 @BV
  Scenario: A request for routing information gets the PSAP URI for urn:service:sos
    When the harness requests routing information for "urn:service:sos" for the known device
    Then the LIS answers with routing information for "urn:service:sos" (RFC 7840 4)

  @TP_LIS_HELD1_ERROR_BI_01 @clause-RFC5985-6.3 @BI
  Scenario: A device the LIS cannot locate gets a HELD error, not a location
    When the harness requests "any" location for an unknown device
    Then the LIS answers with one of the HELD errors "locationUnknown notLocatable badIdentifier cannotProvideLiType" (RFC 5985 6.3)

  @TP_LIS_HELD1_ROBUST_BI_01 @clause-RFC5985-6.3 @BI
  Scenario: A body that is not XML gets an error answer, and the LIS keeps serving
    When the harness sends the LIS "not XML"
    Then the LIS rejects it with a HELD error or an HTTP 4xx within 2000 ms (RFC 5985 6.3)
    And the LIS still answers a valid request

  @TP_LIS_HELD1_ROBUST_BI_02 @clause-RFC5985-6.3 @BI
  Scenario: An oversized request (1.5 MB) gets an error answer, and the LIS keeps serving
    When the harness sends the LIS "an oversized request"
    Then the LIS rejects it with a HELD error or an HTTP 4xx within 2000 ms (RFC 5985 6.3)
    And the LIS still answers a valid request

  @TP_LIS_HELD1_ROBUST_BI_03 @clause-RFC5985-6.3 @BI
  Scenario: A truncated request, binary garbage and deep nesting get error answers
    When the harness sends the LIS "a truncated request"
    Then the LIS rejects it with a HELD error or an HTTP 4xx within 2000 ms (RFC 5985 6.3)
    When the harness sends the LIS "binary garbage"
    Then the LIS rejects it with a HELD error or an HTTP 4xx within 2000 ms (RFC 5985 6.3)
    When the harness sends the LIS "a deeply nested request"
    Then the LIS rejects it with a HELD error or an HTTP 4xx within 2000 ms (RFC 5985 6.3)
    And the LIS still answers a valid request
