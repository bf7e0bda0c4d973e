# IUT: the PSAP (through the ESInet). The harness plays the APP.
# Clause: ETSI TS 103 698 V1.1.1, 6.1.2.10 Test Call (with IETF RFC 6881 section 15).
@clause-6.1.2.10 @SIP-2
Feature: 6.1.2.10 Test calls (PSAP)

  Background:
    Given the embedded reference ESInet
    And a simulated APP

  @TP_PSAP_SIP2_TESTCALL_BV_01 @BV
  Scenario: A test chat is accepted and closed at once with the PSAP name, the service and the location
    When the APP starts a chat to "urn:service:sos.test" with the text "This is a test"
    Then the message is answered with 2xx (clause 6.1.2.10)
    And the PSAP closes the test chat with its name, the service URN and the location (clause 6.1.2.10)
    And no violation of TS 103 698 was observed

  @TP_PSAP_SIP2_TESTCALL_BV_02 @BV
  Scenario: A test of a secondary service is accepted and reported with that service
    When the APP starts a chat to "urn:service:sos.fire.test" with the text "This is a test"
    Then the message is answered with 2xx (clause 6.1.2.10)
    And the PSAP closes the test chat with its name, the service URN and the location (clause 6.1.2.10)

  # RFC 6881 ED-77, which 6.1.2.10 cites, writes the test service the other way round.
  @TP_PSAP_SIP2_TESTCALL_BV_03 @BV @rfc6881-form
  Scenario: A test chat in the RFC 6881 form urn:service:test.sos.fire is accepted too
    When the APP starts a chat to "urn:service:test.sos.fire" with the text "This is a test"
    Then the message is answered with 2xx (clause 6.1.2.10)
    And the PSAP closes the test chat with its name, the service URN and the location (clause 6.1.2.10)

  @TP_PSAP_SIP2_TESTCALL_BI_01 @BI
  Scenario: A repeated test from the same source within the window is refused with 486 Busy Here
    When the APP starts a chat to "urn:service:sos.test" with the text "This is a test"
    Then the PSAP closes the test chat with its name, the service URN and the location (clause 6.1.2.10)
    When the APP starts a chat to "urn:service:sos.test" with the text "And again"
    Then the message is answered with 486 (clause 6.1.2.10)
