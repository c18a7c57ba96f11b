//! CI gates over the report contract: `--fail-on 'failures.share > 0.05'`.
//!
//! A gate is `PATH OP NUMBER` — OP one of `>`, `>=`, `<`, `<=`, `==`, `!=`; NUMBER a
//! decimal, optionally with `%` (`5%` is `0.05`) — parsed with `nom`. PATH names one
//! figure of a report ([`figures`]): every number of the JSON contract reached through
//! objects (`records`, `retries.wasted`, `pressure.rate_limited_share`,
//! `latency_ms.simkl.p99`, `by_status.429`, `retries.by_provider.tmdb.early`, …), plus
//! derived ones: `failures.share`, `hidden_failures.share`, `status_mismatches.share`,
//! `malformed.share`, `retries.wasted.share` (of retries), and per provider
//! `provider.NAME.{requests, failures, failures.share, hidden_failures, rate_limited,
//! rate_limited.share, client_id_failed, client_id_failed.share}`. A path a report does
//! not have is a usage error that lists the valid ones, except for the per-provider,
//! per-status and latency paths of providers and statuses absent from this report, which
//! read 0 (a provider with no traffic has no failures).

use crate::Report;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, multispace0};
use nom::combinator::{all_consuming, map, opt, recognize};
use nom::number::complete::double;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};
use std::collections::BTreeMap;
use std::fmt;

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// One gate: it trips when `PATH OP NUMBER` holds for a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The figure's path.
    pub path: String,
    /// The comparison.
    pub op: Op,
    /// The threshold.
    pub value: f64,
    /// The gate as given.
    pub text: String,
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.path, self.op.as_str(), self.value)
    }
}

/// Why a gate cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// The expression is not `PATH OP NUMBER`.
    #[error("--fail-on {0:?}: expected PATH OP NUMBER, e.g. 'failures.share > 0.05' (OP: > >= < <= == !=)")]
    Syntax(String),
    /// The path names no figure of the report.
    #[error("--fail-on {text:?}: unknown path {path:?}; valid paths: {valid}")]
    UnknownPath {
        /// The gate as given.
        text: String,
        /// The path.
        path: String,
        /// The paths this report has.
        valid: String,
    },
}

fn path(i: &str) -> IResult<&str, &str> {
    recognize((
        take_while1(is_segment),
        nom::multi::many0((char('.'), take_while1(is_segment))),
    ))
    .parse(i)
}

fn is_segment(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn op(i: &str) -> IResult<&str, Op> {
    alt((
        map(tag(">="), |_| Op::Ge),
        map(tag("<="), |_| Op::Le),
        map(tag("=="), |_| Op::Eq),
        map(tag("!="), |_| Op::Ne),
        map(tag(">"), |_| Op::Gt),
        map(tag("<"), |_| Op::Lt),
    ))
    .parse(i)
}

fn number(i: &str) -> IResult<&str, f64> {
    map(
        (double, opt(preceded(multispace0, char('%')))),
        |(v, pct)| {
            if pct.is_some() {
                v / 100.0
            } else {
                v
            }
        },
    )
    .parse(i)
}

impl Gate {
    /// Parses `PATH OP NUMBER`.
    pub fn parse(text: &str) -> Result<Gate, GateError> {
        let parsed = all_consuming(delimited(
            multispace0,
            (path, delimited(multispace0, op, multispace0), number),
            multispace0,
        ))
        .parse(text);
        match parsed {
            Ok((_, (p, op, value))) if value.is_finite() => Ok(Gate {
                path: p.to_owned(),
                op,
                value,
                text: text.to_owned(),
            }),
            _ => Err(GateError::Syntax(text.to_owned())),
        }
    }
}

/// A gate that tripped, with the figure's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Tripped {
    /// The gate.
    pub gate: Gate,
    /// The figure's value in the report.
    pub value: f64,
}

impl fmt::Display for Tripped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (value {})", self.gate.text.trim(), round(self.value))
    }
}

fn round(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.6}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

/// Checks `gates` against a report's figures: the ones that trip, or a usage error for
/// a path the report does not have.
pub fn check(gates: &[Gate], figures: &BTreeMap<String, f64>) -> Result<Vec<Tripped>, GateError> {
    let mut tripped = Vec::new();
    for g in gates {
        let value = match figures.get(&g.path) {
            Some(v) => *v,
            None if absent_reads_zero(&g.path) => 0.0,
            None => {
                return Err(GateError::UnknownPath {
                    text: g.text.clone(),
                    path: g.path.clone(),
                    valid: valid_paths(figures),
                })
            }
        };
        if g.op.holds(value, g.value) {
            tripped.push(Tripped {
                gate: g.clone(),
                value,
            });
        }
    }
    Ok(tripped)
}

/// Paths of things a report may simply not have (a provider without traffic, a status
/// never seen, a provider without latencies): they read 0.
fn absent_reads_zero(path: &str) -> bool {
    let path = path.strip_prefix("delta.").unwrap_or(path);
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["provider", _, rest @ ..] => matches!(
            rest,
            ["requests"]
                | ["failures"]
                | ["failures", "share"]
                | ["hidden_failures"]
                | ["rate_limited"]
                | ["rate_limited", "share"]
                | ["client_id_failed"]
                | ["client_id_failed", "share"]
        ),
        ["by_status", code] | ["status", code, "share"] => code.parse::<u16>().is_ok(),
        ["latency_ms", _, q] => matches!(*q, "count" | "p50" | "p90" | "p99" | "max"),
        ["retries", "by_provider", _, _] => true,
        ["malformed_by_reason", _] => true,
        _ => false,
    }
}

