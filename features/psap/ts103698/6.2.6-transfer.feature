# IUT: the transferring PSAP and the PSAP it transfers to (the reference ESInet has two; the
# call taker's action is the in-chat text "#transfer"; the PSAPs negotiate and execute over
# the HTTP-3 web service of 6.3). The harness plays the APP.
# Clause: ETSI TS 103 698 V1.1.1, 6.2.6 Transfer.
@clause-6.2.6 @IM-2 @reference-psap
Feature: 6.2.6 Transfer (PSAP)

  Background:
    Given the embedded reference ESInet
    And a simulated APP
    And the APP has an established chat with the PSAP via "urn:service:sos"

  @TP_PSAP_IM2_TRANSFER_BV_01 @BV
  Scenario: The transferor sends stop|transfer/266 and the transferee start|transfer/265 with the last Message Identifier plus one
    When the APP sends the chat message "#transfer"
    Then the PSAP announces the transfer with stop|transfer/266 (clause 6.2.6)
    And the transferee takes the chat over with start|transfer/265 and its own Reply-To (clause 6.2.6)
    And the harness saw no violation of the chat transfer web service (clause 6.3)
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_TRANSFER_BV_02 @BV
  Scenario: The chat continues with the transferee after the transfer
    When the APP sends the chat message "#transfer"
    Then the transferee takes the chat over with start|transfer/265 and its own Reply-To (clause 6.2.6)
    When the APP sends the chat message "Are you the new PSAP?"
    Then the transferee replies with in-chat/259 (clause 6.2.3)
    And no violation of TS 103 698 was observed
