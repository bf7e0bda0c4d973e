//! Message ladder as a classic libpcap capture (`.pcap`), for Wireshark.
//!
//! The capture is synthesised from [`WireMessage`]s, not sniffed:
//!
//! * File format: classic libpcap, magic `0xa1b2c3d4` (written little-endian),
//!   version 2.4, microsecond timestamps, snaplen [`PCAP_SNAPLEN`], link type
//!   [`LINKTYPE_RAW`] (101: each packet starts with an IPv4 or IPv6 header).
//! * One packet per message whose `src` and `dst` both parse as
//!   [`SocketAddr`]s of the same family. Messages without (parseable, same
//!   family) addresses are skipped and counted in [`PcapCapture::skipped`].
//! * Timestamp: [`PCAP_EPOCH_BASE_SECS`] plus the message's `at_ms`
//!   (negative or non-finite offsets count as zero). Packets keep the order
//!   of the messages.
//! * Transport `"UDP"` (case-insensitive) becomes a UDP datagram; every other
//!   transport (`"TCP"`, `"TLS"`, `"WS"`, `"WSS"`, ...) a TCP segment with
//!   flags PSH|ACK and no handshake. TCP sequence numbers are kept per
//!   direction (per `src`→`dst` pair), start at [`TCP_INITIAL_SEQ`] and
//!   advance by the payload length; the acknowledgement number is the next
//!   sequence number of the opposite direction. For TLS/WSS the payload is
//!   the decrypted text as recorded.
//! * Checksums: the IPv4 header checksum and the UDP and TCP checksums (IPv4
//!   and IPv6 pseudo-headers) are all computed.
//! * Payload: the UTF-8 bytes of the message `text`. Size rule: a payload
//!   larger than [`MAX_PAYLOAD`] bytes is **split** into consecutive TCP
//!   segments of at most [`MAX_PAYLOAD`] bytes (same timestamp, sequence
//!   numbers advancing), but **truncated** to [`MAX_PAYLOAD`] bytes for UDP,
//!   where one message must stay one datagram; truncations are counted in
//!   [`PcapCapture::truncated`].

use crate::error::ReportError;
use crate::model::WireMessage;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

/// Link type of the capture: `LINKTYPE_RAW` (raw IPv4/IPv6, no link header).
pub const LINKTYPE_RAW: u32 = 101;
/// Snapshot length declared in the file header.
pub const PCAP_SNAPLEN: u32 = 262_144;
/// Timestamp of `at_ms == 0`: 2024-01-01T00:00:00Z, in seconds since the
/// Unix epoch.
pub const PCAP_EPOCH_BASE_SECS: u32 = 1_704_067_200;
/// Largest payload carried by one packet (see the module docs for the
/// split/truncate rule).
pub const MAX_PAYLOAD: usize = 65_000;
/// First TCP sequence number of every direction.
pub const TCP_INITIAL_SEQ: u32 = 1;

const PCAP_MAGIC: u32 = 0xa1b2_c3d4;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const TTL: u8 = 64;
const TCP_FLAGS_PSH_ACK: u8 = 0x18;
const TCP_WINDOW: u16 = 65_535;

/// A synthesised capture and what went into it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PcapCapture {
    /// The complete `.pcap` file contents.
    pub bytes: Vec<u8>,
    /// Number of packet records in `bytes`.
    pub packets: usize,
    /// Messages left out because `src`/`dst` were missing, unparseable or of
    /// different address families.
    pub skipped: usize,
    /// UDP messages whose payload was cut to [`MAX_PAYLOAD`] bytes.
    pub truncated: usize,
}

