//! Custom shapes: `--map FIELD=PATH[:UNIT]` (repeatable) and `--mapping FILE` (TOML)
//! describe where a JSON log keeps each field, starting from a built-in JSON shape
//! (`--shape`, or `base` in the file) or from the flat field names.
//!
//! ```toml
//! # errlens mapping
//! name = "gateway"        # shown in reports (default "custom")
//! base = "ecs"            # optional: start from a built-in JSON shape
//! [fields]
//! status = "resp.code"
//! ts = { path = "time", unit = "s" }
//! latency_ms = { path = "elapsed", unit = "us" }
//! envelope = "resp.body"  # a JSON string or object holding the Simkl/TMDB envelope
//! ```
//!
//! Fields: `ts`, `method`, `url`, `host`, `path`, `status`, `latency_ms`, `client_id`,
//! `attempt`, `retry_after`, the envelope fields (`error`, `code`, `message`,
//! `status_code`, `status_message`, `success`, `errors`) and `envelope`. Units: `auto`,
//! `s`, `ms`, `us`, `ns` (durations and epoch times), `plus_one` (a re-send count:
//! attempt = value + 1). A mapped field replaces every path the base had for it.

use crate::raw::{Field, Target, Unit};
use crate::shape::json::{Leaf, PathMap};
use crate::shape::{fields_of, path_table, status_paths_of, ShapeKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Why a mapping is not usable.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// A `--map` argument or a mapping entry is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The mapping file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The mapping file is not valid TOML of the documented form.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with its line and column.
        message: String,
    },
}

/// A user-described JSON shape.
#[derive(Debug, Clone)]
pub struct CustomShape {
    name: String,
    table: Vec<(String, Leaf)>,
    paths: PathMap,
    status_paths: &'static str,
}

impl CustomShape {
    /// The shape's name in reports.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn paths(&self) -> &PathMap {
        &self.paths
    }

    pub(crate) fn status_paths(&self) -> &'static str {
        self.status_paths
    }

    /// The fields read and their paths, for `errlens shapes`.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let table: Vec<(&str, Leaf)> = self.table.iter().map(|(p, l)| (p.as_str(), *l)).collect();
        fields_of(&table)
    }
}

/// Builds a [`CustomShape`].
#[derive(Debug, Clone)]
pub struct MappingBuilder {
    name: Option<String>,
    base: Option<ShapeKind>,
    overrides: Vec<(String, String, Option<Unit>)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    base: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Path(String),
    Full {
        path: String,
        #[serde(default)]
        unit: Option<String>,
    },
}

/// The flat field names, as paths.
const FLAT_PATHS: &[(&str, Field)] = &[
    ("ts", Field::Ts),
    ("time", Field::Ts),
    ("timestamp", Field::Ts),
    ("@timestamp", Field::Ts),
    ("method", Field::Method),
    ("url", Field::Url),
    ("host", Field::Host),
    ("path", Field::Path),
    ("status", Field::Status),
    ("http_status", Field::HttpStatus),
    ("latency_ms", Field::Latency),
    ("duration_ms", Field::Latency),
    ("elapsed_ms", Field::Latency),
    ("client_id", Field::ClientId),
    ("attempt", Field::Attempt),
    ("retry_after", Field::RetryAfter),
    ("error", Field::Error),
    ("code", Field::Code),
    ("message", Field::Message),
    ("status_code", Field::StatusCode),
    ("status_message", Field::StatusMessage),
    ("success", Field::Success),
    ("errors", Field::Errors),
];

impl MappingBuilder {
    /// A mapping starting from `base` (a JSON shape), or from the flat names.
    pub fn new(base: Option<ShapeKind>) -> Result<MappingBuilder, MappingError> {
        check_base(base)?;
        Ok(MappingBuilder {
            name: None,
            base,
            overrides: Vec::new(),
        })
    }

