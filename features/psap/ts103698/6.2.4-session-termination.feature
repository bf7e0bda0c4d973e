# IUT: the PSAP. Clause: ETSI TS 103 698 V1.1.1, 6.2.4 Session Mode Termination.
@clause-6.2.4 @IM-2
Feature: 6.2.4 Session mode termination (PSAP)

  Background:
    Given the embedded reference ESInet
    And a simulated APP
    And the APP has an established chat with the PSAP via "urn:service:sos"

  @TP_PSAP_IM2_STOP_BV_01 @BV
  Scenario: stop/258 from the APP is accepted
    When the APP stops the chat with the text "The user closed the chat."
    Then the message is answered with 2xx (clause 6.2.4)
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_STOP_BV_02 @reference-psap @BV
  Scenario: The PSAP terminates the chat with stop/258
    # The reference PSAP's call taker closes the chat when asked with "#close".
    When the APP sends the chat message "#close"
    Then the PSAP terminates the chat with stop/258 (clause 6.2.4)
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_STOP_BI_01 @BI
  Scenario: in-chat/259 after the APP ended the chat is not accepted
    When the APP stops the chat with the text "bye"
    And the APP sends the chat message "are you still there?" after the chat ended
    Then the message is rejected with a final non-2xx response (clause 6.2.4)

  @TP_PSAP_IM2_STOP_BI_02 @BI
  Scenario: stop/258 for a Call Identifier that was never started is not accepted
    When the APP sends stop/258 for a Call Identifier that was never started
    Then the message is rejected with a final non-2xx response (clause 6.2.4)
