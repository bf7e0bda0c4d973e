# IUT: a PSAP's chat transfer web service (HTTP-3), both ends. As transferee, the harness
# plays the transferor (and, for a complete transfer, the PSAP holding the chat); as
# transferor, the harness plays the transferee. Requests and responses are checked against
# the Annex A JSON schemas. Against the embedded ESInet, ExpiryTime seconds are scaled
# (50 ms); against a real PSAP they are real seconds.
# Clause: ETSI TS 103 698 V1.1.1, 6.3 Chat Transfer (HTTP-3), Annex A.
@clause-6.3 @HTTP-3
Feature: 6.3 Chat transfer web service (PSAP)

  Background:
    Given the embedded reference ESInet
    And a simulated APP

  @TP_PSAP_HTTP3_NEGOTIATION_BV_01 @BV @clause-6.3.2 @clause-A.2
  Scenario: The transferee answers a negotiation with 202 or 406 and an ExpiryTime of at least 10
    When the harness negotiates a transfer with the PSAP's transfer service
    Then the negotiation response is valid, with StatusCode 202 or 406 and ExpiryTime of at least 10 (clause 6.3.2)

  @TP_PSAP_HTTP3_NEGOTIATION_BI_01 @BI @clause-6.3.2 @clause-A.1
  Scenario: A negotiation request that fails the A.1 schema is not accepted
    When the harness sends a negotiation request without TransferTo
    Then the request is not accepted (clause 6.3.2)

  @TP_PSAP_HTTP3_EXECUTION_BI_01 @BI @clause-6.3.3
  Scenario: An execution request without a negotiation is declined with 503
    When the harness requests the execution of a transfer it never negotiated
    Then the execution is declined with StatusCode 503 (clause 6.3.2)

  @TP_PSAP_HTTP3_EXECUTION_BI_02 @BI @clause-6.3.2
  Scenario: An execution request after the negotiation's ExpiryTime is declined with 503
    When the harness negotiates a transfer with the PSAP's transfer service
    And the harness requests the execution after the negotiation's ExpiryTime
    Then the execution is declined with StatusCode 503 (clause 6.3.2)

  @TP_PSAP_HTTP3_EXECUTION_BV_01 @BV @clause-6.3.3 @clause-A.4 @needs-harness-psap
  Scenario: The transferee executes an agreed transfer (200) and takes the chat over with start|transfer/265
    Given the harness PSAP transfers its chats to the PSAP under test
    And the APP has an established chat with the PSAP via "urn:service:sos"
    When the APP sends the chat message "#transfer"
    Then the transferee takes the chat over with start|transfer/265 and its own Reply-To (clause 6.2.6)
    And the harness saw no violation of the chat transfer web service (clause 6.3)
    And no violation of TS 103 698 was observed

  @TP_PSAP_HTTP3_TRANSFEROR_BV_01 @BV @clause-6.3.3 @clause-A.1 @clause-A.3 @reference-psap
  Scenario: The transferor negotiates, sends stop|transfer/266 and executes with its last MessageId and the chat history
    Given the PSAP under test transfers its chats to the harness
    And the APP has an established chat with the PSAP via "urn:service:sos"
    When the APP sends the chat message "#transfer"
    Then the PSAP announces the transfer with stop|transfer/266 (clause 6.2.6)
    And the execution request carried the chat history in Data (clause 6.3.3)
    And the transferee takes the chat over with start|transfer/265 and its own Reply-To (clause 6.2.6)
    And the harness saw no violation of the chat transfer web service (clause 6.3)
    And no violation of TS 103 698 was observed

  @TP_PSAP_HTTP3_TRANSFEROR_BI_01 @BI @clause-6.3.3 @reference-psap
  Scenario: The transferor re-activates the chat when the execution is not answered before its ExpiryTime
    Given the PSAP under test transfers its chats to a harness transferee that never completes an execution
    And the APP has an established chat with the PSAP via "urn:service:sos"
    When the APP sends the chat message "#transfer"
    Then the PSAP announces the transfer with stop|transfer/266 (clause 6.2.6)
    And the PSAP re-activates the chat (clause 6.3.3)
