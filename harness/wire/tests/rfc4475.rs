//! RFC 4475 (SIP torture tests) and RFC 5118 (IPv6 torture tests) against `RsipParser` and
//! `SipMessage::defects()`.
//!
//! Every `.sip` file of the reference directories has a row in a table with the verdict of the
//! directory README (a paraphrase of the RFC text) and the precise expectation derived from it:
//!
//! * valid messages parse and have no defect at all;
//! * invalid messages are either a parse error of a named kind, or parse with defects at named
//!   places (header or start line, with a distinctive piece of the reason) and of a named
//!   severity ([`Severity::Reject`]: answer 400; [`Severity::Tolerable`]: the RFC allows the
//!   element to be liberal);
//! * a parse-OK message that must be rejected semantically (insuf, multi01, mismatch01) has
//!   `Reject` defects.
//!
//! The test also checks that the directory holds no `.sip` file missing from the table, and
//! runs every file through the stream framer byte by byte, through the parser after truncation
//! at every length, and through the parser after pseudo-random byte corruption: nothing may panic.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::PathBuf;

use lmpe_wire::headers::{
    CallInfo, ContentType, Geolocation, GeolocationRouting, HistoryInfo, PAssertedIdentity, Reason,
    ReplyTo, ResourcePriority,
};
use lmpe_wire::multipart::{body_parts, Multipart};
use lmpe_wire::sip::{
    split_datagram, Method, RsipParser, Severity, SipMessage, SipParser, SipUri, StreamFramer,
};
use lmpe_wire::WireError;

const REF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/ref");

/// Where a defect is expected: header name (`None` = start line), a piece of the reason text,
/// and its severity.
type Loc = (Option<&'static str>, &'static str, Severity);

const R: Severity = Severity::Reject;
const T: Severity = Severity::Tolerable;

