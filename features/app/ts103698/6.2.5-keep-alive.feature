@app @clause-6.2.5 @app-iut
Feature: APP keep-alive messages (TS 103 698 6.2.5)
  A real APP is held to the 20 s of the clause; the embedded reference APP is scaled down
  (300 ms heartbeats, 1 s limit) so the suite stays fast.

  Background:
    Given the harness plays the BCF and the PSAP for the APP under test

  @TP_APP_IM2_HEARTBEAT_BV_01 @BV
  Scenario: The APP sends heartbeat/260 periodically to Reply-To, with location and the Call Identifier
    Given the APP under test sends heartbeats every 300 ms
    And the APP under test has an established chat with the harness PSAP
    Then the harness PSAP receives heartbeats at least every 1000 ms, 2 of them, without violation of clauses 6.2.5
