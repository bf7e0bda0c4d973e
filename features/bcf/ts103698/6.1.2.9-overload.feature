# IUT: the BCF. Clause: ETSI TS 103 698 V1.1.1, 6.1.2.9 SIP Element Overload.
@clause-6.1.2.9 @SIP-2
Feature: 6.1.2.9 No 503 towards the caller (BCF)

  Background:
    Given the embedded reference ESInet
    And a simulated APP

  @TP_BCF_SIP2_NO503_BI_01 @BI
  Scenario: A chat to a service the ESInet cannot route is refused without 503
    When the APP starts a chat to "urn:service:counseling" with the text "Hello"
    Then the message is rejected with a final response other than 503 (clause 6.1.2.9)