enum Expect {
    /// Parses with no defect.
    Valid,
    /// Parses; exactly these defects by (header, severity), each reason containing the text.
    Defects(&'static [Loc]),
    /// The parser returns this error.
    Error(fn(&WireError) -> bool),
}

struct Case {
    file: &'static str,
    section: &'static str,
    verdict: &'static str,
    expect: Expect,
}

const fn case(
    file: &'static str,
    section: &'static str,
    verdict: &'static str,
    expect: Expect,
) -> Case {
    Case {
        file,
        section,
        verdict,
        expect,
    }
}

use Expect::{Defects, Error, Valid};

const RFC4475: &[Case] = &[
    case("wsinv.sip", "3.1.1.1", "valid – must accept", Valid),
    case("intmeth.sip", "3.1.1.2", "valid – must accept", Valid),
    case("esc01.sip", "3.1.1.3", "valid – must accept", Valid),
    case("escnull.sip", "3.1.1.4", "valid – must accept", Valid),
    case("esc02.sip", "3.1.1.5", "valid – should accept", Valid),
    case(
        "lwsdisp.sip",
        "3.1.1.6",
        "accept (grammar bug in 3261)",
        Valid,
    ),
    case("longreq.sip", "3.1.1.7", "valid – must accept", Valid),
    case("dblreq.sip", "3.1.1.8", "valid – must accept", Valid),
    case("semiuri.sip", "3.1.1.9", "valid – must accept", Valid),
    case("transports.sip", "3.1.1.10", "valid – must accept", Valid),
    case("mpart01.sip", "3.1.1.11", "valid – must accept", Valid),
    case("unreason.sip", "3.1.1.12", "valid – must accept", Valid),
    case("noreason.sip", "3.1.1.13", "valid – must accept", Valid),
    case(
        "badinv01.sip",
        "3.1.2.1",
        "invalid",
        Defects(&[
            (Some("Via"), "empty parameter", R),
            (Some("Via"), "sent-protocol", R),
            (Some("Via"), "empty element in the Via list", R),
            (Some("Contact"), "empty parameter", R),
        ]),
    ),
    case(
        "clerr.sip",
        "3.1.2.2",
        "invalid",
        Error(|e| matches!(e, WireError::TruncatedBody { declared: 9999, .. })),
    ),
    case(
        "ncl.sip",
        "3.1.2.3",
        "invalid",
        Error(|e| matches!(e, WireError::BadContentLength(v) if v == "-999")),
    ),
    case(
        "scalar02.sip",
        "3.1.2.4",
        "invalid",
        Defects(&[
            (Some("CSeq"), "not a 32-bit unsigned integer", R),
            (Some("Max-Forwards"), "0..=255", T),
            (Some("Expires"), "exceeds 2**32-1", T),
            (Some("Contact"), "expires=280297596632815", T),
        ]),
    ),
    case(
        "scalarlg.sip",
        "3.1.2.5",
        "invalid (response)",
        Defects(&[
            (Some("CSeq"), "not a 32-bit unsigned integer", R),
            (Some("Warning"), "warn-code \"1812\"", R),
            (Some("Retry-After"), "exceeds 2**32-1", T),
        ]),
    ),
    case(
        "quotbal.sip",
        "3.1.2.6",
        "invalid",
        Defects(&[(Some("To"), "unterminated quoted-string", R)]),
    ),
    case(
        "ltgtruri.sip",
        "3.1.2.7",
        "invalid",
        Defects(&[(
            None,
            "Request-URI \"<sip:user@example.com>\" is enclosed in <>",
            R,
        )]),
    ),
    case(
        "lwsruri.sip",
        "3.1.2.8",
        "invalid",
        Error(|e| matches!(e, WireError::BadStartLine(_))),
    ),
    case(
        "lwsstart.sip",
        "3.1.2.9",
        "invalid",
        Error(|e| matches!(e, WireError::BadStartLine(_))),
    ),
    case(
        "trws.sip",
        "3.1.2.10",
        "invalid",
        Error(|e| matches!(e, WireError::BadStartLine(_))),
    ),
    case(
        "escruri.sip",
        "3.1.2.11",
        "invalid",
        Defects(&[(None, "carries headers", R)]),
    ),
    case(
        "baddate.sip",
        "3.1.2.12",
        "invalid",
        Defects(&[(Some("Date"), "time zone \"EST\" is not GMT", T)]),
    ),
    case(
        "regbadct.sip",
        "3.1.2.13",
        "invalid",
        Defects(&[(Some("Contact"), "must be enclosed in <>", R)]),
    ),
    case(
        "badaspec.sip",
        "3.1.2.14",
        "invalid",
        Defects(&[(Some("To"), "white space inside <", R)]),
    ),
    // The archived baddn.dat lacks the final empty line (see the directory README).
    case(
        "baddn.sip",
        "3.1.2.15",
        "invalid",
        Error(|e| matches!(e, WireError::MissingHeaderTerminator)),
    ),
    case(
        "baddn.crlf-fixed.sip",
        "3.1.2.15",
        "invalid",
        Defects(&[
            (
                Some("From"),
                "\"Bell, Alexander\" has non-token characters",
                R,
            ),
            (Some("To"), "\"Watson, Thomas\" has non-token characters", R),
        ]),
    ),
    case(
        "badvers.sip",
        "3.1.2.16",
        "invalid",
        Error(|e| matches!(e, WireError::UnsupportedVersion(v) if v == "SIP/7.0")),
    ),
    case(
        "mismatch01.sip",
        "3.1.2.17",
        "invalid",
        Defects(&[(
            Some("CSeq"),
            "INVITE differs from request method OPTIONS",
            R,
        )]),
    ),
    case(
        "mismatch02.sip",
        "3.1.2.18",
        "invalid",
        Defects(&[(
            Some("CSeq"),
            "INVITE differs from request method NEWMETHOD",
            R,
        )]),
    ),
    case(
        "bigcode.sip",
        "3.1.2.19",
        "invalid (response)",
        Error(|e| matches!(e, WireError::BadStatusCode(c) if c == "4294967301")),
    ),
    case(
        "badbranch.sip",
        "3.2.1",
        "parse OK (must not break)",
        Defects(&[(Some("Via"), "bare magic cookie", T)]),
    ),
    case(
        "insuf.sip",
        "3.3.1",
        "parse OK, semantically invalid",
        Defects(&[
            (Some("From"), "required header is missing", R),
            (Some("To"), "required header is missing", R),
            (Some("Call-ID"), "required header is missing", R),
            (Some("Max-Forwards"), "required header is missing", T),
        ]),
    ),
    case("unkscm.sip", "3.3.2", "valid syntax", Valid),
    case("novelsc.sip", "3.3.3", "valid syntax", Valid),
    case("unksm2.sip", "3.3.4", "valid syntax", Valid),
    case("bext01.sip", "3.3.5", "valid syntax", Valid),
    case("invut.sip", "3.3.6", "valid syntax", Valid),
    case("regaut01.sip", "3.3.7", "valid syntax", Valid),
    case(
        "multi01.sip",
        "3.3.8",
        "parse must not break",
        Defects(&[
            (Some("From"), "appears 2 times", R),
            (Some("To"), "appears 2 times", R),
            (Some("Call-ID"), "appears 2 times", R),
            (Some("CSeq"), "appears 2 times", R),
            (Some("Max-Forwards"), "appears 2 times", R),
        ]),
    ),
    case(
        "mcl01.sip",
        "3.3.9",
        "framing error",
        Error(|e| matches!(e, WireError::MultipleContentLength(2))),
    ),
    case("bcast.sip", "3.3.10", "valid syntax", Valid),
    case("zeromf.sip", "3.3.11", "valid", Valid),
    case("cparam01.sip", "3.3.12", "valid", Valid),
    case("cparam02.sip", "3.3.13", "valid", Valid),
    case("regescrt.sip", "3.3.14", "valid", Valid),
    case("sdp01.sip", "3.3.15", "valid syntax", Valid),
    // RFC 2543 message: accepted; the only defect is the missing Max-Forwards, which RFC 3261
    // 8.1.1 requires but a backward-compatible element tolerates.
    case(
        "inv2543.sip",
        "3.4.1",
        "valid (2543)",
        Defects(&[(Some("Max-Forwards"), "required header is missing", T)]),
    ),
    // Not described by the RFC: a request line without SIP-Version and a header line without a
    // colon ("Foobar roobar"). No verdict; we reject it.
    case(
        "test.sip",
        "–",
        "– (no verdict)",
        Error(|e| matches!(e, WireError::BadHeaderLine { line: 10, .. })),
    ),
];

const RFC5118: &[Case] = &[
    case("ipv6-good.sip", "4.1", "valid", Valid),
    case(
        "ipv6-bad.sip",
        "4.2",
        "invalid -> 400",
        Defects(&[(None, "must be enclosed in []", R)]),
    ),
    // `[2001:db8::10:5070]` is a well-formed IPv6 reference; the intent (a port) is not
    // recoverable, so it is accepted as the RFC says ("syntactically valid").
    case(
        "port-ambiguous.sip",
        "4.3",
        "syntactically valid, semantically wrong",
        Valid,
    ),
    case("port-unambiguous.sip", "4.4", "valid", Valid),
    case(
        "via-received-param-with-delim.sip",
        "4.5",
        "must be parsed (be liberal)",
        Valid,
    ),
    case("via-received-param-no-delim.sip", "4.5", "valid", Valid),
    // The published Content-Length (268) exceeds the body (251 octets with CRLF line ends, 242
    // as published with LF): the RFC's own error. See `rfc5118_fixed_variants`.
    case(
        "ipv6-in-sdp.sip",
        "4.6",
        "valid",
        Error(|e| {
            matches!(
                e,
                WireError::TruncatedBody {
                    declared: 268,
                    available: 251
                }
            )
        }),
    ),
    case("mult-ip-in-header.sip", "4.7", "valid", Valid),
    case("mult-ip-in-sdp.sip", "4.8", "valid", Valid),
    case("ipv4-mapped-ipv6.sip", "4.9", "valid", Valid),
    // The two 4.10 archive members end without the empty line that ends the header section
    // (like RFC 4475 baddn.dat). See `rfc5118_fixed_variants`.
    case(
        "ipv6-bug-abnf-3-colons.sip",
        "4.10",
        "tolerate; may parse successfully",
        Error(|e| matches!(e, WireError::MissingHeaderTerminator)),
    ),
    case(
        "ipv6-correct-abnf-2-colons.sip",
        "4.10",
        "valid",
        Error(|e| matches!(e, WireError::MissingHeaderTerminator)),
    ),
];

fn dir(name: &str) -> PathBuf {
    PathBuf::from(REF).join(name)
}

fn read(dir_name: &str, file: &str) -> Vec<u8> {
    let path = dir(dir_name).join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if dir_name == "rfc5118" {
        lf_to_crlf(&bytes)
    } else {
        bytes
    }
}

/// RFC 5118 archive members use LF line ends; wire messages need CRLF.
fn lf_to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn sip_files(dir_name: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir(dir_name))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sip"))
        .collect();
    files.sort();
    files
}

