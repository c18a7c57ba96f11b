//! Timestamps: RFC 3339 strings and epoch numbers, to Unix milliseconds.
//!
//! Log timestamps have a fixed layout, so this is a hand-written fixed-offset parser
//! rather than a general date library: it is on the hot path of every line.

use std::cell::Cell;

/// Epoch values at or above this are taken as milliseconds, below it as seconds.
///
/// 10^11 seconds is the year 5138, while 10^11 milliseconds is March 1973: no request
/// log has either, so the split is unambiguous for real data.
pub const MILLIS_THRESHOLD: f64 = 1.0e11;

/// Converts an epoch number (seconds or milliseconds, see [`MILLIS_THRESHOLD`]) to
/// Unix milliseconds. Negative, non-finite or absurdly large values give `None`.
pub fn from_epoch(v: f64) -> Option<i64> {
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    let ms = if v >= MILLIS_THRESHOLD { v } else { v * 1000.0 };
    // Beyond year 9999 is garbage, not a timestamp.
    (ms < 253_402_300_800_000.0).then(|| ms.round() as i64)
}

/// Unix milliseconds from an epoch value already scaled to milliseconds (a shape that
/// knows its unit: seconds, µs, ns). Negative, non-finite or past-9999 values give
/// `None`.
pub fn from_epoch_ms(ms: f64) -> Option<i64> {
    (ms.is_finite() && (0.0..253_402_300_800_000.0).contains(&ms)).then(|| ms.round() as i64)
}

/// Parses an RFC 3339 timestamp (`2026-11-22T10:00:00Z`, `…T10:00:00.123+01:00`) to
/// Unix milliseconds.
///
/// Accepts `T`, `t` or a space between date and time, any number of fraction digits
/// (kept to milliseconds), `Z`/`z` or a `±HH:MM` / `±HHMM` offset; a missing offset is
/// read as UTC, which is what loggers that omit it almost always mean.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    // Trimming walks chars; skip it for the usual string with nothing to trim.
    let b = match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => b,
        _ => s.trim().as_bytes(),
    };
    if b.len() < 19 {
        return None;
    }
    // Two digits at `i`, checked and converted without a loop (every field is two
    // digits but the year).
    #[inline(always)]
    fn two_digits(b: &[u8], i: usize) -> Option<i64> {
        let (hi, lo) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
        (hi < 10 && lo < 10).then(|| i64::from(hi * 10 + lo))
    }
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    // Logs are in time order: the date, hour and minute (the first 16 bytes) are
    // usually those of the line before, converted once.
    let head: [u8; 16] = b[..16].try_into().expect("at least 19 bytes");
    let minute_secs = match LAST_MINUTE.with(Cell::get) {
        (h, secs) if h == head => secs,
        _ => {
            let (year, month, day) = (
                two_digits(b, 0)? * 100 + two_digits(b, 2)?,
                two_digits(b, 5)?,
                two_digits(b, 8)?,
            );
            let (hour, min) = (two_digits(b, 11)?, two_digits(b, 14)?);
            if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
                return None;
            }
            if hour > 23 || min > 59 {
                return None;
            }
            let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60;
            LAST_MINUTE.with(|c| c.set((head, secs)));
            secs
        }
    };
    let sec = two_digits(b, 17)?;
    // 60 is a leap second; fold it into the next minute's first second.
    if sec > 60 {
        return None;
    }
    // The usual layout, `…:SS.mmmZ`, without the general fraction and offset loops.
    if let [b'.', m0, m1, m2, b'Z' | b'z'] = b[19..] {
        let [m0, m1, m2] = [m0, m1, m2].map(|c| c.wrapping_sub(b'0'));
        if m0 < 10 && m1 < 10 && m2 < 10 {
            let millis = i64::from(m0) * 100 + i64::from(m1) * 10 + i64::from(m2);
            return Some((minute_secs + sec) * 1000 + millis);
        }
    }
    let mut i = 19;
    let mut millis = 0i64;
    if i < b.len() && (b[i] == b'.' || b[i] == b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..3 {
            millis *= 10;
        }
    }
    let offset_min = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &b[i + 1..];
            let (oh, om) = match rest.len() {
                5 if rest[2] == b':' => (two_digits(b, i + 1)?, two_digits(b, i + 4)?),
                4 => (two_digits(b, i + 1)?, two_digits(b, i + 3)?),
                2 => (two_digits(b, i + 1)?, 0),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 60 + om;
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let secs = minute_secs + sec - offset_min * 60;
    Some(secs * 1000 + millis)
}

