//! Multipart bodies against the ng112-js test resources, RFC 4475 mpart01 and build → parse.

#![allow(clippy::unwrap_used)] // tests may unwrap

use lmpe_wire::headers::Geolocation;
use lmpe_wire::multipart::{body_parts, LmpeBody, Multipart, Part};
use lmpe_wire::sip::{Method, NameAddr, RequestBuilder, RsipParser, SipParser, Via};

const REF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/ref");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{REF}/{path}")).unwrap()
}

const CRLF: &str = "\r\n";

#[test]
fn ng112js_valid_multipart_2() {
    let body = read("lmpe/ng112js-multipart-valid-multipart_2.txt");
    let m = Multipart::parse("multipart/mixed; boundary=unique-boundary-1", &body).unwrap();
    assert!(!m.lenient_delimiters);
    assert_eq!(m.parts.len(), 2);
    assert_eq!(m.parts[0].content_type(), Some("text/plain"));
    assert_eq!(m.parts[0].body, b"Hello");
    let pidf = m.find_by_cid("cid:nnxwnwckqz98@prf").unwrap();
    assert_eq!(pidf.content_id(), Some("nnxwnwckqz98@prf"));
    assert!(pidf.is_media_type("application/pidf+xml"));
    let xml = pidf.text().unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<presence"));
    assert!(xml.ends_with("</presence>\r\n"));
    assert!(xml.contains("<gml:pos>28.3423871 -81.5263783</gml:pos>"));
}

#[test]
fn ng112js_valid_multipart_1_delimiter_must_start_the_line() {
    let body = read("lmpe/ng112js-multipart-valid-multipart_1.txt");
    // The header ng112-js's test passes. ` --bounds   ` is not a delimiter (not at line start).
    let m = Multipart::parse("multipart/mixed;boundary=bounds", &body).unwrap();
    assert_eq!(m.parts.len(), 1);
    assert_eq!(m.parts[0].content_type(), Some("text/plain"));
    assert_eq!(
        m.parts[0].text().unwrap(),
        format!("hello{CRLF} --bounds   {CRLF}Content-Type: text/plain{CRLF}{CRLF}there")
    );
    // Per RFC 2046 the first line `---------bounds` is not `--bounds`: only the leniency that
    // ng112-js also applies (any run of dashes before the boundary) finds the opening delimiter.
    assert!(m.lenient_delimiters);
    let e = Multipart::parse_strict("multipart/mixed;boundary=bounds", &body)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("close delimiter --bounds-- before any opening delimiter"),
        "{e}"
    );
}

fn ng112js_invalid_parts(m: &Multipart) {
    assert_eq!(m.parts.len(), 4);
    let expect: [(&[(&str, &str)], &str); 4] = [
        (
            &[("Content-Type", "text/plain;charset=UTF-8")],
            "Some text\r\n\r\n\r\n",
        ),
        (&[("Content-Type", "text/plain")], "--dangerous"),
        (
            &[
                ("Content-Type", "application/pidf+xml"),
                ("Content-ID", "<F7nDS11A7H9fK4Df@dec112.app>"),
            ],
            "<invalidXML>",
        ),
        (
            &[("Content-Type", "application/addCallSub+xml")],
            "<invalidVCard>",
        ),
    ];
    for (part, (headers, body)) in m.parts.iter().zip(expect) {
        let h: Vec<(&str, &str)> = part
            .headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
            .collect();
        assert_eq!(h, headers);
        assert_eq!(part.text().unwrap(), body);
    }
    // Charset parameters do not hide a text/plain part.
    assert_eq!(m.parts_of_type("text/plain").count(), 2);
    assert!(m.find_by_cid("cid:f7nds11a7h9fk4df@DEC112.app").is_some());
}

#[test]
fn ng112js_invalid_multipart_keeps_invalid_content() {
    let body = read("lmpe/ng112js-multipart-multipart-invalid.txt");
    // The boundary ng112-js's test declares (RFC-conformant: `--` + boundary at line start).
    let m = Multipart::parse(
        "Content-Type: multipart/mixed;boundary=----------UxCETVhBhhfxiD5G"
            .trim_start_matches("Content-Type: "),
        &body,
    )
    .unwrap();
    assert!(!m.lenient_delimiters);
    ng112js_invalid_parts(&m);
    // The same body with the dashes left out of the declared boundary needs the leniency.
    let m = Multipart::parse("multipart/mixed;boundary=UxCETVhBhhfxiD5G", &body).unwrap();
    assert!(m.lenient_delimiters);
    ng112js_invalid_parts(&m);
}

#[test]
fn ng112js_garbage_is_a_precise_error() {
    let body = read("lmpe/ng112js-multipart-multipart-garbage.txt");
    let e = Multipart::parse("multipart/mixed;boundary=UxCETVhBhhfxiD5G", &body)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "multipart body: no delimiter line --UxCETVhBhhfxiD5G at the start of a line"
    );
}

