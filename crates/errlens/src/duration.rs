//! Durations and times on the command line, as a `nom` grammar: `90`, `90s`, `500ms`,
//! `2m`, `1.5h`, `7d`; and a point in time, RFC 3339 or a duration ago (`2h`: two hours
//! before now).

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::multispace0;
use nom::combinator::{all_consuming, map, opt, value};
use nom::number::complete::double;
use nom::sequence::delimited;
use nom::{IResult, Parser};

fn unit(i: &str) -> IResult<&str, f64> {
    alt((
        value(1.0, tag("ms")),
        value(60_000.0, tag("min")),
        value(1_000.0, tag("s")),
        value(60_000.0, tag("m")),
        value(3_600_000.0, tag("h")),
        value(86_400_000.0, tag("d")),
        value(604_800_000.0, tag("w")),
    ))
    .parse(i)
}

/// A number with an optional unit (seconds without one), in milliseconds.
fn duration(i: &str) -> IResult<&str, f64> {
    map(
        (double, delimited(multispace0, opt(unit), multispace0)),
        |(n, u)| n * u.unwrap_or(1_000.0),
    )
    .parse(i)
}

/// Parses a duration to whole milliseconds.
pub fn parse_ms(s: &str) -> Result<f64, String> {
    match all_consuming(delimited(multispace0, duration, multispace0)).parse(s) {
        Ok((_, ms)) if ms.is_finite() && ms >= 0.0 => Ok(ms),
        _ => Err(format!(
            "{s:?} is not a duration (try 60s, 500ms, 2m, 1h, 7d)"
        )),
    }
}

/// Parses `90`, `90s`, `500ms`, `2m` or `1h` to milliseconds, between 1 ms and 24 h
/// (the retry window and the poll interval).
pub fn parse_window_ms(s: &str) -> Result<i64, String> {
    let ms = parse_ms(s)?;
    if !(1.0..=86_400_000.0).contains(&ms) {
        return Err("the window must be between 1ms and 24h".to_owned());
    }
    Ok(ms.round() as i64)
}

/// A point in time as Unix ms: RFC 3339, or a duration before now (`2h`, `30m`).
pub fn parse_time_ms(s: &str) -> Result<i64, String> {
    if let Some(ms) = errlens_parse::timestamp::parse_rfc3339(s) {
        return Ok(ms);
    }
    let ago = parse_ms(s).map_err(|_| {
        format!("{s:?} is neither an RFC 3339 time (2026-11-20T10:00:00Z) nor a duration ago (2h, 30m, 7d)")
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Ok(now - ago.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(parse_window_ms("60"), Ok(60_000));
        assert_eq!(parse_window_ms("60s"), Ok(60_000));
        assert_eq!(parse_window_ms("500ms"), Ok(500));
        assert_eq!(parse_window_ms("2m"), Ok(120_000));
        assert_eq!(parse_window_ms("2min"), Ok(120_000));
        assert_eq!(parse_window_ms("1.5s"), Ok(1_500));
        assert_eq!(parse_window_ms(" 1h "), Ok(3_600_000));
        assert!(parse_window_ms("soon").is_err());
        assert!(parse_window_ms("5d").is_err());
        assert!(parse_window_ms("0").is_err());
        assert!(parse_window_ms("5 parsecs").is_err());
        assert!(parse_window_ms("-5s").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time_ms("2026-11-20T10:00:00Z"), Ok(1_795_168_800_000));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let t = parse_time_ms("2h").unwrap();
        assert!((now - 7_200_000 - t).abs() < 5_000);
        assert!(parse_time_ms("yesterday").is_err());
    }
}