fn parse(bytes: &[u8]) -> Result<SipMessage, WireError> {
    RsipParser::default().parse(bytes)
}

/// Checks one case; returns a line for the summary.
fn check(dir_name: &str, c: &Case) -> String {
    let bytes = read(dir_name, c.file);
    let ctx = format!("{dir_name}/{} (§{}, {})", c.file, c.section, c.verdict);
    let result = parse(&bytes);
    match (&c.expect, result) {
        (Valid, Ok(m)) => {
            let d = m.defects();
            assert!(d.is_empty(), "{ctx}: expected no defects, got {d:#?}");
            format!("{:34} accepted", c.file)
        }
        (Defects(expected), Ok(m)) => {
            let found = m.defects();
            for (header, text, severity) in expected.iter() {
                assert!(
                    found.iter().any(|d| d.header == *header
                        && d.severity == *severity
                        && d.reason.contains(text)),
                    "{ctx}: expected a {severity:?} defect on {header:?} containing {text:?}, got {found:#?}"
                );
            }
            for d in &found {
                assert!(
                    expected.iter().any(|(h, t, s)| d.header == *h
                        && d.severity == *s
                        && d.reason.contains(t)),
                    "{ctx}: unexpected defect {d}"
                );
            }
            let sev = if found.iter().any(|d| d.severity == Severity::Reject) {
                "reject"
            } else {
                "tolerable"
            };
            format!(
                "{:34} parsed, flagged ({sev}): {}",
                c.file,
                found
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
        (Error(is_expected), Err(e)) => {
            assert!(is_expected(&e), "{ctx}: unexpected error {e:?}");
            format!("{:34} rejected by the parser: {e}", c.file)
        }
        (Valid | Defects(_), Err(e)) => panic!("{ctx}: expected to parse, got {e:?}"),
        (Error(_), Ok(m)) => panic!("{ctx}: expected a parse error, parsed {}", m.summary()),
    }
}

fn run_table(dir_name: &str, table: &[Case]) {
    let files = sip_files(dir_name);
    for f in &files {
        assert!(
            table.iter().any(|c| c.file == f),
            "{dir_name}/{f} has no row in the verdict table"
        );
    }
    for c in table {
        assert!(
            files.iter().any(|f| f == c.file),
            "{dir_name}/{} is listed but missing",
            c.file
        );
    }
    let summary: Vec<String> = table.iter().map(|c| check(dir_name, c)).collect();
    println!("{dir_name}:\n  {}", summary.join("\n  "));
}

#[test]
fn rfc4475_verdicts() {
    run_table("rfc4475", RFC4475);
}

#[test]
fn rfc5118_verdicts() {
    run_table("rfc5118", RFC5118);
}

/// The RFC 5118 members that are broken as archived, repaired in the obvious way, meet the RFC
/// verdict.
#[test]
fn rfc5118_fixed_variants() {
    for f in [
        "ipv6-bug-abnf-3-colons.sip",
        "ipv6-correct-abnf-2-colons.sip",
    ] {
        let mut bytes = read("rfc5118", f);
        bytes.extend_from_slice(b"\r\n");
        let m = parse(&bytes).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(m.defects().is_empty(), "{f}: {:?}", m.defects());
        let uri = SipUri::parse(m.request_uri().unwrap()).unwrap();
        assert!(uri.host.starts_with("[2001:db8:"), "{f}");
    }
    let bytes = read("rfc5118", "ipv6-in-sdp.sip");
    let text = String::from_utf8(bytes).unwrap();
    let head_end = text.find("\r\n\r\n").unwrap() + 4;
    let body_len = text.len() - head_end;
    let fixed = text.replace(
        "Content-Length: 268",
        &format!("Content-Length: {body_len}"),
    );
    let m = parse(fixed.as_bytes()).unwrap();
    assert!(m.defects().is_empty(), "{:?}", m.defects());
    assert!(m.body.starts_with(b"v=0"));
}

/// Details the RFC asks for in the valid messages.
#[test]
fn rfc4475_valid_message_details() {
    let p = |f: &str| parse(&read("rfc4475", f)).unwrap();

    // 3.1.1.1: folded, compact and long forms; three Via values; escaped quotes in From.
    let m = p("wsinv.sip");
    assert_eq!(m.header_values("Via").count(), 3);
    assert_eq!(m.cseq().unwrap(), (9, Method::Invite));
    let from = lmpe_wire::sip::NameAddr::parse("From", m.header("From").unwrap()).unwrap();
    assert_eq!(from.display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.param("tag"), Some(Some("98asjd8")));
    let to = lmpe_wire::sip::NameAddr::parse("To", m.header("to").unwrap()).unwrap();
    assert_eq!(to.uri, "sip:vivekg@chair-dnrc.example.com");
    assert_eq!(to.param("tag"), Some(Some("1918181833n")));

    // 3.1.1.2 and 3.1.1.5: unknown methods stay unknown (IN%56ITE is not INVITE).
    assert!(
        matches!(p("intmeth.sip").method(), Some(Method::Other(ref s)) if s == "!interesting-Method0123456789_*+`.%indeed'~")
    );
    assert_eq!(
        p("esc02.sip").method(),
        Some(Method::Other("RE%47IST%45R".into()))
    );
    // Two Contact values and one C%6Fntact extension header, not three Contacts.
    assert_eq!(p("esc02.sip").count_headers("Contact"), 2);

    // 3.1.1.4: two distinct contacts, %00 kept.
    let m = p("escnull.sip");
    let contacts: Vec<&str> = m.header_values("Contact").collect();
    assert_eq!(
        contacts,
        vec![
            "<sip:%00@host5.example.com>",
            "<sip:%00%00@host5.example.com>"
        ]
    );

    // 3.1.1.8: the trailing INVITE is ignored.
    let bytes = read("rfc4475", "dblreq.sip");
    let parts = split_datagram(&bytes).unwrap();
    assert!(parts.trailing > 0);
    let m = parse(&bytes).unwrap();
    assert_eq!(m.method(), Some(Method::Register));
    assert!(m.body.is_empty());

    // 3.1.1.9: the user part is "user;par=u%40example.net".
    let m = p("semiuri.sip");
    let uri = SipUri::parse(m.request_uri().unwrap()).unwrap();
    assert_eq!(uri.user, Some("user;par=u%40example.net"));
    assert_eq!(uri.host, "example.com");

    // 3.1.1.10: five Via values with known and unknown transports.
    assert_eq!(p("transports.sip").header_values("Via").count(), 5);

    // 3.1.1.11: the body is framed by Content-Length and has NUL octets.
    let m = p("mpart01.sip");
    assert_eq!(m.body.len(), 553);
    assert!(m.body.contains(&0));

    // 3.1.1.12 / 3.1.1.13: UTF-8 and empty reason phrases.
    let m = p("unreason.sip");
    assert_eq!(m.status(), Some(200));
    assert!(m
        .summary()
        .contains("= 2**3 * 5**2 но сто девяносто девять"));
    let m = p("noreason.sip");
    assert_eq!(
        m.start,
        lmpe_wire::sip::StartLine::Response {
            code: 100,
            reason: String::new()
        }
    );

    // 3.3.12 / 3.3.13 / 3.3.14: contact-param vs url-parameter vs escaped header.
    let c = |f: &str| {
        lmpe_wire::sip::NameAddr::parse("Contact", p(f).header("Contact").unwrap()).unwrap()
    };
    let c1 = c("cparam01.sip");
    assert_eq!(c1.uri, "sip:+19725552222@gw1.example.net");
    assert_eq!(c1.param("unknownparam"), Some(None));
    let c2 = c("cparam02.sip");
    assert_eq!(c2.uri, "sip:+19725552222@gw1.example.net;unknownparam");
    assert!(c2.params.is_empty());
    let c3 = c("regescrt.sip");
    let u = SipUri::parse(&c3.uri).unwrap();
    assert_eq!(
        u.headers().next(),
        Some(("Route", "%3Csip:sip.example.com%3E"))
    );
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for d in ["rfc4475", "rfc5118"] {
        for f in sip_files(d) {
            let bytes = read(d, &f);
            out.push((format!("{d}/{f}"), bytes));
        }
    }
    out
}

/// Runs everything downstream of a parse on a message, so that typed views and multipart are
/// also exercised on hostile input. Results are ignored; only panics matter.
fn exercise(m: &SipMessage) {
    let _ = m.defects();
    let _ = m.to_bytes();
    let _ = body_parts(m);
    if let Some(ct) = m.content_type() {
        let _ = ContentType::parse(ct);
        let _ = Multipart::parse(ct, &m.body);
    }
    let _ = CallInfo::all_from(m);
    let _ = ReplyTo::from_message(m);
    let _ = PAssertedIdentity::from_message(m);
    let _ = ResourcePriority::from_message(m);
    let _ = HistoryInfo::from_message(m);
    let _ = Reason::all_from(m);
    let _ = Geolocation::from_message(m);
    let _ = GeolocationRouting::from_message(m);
    for h in &m.headers {
        let _ = lmpe_wire::sip::NameAddr::parse("X", &h.value);
        let _ = CallInfo::parse(&h.value);
        let _ = HistoryInfo::parse(&h.value);
        let _ = lmpe_wire::sip::check_uri(&h.value);
    }
}

#[test]
fn stream_framer_byte_by_byte_never_panics_and_frames_by_content_length() {
    for (name, bytes) in corpus() {
        let mut framer = StreamFramer::default();
        let mut out = Vec::new();
        for b in &bytes {
            framer.push(std::slice::from_ref(b));
            while let Some(m) = framer.next_message() {
                out.push(m);
            }
        }
        match split_datagram(&bytes) {
            Ok(p) if p.had_content_length => {
                let len = bytes.len() - p.trailing;
                let first = out
                    .first()
                    .unwrap_or_else(|| panic!("{name}: nothing framed"));
                assert_eq!(
                    first.as_deref().ok(),
                    Some(&bytes[..len]),
                    "{name}: the stream framer disagrees with Content-Length framing"
                );
            }
            Ok(_) => assert!(
                matches!(out.first(), Some(Err(WireError::MissingContentLength))),
                "{name}: a stream message without Content-Length must be a framing error"
            ),
            Err(_) => {}
        }
    }
}

#[test]
fn truncation_at_every_length_never_panics() {
    for (name, bytes) in corpus() {
        for len in 0..=bytes.len() {
            if let Ok(m) = parse(&bytes[..len]) {
                exercise(&m);
            }
        }
        if let Ok(m) = parse(&bytes) {
            exercise(&m);
        } else {
            let _ = name;
        }
    }
}

#[test]
fn byte_corruption_never_panics() {
    // A small xorshift generator: deterministic, no dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const NASTY: &[u8] = b"\0\r\n \t:;,<>\"\\%@[]?=-\xff\xc3";
    for (_, bytes) in corpus() {
        for _ in 0..64 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % b.len().max(1);
                let v = NASTY[(next() as usize) % NASTY.len()];
                if let Some(x) = b.get_mut(i) {
                    *x = v;
                }
            }
            let cut = (next() as usize) % (b.len() + 1);
            for slice in [&b[..], &b[..cut]] {
                if let Ok(m) = parse(slice) {
                    exercise(&m);
                }
                let _ = RsipParser { skip_grammar: true }.parse(slice);
            }
        }
    }
}