/// The valid paths, briefly: the report's own with per-provider ones folded.
fn valid_paths(figures: &BTreeMap<String, f64>) -> String {
    let mut out: Vec<String> = Vec::new();
    for k in figures.keys() {
        let (prefix, k) = match k.strip_prefix("delta.") {
            Some(rest) => ("delta.", rest),
            None => ("", k.as_str()),
        };
        let parts: Vec<&str> = k.split('.').collect();
        let folded = match parts.as_slice() {
            ["provider", _, rest @ ..] => format!("provider.NAME.{}", rest.join(".")),
            ["by_status", _] => "by_status.CODE".to_owned(),
            ["status", _, "share"] => "status.CODE.share".to_owned(),
            ["latency_ms", _, q] => format!("latency_ms.NAME.{q}"),
            ["retries", "by_provider", _, j] => format!("retries.by_provider.NAME.{j}"),
            ["malformed_by_reason", _] => "malformed_by_reason.REASON".to_owned(),
            _ => k.to_owned(),
        };
        let folded = format!("{prefix}{folded}");
        if !out.contains(&folded) {
            out.push(folded);
        }
    }
    out.join(", ")
}

/// Every figure a gate can name, for one report.
pub fn figures(r: &Report) -> BTreeMap<String, f64> {
    let mut f = BTreeMap::new();
    let json = serde_json::to_value(r).expect("a report serializes");
    leaves(&json, String::new(), &mut f);
    let share = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    f.insert("failures.share".into(), share(r.failures, r.records));
    f.insert(
        "hidden_failures.share".into(),
        share(r.hidden_failures, r.records),
    );
    f.insert(
        "status_mismatches.share".into(),
        share(r.status_mismatches, r.records),
    );
    f.insert(
        "malformed.share".into(),
        share(r.malformed, r.records + r.malformed),
    );
    let rc = &r.retries.counts;
    f.insert("retries.wasted.share".into(), share(rc.wasted, rc.total));
    for (status, n) in &r.by_status {
        f.insert(format!("status.{status}.share"), share(*n, r.records));
    }
    // Per provider, from the groups (failures) and the pressure table (requests).
    let mut failures: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for g in &r.groups {
        let e = failures.entry(g.provider.as_str()).or_default();
        if g.failure {
            e.0 += g.count;
            if g.hidden_failure {
                e.1 += g.count;
            }
        }
    }
    for p in &r.pressure.by_provider {
        let name = &p.key.provider;
        let s = &p.slice;
        let (fails, hidden) = failures.get(name.as_str()).copied().unwrap_or_default();
        let put = |f: &mut BTreeMap<String, f64>, k: &str, v: f64| {
            f.insert(format!("provider.{name}.{k}"), v);
        };
        put(&mut f, "requests", s.requests as f64);
        put(&mut f, "failures", fails as f64);
        put(&mut f, "failures.share", share(fails, s.requests));
        put(&mut f, "hidden_failures", hidden as f64);
        put(&mut f, "rate_limited", s.r429 as f64);
        put(&mut f, "rate_limited.share", share(s.r429, s.requests));
        put(&mut f, "client_id_failed", s.r412 as f64);
        put(&mut f, "client_id_failed.share", share(s.r412, s.requests));
    }
    f
}

/// Numbers reached through objects (lists are per-row tables, not figures).
fn leaves(v: &serde_json::Value, at: String, out: &mut BTreeMap<String, f64>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                leaves(x, p, out);
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(at, x);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        let g = Gate::parse("failures.share > 0.05").unwrap();
        assert_eq!(
            (g.path.as_str(), g.op, g.value),
            ("failures.share", Op::Gt, 0.05)
        );
        let g = Gate::parse("  provider.tmdb.failures.share>=10% ").unwrap();
        assert_eq!((g.op, g.value), (Op::Ge, 0.1));
        assert_eq!(
            Gate::parse("latency_ms.simkl.p99 > 800").unwrap().value,
            800.0
        );
        assert_eq!(Gate::parse("retries.wasted != 0").unwrap().op, Op::Ne);
        for bad in [
            "",
            "failures.share",
            "> 1",
            "a.b >",
            "a..b > 1",
            "a > b",
            "a > 1 2",
            "a => 1",
            "a > inf",
        ] {
            assert!(Gate::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn check_trips_and_refuses_unknown_paths() {
        let mut f = BTreeMap::new();
        f.insert("failures.share".to_owned(), 0.2);
        f.insert("provider.tmdb.failures.share".to_owned(), 0.05);
        let gates = [
            Gate::parse("failures.share > 0.1").unwrap(),
            Gate::parse("failures.share > 0.3").unwrap(),
            Gate::parse("provider.tmdb.failures.share > 0.1").unwrap(),
            Gate::parse("provider.trakt.failures > 0").unwrap(),
        ];
        let t = check(&gates, &f).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].value, 0.2);
        let e = check(&[Gate::parse("failure.share > 0").unwrap()], &f).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("unknown path") && msg.contains("provider.NAME.failures.share"),
            "{msg}"
        );
    }
}
