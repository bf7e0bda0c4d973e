# IUT: the PSAP. Clause: ETSI TS 103 698 V1.1.1, 6.2.3 Session Mode Chat.
@clause-6.2.3 @IM-2
Feature: 6.2.3 Session mode chat (PSAP)

  Background:
    Given the embedded reference ESInet
    And a simulated APP
    And the APP has an established chat with the PSAP via "urn:service:sos"

  @TP_PSAP_IM2_INCHAT_BV_01 @reference-psap @BV
  Scenario: in-chat/259 sent to the Reply-To URI is accepted and answered
    When the APP sends the chat message "I am at the main station."
    Then the message is answered with 2xx (clause 6.2.3)
    And the PSAP replies with in-chat/259 (clause 6.2.3)
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_INCHAT_BV_02 @reference-psap @BV
  Scenario: The PSAP's Message Identifiers increase by one per PSAP message
    When the APP sends the chat message "first"
    And the APP sends the chat message "second"
    And the APP sends the chat message "third"
    Then the PSAP has replied 3 times with increasing Message Identifiers
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_INCHAT_BI_01 @BI
  Scenario: in-chat/259 for a Call Identifier that was never started is not accepted
    When the APP sends in-chat/259 for a Call Identifier that was never started
    Then the message is rejected with a final non-2xx response (clause 6.2.3)
