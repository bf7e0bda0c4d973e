# IUT: an integrated SIP+XMPP endpoint (draft-veikkolainen-sip-xmpp-coex-reqs-02: one user
# agent with a SIP and an XMPP identity), on the RFC 7081 (CUSAX) profile of docs/cusax.md.
# The harness is a second integrated endpoint (the tester) and a SIP-only decoy. Embedded runs
# test the harness's own peer endpoint over the embedded XMPP server and direct SIP; a target
# file's [cusax] names a real deployment (SIP proxy/registrar, XMPP server, the peer's SIP URI
# and JID); tests/prosody_cusax.rs runs these against Prosody and Kamailio.
# The peer's scripted user answers texts with a correlation report and acts on #open, #call
# and #bye (docs/cusax.md).
@cusax @serial
Feature: Combining SIP sessions with XMPP conversations (draft-veikkolainen-sip-xmpp-coex-reqs REQ-1, REQ-2)

  Background:
    Given an integrated SIP and XMPP endpoint under test

  @TP_CUSAX_REQ1_BV_01 @clause-COEX-REQ-1 @BV
  Scenario: The endpoint gives its SIP contact once per conversation and correlates the INVITE that refers to it
    When the tester asks the endpoint under test to open a conversation
    Then the first message of the conversation carries the SIP URI of the endpoint in a XEP-0152 reach element, and later ones do not repeat it (REQ-1)
    When the tester verifies the SIP contact of the conversation and calls it, referring to the conversation
    Then the endpoint answers with an audio answer and an impp naming its JID and the conversation's token (REQ-1)
    And a message on the token's thread is correlated with the SIP session (REQ-1)

  @TP_CUSAX_REQ1_BV_02 @clause-COEX-REQ-1 @BV
  Scenario: The endpoint calls a SIP contact it learnt in a conversation, referring to the conversation
    When the tester opens a conversation with its SIP contact and asks the endpoint under test to call it
    Then the endpoint calls the tester's SIP contact with an audio offer and an impp naming its JID and the conversation's token (REQ-1)

  @TP_CUSAX_REQ2_BV_01 @clause-COEX-REQ-2 @BV
  Scenario: A SIP session exchanges the XMPP contacts and a token, and a message with the token is correlated with it
    When the tester calls the endpoint under test with its impp and a new token
    Then the endpoint answers with an audio answer and an impp naming its JID and the same token (REQ-2)
    And a message on the token's thread is correlated with the SIP session (REQ-2)

  @TP_CUSAX_STALE_BI_01 @clause-COEX-4-OPEN @BI
  Scenario: A message correlated with a SIP session that has ended is not tied to a live session
    When the tester calls the endpoint under test with its impp and a new token
    And the tester hangs up
    Then a message on the token's thread is not correlated with the ended SIP session (draft 4, open issue)

  @TP_CUSAX_UNKNOWN_BI_01 @clause-COEX-4-OPEN @BI
  Scenario: An unknown correlation token is tied to no other context of the same peer
    When the tester calls the endpoint under test with its impp and a new token
    Then a message on an unknown thread is not tied to the SIP session (draft 4, open issue)

  @TP_CUSAX_UNKNOWN_BI_02 @clause-COEX-4-OPEN @BI
  Scenario: An INVITE with an unknown token is not tied to a conversation of the same peer
    When the tester asks the endpoint under test to open a conversation
    And the tester calls the endpoint under test with its impp and a new token
    Then the endpoint answers with the INVITE's own token, not the token of its conversation with the tester (draft 4, open issue)
