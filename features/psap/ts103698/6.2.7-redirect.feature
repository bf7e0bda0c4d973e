# IUT: the PSAP that redirects and the PSAP it redirects to (the reference ESInet has two; the
# call taker's action is the in-chat text "#redirect"). The harness plays the APP.
# Clause: ETSI TS 103 698 V1.1.1, 6.2.7 Redirect.
@clause-6.2.7 @IM-2 @reference-psap
Feature: 6.2.7 Redirect (PSAP)

  Background:
    Given the embedded reference ESInet
    And a simulated APP
    And the APP has an established chat with the PSAP via "urn:service:sos"

  @TP_PSAP_IM2_REDIRECT_BV_01 @BV
  Scenario: The PSAP redirects with stop|redirect/274 and the target answers start|redirect/273
    When the APP sends the chat message "#redirect"
    Then the PSAP redirects the chat with stop|redirect/274 naming the target (clause 6.2.7)
    And the new PSAP answers start|redirect/273 with start/257 (clause 6.2.7)
    And no violation of TS 103 698 was observed

  @TP_PSAP_IM2_REDIRECT_BV_02 @BV
  Scenario: The chat continues with the new PSAP after the redirect
    When the APP sends the chat message "#redirect"
    Then the new PSAP answers start|redirect/273 with start/257 (clause 6.2.7)
    When the APP sends the chat message "Are you the new PSAP?"
    Then the new PSAP replies with in-chat/259 (clause 6.2.3)
    And no violation of TS 103 698 was observed