/// Builds a capture of `messages` and reports how many packets were written
/// and how many messages were skipped or truncated.
pub fn pcap_capture(messages: &[WireMessage]) -> PcapCapture {
    let mut bytes =
        Vec::with_capacity(24 + messages.iter().map(|m| m.text.len() + 56).sum::<usize>());
    bytes.extend_from_slice(&PCAP_MAGIC.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    bytes.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    bytes.extend_from_slice(&PCAP_SNAPLEN.to_le_bytes());
    bytes.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());

    let mut capture = PcapCapture {
        bytes,
        packets: 0,
        skipped: 0,
        truncated: 0,
    };
    let mut tcp_next_seq: HashMap<(SocketAddr, SocketAddr), u32> = HashMap::new();
    let mut ip_id: u16 = 0;

    for message in messages {
        let Some((src, dst)) = endpoints(message) else {
            capture.skipped += 1;
            continue;
        };
        let (ts_sec, ts_usec) = timestamp(message.at_ms);
        let payload = message.text.as_bytes();

        if message.transport.eq_ignore_ascii_case("UDP") {
            let body = if payload.len() > MAX_PAYLOAD {
                capture.truncated += 1;
                &payload[..MAX_PAYLOAD]
            } else {
                payload
            };
            ip_id = ip_id.wrapping_add(1);
            let packet = ip_packet(src, dst, IPPROTO_UDP, udp_segment(src, dst, body), ip_id);
            record(&mut capture, ts_sec, ts_usec, &packet);
        } else {
            let chunks: Vec<&[u8]> = if payload.is_empty() {
                vec![payload]
            } else {
                payload.chunks(MAX_PAYLOAD).collect()
            };
            for chunk in chunks {
                let seq = *tcp_next_seq.get(&(src, dst)).unwrap_or(&TCP_INITIAL_SEQ);
                let ack = *tcp_next_seq.get(&(dst, src)).unwrap_or(&TCP_INITIAL_SEQ);
                // `chunk.len() <= MAX_PAYLOAD`, so the cast is lossless.
                tcp_next_seq.insert((src, dst), seq.wrapping_add(chunk.len() as u32));
                ip_id = ip_id.wrapping_add(1);
                let segment = tcp_segment(src, dst, seq, ack, chunk);
                let packet = ip_packet(src, dst, IPPROTO_TCP, segment, ip_id);
                record(&mut capture, ts_sec, ts_usec, &packet);
            }
        }
    }
    capture
}

/// The `.pcap` file contents for `messages` (see [`pcap_capture`]).
pub fn pcap_bytes(messages: &[WireMessage]) -> Vec<u8> {
    pcap_capture(messages).bytes
}

/// Writes the capture of `messages` to `path`. Messages without usable
/// addresses are skipped; use [`pcap_capture`] to learn how many.
pub fn write_pcap(messages: &[WireMessage], path: &Path) -> Result<(), ReportError> {
    std::fs::write(path, pcap_bytes(messages)).map_err(|e| ReportError::io(path, e))
}

/// Both addresses, parsed, of the same family.
fn endpoints(message: &WireMessage) -> Option<(SocketAddr, SocketAddr)> {
    let src: SocketAddr = message.src.as_deref()?.trim().parse().ok()?;
    let dst: SocketAddr = message.dst.as_deref()?.trim().parse().ok()?;
    (src.is_ipv4() == dst.is_ipv4()).then_some((src, dst))
}

/// `PCAP_EPOCH_BASE_SECS + at_ms` as (seconds, microseconds).
fn timestamp(at_ms: f64) -> (u32, u32) {
    let micros = if at_ms.is_finite() && at_ms > 0.0 {
        // Saturating float-to-int cast; far beyond any real scenario.
        (at_ms * 1000.0).round() as u64
    } else {
        0
    };
    let secs = u64::from(PCAP_EPOCH_BASE_SECS) + micros / 1_000_000;
    (
        u32::try_from(secs).unwrap_or(u32::MAX),
        (micros % 1_000_000) as u32,
    )
}

fn record(capture: &mut PcapCapture, ts_sec: u32, ts_usec: u32, packet: &[u8]) {
    // Packets are at most 40 + 20 + MAX_PAYLOAD bytes, below the snaplen.
    let len = packet.len() as u32;
    let out = &mut capture.bytes;
    out.extend_from_slice(&ts_sec.to_le_bytes());
    out.extend_from_slice(&ts_usec.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes()); // incl_len
    out.extend_from_slice(&len.to_le_bytes()); // orig_len
    out.extend_from_slice(packet);
    capture.packets += 1;
}

/// UDP header plus `payload`, checksum filled in.
fn udp_segment(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    let mut seg = Vec::with_capacity(len.into());
    seg.extend_from_slice(&src.port().to_be_bytes());
    seg.extend_from_slice(&dst.port().to_be_bytes());
    seg.extend_from_slice(&len.to_be_bytes());
    seg.extend_from_slice(&[0, 0]);
    seg.extend_from_slice(payload);
    let mut sum = transport_checksum(src.ip(), dst.ip(), IPPROTO_UDP, &seg);
    if sum == 0 {
        // RFC 768: a computed zero is transmitted as all ones.
        sum = 0xffff;
    }
    seg[6..8].copy_from_slice(&sum.to_be_bytes());
    seg
}

