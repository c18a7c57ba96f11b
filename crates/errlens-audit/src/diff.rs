//! What changed between two reports (`errlens diff OLD NEW`): every figure a gate can
//! name ([`crate::gate::figures`]) with its old and new value, the error groups that
//! appeared or disappeared, and the `delta.*` figures `--fail-on` reads
//! (`delta.failures.share > 0.01`).

use crate::gate::figures;
use crate::{Group, Report};
use serde::Serialize;
use std::collections::BTreeMap;

/// The diff's JSON schema name.
pub const DIFF_SCHEMA: &str = "errlens.diff/v1";

/// One figure in both reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The figure's path (as `--fail-on` names it).
    pub path: String,
    /// In the old report (0 when absent).
    pub old: f64,
    /// In the new report (0 when absent).
    pub new: f64,
    /// `new - old`.
    pub delta: f64,
}

/// An error group present in one report only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupChange {
    /// Provider.
    pub provider: String,
    /// HTTP status.
    pub status: u16,
    /// Simkl error id.
    pub error: Option<String>,
    /// TMDB code.
    pub tmdb_code: Option<i64>,
    /// The body's success flag said false (as in the report's group; shown only when
    /// true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unsuccessful: bool,
    /// Outcome class.
    pub class: String,
    /// Records in the report that has it.
    pub count: u64,
}

impl From<&Group> for GroupChange {
    fn from(g: &Group) -> Self {
        GroupChange {
            provider: g.provider.clone(),
            status: g.status,
            error: g.error.clone(),
            tmdb_code: g.tmdb_code,
            unsuccessful: g.unsuccessful,
            class: g.class.clone(),
            count: g.count,
        }
    }
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// Always [`DIFF_SCHEMA`].
    pub schema: &'static str,
    /// Figures that changed by more than the tolerance (shares: absolute; counts and
    /// times: relative to the old value), largest change first.
    pub changed: Vec<Change>,
    /// Error groups (failures only) in the new report and not the old.
    pub new_groups: Vec<GroupChange>,
    /// Error groups (failures only) in the old report and not the new.
    pub gone_groups: Vec<GroupChange>,
    /// The tolerance used.
    pub tolerance: f64,
    /// Every figure's delta, for `--fail-on 'delta.PATH …'`.
    #[serde(skip)]
    pub deltas: BTreeMap<String, f64>,
}

impl Diff {
    /// Whether nothing changed beyond the tolerance.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.new_groups.is_empty() && self.gone_groups.is_empty()
    }

    /// The figures `--fail-on` can name: `delta.PATH` for every figure, and the new
    /// report's own.
    pub fn figures(&self, new: &Report) -> BTreeMap<String, f64> {
        let mut f = figures(new);
        for (k, v) in &self.deltas {
            f.insert(format!("delta.{k}"), *v);
        }
        f
    }
}

/// A group as the report keys it: provider, status, error, code, success flag false.
type GroupKey = (String, u16, Option<String>, Option<i64>, bool);

fn key(g: &Group) -> GroupKey {
    (
        g.provider.clone(),
        g.status,
        g.error.clone(),
        g.tmdb_code,
        g.unsuccessful,
    )
}

/// Compares two reports. `tolerance` bounds what counts as a change: a share (a path
/// ending in `share`) changed when it moved by more than `tolerance`; any other figure
/// when it moved by more than `tolerance` of its old value (any move from 0).
pub fn diff(old: &Report, new: &Report, tolerance: f64) -> Diff {
    let (a, b) = (figures(old), figures(new));
    let mut deltas = BTreeMap::new();
    let mut changed = Vec::new();
    for path in a.keys().chain(b.keys()) {
        if deltas.contains_key(path) {
            continue;
        }
        let (o, n) = (
            a.get(path).copied().unwrap_or(0.0),
            b.get(path).copied().unwrap_or(0.0),
        );
        let delta = n - o;
        deltas.insert(path.clone(), delta);
        let share = path.ends_with("share");
        let moved = if share {
            delta.abs() > tolerance
        } else {
            delta != 0.0 && delta.abs() > tolerance * o.abs()
        };
        if moved {
            changed.push(Change {
                path: path.clone(),
                old: o,
                new: n,
                delta,
            });
        }
    }
    // Shares first (they compare across log sizes), then by size of the move.
    changed.sort_by(|x, y| {
        let rel = |c: &Change| {
            if c.path.ends_with("share") {
                f64::INFINITY
            } else if c.old == 0.0 {
                f64::MAX
            } else {
                (c.delta / c.old).abs()
            }
        };
        rel(y)
            .partial_cmp(&rel(x))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| {
                y.delta
                    .abs()
                    .partial_cmp(&x.delta.abs())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .then_with(|| x.path.cmp(&y.path))
    });
    let failing = |r: &Report| -> BTreeMap<GroupKey, Group> {
        r.groups
            .iter()
            .filter(|g| g.failure)
            .map(|g| (key(g), g.clone()))
            .collect()
    };
    let (og, ng) = (failing(old), failing(new));
    Diff {
        schema: DIFF_SCHEMA,
        changed,
        new_groups: ng
            .iter()
            .filter(|(k, _)| !og.contains_key(*k))
            .map(|(_, g)| g.into())
            .collect(),
        gone_groups: og
            .iter()
            .filter(|(k, _)| !ng.contains_key(*k))
            .map(|(_, g)| g.into())
            .collect(),
        tolerance,
        deltas,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditConfig, Auditor, ReportOptions};
    use errlens_classify::Registry;
    use errlens_parse::IngestConfig;
    use std::sync::Arc;

    fn report(registry: &Arc<Registry>, log: &str) -> Report {
        let config = AuditConfig {
            registry: Arc::clone(registry),
            ingest: Arc::new(IngestConfig {
                providers: Arc::clone(registry.map()),
                ..IngestConfig::default()
            }),
            ..AuditConfig::default()
        };
        let mut a = Auditor::new(config);
        a.read("log", log.as_bytes()).unwrap();
        Report::from_summary(
            &a.finish(),
            &ReportOptions {
                top: 10,
                registry: Arc::clone(registry),
            },
        )
    }

    /// Two failing groups that differ only in the body's success flag (an OMDb error
    /// with and without `"Response":"False"`) are two groups for `diff` too.
    #[test]
    fn groups_differing_in_the_success_flag_are_told_apart() {
        let registry = Arc::new(
            Registry::load(&[concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../providers/omdb.toml"
            )])
            .unwrap(),
        );
        let with = r#"{"url":"https://www.omdbapi.com/?t=x","status":200,"Response":"False","Error":"Movie not found!"}"#;
        let without =
            r#"{"url":"https://www.omdbapi.com/?t=x","status":200,"Error":"Movie not found!"}"#;
        let old = report(&registry, &format!("{with}\n"));
        let new = report(&registry, &format!("{with}\n{without}\n"));
        assert_eq!(new.groups.iter().filter(|g| g.failure).count(), 2);
        let d = diff(&old, &new, 0.0);
        assert_eq!(d.new_groups.len(), 1, "{:?}", d.new_groups);
        assert!(!d.new_groups[0].unsuccessful);
        assert!(d.gone_groups.is_empty());
    }
}
