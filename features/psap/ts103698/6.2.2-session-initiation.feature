# IUT: the PSAP (reached through the BCF and ESRP of the ESInet under test).
# The harness plays the APP. Clause: ETSI TS 103 698 V1.1.1, 6.2.2 Session Mode Initiation.
@clause-6.2.2 @IM-2
Feature: 6.2.2 Session mode initiation (PSAP)

  Background:
    Given the embedded reference ESInet
    And a simulated APP

  @TP_PSAP_IM2_START_BV_01 @BV
  Scenario: The PSAP answers start/257 with 200 OK and its own start/257 with Reply-To
    When the APP starts a chat to "urn:service:sos" with the text "Help, I am hurt."
    Then the message is answered with 2xx (clause 6.2.2)
    And the PSAP answers with its own start/257 (clause 6.2.2)
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_START_BV_02 @BV
  Scenario: A sub-service of urn:service:sos starts a chat
    When the APP starts a chat to "urn:service:sos.police" with the text "Burglary in progress."
    Then the message is answered with 2xx (clause 6.2.2)
    And the PSAP answers with its own start/257 (clause 6.2.2)
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_START_BV_03 @BV @clause-6.1.2.7
  Scenario: The PSAP returns the Call Identifier in the text form of 6.1.2.7 it received
    # The APP writes urn:emergency:service:uid:callid: and EmergencyChatData.MsgId (the text's
    # forms, not its examples'); it flags any other form in the PSAP's answer.
    Given the APP writes LMPE identifiers in the "strict-text" profile
    When the APP starts a chat to "urn:service:sos" with the text "Help, I am hurt."
    Then the message is answered with 2xx (clause 6.2.2)
    And the PSAP answers with its own start/257 (clause 6.2.2)
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_START_BI_01 @BI
  Scenario: A start/257 without a Call Identifier opens no chat
    When the APP sends start/257 without a Call Identifier
    Then the message is rejected with a final non-2xx response (clause 6.2.2)
    And the PSAP sends no start/257 for it within 300 ms (clause 6.2.2)

  @TP_PSAP_IM2_START_BI_02 @BI @clause-6.1.2.7
  Scenario: A Call Identifier whose unique part is shorter than 10 characters is refused
    When the APP sends start/257 whose Call Identifier unique part has 9 characters
    Then the message is rejected with a final non-2xx response (clause 6.1.2.7)
    And the PSAP sends no start/257 for it within 300 ms (clause 6.1.2.7)

  @TP_PSAP_IM2_START_BI_03 @BI @clause-A.5
  Scenario: A Message Type from a reserved range is refused
    When the APP sends start/257 with the reserved Message Type 289
    Then the message is rejected with a final non-2xx response (clause A.5)
    And the PSAP sends no start/257 for it within 300 ms (clause A.5)
