# IUT: the ESRP and BCF on the path. The harness plays the APP and the PSAP.
# Clauses: ETSI TS 103 698 V1.1.1, 6.1.2.7 Call-Info and 6.1.2.8 SIP Message Bodies.
@SIP-2 @needs-harness-psap @serial
Feature: 6.1.2.7 and 6.1.2.8 Call-Info and bodies pass untouched (BCF, ESRP)

  Background:
    Given the embedded reference ESInet
    And the harness plays the PSAP behind the ESRP
    And a simulated APP

  @TP_ESRP_SIP2_CALLINFO_BV_01 @BV @clause-6.1.2.7
  Scenario: Call Identifier, Message Identifier and Message Type reach the PSAP unchanged
    When the APP starts a chat to "urn:service:sos" with the text "Help"
    Then the PSAP receives every Call-Info value the APP sent, unchanged
    And the message is answered with 2xx (clause 6.2.2)

  @TP_ESRP_SIP2_BODY_BV_01 @BV @clause-6.1.2.8
  Scenario: Text, PIDF-LO, an image, a vCard and an eCall MSD reach the PSAP byte for byte
    Given the APP attaches an image, a vCard and an eCall MSD to its messages
    When the APP starts a chat to "urn:service:sos" with the text "See the photo"
    Then the PSAP receives the APP's body byte for byte, with all its parts
    And the message is answered with 2xx (clause 6.2.2)
