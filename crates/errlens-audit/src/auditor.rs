//! The streaming auditor: lines in, aggregates kept, a [`Summary`] out.

use crate::intern::Interner;
use crate::summary::{GroupCount, InputStats, MalformedLine, Summary};
use errlens_classify::{classify, Verdict};
use errlens_parse::{is_blank, parse_line, LineReader, ParseError, Provider, Record};
use std::collections::HashMap;
use std::io::{self, BufRead};

/// Settings of an audit.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// How many malformed lines the report lists (the rest are only counted).
    pub malformed_sample: usize,
    /// Lines longer than this many bytes are malformed (and not buffered whole).
    pub max_line: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            malformed_sample: 10,
            max_line: errlens_parse::DEFAULT_MAX_LINE,
        }
    }
}

/// Group key with the error id interned, so counting a record allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct LiveKey {
    provider: Provider,
    status: u16,
    error: Option<u32>,
    tmdb_code: Option<i64>,
}

/// Consumes request lines or records and keeps every aggregate of the report.
#[derive(Debug)]
pub struct Auditor {
    config: AuditConfig,
    summary: Summary,
    groups: HashMap<LiveKey, u64>,
    errors: Interner,
}

impl Auditor {
    /// A new, empty audit.
    pub fn new(config: AuditConfig) -> Self {
        let summary = Summary {
            malformed_sample_cap: config.malformed_sample,
            ..Summary::default()
        };
        Auditor {
            config,
            summary,
            groups: HashMap::new(),
            errors: Interner::default(),
        }
    }

    /// Reads every line of `reader`, naming it `name` in reports. An I/O error stops
    /// this input (it is recorded in its [`InputStats`] and returned); what was read
    /// before it stays counted.
    pub fn read<R: BufRead>(&mut self, name: &str, reader: R) -> io::Result<()> {
        let mut lines = LineReader::with_max_line(reader, self.config.max_line);
        let mut stats = InputStats {
            file: name.to_owned(),
            ..InputStats::default()
        };
        let result = loop {
            match lines.next_line() {
                Ok(Some(line)) => {
                    stats.lines += 1;
                    stats.bytes += line.raw_len;
                    let outcome = if line.truncated {
                        Err(ParseError::TooLong(self.config.max_line))
                    } else {
                        Ok(line.bytes)
                    };
                    self.line(name, line.number, outcome);
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        if let Err(e) = &result {
            stats.error = Some(e.to_string());
        }
        self.summary.inputs.push(stats);
        result
    }

    /// Records an input that could not be opened at all.
    pub fn unreadable(&mut self, name: &str, error: &str) {
        self.summary.inputs.push(InputStats {
            file: name.to_owned(),
            error: Some(error.to_owned()),
            ..InputStats::default()
        });
    }

    /// Counts one line: blank, malformed or a record.
    fn line(&mut self, file: &str, number: u64, bytes: Result<&[u8], ParseError>) {
        let parsed = bytes.and_then(|b| {
            if is_blank(b) {
                Ok(None)
            } else {
                parse_line(b).map(Some)
            }
        });
        match parsed {
            Ok(None) => self.summary.blank += 1,
            Ok(Some(rec)) => {
                let verdict = classify(&rec);
                self.observe(&rec, &verdict);
            }
            Err(e) => self.malformed(file, number, &e),
        }
    }

    /// Counts a malformed line, keeping it in the sample while there is room.
    pub fn malformed(&mut self, file: &str, line: u64, error: &ParseError) {
        self.summary.malformed += 1;
        let kind = match error {
            ParseError::InvalidJson(_) => "invalid_json",
            ParseError::NotObject => "not_object",
            ParseError::NoStatus => "no_status",
            ParseError::TooLong(_) => "too_long",
        };
        *self
            .summary
            .malformed_by_reason
            .entry(kind.to_owned())
            .or_default() += 1;
        if self.summary.malformed_sample.len() < self.config.malformed_sample {
            self.summary.malformed_sample.push(MalformedLine {
                line,
                file: file.to_owned(),
                reason: error.to_string(),
            });
        }
    }

    /// Counts a blank line.
    pub fn blank(&mut self) {
        self.summary.blank += 1;
    }

    /// Counts one classified record.
    pub fn observe(&mut self, rec: &Record<'_>, v: &Verdict) {
        let s = &mut self.summary;
        s.records += 1;
        s.failures += u64::from(v.failure);
        s.hidden_failures += u64::from(v.hidden_failure);
        s.status_mismatches += u64::from(v.status_mismatch);
        *s.by_status.entry(rec.status).or_default() += 1;
        let key = LiveKey {
            provider: rec.provider,
            status: rec.status,
            error: match rec.provider {
                Provider::Tmdb => None,
                _ => rec.error.as_deref().map(|e| self.errors.intern(e)),
            },
            tmdb_code: match rec.provider {
                Provider::Tmdb => rec.tmdb_code,
                _ => None,
            },
        };
        *self.groups.entry(key).or_default() += 1;
    }

    /// Ends the audit, returning its summary.
    pub fn finish(mut self) -> Summary {
        let mut groups: Vec<GroupCount> = self
            .groups
            .iter()
            .map(|(k, &count)| GroupCount {
                provider: k.provider.as_str().to_owned(),
                status: k.status,
                error: k.error.map(|id| self.errors.name(id).to_owned()),
                tmdb_code: k.tmdb_code,
                count,
            })
            .collect();
        groups.sort();
        // Overflowed ids share one name; fold their groups together.
        groups.dedup_by(|b, a| {
            let same = (&a.provider, a.status, &a.error, a.tmdb_code)
                == (&b.provider, b.status, &b.error, b.tmdb_code);
            if same {
                a.count += b.count;
            }
            same
        });
        self.summary.groups = groups;
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit(input: &str) -> Summary {
        let mut a = Auditor::new(AuditConfig::default());
        a.read("t", input.as_bytes()).unwrap();
        a.finish()
    }

    #[test]
    fn counts_records_blank_and_malformed() {
        let s = audit("{\"status\":200}\n\n  \nnot json\n[1]\n{\"status\":\"x\"}\n{\"status\":429,\"error\":\"rate_limit\"}\n");
        assert_eq!((s.records, s.blank, s.malformed), (2, 2, 3));
        assert_eq!(
            s.malformed_sample
                .iter()
                .map(|m| m.line)
                .collect::<Vec<_>>(),
            [4, 5, 6]
        );
        assert_eq!(s.malformed_by_reason.get("invalid_json"), Some(&1));
        assert_eq!(s.malformed_by_reason.get("not_object"), Some(&1));
        assert_eq!(s.malformed_by_reason.get("no_status"), Some(&1));
        assert_eq!(s.failures, 1);
        assert_eq!(s.inputs[0].lines, 7);
    }

    #[test]
    fn sample_is_capped_but_count_is_not() {
        let s = audit(&"x\n".repeat(50));
        assert_eq!((s.malformed, s.malformed_sample.len()), (50, 10));
    }
}
