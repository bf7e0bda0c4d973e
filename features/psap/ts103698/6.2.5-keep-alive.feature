# IUT: the PSAP. Clause: ETSI TS 103 698 V1.1.1, 6.2.5 Keep-Alive Messages.
@clause-6.2.5 @IM-2
Feature: 6.2.5 Keep-alive messages (PSAP)

  Background:
    Given the embedded reference ESInet
    And the PSAP sends heartbeats every 200 ms
    And a simulated APP
    And the APP has an established chat with the PSAP via "urn:service:sos"

  @TP_PSAP_IM2_HEARTBEAT_BV_01 @BV
  Scenario: heartbeat/260 with location is accepted
    When the APP sends an active heartbeat
    Then the message is answered with 2xx (clause 6.2.5)
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_HEARTBEAT_BV_02 @BV
  Scenario: heartbeat|inactive/388 is accepted
    When the APP sends an inactive heartbeat
    Then the message is answered with 2xx (clause 6.2.5)
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_HEARTBEAT_BV_03 @reference-psap @BV
  Scenario: A PSAP that sends keep-alives sends them periodically, with Reply-To
    Then the PSAP sends at least 2 heartbeats within 1500 ms
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_HEARTBEAT_BV_04 @reference-psap @BV
  Scenario: The chat stays established across APP heartbeats
    When the APP sends an active heartbeat
    And the APP sends an active heartbeat
    And the APP sends the chat message "still here"
    Then the PSAP replies with in-chat/259 (clause 6.2.3)

  @TP_PSAP_IM2_HEARTBEAT_BI_01 @BI
  Scenario: heartbeat/260 for a Call Identifier that was never started is not accepted
    When the APP sends heartbeat/260 for a Call Identifier that was never started
    Then the message is rejected with a final non-2xx response (clause 6.2.5)