/// The binary part of RFC 4475 mpart01, as the RFC text renders it between `<hex>` tags.
fn mpart01_hex_from_rfc_text() -> Vec<u8> {
    let text = std::fs::read_to_string(format!("{REF}/rfc4475/RFC4475-section3-text.txt")).unwrap();
    let sect = &text[text.find("Message Details : mpart01").unwrap()..];
    let hex = &sect[sect.find("<hex>").unwrap() + 5..sect.find("</hex>").unwrap()];
    let digits: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn rfc4475_mpart01_binary_part_is_byte_exact() {
    let msg = RsipParser::default()
        .parse(&read("rfc4475/mpart01.sip"))
        .unwrap();
    let ct = msg.content_type().unwrap();
    let m = Multipart::parse_strict(ct, &msg.body).unwrap();
    assert_eq!(m.boundary, "7a9cbec02ceef655");
    assert_eq!(m.parts.len(), 2);
    assert_eq!(m.parts[0].body, b"Hello");
    assert_eq!(
        m.parts[0].header("content-transfer-encoding"),
        Some("binary")
    );
    let bin = &m.parts[1];
    assert!(bin.is_media_type("application/octet-stream"));
    let expected = mpart01_hex_from_rfc_text();
    assert_eq!(expected.len(), 342);
    assert_eq!(bin.body, expected);
    assert!(bin.body.contains(&0));
    assert_eq!(body_parts(&msg).unwrap(), m.parts);
    // Rebuilt with the same boundary, the body is byte-identical to the received one except for
    // the epilogue-free close delimiter line.
    let rebuilt = Multipart::with_boundary(&m.boundary, m.parts.clone())
        .unwrap()
        .to_bytes();
    assert_eq!(rebuilt, msg.body);
}

#[test]
fn lmpe_body_build_send_parse_round_trip() {
    let pidf = "<?xml version=\"1.0\"?><presence entity=\"pres:app@example.at\"/>";
    let image: Vec<u8> = (0u8..=255).chain([b'\r', b'\n', b'-', b'-']).collect();
    let body = LmpeBody::text("Hilfe! Es brennt. – ü\r\n--not-a-boundary")
        .with_location(pidf, "loc-1@app.example.at")
        .with_part(Part::new("image/jpeg", image.clone()))
        .with_part(
            Part::new("text/vcard", "BEGIN:VCARD\r\nEND:VCARD\r\n")
                .with_header("Content-Disposition", "attachment; filename=x.vcf"),
        );
    let (ct, bytes) = body.encode().unwrap().unwrap();
    assert!(ct.starts_with("multipart/mixed; boundary=lmpe-"));
    let msg = RequestBuilder::new(Method::Message, "urn:service:sos")
        .via(&Via::new("TCP", "192.0.2.1", 5060, "z9hG4bK-1"))
        .from(&NameAddr::new("sip:app@example.at").with_param("tag", Some("a")))
        .to(&NameAddr::new("urn:service:sos"))
        .call_id("c1@example.at")
        .cseq(1)
        .max_forwards(70)
        .header(
            Geolocation::NAME,
            Geolocation::new(body.geolocation().unwrap()).to_string(),
        )
        .header("Geolocation-Routing", "yes")
        .body(&ct, bytes)
        .build();
    let wire = msg.to_bytes();
    let back = RsipParser::default().parse(&wire).unwrap();
    assert!(back.defects().is_empty(), "{:?}", back.defects());
    let parsed = LmpeBody::from_message(&back).unwrap();
    assert_eq!(parsed.text, body.text);
    assert_eq!(parsed.location, body.location);
    assert_eq!(parsed.others, body.others);
    assert_eq!(parsed.others[0].body, image);

    // Text alone is sent as text/plain, not multipart.
    let (ct, bytes) = LmpeBody::text("hi").encode().unwrap().unwrap();
    assert_eq!(ct, "text/plain; charset=utf-8");
    assert_eq!(bytes, b"hi");
    assert_eq!(LmpeBody::default().encode().unwrap(), None);
    let msg = RequestBuilder::new(Method::Message, "urn:service:sos")
        .body(&ct, bytes)
        .build();
    let parts = body_parts(&msg).unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].content_type(), Some("text/plain; charset=utf-8"));
    assert_eq!(
        LmpeBody::from_message(&msg).unwrap().text.as_deref(),
        Some("hi")
    );
}

#[test]
fn truncated_and_corrupted_bodies_never_panic() {
    let cases = [
        (
            "multipart/mixed;boundary=bounds",
            read("lmpe/ng112js-multipart-valid-multipart_1.txt"),
        ),
        (
            "multipart/mixed;boundary=unique-boundary-1",
            read("lmpe/ng112js-multipart-valid-multipart_2.txt"),
        ),
        (
            "multipart/mixed;boundary=----------UxCETVhBhhfxiD5G",
            read("lmpe/ng112js-multipart-multipart-invalid.txt"),
        ),
        (
            "multipart/mixed;boundary=UxCETVhBhhfxiD5G",
            read("lmpe/ng112js-multipart-multipart-garbage.txt"),
        ),
    ];
    for (ct, body) in &cases {
        for len in 0..=body.len() {
            let _ = Multipart::parse(ct, &body[..len]);
            let _ = Multipart::parse(ct, &body[len..]);
        }
        for i in 0..body.len() {
            let mut b = body.clone();
            b[i] = [b'-', b'\n', b'\r', 0xFF][i % 4];
            let _ = Multipart::parse(ct, &b);
        }
    }
    for ct in [
        "multipart/mixed;boundary=",
        "multipart/mixed;boundary=\"\"",
        "multipart",
        "",
    ] {
        assert!(Multipart::parse(ct, b"--\r\n").is_err());
    }
}
