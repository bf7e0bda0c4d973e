# IUT: the PSAP. TS 103 698 6.1.2.5: "PSAP callbacks during handling of an incident use
# esnet.0". The harness reads the PSAP's messages to the APP within a chat as such callbacks
# (its profile; stated in the README).
# Clause: ETSI TS 103 698 V1.1.1, 6.1.2.5 Resource Priority.
@clause-6.1.2.5 @SIP-2
Feature: 6.1.2.5 Resource-Priority of PSAP callbacks (PSAP)

  Background:
    Given the embedded reference ESInet
    And a simulated APP

  @TP_PSAP_SIP2_RPRIO_BV_01 @BV
  Scenario: The PSAP's messages in the chat are callbacks during the incident, marked esnet.0
    Given the APP has an established chat with the PSAP via "urn:service:sos"
    Then the PSAP's messages to the APP carry Resource-Priority esnet.0 (clause 6.1.2.5)
