# IUT: the BCF (with the ESRP behind it). The harness plays the APP and the PSAP.
# Clause: ETSI TS 103 698 V1.1.1, 6.1.2.5 Resource Priority.
@clause-6.1.2.5 @SIP-2 @needs-harness-psap @serial
Feature: 6.1.2.5 Resource-Priority policing (BCF)

  Background:
    Given the embedded reference ESInet
    And the harness plays the PSAP behind the ESRP
    And a simulated APP

  @TP_BCF_SIP2_RPRIO_BV_01 @BV
  Scenario: An emergency chat without Resource-Priority is marked with the provisioned esnet.1
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the PSAP receives Resource-Priority "esnet.1"

  @TP_BCF_SIP2_RPRIO_BI_01 @BI
  Scenario: A Resource-Priority set by the caller is replaced by the provisioned value
    Given the APP marks its messages with Resource-Priority "esnet.2"
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the PSAP receives Resource-Priority "esnet.1"

  @TP_BCF_SIP2_RPRIO_BV_02 @BV @reference-bcf
  Scenario: Under overload the BCF serves emergency calls (esnet.1) before unmarked requests
    Given the BCF is overloaded: it serves one request every 5 ms
    And the APP has an established chat with the PSAP via "urn:service:sos"
    When the APP sends 10 chat messages and starts 10 more emergency chats, all at once
    Then the emergency starts reach the PSAP ahead of the unmarked chat messages (clause 6.1.2.5)
