# IUT: the ESInet and its PSAP. The harness plays the APP.
# Clauses: ETSI TS 103 698 V1.1.1, 6.1.2.4 Accepted SIP Headers (Table 2), 6.1.2.11 DID.
@SIP-2
Feature: 6.1.2.4 Accepted headers and 6.1.2.11 DID (PSAP)

  Background:
    Given the embedded reference ESInet
    And a simulated APP

  @TP_PSAP_SIP2_HEADERS_BV_01 @BV @clause-6.1.2.4
  Scenario: A start carrying every accepted request header field of Table 2 is not rejected
    Given the APP adds every request header field of Table 2 to its messages
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the message is answered with 2xx (clause 6.1.2.4)
    And the PSAP answers with its own start/257 (clause 6.2.2)

  @TP_PSAP_SIP2_DID_BV_01 @BV @clause-6.1.2.11
  Scenario: A start carrying a Decentralised Identifier is accepted
    Given the APP includes the DID "did:example:123456789abcdefghi"
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the message is answered with 2xx (clause 6.1.2.11)
    And the PSAP answers with its own start/257 (clause 6.2.2)
    And no violation of TS 103 698 was observed