    /// Adds a mapping file's entries (its `base` applies unless one was given).
    pub fn file(&mut self, path: &Path) -> Result<&mut Self, MappingError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
            path: shown.clone(),
            source,
        })?;
        let file: File = toml::from_str(&text).map_err(|e| MappingError::Parse {
            path: shown.clone(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        if let Some(b) = &file.base {
            let kind = ShapeKind::from_name(b).ok_or_else(|| {
                MappingError::Invalid(format!("{shown}: unknown base shape {b:?}"))
            })?;
            check_base(Some(kind)).map_err(|e| MappingError::Invalid(format!("{shown}: {e}")))?;
            if self.base.is_none() {
                self.base = Some(kind);
            }
        }
        if file.name.is_some() {
            self.name = file.name;
        }
        for (field, entry) in file.fields {
            let (path, unit) = match entry {
                Entry::Path(p) => (p, None),
                Entry::Full { path, unit } => (path, unit),
            };
            let unit = match unit {
                Some(u) => Some(Unit::from_name(&u).ok_or_else(|| {
                    MappingError::Invalid(format!(
                        "{shown}: field {field}: unknown unit {u:?} (auto, s, ms, us, ns, plus_one)"
                    ))
                })?),
                None => None,
            };
            self.add(&field, &path, unit)
                .map_err(|e| MappingError::Invalid(format!("{shown}: {e}")))?;
        }
        Ok(self)
    }

    /// Adds one `FIELD=PATH[:UNIT]` argument.
    pub fn arg(&mut self, arg: &str) -> Result<&mut Self, MappingError> {
        let (field, rest) = arg.split_once('=').ok_or_else(|| {
            MappingError::Invalid(format!(
                "--map {arg:?}: expected FIELD=PATH (e.g. status=resp.code)"
            ))
        })?;
        let (path, unit) = match rest.rsplit_once(':') {
            Some((p, u)) if Unit::from_name(u).is_some() => (p, Unit::from_name(u)),
            // A word after the last colon is meant as a unit.
            Some((_, u))
                if !u.is_empty() && u.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') =>
            {
                return Err(MappingError::Invalid(format!(
                    "--map {arg:?}: unknown unit {u:?} (auto, s, ms, us, ns, plus_one)"
                )))
            }
            _ => (rest, None),
        };
        self.add(field.trim(), path.trim(), unit)?;
        Ok(self)
    }

    fn add(&mut self, field: &str, path: &str, unit: Option<Unit>) -> Result<(), MappingError> {
        if field != "envelope" && mapped_field(field).is_none() {
            return Err(MappingError::Invalid(format!(
                "unknown field {field:?}; fields: ts, method, url, host, path, status, latency_ms, client_id, attempt, retry_after, error, code, message, status_code, status_message, success, errors, envelope"
            )));
        }
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(MappingError::Invalid(format!(
                "field {field}: {path:?} is not a path (dot-separated keys, e.g. http.response.status_code)"
            )));
        }
        self.overrides
            .push((field.to_owned(), path.to_owned(), unit));
        Ok(())
    }

    /// The shape.
    pub fn build(&self) -> CustomShape {
        let mut table: Vec<(String, Leaf)> = match self.base {
            Some(k) if k != ShapeKind::Flat => path_table(k)
                .iter()
                .map(|(p, l)| ((*p).to_owned(), *l))
                .collect(),
            _ => FLAT_PATHS
                .iter()
                .map(|(p, f)| ((*p).to_owned(), Leaf::Value(Target::new(*f))))
                .collect(),
        };
        for (field, path, unit) in &self.overrides {
            let leaf = if field == "envelope" {
                table.retain(|(_, l)| !matches!(l, Leaf::Envelope));
                Leaf::Envelope
            } else {
                let f = mapped_field(field).expect("checked when added");
                table.retain(|(_, l)| match l {
                    Leaf::Value(t) => {
                        !(t.field == f || (f == Field::Status && t.field == Field::HttpStatus))
                    }
                    _ => true,
                });
                Leaf::Value(Target::new(f).unit(unit.unwrap_or(Unit::Natural)))
            };
            table.push((path.clone(), leaf));
        }
        let refs: Vec<(&str, Leaf)> = table.iter().map(|(p, l)| (p.as_str(), *l)).collect();
        let status_paths = status_paths_of(&refs);
        let paths = PathMap::new(refs.iter().copied());
        let status_paths: &'static str = Box::leak(
            if status_paths.is_empty() {
                "nothing: no status path is mapped".to_owned()
            } else {
                status_paths
            }
            .into_boxed_str(),
        );
        CustomShape {
            name: self.name.clone().unwrap_or_else(|| "custom".to_owned()),
            table,
            paths,
            status_paths,
        }
    }
}

/// The record field a mapping names (`time` and the other aliases included).
fn mapped_field(name: &str) -> Option<Field> {
    match Field::from_name(name) {
        Field::Other => None,
        Field::HttpStatus => Some(Field::Status),
        f => Some(f),
    }
}

fn check_base(base: Option<ShapeKind>) -> Result<(), MappingError> {
    match base {
        Some(k @ (ShapeKind::Otlp | ShapeKind::Har | ShapeKind::Logfmt | ShapeKind::Clf)) => {
            Err(MappingError::Invalid(format!(
                "a mapping describes JSON objects; it cannot start from the {k} shape"
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Shape;
    use std::sync::Arc;

    fn read(shape: &CustomShape, line: &str) -> Result<(u16, Option<f64>, Option<i64>), String> {
        let s = Shape::Custom(Arc::new(shape.clone()));
        let mut got = Err(String::new());
        s.parse_line(line.as_bytes(), None, &mut |r| {
            got = r
                .map(|r| (r.status, r.latency_ms, r.tmdb_code))
                .map_err(|e| e.to_string())
        });
        got
    }

    #[test]
    fn maps_paths_with_units() {
        let mut b = MappingBuilder::new(None).unwrap();
        b.arg("status=resp.code").unwrap();
        b.arg("latency_ms=elapsed:us").unwrap();
        b.arg("envelope=resp.body").unwrap();
        let s = b.build();
        assert_eq!(
            read(
                &s,
                r#"{"resp":{"code":404,"body":{"status_code":34}},"elapsed":2500,"status":200}"#
            ),
            Ok((404, Some(2.5), Some(34)))
        );
        let e = read(&s, r#"{"status":200}"#).unwrap_err();
        assert!(e.contains("resp.code"), "{e}");
    }

    #[test]
    fn files_and_bad_input() {
        // Removed when the test ends, whatever its outcome.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        std::fs::write(&p, "name = \"gw\"\nbase = \"ecs\"\n[fields]\nlatency_ms = { path = \"took\", unit = \"ms\" }\n").unwrap();
        let mut b = MappingBuilder::new(None).unwrap();
        b.file(&p).unwrap();
        let s = b.build();
        assert_eq!(s.name(), "gw");
        assert_eq!(
            read(&s, r#"{"http":{"response":{"status_code":503}},"took":7}"#),
            Ok((503, Some(7.0), None))
        );
        std::fs::write(&p, "[fields]\nstatus = 3\n").unwrap();
        let e = MappingBuilder::new(None)
            .unwrap()
            .file(&p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.toml") && e.contains("line"), "{e}");
        assert!(MappingBuilder::new(None).unwrap().arg("nope=x").is_err());
        assert!(MappingBuilder::new(None).unwrap().arg("status").is_err());
        assert!(MappingBuilder::new(None)
            .unwrap()
            .arg("latency_ms=took:weird")
            .is_err());
        assert!(MappingBuilder::new(Some(ShapeKind::Har)).is_err());
    }
}
