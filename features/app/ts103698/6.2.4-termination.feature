@app @clause-6.2.4 @app-iut
Feature: APP session mode termination (TS 103 698 6.2.4)

  Background:
    Given the harness plays the BCF and the PSAP for the APP under test

  @TP_APP_IM2_STOP_BV_01 @BV
  Scenario: The APP accepts the PSAP's stop/258
    Given the APP under test has an established chat with the harness PSAP
    When the harness PSAP sends "stop/258"
    Then the APP under test answers it with 2xx (clause 6.2.4)
