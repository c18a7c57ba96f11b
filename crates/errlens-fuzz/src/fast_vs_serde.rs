//! `fast_vs_serde`: the flat shape's fast scanner (`errlens-parse`'s `shape/fast.rs`)
//! against serde_json, on one line.
//!
//! The scanner answers only for the plain lines it understands and leaves every other
//! line to serde_json, which has the last word on what is valid. Asserts, with no
//! provider map, the built-in one and one whose definition adds envelope keys (the
//! scanner's "extra keys" path): whenever the scanner answers, its record (or error) is
//! serde_json's, field for field; `parse_line` — the dispatch between the two — always
//! gives serde_json's answer; the scanner never accepts a line serde_json finds invalid.
//! Uses the `#[doc(hidden)]` hook `errlens_parse::fast_and_serde`, which returns the
//! two readings separately.

use crate::check;
use errlens_classify::{Registry, Source};
use errlens_parse::{fast_and_serde, ParseError, ProviderMap};
use std::sync::{Arc, OnceLock};

/// The provider maps lines are read with: the built-in providers, and those plus a
/// definition with its own envelope keys (`fixtures/providers/acme.toml`).
fn maps() -> &'static [Arc<ProviderMap>] {
    static MAPS: OnceLock<Vec<Arc<ProviderMap>>> = OnceLock::new();
    MAPS.get_or_init(|| {
        let acme = Registry::with(&[(
            Source::File("fixtures/providers/acme.toml".into()),
            include_str!("../../../fixtures/providers/acme.toml").to_owned(),
        )])
        .expect("the acme fixture is a valid definition");
        vec![
            Arc::clone(Registry::builtin().map()),
            Arc::clone(acme.map()),
        ]
    })
}

/// The target: see the module docs.
pub fn fast_vs_serde(line: &[u8]) {
    compare(line, None);
    for map in maps() {
        compare(line, Some(map));
    }
}

fn compare(line: &[u8], map: Option<&ProviderMap>) {
    let (fast, serde) = fast_and_serde(line, map);
    if let Some(fast) = &fast {
        assert_eq!(
            fast,
            &serde,
            "the fast scanner and serde_json disagree on {:?}",
            String::from_utf8_lossy(line)
        );
        assert!(
            !matches!(
                fast,
                Err(ParseError::InvalidJson(_) | ParseError::NotObject)
            ),
            "the fast scanner accepted a line serde_json rejects: {:?}",
            String::from_utf8_lossy(line)
        );
    }
    let dispatched = match map {
        Some(m) => errlens_parse::parse_line_with(line, m),
        None => errlens_parse::parse_line(line),
    };
    assert_eq!(
        dispatched,
        serde,
        "parse_line is serde_json's reading of {:?}",
        String::from_utf8_lossy(line)
    );
    if let Ok(rec) = &serde {
        check::record(rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_take_the_fast_path() {
        let line = br#"{"status":429,"url":"https://api.simkl.com/x","errorId":"daily_cap"}"#;
        let mut errors = Vec::new();
        for map in [None, Some(&*maps()[1])] {
            let (fast, serde) = fast_and_serde(line, map);
            assert_eq!(fast.as_ref(), Some(&serde));
            errors.push(serde.unwrap().error.map(|e| e.into_owned()));
        }
        // Acme's own envelope key is read only with its definition loaded.
        assert_eq!(errors, [None, Some("daily_cap".to_owned())]);
        fast_vs_serde(line);
        fast_vs_serde(b"{\"status\":\"caf\\u00e9\"}");
    }
}
