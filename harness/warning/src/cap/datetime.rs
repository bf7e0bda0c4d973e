//! The CAP 1.2 date-time: `xs:dateTime` restricted by the schema pattern
//! `\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-,+]\d\d:\d\d` (no fractional seconds, an explicit
//! numeric offset; CAP writes UTC as `-00:00`).

/// A CAP date-time, kept as its (whitespace-collapsed) lexical form so that `-00:00` and
/// `+00:00` stay distinct and what was published is what is compared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CapDateTime(String);

impl CapDateTime {
    /// Checks `s` (after XML Schema whitespace collapsing) against the schema pattern and the
    /// `xs:dateTime` value space (month 1-12, day valid for the month incl. leap years, hour
    /// 0-23 or `24:00:00`, minute and second 0-59, year not 0000, offset at most 14:00).
    pub fn parse(s: &str) -> Result<Self, String> {
        let c = s.split_whitespace().collect::<Vec<_>>().join(" ");
        check(&c)?;
        Ok(CapDateTime(c))
    }

    /// The lexical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix_seconds(&self) -> i64 {
        let f = fields(&self.0);
        let days = days_from_civil(f[0], f[1], f[2]);
        let secs = days * 86_400 + f[3] * 3600 + f[4] * 60 + f[5];
        let sign = if self.0.as_bytes().get(19) == Some(&b'-') {
            -1
        } else {
            1
        };
        secs - sign * (f[6] * 3600 + f[7] * 60)
    }

    /// The UTC date-time `secs` seconds after the epoch, written with CAP's UTC offset
    /// `-00:00`.
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        CapDateTime(format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}-00:00",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        ))
    }
}

impl std::fmt::Display for CapDateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CapDateTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CapDateTime::parse(s)
    }
}

/// year, month, day, hour, minute, second, offset hours, offset minutes (unchecked; only
/// called on checked strings).
fn fields(s: &str) -> [i64; 8] {
    let num = |a: usize, b: usize| -> i64 {
        s.get(a..b).and_then(|t| t.parse::<i64>().ok()).unwrap_or(0)
    };
    [
        num(0, 4),
        num(5, 7),
        num(8, 10),
        num(11, 13),
        num(14, 16),
        num(17, 19),
        num(20, 22),
        num(23, 25),
    ]
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Pattern then value-space check of a collapsed lexical form.
pub(crate) fn check(s: &str) -> Result<(), String> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd*dd:dd";
    let b = s.as_bytes();
    let shape_ok = b.len() == SHAPE.len()
        && b.iter().zip(SHAPE).all(|(&c, &p)| match p {
            b'd' => c.is_ascii_digit(),
            b'*' => matches!(c, b'-' | b',' | b'+'),
            _ => c == p,
        });
    if !shape_ok {
        return Err(
            "does not match the schema pattern \\d\\d\\d\\d-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[-,+]\\d\\d:\\d\\d"
                .into(),
        );
    }
    if b.get(19) == Some(&b',') {
        return Err("not an xs:dateTime: ',' is not a time zone sign".into());
    }
    let [y, mo, d, h, mi, sec, oh, om] = fields(s);
    if y == 0 {
        return Err("not an xs:dateTime: year 0000".into());
    }
    if !(1..=12).contains(&mo) {
        return Err(format!("not an xs:dateTime: month {mo:02}"));
    }
    if d < 1 || d > days_in_month(y, mo) {
        return Err(format!("not an xs:dateTime: day {d:02} of {y:04}-{mo:02}"));
    }
    let midnight = h == 24 && mi == 0 && sec == 0;
    if (h > 23 && !midnight) || mi > 59 || sec > 59 {
        return Err(format!("not an xs:dateTime: time {h:02}:{mi:02}:{sec:02}"));
    }
    if om > 59 || oh > 14 || (oh == 14 && om != 0) {
        return Err(format!(
            "not an xs:dateTime: time zone offset {oh:02}:{om:02}"
        ));
    }
    Ok(())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_pattern_and_value_space() {
        for ok in [
            "2003-06-17T14:57:00-07:00",
            " 2003-06-17T14:57:00-07:00\n",
            "2004-02-29T00:00:00+00:00",
            "2003-06-17T24:00:00-07:00",
            "2003-06-17T14:57:00+14:00",
        ] {
            assert!(CapDateTime::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2003-06-17T14:57:00Z",
            "2003-06-17T14:57:00.5-07:00",
            "2003-06-17T14:57:00,07:00",
            "2003-13-17T14:57:00-07:00",
            "1900-02-29T14:57:00-07:00",
            "2003-06-17T24:00:01-07:00",
            "2003-06-17T14:57:60-07:00",
            "0000-06-17T14:57:00-07:00",
            "2003-06-17T14:57:00+14:30",
            "2003-06-17T14:57:00+10:60",
            "2003-06-17",
            "",
        ] {
            assert!(CapDateTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unix_seconds_honours_the_offset() {
        let a = CapDateTime::parse("2003-06-17T14:57:00-07:00").expect("valid");
        let b = CapDateTime::parse("2003-06-17T21:57:00-00:00").expect("valid");
        assert_eq!(a.unix_seconds(), b.unix_seconds());
        assert_eq!(a.unix_seconds(), 1_055_887_020);
        let back = CapDateTime::from_unix(a.unix_seconds());
        assert_eq!(back.as_str(), "2003-06-17T21:57:00-00:00");
        assert_eq!(
            CapDateTime::from_unix(0).as_str(),
            "1970-01-01T00:00:00-00:00"
        );
    }
}
