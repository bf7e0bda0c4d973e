//! Character classes of the RFC 3261 grammar as 256-entry lookup tables (hot-path checks).

/// A set of bytes.
pub(crate) type Class = [bool; 256];

const fn class(alnum: bool, extra: &[u8]) -> Class {
    let mut t = [false; 256];
    if alnum {
        let mut c = b'0';
        while c <= b'9' {
            t[c as usize] = true;
            c += 1;
        }
        let mut c = b'a';
        while c <= b'z' {
            t[c as usize] = true;
            t[(c - 32) as usize] = true;
            c += 1;
        }
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// `token`.
pub(crate) static TOKEN: Class = class(true, b"-.!%*_+`'~");
/// `token / host` without quotes: token plus `:` `[` `]`.
pub(crate) static GEN_VALUE: Class = class(true, b"-.!%*_+`'~:[]");
/// `user`: unreserved / user-unreserved (escapes are handled separately).
pub(crate) static USER: Class = class(true, b"-_.!~*'()&=+$,;?/");
/// `password`: unreserved / `&=+$,`.
pub(crate) static PASSWORD: Class = class(true, b"-_.!~*'()&=+$,");
/// `paramchar`: param-unreserved / unreserved.
pub(crate) static PARAMCHAR: Class = class(true, b"-_.!~*'()[]/:&+$");
/// `hnv-unreserved / unreserved` (URI header names and values).
pub(crate) static HNV: Class = class(true, b"-_.!~*'()[]/?:+$");
/// `uric` (reserved / unreserved) plus `[` `]` for IPv6 literals.
pub(crate) static URIC: Class = class(true, b"-_.!~*'();/?:@&=+$,[]");
/// `word` of Call-ID (RFC 3261 25.1).
pub(crate) static WORD: Class = class(true, b"-.!%*_+`'~()<>:\\\"/[]?{}");

/// Whether `b` is in `class`.
#[inline]
pub(crate) fn is(class: &Class, b: u8) -> bool {
    class[usize::from(b)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(is(&TOKEN, b'~') && is(&TOKEN, b'Z') && !is(&TOKEN, b':'));
        assert!(is(&URIC, b'@') && !is(&URIC, b'"') && !is(&URIC, b'#'));
        assert!(!is(&URIC, 0x80) && !is(&URIC, b' ') && !is(&USER, b'@'));
        assert!(is(&WORD, b'"') && !is(&WORD, b'@') && !is(&WORD, b','));
    }
}
