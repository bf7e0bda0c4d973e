@app @clause-6.1.2.10 @app-iut
Feature: APP test chats (TS 103 698 6.1.2.10)

  Background:
    Given the harness plays the BCF and the PSAP for the APP under test

  @TP_APP_SIP2_TESTCALL_BV_01 @BV
  Scenario: A test chat goes to urn:service:sos.test and the APP accepts the automatic close
    When the APP under test starts an emergency chat to "urn:service:sos.test"
    Then the harness PSAP receives a start to a test service and closes it, which the APP under test accepts (clause 6.1.2.10)
