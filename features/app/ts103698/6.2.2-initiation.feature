@app @clause-6.2.2 @app-iut
Feature: APP session mode initiation (TS 103 698 6.2.2, 6.1.2.3, 6.1.2.7, 6.1.2.8)
  The harness plays the BCF and the PSAP in front of the APP under test. With the embedded
  defaults the APP under test is the harness's reference APP; with a target file naming [app]
  it is a real APP, operated by a person when the run asks for it.

  Background:
    Given the harness plays the BCF and the PSAP for the APP under test

  @TP_APP_IM2_START_BV_01 @BV
  Scenario: The APP starts with start/257 to the service, a Call Identifier, Message Identifier 1, location, From and a text
    When the APP under test starts an emergency chat to "urn:service:sos"
    Then the harness PSAP receives start/257 without violation of clauses 6.2.2, 6.1.2.7