/// TCP header (20 bytes, no options, PSH|ACK) plus `payload`, checksum
/// filled in.
fn tcp_segment(src: SocketAddr, dst: SocketAddr, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let mut seg = Vec::with_capacity(20 + payload.len());
    seg.extend_from_slice(&src.port().to_be_bytes());
    seg.extend_from_slice(&dst.port().to_be_bytes());
    seg.extend_from_slice(&seq.to_be_bytes());
    seg.extend_from_slice(&ack.to_be_bytes());
    seg.push(5 << 4); // data offset: 5 words
    seg.push(TCP_FLAGS_PSH_ACK);
    seg.extend_from_slice(&TCP_WINDOW.to_be_bytes());
    seg.extend_from_slice(&[0, 0]); // checksum
    seg.extend_from_slice(&[0, 0]); // urgent pointer
    seg.extend_from_slice(payload);
    let sum = transport_checksum(src.ip(), dst.ip(), IPPROTO_TCP, &seg);
    seg[16..18].copy_from_slice(&sum.to_be_bytes());
    seg
}

/// Prepends an IPv4 or IPv6 header (by the family of `src`) to `segment`.
fn ip_packet(src: SocketAddr, dst: SocketAddr, proto: u8, segment: Vec<u8>, id: u16) -> Vec<u8> {
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (20 + segment.len()) as u16;
            let mut packet = Vec::with_capacity(total.into());
            packet.push(0x45); // version 4, IHL 5
            packet.push(0); // DSCP/ECN
            packet.extend_from_slice(&total.to_be_bytes());
            packet.extend_from_slice(&id.to_be_bytes());
            packet.extend_from_slice(&0x4000u16.to_be_bytes()); // DF, offset 0
            packet.push(TTL);
            packet.push(proto);
            packet.extend_from_slice(&[0, 0]); // header checksum
            packet.extend_from_slice(&s.octets());
            packet.extend_from_slice(&d.octets());
            let sum = finish(sum_words(0, &packet));
            packet[10..12].copy_from_slice(&sum.to_be_bytes());
            packet.extend_from_slice(&segment);
            packet
        }
        (s, d) => {
            let (s, d) = (v6_octets(s), v6_octets(d));
            let mut packet = Vec::with_capacity(40 + segment.len());
            packet.extend_from_slice(&0x6000_0000u32.to_be_bytes()); // version 6
            packet.extend_from_slice(&(segment.len() as u16).to_be_bytes());
            packet.push(proto); // next header
            packet.push(TTL); // hop limit
            packet.extend_from_slice(&s);
            packet.extend_from_slice(&d);
            packet.extend_from_slice(&segment);
            packet
        }
    }
}

fn v6_octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Internet checksum of `segment` with the IPv4 or IPv6 pseudo-header.
fn transport_checksum(src: IpAddr, dst: IpAddr, proto: u8, segment: &[u8]) -> u16 {
    let len = segment.len() as u32;
    let mut acc = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let acc = sum_words(0, &s.octets());
            let acc = sum_words(acc, &d.octets());
            // zero, protocol, 16-bit length
            sum_words(acc, &[0, proto, (len >> 8) as u8, len as u8])
        }
        (s, d) => {
            let acc = sum_words(0, &v6_octets(s));
            let acc = sum_words(acc, &v6_octets(d));
            let acc = sum_words(acc, &len.to_be_bytes());
            sum_words(acc, &[0, 0, 0, proto])
        }
    };
    acc = sum_words(acc, segment);
    finish(acc)
}