thread_local! {
    /// The first 16 bytes of the last valid timestamp parsed on this thread
    /// (`YYYY-MM-DDTHH:MM`) and that minute in Unix seconds (UTC, before any offset).
    static LAST_MINUTE: Cell<([u8; 16], i64)> = const { Cell::new(([0; 16], 0)) };
}

/// Formats Unix milliseconds as an RFC 3339 UTC timestamp truncated to the minute
/// (`2026-11-22T10:04Z`), the key of per-minute report rows.
pub fn format_minute(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60
    )
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
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

    /// The remembered minute changes nothing: every string parses the same whatever
    /// was parsed before it on the thread.
    #[test]
    fn the_minute_cache_is_transparent() {
        let texts = [
            "2026-11-20T10:00:00.036Z",
            "2026-11-20T10:00:59Z",
            "2026-11-20T10:00:60Z",
            "2026-11-20T10:00:61Z",
            "2026-11-20T10:01:00+02:00",
            "2026-11-20t10:01:00-0130",
            "2026-11-20 10:01:07,5Z",
            "2026-02-29T10:01:00Z",
            "2024-02-29T23:59:59.999Z",
            "2024-02-29T23:59:5xZ",
            "2024-13-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
        ];
        let fresh: Vec<Option<i64>> = texts
            .iter()
            .map(|t| {
                LAST_MINUTE.with(|c| c.set(([0; 16], 0)));
                parse_rfc3339(t)
            })
            .collect();
        assert_eq!(fresh[0], Some(1_795_168_800_036));
        assert_eq!(fresh[7], None, "2026 is no leap year");
        for order in [false, true] {
            let mut idx: Vec<usize> = (0..texts.len()).collect();
            if order {
                idx.reverse();
            }
            for _ in 0..2 {
                for &k in &idx {
                    assert_eq!(parse_rfc3339(texts[k]), fresh[k], "{}", texts[k]);
                }
            }
        }
    }

    #[test]
    fn rfc3339_variants() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-22T10:00:00Z"),
            Some(1_795_341_600_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-22T10:00:00.5Z"),
            Some(1_795_341_600_500)
        );
        assert_eq!(
            parse_rfc3339("2026-11-22T10:00:00.123456Z"),
            Some(1_795_341_600_123)
        );
        assert_eq!(
            parse_rfc3339("2026-11-22T11:00:00+01:00"),
            Some(1_795_341_600_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-22T05:00:00-0500"),
            Some(1_795_341_600_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-22 10:00:00"),
            Some(1_795_341_600_000)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29t00:00:00z"),
            Some(1_709_164_800_000)
        );
    }

    proptest::proptest! {
        /// Every millisecond of years 0–9999 written `…:SS.mmmZ` (the short path) reads
        /// back as itself, and as what the general path reads with a `+00:00` offset.
        #[test]
        fn millisecond_layout_roundtrips(ms in 0i64..253_402_300_800_000) {
            let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let rem = secs.rem_euclid(86_400);
            let head = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}",
                rem / 3600,
                (rem % 3600) / 60,
                rem % 60
            );
            proptest::prop_assert_eq!(parse_rfc3339(&format!("{head}Z")), Some(ms));
            proptest::prop_assert_eq!(parse_rfc3339(&format!("{head}z")), Some(ms));
            proptest::prop_assert_eq!(parse_rfc3339(&format!("{head}+00:00")), Some(ms));
        }
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for bad in [
            "",
            "2026-11-22",
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T10:00:00.Z",
            "2026-11-22T10:00:00.1x3Z",
            "2026-11-22T10:00:61.123Z",
            "2026-11-22T10:00:00.123Zz",
            "2026-11-22T10:00:00Zjunk",
            "2026-11-22T10:00:00+1",
            "20x6-11-22T10:00:00Z",
            "2026-11-22T10:00:00+25:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn epoch_seconds_and_millis() {
        assert_eq!(from_epoch(1_795_341_600.0), Some(1_795_341_600_000));
        assert_eq!(from_epoch(1_795_341_600_250.0), Some(1_795_341_600_250));
        assert_eq!(from_epoch(1_795_341_600.25), Some(1_795_341_600_250));
        assert_eq!(from_epoch(-1.0), None);
        assert_eq!(from_epoch(f64::NAN), None);
        assert_eq!(from_epoch(1e20), None);
    }

    #[test]
    fn civil_roundtrip_and_minute_format() {
        for days in [-1000, 0, 1, 59, 365, 10_957, 20_414, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_minute(1_795_341_659_999), "2026-11-22T10:00Z");
    }
}
