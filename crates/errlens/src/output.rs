//! Where output goes: standard output or `-o FILE`, and broken-pipe detection.

use anyhow::Context;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Opens the output destination: the file when given, else standard output.
pub fn open(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    })
}

/// Writes `text` to the destination and flushes it.
pub fn write_all(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    let mut w = open(path)?;
    w.write_all(text.as_bytes())?;
    w.flush()?;
    Ok(())
}

/// Whether an error is a closed pipe, which a CLI treats as a normal end.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
