# IUT: the BCF, the APP's peering point (the harness plays the APP; the reference ESInet's
# elements behind the BCF are reached as usual). Certificates: generated for each scenario
# against the embedded ESInet (never committed); the target file's [tls] files otherwise.
# Clause: ETSI TS 103 698 V1.1.1, 6.1.1 SIP Transport (SIP-1).
@clause-6.1.1 @SIP-1
Feature: 6.1.1 SIP transport over TLS (BCF)

  Background:
    Given the embedded reference ESInet
    And a simulated APP
    And the BCF accepts SIP over TLS with mutual authentication

  @TP_BCF_SIP1_TLS_BV_01 @BV
  Scenario: An emergency chat runs over TLS with mutual authentication, both ways
    Given the APP connects over TLS with a certificate the ESInet trusts
    When the APP starts a chat over TLS to "urn:service:sos"
    And the APP sends the chat message "I am on the third floor"
    Then every message between the APP and the BCF went over TLS (clause 6.1.1)

  @TP_BCF_SIP1_TLS_BV_02 @BV
  Scenario: One TLS connection carries every message of the chat, also after an idle period just short of the 3-minute session timeout
    Given the APP connects over TLS with a certificate the ESInet trusts
    And the 6.1.1 session timeout of 3 minutes is scaled to 1500 ms for the embedded BCF
    When the APP starts a chat over TLS to "urn:service:sos"
    And the chat is idle for nine tenths of the 6.1.1 session timeout
    And the APP sends the chat message "Still here"
    Then one TLS connection carried every message of the chat, both ways (clause 6.1.1)

  @TP_BCF_SIP1_TLS_BI_01 @BI
  Scenario: A client certificate from a CA the ESInet does not trust is refused
    Given the APP connects over TLS with a certificate from a CA the ESInet does not trust
    When the APP starts a chat over TLS to "urn:service:sos"
    Then the BCF refuses the APP's TLS connection (clause 6.1.1)

  @TP_BCF_SIP1_TLS_BV_03 @BV
  Scenario: When TLS cannot be established the chat falls back to TCP, and the verdict says so
    Given the APP connects over TLS with a certificate from a CA the ESInet does not trust
    And the APP falls back to TCP when TLS cannot be established
    When the APP starts a chat over TLS to "urn:service:sos"
    And the APP sends the chat message "Can you hear me?"
    Then the chat ran over TCP after the fallback, which the report notes (clause 6.1.1)
