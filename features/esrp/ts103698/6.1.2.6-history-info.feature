# IUT: the ESRP (through the BCF). The harness plays the APP and the PSAP.
# Clause: ETSI TS 103 698 V1.1.1, 6.1.2.6 History-Info and Reason.
@clause-6.1.2.6 @SIP-2 @needs-harness-psap @serial
Feature: 6.1.2.6 History-Info and Reason on retargeting (ESRP)

  Background:
    Given the embedded reference ESInet
    And the harness plays the PSAP behind the ESRP
    And a simulated APP

  @TP_ESRP_SIP2_HISTINFO_BV_01 @BV
  Scenario: Routing urn:service:sos to a PSAP records the original target and the reason
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the PSAP receives the start with History-Info naming "urn:service:sos" and a Reason

  @TP_ESRP_SIP2_HISTINFO_BV_02 @BV
  Scenario: Routing a sub-service records the sub-service as the original target
    When the APP starts a chat to "urn:service:sos.fire" with the text "Fire in the kitchen"
    Then the PSAP receives the start with History-Info naming "urn:service:sos.fire" and a Reason

  @TP_ESRP_SIP2_HISTINFO_BV_03 @BV
  Scenario: History-Info added by an element before the ESInet is kept and extended
    Given an element before the BCF retargeted the APP's start from "sip:112@provider.example" to "urn:service:sos"
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the PSAP receives the upstream History-Info entries unchanged
    And the PSAP receives the start with History-Info naming "urn:service:sos" and a Reason
