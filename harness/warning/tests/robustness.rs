//! Robustness: truncations and mutations of the examples never panic, and whatever is
//! accepted is consistent; size and depth limits give precise errors.

mod common;

use lmpe_warning::cap::{self, Alert};
use lmpe_warning::georss::Feed;
use lmpe_warning::xep0127::extract_alert_with;
use lmpe_warning::{ParseOptions, WarningError};

/// Checks the invariants every decoder must keep on arbitrary input; returns whether the
/// alert decoder accepted it.
fn check(input: &[u8]) -> bool {
    let opts = ParseOptions::default();
    let parsed = Alert::parse(input);
    let valid = cap::validate(input);
    let _ = Feed::parse(input);
    let _ = extract_alert_with(input, &opts);
    match parsed {
        Ok(a) => {
            assert_eq!(
                valid,
                Ok(()),
                "parse accepted what validate rejects: {:?}",
                String::from_utf8_lossy(input)
            );
            let xml = a.to_xml();
            assert_eq!(
                cap::validate(xml.as_bytes()),
                Ok(()),
                "written alert invalid:\n{xml}"
            );
            assert_eq!(Alert::parse(xml.as_bytes()).as_ref(), Ok(&a));
            true
        }
        Err(WarningError::BadValue { .. }) => {
            // Schema-valid, but a polygon/circle/number the CAP prose forbids.
            assert_eq!(valid, Ok(()));
            false
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    for (name, doc) in common::examples() {
        let bytes = doc.as_bytes();
        let end = doc.trim_end().len();
        for cut in 0..end {
            assert!(
                !check(&bytes[..cut]),
                "{name}: truncation at {cut} accepted"
            );
        }
        assert!(check(bytes), "{name}");
    }
}

/// Small deterministic generator (no external crates needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mutations_never_panic_and_stay_consistent() {
    const INTERESTING: &[u8] = b"<>&\"'/=: \n\t\x00\xff\xc3,.-+0123456789abcdefgxyz";
    let mut rng = Lcg(0x1234_5678);
    let mut accepted = 0usize;
    let mut total = 0usize;
    for (_, doc) in common::examples() {
        let base = doc.into_bytes();
        for _ in 0..1500 {
            let mut m = base.clone();
            for _ in 0..=rng.below(3) {
                let len = m.len();
                if len == 0 {
                    break;
                }
                let at = rng.below(len);
                match rng.below(5) {
                    0 => m[at] = INTERESTING[rng.below(INTERESTING.len())],
                    1 => m.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
                    2 => {
                        let n = rng.below(16).min(len - at);
                        m.drain(at..at + n);
                    }
                    3 => {
                        let n = rng.below(64).min(len - at);
                        let chunk: Vec<u8> = m[at..at + n].to_vec();
                        let to = rng.below(m.len());
                        m.splice(to..to, chunk);
                    }
                    _ => m[at] ^= 1 << rng.below(8),
                }
            }
            total += 1;
            if check(&m) {
                accepted += 1;
            }
        }
    }
    // Some mutations hit free text and stay valid, most break something.
    assert!(
        accepted > 0 && accepted < total,
        "{accepted} of {total} accepted"
    );
}

#[test]
fn size_limit_is_precise() {
    let doc = common::load(common::EXAMPLES[1]);
    let opts = ParseOptions {
        max_document_size: 100,
        ..ParseOptions::default()
    };
    assert_eq!(
        Alert::parse_with(doc.as_bytes(), &opts),
        Err(WarningError::TooLarge {
            size: doc.len(),
            max: 100
        })
    );
    let huge = doc.replace("<note>", "").replace(
        "<scope>Public</scope>",
        &format!("<scope>Public</scope><note>{}</note>", "x".repeat(1 << 20)),
    );
    assert!(
        matches!(Alert::parse(huge.as_bytes()), Err(WarningError::TooLarge { max, .. }) if max == 1 << 20)
    );
    let v = cap::validate(huge.as_bytes()).expect_err("too large");
    assert!(v[0].rule.contains("limit"), "{v:?}");
}

#[test]
fn depth_limit_is_precise() {
    let doc = common::load(common::EXAMPLES[1]);
    let deep = doc.replace(
        "<scope>Public</scope>",
        &format!(
            "<scope>Public</scope>{}{}",
            "<x>".repeat(200),
            "</x>".repeat(200)
        ),
    );
    match Alert::parse(deep.as_bytes()) {
        Err(WarningError::TooDeep { max, pos }) => {
            assert_eq!(max, 64);
            assert!(pos.line > 1);
        }
        other => panic!("{other:?}"),
    }
    let v = cap::validate(deep.as_bytes()).expect_err("too deep");
    assert!(v[0].rule.contains("nesting deeper than 64"), "{v:?}");
    assert!(matches!(
        Feed::parse(deep.as_bytes()),
        Err(WarningError::TooDeep { .. })
    ));
}

#[test]
fn other_byte_level_errors() {
    assert_eq!(
        Alert::parse(b"<alert \xff/>"),
        Err(WarningError::NotUtf8 { offset: 7 })
    );
    assert!(matches!(Alert::parse(b""), Err(WarningError::Xml(_))));
    assert!(matches!(
        Alert::parse(b"<!DOCTYPE alert [<!ENTITY x \"y\">]><alert/>"),
        Err(WarningError::Xml(_))
    ));
    match Alert::parse(b"<alert/>") {
        Err(WarningError::NotCapAlert { found }) => assert_eq!(found, "alert"),
        other => panic!("{other:?}"),
    }
}
