@app @clause-6.2.6 @app-iut
Feature: APP behaviour in a chat transfer (TS 103 698 6.2.6)
  The harness PSAP plays both the transferor (stop|transfer/266) and the transferee
  (start|transfer/265 with the last Message Identifier plus one).

  Background:
    Given the harness plays the BCF and the PSAP for the APP under test
    And the APP under test has an established chat with the harness PSAP

  @TP_APP_IM2_TRANSFER_BV_01 @BV
  Scenario: The APP answers stop|transfer/266 with 200 OK, stalls its input and accepts start|transfer/265
    When the harness PSAP sends "stop|transfer/266"
    Then the APP under test answers it with 2xx (clause 6.2.6)
    And the APP under test sends no chat message for 300 ms (clause 6.2.6)
    When the harness PSAP sends "start|transfer/265"
    Then the APP under test answers it with 2xx (clause 6.2.6)

  @TP_APP_IM2_TRANSFER_BI_01 @BI
  Scenario: After the first start|transfer/265 the APP refuses another one until a new stop|transfer/266
    When the harness PSAP sends "stop|transfer/266"
    And the harness PSAP sends "start|transfer/265"
    And the harness PSAP sends "another start|transfer/265"
    Then the APP under test refuses it (clause 6.2.6)
