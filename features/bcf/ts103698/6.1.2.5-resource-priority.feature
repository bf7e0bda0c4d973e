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