/// Adds `bytes` as big-endian 16-bit words (odd tail padded with zero).
fn sum_words(mut acc: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds the carries and takes the ones' complement.
fn finish(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(at_ms: f64, transport: &str, src: &str, dst: &str, text: &str) -> WireMessage {
        WireMessage {
            at_ms,
            direction: "A -> B".to_owned(),
            transport: transport.to_owned(),
            summary: text.lines().next().unwrap_or_default().to_owned(),
            text: text.to_owned(),
            src: Some(src.to_owned()),
            dst: Some(dst.to_owned()),
        }
    }

    const INVITE: &str = "MESSAGE sip:urn:service:sos SIP/2.0\r\n\
        Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
        From: <sip:app@example.org>;tag=1\r\nTo: <sip:urn:service:sos>\r\n\
        Call-ID: 1@example.org\r\nCSeq: 1 MESSAGE\r\nContent-Length: 4\r\n\r\nhelp";
    const OK: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
        From: <sip:app@example.org>;tag=1\r\nTo: <sip:urn:service:sos>;tag=2\r\n\
        Call-ID: 1@example.org\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";

    /// One parsed packet record.
    #[derive(Debug)]
    struct Packet {
        ts_sec: u32,
        ts_usec: u32,
        v6: bool,
        proto: u8,
        src: IpAddr,
        dst: IpAddr,
        src_port: u16,
        dst_port: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: Vec<u8>,
    }

    fn u16be(b: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    fn u32be(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    fn u32le(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// An independent, strict reader: checks the file header, every length
    /// field and every checksum, and returns the packets.
    fn parse(bytes: &[u8]) -> Vec<Packet> {
        assert!(bytes.len() >= 24, "short file");
        assert_eq!(&bytes[0..4], &[0xd4, 0xc3, 0xb2, 0xa1], "magic");
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2, "major");
        assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]), 4, "minor");
        assert_eq!(u32le(bytes, 8), 0, "thiszone");
        assert_eq!(u32le(bytes, 12), 0, "sigfigs");
        assert_eq!(u32le(bytes, 16), 262_144, "snaplen");
        assert_eq!(u32le(bytes, 20), 101, "linktype");
        let mut at = 24;
        let mut packets = Vec::new();
        while at < bytes.len() {
            let ts_sec = u32le(bytes, at);
            let ts_usec = u32le(bytes, at + 4);
            let incl = u32le(bytes, at + 8) as usize;
            let orig = u32le(bytes, at + 12) as usize;
            assert_eq!(incl, orig, "not truncated by snaplen");
            assert!(incl <= 262_144);
            assert!(ts_usec < 1_000_000);
            let p = &bytes[at + 16..at + 16 + incl];
            at += 16 + incl;

            let version = p[0] >> 4;
            let (v6, proto, src, dst, l4) = match version {
                4 => {
                    assert_eq!(p[0] & 0x0f, 5, "IHL");
                    assert_eq!(u16be(p, 2) as usize, p.len(), "IPv4 total length");
                    assert_eq!(
                        finish(sum_words(0, &p[..20])),
                        0,
                        "IPv4 header checksum must verify"
                    );
                    let src = IpAddr::from([p[12], p[13], p[14], p[15]]);
                    let dst = IpAddr::from([p[16], p[17], p[18], p[19]]);
                    (false, p[9], src, dst, &p[20..])
                }
                6 => {
                    assert_eq!(u16be(p, 4) as usize, p.len() - 40, "IPv6 payload length");
                    let mut s = [0u8; 16];
                    let mut d = [0u8; 16];
                    s.copy_from_slice(&p[8..24]);
                    d.copy_from_slice(&p[24..40]);
                    (true, p[6], IpAddr::from(s), IpAddr::from(d), &p[40..])
                }
                v => panic!("IP version {v}"),
            };
            // Transport checksum over pseudo-header + segment verifies to 0.
            let pseudo_ok = {
                let len = l4.len() as u32;
                let acc = match (src, dst) {
                    (IpAddr::V4(s), IpAddr::V4(d)) => sum_words(
                        sum_words(sum_words(0, &s.octets()), &d.octets()),
                        &[0, proto, (len >> 8) as u8, len as u8],
                    ),
                    (IpAddr::V6(s), IpAddr::V6(d)) => sum_words(
                        sum_words(
                            sum_words(sum_words(0, &s.octets()), &d.octets()),
                            &len.to_be_bytes(),
                        ),
                        &[0, 0, 0, proto],
                    ),
                    _ => panic!("mixed families"),
                };
                finish(sum_words(acc, l4)) == 0
            };
            assert!(pseudo_ok, "transport checksum must verify");
            let packet = match proto {
                17 => {
                    assert_eq!(u16be(l4, 4) as usize, l4.len(), "UDP length");
                    assert_ne!(u16be(l4, 6), 0, "UDP checksum computed");
                    Packet {
                        ts_sec,
                        ts_usec,
                        v6,
                        proto,
                        src,
                        dst,
                        src_port: u16be(l4, 0),
                        dst_port: u16be(l4, 2),
                        seq: 0,
                        ack: 0,
                        flags: 0,
                        payload: l4[8..].to_vec(),
                    }
                }
                6 => {
                    assert_eq!(l4[12] >> 4, 5, "TCP data offset");
                    Packet {
                        ts_sec,
                        ts_usec,
                        v6,
                        proto,
                        src,
                        dst,
                        src_port: u16be(l4, 0),
                        dst_port: u16be(l4, 2),
                        seq: u32be(l4, 4),
                        ack: u32be(l4, 8),
                        flags: l4[13],
                        payload: l4[20..].to_vec(),
                    }
                }
                other => panic!("protocol {other}"),
            };
            packets.push(packet);
        }
        assert_eq!(at, bytes.len(), "no trailing bytes");
        packets
    }

    #[test]
    fn writes_header_and_one_record_per_addressed_message() {
        let mut unaddressed = msg(3.0, "UDP", "x", "y", "OPTIONS sip:x SIP/2.0\r\n\r\n");
        unaddressed.src = None;
        let messages = vec![
            msg(0.5, "UDP", "127.0.0.1:5070", "127.0.0.1:5060", INVITE),
            msg(1.25, "UDP", "127.0.0.1:5060", "127.0.0.1:5070", OK),
            unaddressed,
            msg(4.0, "UDP", "not an address", "127.0.0.1:5060", OK),
            msg(5.0, "UDP", "127.0.0.1:5060", "[::1]:5060", OK),
            msg(1500.0015, "udp", "[::1]:5070", "[::1]:5060", INVITE),
        ];
        let capture = pcap_capture(&messages);
        assert_eq!(
            (capture.packets, capture.skipped, capture.truncated),
            (3, 3, 0)
        );
        assert_eq!(pcap_bytes(&messages), capture.bytes);

        let packets = parse(&capture.bytes);
        assert_eq!(packets.len(), 3);
        let first = &packets[0];
        assert_eq!((first.ts_sec, first.ts_usec), (PCAP_EPOCH_BASE_SECS, 500));
        assert!(!first.v6);
        assert_eq!(first.proto, 17);
        assert_eq!(first.src, IpAddr::from([127, 0, 0, 1]));
        assert_eq!((first.src_port, first.dst_port), (5070, 5060));
        assert_eq!(first.payload, INVITE.as_bytes());
        assert_eq!(packets[1].ts_usec, 1250);
        assert_eq!((packets[1].src_port, packets[1].dst_port), (5060, 5070));
        assert_eq!(packets[1].payload, OK.as_bytes());

        let v6 = &packets[2];
        assert!(v6.v6);
        assert_eq!(v6.proto, 17);
        assert_eq!(v6.dst, "::1".parse::<IpAddr>().expect("ip"));
        assert_eq!((v6.ts_sec, v6.ts_usec), (PCAP_EPOCH_BASE_SECS + 1, 500_002));
        assert_eq!(v6.payload, INVITE.as_bytes());
    }

    #[test]
    fn tcp_sequence_numbers_advance_per_direction() {
        let a = "127.0.0.1:40000";
        let b = "127.0.0.1:5060";
        let messages = vec![
            msg(1.0, "TCP", a, b, INVITE),
            msg(2.0, "TCP", b, a, OK),
            msg(3.0, "TLS", a, b, "second"),
            msg(4.0, "TCP", a, b, ""),
            msg(5.0, "TCP", "[::1]:40000", "[::1]:5060", INVITE),
            msg(6.0, "TCP", "[::1]:5060", "[::1]:40000", OK),
        ];
        let packets = parse(&pcap_bytes(&messages));
        assert_eq!(packets.len(), 6);
        assert!(packets.iter().all(|p| p.proto == 6 && p.flags == 0x18));
        let (inv, ok) = (INVITE.len() as u32, OK.len() as u32);
        let seq_ack: Vec<(u32, u32)> = packets.iter().map(|p| (p.seq, p.ack)).collect();
        assert_eq!(
            seq_ack,
            [
                (1, 1),
                (1, 1 + inv),
                (1 + inv, 1 + ok),
                (1 + inv + 6, 1 + ok),
                (1, 1),
                (1, 1 + inv),
            ]
        );
        assert!(packets[3].payload.is_empty());
        assert!(packets[4].v6 && packets[5].v6);
        assert_eq!(packets[5].payload, OK.as_bytes());
    }

    #[test]
    fn large_payloads_split_on_tcp_and_truncate_on_udp() {
        let big: String = "x".repeat(2 * MAX_PAYLOAD + 10);
        let messages = vec![
            msg(1.0, "TCP", "10.0.0.1:5060", "10.0.0.2:5060", &big),
            msg(2.0, "UDP", "10.0.0.1:5060", "10.0.0.2:5060", &big),
            msg(3.0, "TCP", "[2001:db8::1]:5060", "[2001:db8::2]:5060", &big),
        ];
        let capture = pcap_capture(&messages);
        assert_eq!(
            (capture.packets, capture.skipped, capture.truncated),
            (7, 0, 1)
        );
        let packets = parse(&capture.bytes);
        let lens: Vec<usize> = packets.iter().map(|p| p.payload.len()).collect();
        assert_eq!(
            lens,
            [
                MAX_PAYLOAD,
                MAX_PAYLOAD,
                10,
                MAX_PAYLOAD,
                MAX_PAYLOAD,
                MAX_PAYLOAD,
                10
            ]
        );
        let seqs: Vec<u32> = packets[..3].iter().map(|p| p.seq).collect();
        let m = MAX_PAYLOAD as u32;
        assert_eq!(seqs, [1, 1 + m, 1 + 2 * m]);
        assert_eq!(packets[3].proto, 17);
        assert!(packets[..3].iter().all(|p| p.ts_usec == 1000));
        let rebuilt: Vec<u8> = packets[4..]
            .iter()
            .flat_map(|p| p.payload.clone())
            .collect();
        assert_eq!(rebuilt, big.as_bytes());
    }

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3 example words sum to 0xddf2 → checksum 0x220d.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(sum_words(0, &data)), !0xddf2);
        // A classic IPv4 header example (checksum 0xb861).
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(finish(sum_words(0, &header)), 0xb861);
        header[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert_eq!(finish(sum_words(0, &header)), 0);
    }

    #[test]
    fn empty_ladder_is_a_valid_empty_capture() {
        let bytes = pcap_bytes(&[]);
        assert_eq!(bytes.len(), 24);
        assert!(parse(&bytes).is_empty());
    }

    /// If `tshark` is installed, it must read the file and see SIP in every
    /// packet. Skipped silently when it is not; the byte-level checks above
    /// are the real assertion.
    #[test]
    fn tshark_reads_the_capture_when_available() {
        let messages = vec![
            msg(0.5, "UDP", "127.0.0.1:5070", "127.0.0.1:5060", INVITE),
            msg(1.0, "UDP", "127.0.0.1:5060", "127.0.0.1:5070", OK),
            msg(2.0, "TCP", "127.0.0.1:40000", "127.0.0.1:5060", INVITE),
            msg(3.0, "TCP", "127.0.0.1:5060", "127.0.0.1:40000", OK),
            msg(4.0, "UDP", "[::1]:5070", "[::1]:5060", INVITE),
            msg(5.0, "TCP", "[::1]:40000", "[::1]:5060", OK),
        ];
        let path = std::env::temp_dir().join(format!("lmpe-reports-{}.pcap", std::process::id()));
        write_pcap(&messages, &path).expect("write pcap");
        assert_eq!(std::fs::read(&path).expect("read"), pcap_bytes(&messages));
        let output = std::process::Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&path)
            .args(["-T", "fields", "-e", "frame.protocols"])
            .output();
        let capinfos = std::process::Command::new("capinfos")
            .args(["-c", "-M"])
            .arg(&path)
            .output();
        let _ = std::fs::remove_file(&path);
        if let Ok(out) = capinfos {
            assert!(out.status.success(), "capinfos failed: {out:?}");
            let text = String::from_utf8_lossy(&out.stdout);
            let count = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("Number of packets:"))
                .map(str::trim);
            assert_eq!(count, Some("6"), "{text}");
        }
        let Ok(out) = output else {
            return; // tshark not installed
        };
        assert!(out.status.success(), "tshark failed: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), messages.len(), "{text}");
        for line in lines {
            assert!(line.split(':').any(|p| p == "sip"), "no SIP in {line}");
        }
    }
}
