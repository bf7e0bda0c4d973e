# IUT: the BCF (and the elements behind it). The harness plays the APP and sends a start/257
# larger than an Ethernet MTU over UDP; on a real network it is fragmented by IP and must be
# reassembled (on loopback the datagram is simply large: the check is that it is accepted).
# Clause: ETSI TS 103 698 V1.1.1, 6.1.1 SIP Transport (SIP-1).
@clause-6.1.1 @SIP-1
Feature: 6.1.1 Fragmentation and reassembly (BCF)

  Background:
    Given the embedded reference ESInet
    And a simulated APP

  @TP_BCF_SIP1_LARGE_BV_01 @BV
  Scenario: A start/257 larger than an IP packet, sent over UDP, is accepted and routed
    Given the APP sends its messages over UDP whatever their size
    And the APP attaches a 6000-byte image to its messages
    When the APP starts a chat to "urn:service:sos" with the text "Help, photo attached"
    Then the APP's start went over UDP as one datagram of more than 1500 bytes
    And the chat is established through the ESInet (clause 6.1.1)
