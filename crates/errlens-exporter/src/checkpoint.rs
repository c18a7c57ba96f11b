//! Checkpoints: where each followed file was read up to, kept across restarts.
//!
//! A file is identified by its device and inode *and* a fingerprint of its first line,
//! never by path alone: after a rotation the path names another file, and an inode
//! number can be reused by a new file. The state file is replaced atomically (write to
//! a temporary file, fsync it, rename, fsync the directory), so a crash or a power loss
//! leaves either the old or the new state; it is readable by its owner only (0600).
//!
//! A state file that cannot be read as one (empty or corrupt after a power loss) is
//! moved aside (`….corrupt-<unix seconds>`) with a warning, and following starts as
//! with no state: files that exist are read from their end (from their start with
//! `--from-start`). A state file of a version this errlens does not know is refused,
//! not overwritten.

use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// Identity and position of one followed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    /// The path it was followed under.
    pub path: PathBuf,
    /// Device id.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Hash of the first line (or first 256 bytes), when the file had one.
    pub fingerprint: Option<u64>,
    /// Bytes consumed: the end of the last complete line processed.
    pub offset: u64,
    /// Whether the file was open (being read) when saved, rather than finished.
    #[serde(default)]
    pub open: bool,
}

/// Everything the state directory holds: positions and the counter values of the same
/// instant (see [`crate::counters`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Format version.
    pub version: u32,
    /// Positions of followed and draining files.
    pub files: Vec<FilePosition>,
    /// Counter and histogram values when the positions were saved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counters: Vec<crate::counters::Family>,
    /// `errlens_last_record_timestamp_seconds` when saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_record_timestamp: Option<f64>,
}

const STATE_FILE: &str = "errlens-serve.state.json";

/// The state file format this errlens reads and writes.
pub const STATE_VERSION: u32 = 1;

/// Reads and writes the state file in a directory.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
    last: Option<State>,
}

impl Checkpoints {
    /// Uses `dir` (created if missing).
    pub fn open(dir: &Path) -> io::Result<Checkpoints> {
        std::fs::create_dir_all(dir)?;
        Ok(Checkpoints {
            dir: dir.to_owned(),
            last: None,
        })
    }

    /// The saved state; empty when there is none, or when the state file was corrupt
    /// (it is then moved aside, with a warning on stderr). A state file of another
    /// version is an error.
    pub fn load(&mut self) -> io::Result<State> {
        let path = self.dir.join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(e),
        };
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        if let Ok(Version { version }) = serde_json::from_slice::<Version>(&bytes) {
            if version != STATE_VERSION {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: state file version {version}, this errlens reads version {STATE_VERSION}; move the file away to start without it",
                        path.display()
                    ),
                ));
            }
        }
        match serde_json::from_slice::<State>(&bytes) {
            Ok(state) => {
                self.last = Some(state.clone());
                Ok(state)
            }
            Err(e) => {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let aside = self.dir.join(format!("{STATE_FILE}.corrupt-{secs}"));
                std::fs::rename(&path, &aside)?;
                eprintln!(
                    "errlens: {}: not a readable state file ({e}); moved to {} and starting without it",
                    path.display(),
                    aside.display()
                );
                Ok(State::default())
            }
        }
    }

    /// Saves `state` if it differs from the last one saved.
    pub fn save(&mut self, state: &State) -> io::Result<()> {
        if self.last.as_ref() == Some(state) {
            return Ok(());
        }
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        let bytes = serde_json::to_vec_pretty(state).map_err(io::Error::other)?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, self.dir.join(STATE_FILE))?;
        // The rename itself must survive a power loss too.
        std::fs::File::open(&self.dir)?.sync_all()?;
        self.last = Some(state.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoints::open(dir.path()).unwrap();
        assert_eq!(c.load().unwrap(), State::default());
        let s = State {
            version: 1,
            files: vec![FilePosition {
                path: "/var/log/a.log".into(),
                dev: 1,
                ino: 2,
                fingerprint: Some(3),
                offset: 4,
                open: true,
            }],
            counters: vec![crate::counters::Family {
                name: "errlens_lines_total".into(),
                help: "Input lines by result.".into(),
                series: vec![crate::counters::Series {
                    labels: vec![("result".into(), "record".into())],
                    value: crate::counters::Value::Counter(7.0),
                }],
            }],
            last_record_timestamp: Some(1_795_168_800.5),
        };
        c.save(&s).unwrap();
        assert_eq!(Checkpoints::open(dir.path()).unwrap().load().unwrap(), s);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(STATE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Corrupt or empty (a power loss): moved aside, start without it.
        for broken in ["{broken", ""] {
            std::fs::write(dir.path().join(STATE_FILE), broken).unwrap();
            assert_eq!(
                Checkpoints::open(dir.path()).unwrap().load().unwrap(),
                State::default()
            );
            assert!(!dir.path().join(STATE_FILE).exists());
            let aside = std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().contains(".corrupt-"));
            assert!(aside);
        }
        // Another version: refused, and left where it is.
        std::fs::write(dir.path().join(STATE_FILE), r#"{"version":9,"files":[]}"#).unwrap();
        let e = Checkpoints::open(dir.path()).unwrap().load().unwrap_err();
        assert!(e.to_string().contains("version 9"), "{e}");
        assert!(dir.path().join(STATE_FILE).exists());
    }
}
