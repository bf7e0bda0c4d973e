# IUT: the PSAP. The harness plays the APP (and, for P-Asserted-Identity, the provider's proxy
# that would add it, 6.2.2 NOTE 1).
# Clause: ETSI TS 103 698 V1.1.1, 6.1.2.3 Required SIP Headers (Table 1).
@clause-6.1.2.3 @SIP-2
Feature: 6.1.2.3 Required SIP headers (PSAP)

  Background:
    Given the embedded reference ESInet
    And a simulated APP

  @TP_PSAP_SIP2_HEADERS_BV_02 @BV
  Scenario: A start carrying the Table 1 header fields, P-Asserted-Identity and P-Access-Network-Info among them, opens the chat
    Given the APP adds P-Asserted-Identity and P-Access-Network-Info to its messages
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the message is answered with 2xx (clause 6.1.2.3)
    And the PSAP answers with its own start/257 (clause 6.2.2)
    And no violation of TS 103 698 was observed
