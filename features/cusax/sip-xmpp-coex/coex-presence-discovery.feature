# IUT: an integrated SIP+XMPP endpoint (draft-veikkolainen-sip-xmpp-coex-reqs-02), on the
# RFC 7081 (CUSAX) profile of docs/cusax.md: presence with the SIP contact (XEP-0152), media
# capabilities (XEP-0115 caps, verified with disco#info) and "on the phone" (XEP-0108); the XMPP URI learnt from the SIP URI (RFC 6993 impp in the
# 200 to OPTIONS); contact information verified before use (draft Section 6).
@cusax @serial
Feature: SIP information in XMPP presence, XMPP URI discovery and verification of contacts (draft-veikkolainen-sip-xmpp-coex-reqs REQ-3, REQ-4, 6)

  Background:
    Given an integrated SIP and XMPP endpoint under test

  @TP_CUSAX_REQ3_BV_01 @clause-COEX-REQ-3 @BV
  Scenario: Presence carries the SIP contact, the media and whether the user is on the phone
    When the tester subscribes to the presence of the endpoint under test
    Then its presence carries its SIP URI in a XEP-0152 reach element and XEP-0115 capabilities with audio, and not on the phone (REQ-3)
    When the tester calls the endpoint under test with its impp and a new token
    Then its presence says it is on the phone within 3000 ms (REQ-3)
    When the tester hangs up
    Then its presence no longer says it is on the phone within 3000 ms (REQ-3)

  @TP_CUSAX_REQ4_BV_01 @clause-COEX-REQ-4 @BV
  Scenario: Who knows only the SIP URI learns the XMPP URI without bothering the user
    When the tester sends OPTIONS to the SIP URI of the endpoint under test
    Then the 200 answer carries an impp naming the XMPP JID of the endpoint (REQ-4)
    And a message to that JID reaches the endpoint as a new conversation (REQ-4)

  @TP_CUSAX_FORGED_BI_01 @clause-COEX-6 @BI
  Scenario: A forged SIP contact learnt over XMPP is verified over SIP and not used
    When the tester claims a SIP contact that belongs to another XMPP user and asks the endpoint under test to call it
    Then the endpoint does not call the forged contact within 2000 ms (draft 6)
