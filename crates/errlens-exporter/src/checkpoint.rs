//! Checkpoints: where each followed file was read up to, kept across restarts.
//!
//! A file is identified by its device and inode *and* a fingerprint of its first line,
//! never by path alone: after a rotation the path names another file, and an inode
//! number can be reused by a new file. The state file is replaced atomically (write to
//! a temporary file, then rename), so a crash leaves either the old or the new state.

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

/// Everything the state directory holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Format version.
    pub version: u32,
    /// Positions of followed and draining files.
    pub files: Vec<FilePosition>,
}

const STATE_FILE: &str = "errlens-serve.state.json";

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

    /// The saved state; empty when there is none. A corrupt state file is an error,
    /// not a silent restart from scratch.
    pub fn load(&mut self) -> io::Result<State> {
        let path = self.dir.join(STATE_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let state: State = serde_json::from_slice(&bytes).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: not an errlens state file: {e}", path.display()),
                    )
                })?;
                self.last = Some(state.clone());
                Ok(state)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e),
        }
    }

    /// Saves `state` if it differs from the last one saved.
    pub fn save(&mut self, state: &State) -> io::Result<()> {
        if self.last.as_ref() == Some(state) {
            return Ok(());
        }
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        let bytes = serde_json::to_vec_pretty(state).map_err(io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, self.dir.join(STATE_FILE))?;
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
        };
        c.save(&s).unwrap();
        assert_eq!(Checkpoints::open(dir.path()).unwrap().load().unwrap(), s);
        std::fs::write(dir.path().join(STATE_FILE), "{broken").unwrap();
        assert!(Checkpoints::open(dir.path()).unwrap().load().is_err());
    }
}
