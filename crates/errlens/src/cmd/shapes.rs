//! `errlens shapes`: the shapes errlens reads, and which one a file is in.

use super::Outcome;
use crate::cli::ShapesArgs;
use crate::output;
use anyhow::Context;
use errlens_parse::detect::{sniff, SNIFF_BYTES};
use errlens_parse::ShapeKind;
use std::fmt::Write;

/// Runs `errlens shapes`.
pub fn run(args: ShapesArgs) -> anyhow::Result<Outcome> {
    let text = match &args.detect {
        Some(file) => detect(file)?,
        None => list(),
    };
    output::write_all(None, &text)?;
    Ok(Outcome::Ok)
}

fn list() -> String {
    let mut s = String::new();
    for k in ShapeKind::ALL {
        let _ = writeln!(s, "{}  {}", k.name(), k.description());
        let _ = writeln!(s, "  spec: {}", k.spec());
        let fields = k.fields();
        let width = fields.iter().map(|(f, _)| f.len()).max().unwrap_or(0);
        for (field, paths) in fields {
            let _ = writeln!(s, "  {field:width$}  {paths}");
        }
        s.push('\n');
    }
    s.push_str(
        "Detection: each input's first lines are sniffed and the shape most of them are in is\n\
         used; a line in another shape is read by its own. --shape NAME forces one shape;\n\
         --map FIELD=PATH and --mapping FILE describe a custom JSON shape.\n",
    );
    s
}

fn detect(file: &str) -> anyhow::Result<String> {
    // The error names the file already: no context chain to repeat it.
    let mut input = errlens_parse::open_input(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let head = errlens_parse::input::head(&mut input, SNIFF_BYTES)
        .with_context(|| format!("reading {file}"))?;
    let d = sniff(&head);
    let mut s = String::new();
    match d.shape {
        Some(k) => {
            let _ = writeln!(s, "{file}: {k}");
        }
        None => {
            let _ = writeln!(s, "{file}: no known shape");
        }
    }
    let _ = writeln!(s, "  why: {}", d.reason());
    if d.shape.is_none() {
        let _ = writeln!(s, "  hint: {}", errlens_parse::front::hint(&head, None));
    }
    Ok(s)
}
