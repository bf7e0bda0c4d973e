@app @clause-6.2.3 @app-iut
Feature: APP session mode chat (TS 103 698 6.2.3, 6.1.2.7)

  Background:
    Given the harness plays the BCF and the PSAP for the APP under test

  @TP_APP_IM2_INCHAT_BV_01 @BV
  Scenario: The APP's chat message goes to Reply-To with location, the Call Identifier and the next Message Identifier
    Given the APP under test has an established chat with the harness PSAP
    When the user of the APP under test sends "I am at the main station"
    Then the harness PSAP receives in-chat/259 without violation of clauses 6.2.3, 6.1.2.7
