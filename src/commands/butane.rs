//! `coregen butane`: a drop-in for upstream's `butane` command line, for
//! variant fcos. The report goes to stderr exactly as upstream prints it,
//! then either the config (stdout, or written atomically to `--output`) or
//! `Error translating config: ...` and exit status 1.

use std::io::{Read, Write};
use std::path::Path;

use crate::cli::ButaneArgs;
use coregen::butane::{Options, translate_document};
use coregen::error::{Error, Result};

pub(super) fn butane(args: &ButaneArgs) -> Result<()> {
    let input = match read_input(args.input.as_deref()) {
        Ok(input) => input,
        Err(message) => {
            eprintln!("{message}");
            return Err(Error::reported());
        }
    };
    let opts = Options {
        files_dir: args.files_dir.clone(),
    };
    let outcome = translate_document(&input, &opts);
    eprint!("{}", outcome.report);
    let translated = match outcome.result {
        Ok(t) => t,
        Err(e) => {
            eprintln!("Error translating config: {e}");
            return Err(Error::reported());
        }
    };
    if args.strict && !outcome.report.is_empty() {
        eprintln!("{}", coregen::butane::STRICT_WARNINGS);
        return Err(Error::reported());
    }
    if args.check {
        return Ok(());
    }
    let mut json = translated.to_json(args.pretty);
    json.push('\n');
    match &args.output {
        None => say!("{json}"),
        Some(path) => write_atomically(path, json.as_bytes())?,
    }
    Ok(())
}

/// The document's bytes, from a file or from stdin (`-` or no argument);
/// on failure, upstream's message (`failed to open x.bu: open x.bu: no
/// such file or directory`, or `failed to read ...` when opening worked).
fn read_input(input: Option<&Path>) -> std::result::Result<Vec<u8>, String> {
    let mut data = Vec::new();
    let path = match input {
        Some(p) if p != Path::new("-") => p,
        _ => {
            return std::io::stdin()
                .lock()
                .read_to_end(&mut data)
                .map(|_| data)
                .map_err(|e| format!("failed to read <stdin>: {e}"));
        }
    };
    let name = path.display();
    let go = coregen::butane::go_error_text;
    let mut file = std::fs::File::open(path)
        .map_err(|e| format!("failed to open {name}: open {name}: {}", go(&e)))?;
    file.read_to_end(&mut data)
        .map_err(|e| format!("failed to read {name}: read {name}: {}", go(&e)))?;
    Ok(data)
}

/// Writes `path` through a temporary file beside it, so that a reader (or
/// a failure) never leaves half a config.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(path, "write", e))?;
    temp.write_all(contents)
        .map_err(|e| Error::io(path, "write", e))?;
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o644);
    temp.as_file()
        .set_permissions(mode)
        .map_err(|e| Error::io(path, "write", e))?;
    temp.persist(path)
        .map_err(|e| Error::io(path, "write", e.error))?;
    Ok(())
}
