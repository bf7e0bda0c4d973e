@app @clause-6.2.7 @app-iut
Feature: APP behaviour in a redirect (TS 103 698 6.2.7)
  The harness PSAP redirects to a second URI of its own (sip:psap-b@…), where it answers the
  APP's start|redirect/273.

  Background:
    Given the harness plays the BCF and the PSAP for the APP under test

  @TP_APP_IM2_REDIRECT_BV_01 @BV
  Scenario: The APP answers stop|redirect/274 and sends start|redirect/273 to the target with History-Info
    Given the APP under test has an established chat with the harness PSAP
    When the harness PSAP sends "stop|redirect/274"
    Then the APP under test answers it with 2xx (clause 6.2.7)
    And the harness PSAP receives start|redirect/273 at the redirect target with History-Info naming the original PSAP (clause 6.2.7)
