//! The one error type of the library, built to tell an operator what to fix.
//!
//! Every error that comes from an input file carries the place (file, line,
//! column) and the key inside that file, so that the message reads like a
//! compiler's: `hosts/node1.toml:4:7: mac: "52:54:zz:00:00:01" is not a MAC
//! address`. Errors without a file (I/O on `out/`, a missing CA) carry only
//! the path they concern. Mapping errors to exit codes is `main.rs`'s job.

use std::fmt;
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in an input file something went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    /// 1-based line and column; absent when the error concerns a whole file.
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Place {
    pub fn file(file: impl Into<PathBuf>) -> Place {
        Place {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    pub fn at(file: impl Into<PathBuf>, line: usize, column: usize) -> Place {
        Place {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// What kind of failure an error is, for whoever must answer it: `serve`
/// picks the HTTP status by it, `main` the exit code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// coregen's own trouble, or the machine's: I/O, the state store, a
    /// broken inventory.
    #[default]
    Failed,
    /// Input from outside (a request, a CSR) that is malformed.
    Invalid,
    /// Input that is well-formed but against policy.
    Refused,
    /// What is on disk differs from what would be written (`diff`,
    /// `render --check`): a finding, not a failure.
    Differs,
}

/// Boxed, so that `Result`s stay one pointer wide on the happy path.
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: Kind,
    place: Option<Place>,
    key: Option<String>,
    message: String,
    /// What was being done, innermost first, such as which template for
    /// which host: each caller adds its own, none replaces another's.
    context: Vec<String>,
    /// The command has already told the user what went wrong in its own
    /// format (as `coregen butane` does, like upstream butane).
    reported: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error with a message and nothing else; add context with the
    /// builder methods.
    pub fn new(message: impl Into<String>) -> Error {
        Error(Box::new(Inner {
            kind: Kind::Failed,
            place: None,
            key: None,
            message: message.into(),
            context: Vec::new(),
            source: None,
            reported: false,
        }))
    }

    /// Malformed input from outside (see [`Kind::Invalid`]).
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(message).with_kind(Kind::Invalid)
    }

    /// Input against policy (see [`Kind::Refused`]).
    pub fn refused(message: impl Into<String>) -> Error {
        Error::new(message).with_kind(Kind::Refused)
    }

    pub fn with_kind(mut self, kind: Kind) -> Error {
        self.0.kind = kind;
        self
    }

    pub fn kind(&self) -> Kind {
        self.0.kind
    }

    /// A failure the command has already reported on stderr itself: `main`
    /// only sets the exit status.
    pub fn reported() -> Error {
        let mut err = Error::new("reported");
        err.0.reported = true;
        err
    }

    pub fn is_reported(&self) -> bool {
        self.0.reported
    }

    /// An I/O failure on `path`, keeping the OS error as the source.
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Error {
        Error::new(format!("cannot {action} {}", path.display())).with_source(err)
    }

    pub fn at(mut self, place: Place) -> Error {
        self.0.place = Some(place);
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Error {
        self.0.key = Some(key.into());
        self
    }

    /// Adds what was being done when this error happened; outer
    /// callers add theirs after inner ones, in the manner of anyhow's
    /// `context`.
    pub fn note(mut self, note: impl Into<String>) -> Error {
        self.0.context.push(note.into());
        self
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.0.source = Some(Box::new(source));
        self
    }

    /// Whether this is a write to a closed stdout (`coregen ... | head`),
    /// which ends a command early but is no failure.
    pub fn is_closed_stdout(&self) -> bool {
        self.0.source.as_ref().is_some_and(|source| {
            source
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        })
    }

    pub fn place(&self) -> Option<&Place> {
        self.0.place.as_ref()
    }

    pub fn key_name(&self) -> Option<&str> {
        self.0.key.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(place) = &self.0.place {
            write!(f, "{place}: ")?;
        }
        if let Some(key) = &self.0.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.0.message)?;
        if let Some(source) = &self.0.source {
            write!(f, ": {source}")?;
        }
        for note in &self.0.context {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_like_a_compiler_message() {
        let err = Error::new("\"zz\" is not a MAC address")
            .at(Place::at("hosts/node1.toml", 4, 7))
            .key("mac");
        assert_eq!(
            err.to_string(),
            "hosts/node1.toml:4:7: mac: \"zz\" is not a MAC address"
        );
    }

    #[test]
    fn display_appends_the_source() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let err = Error::io(Path::new("out/x"), "write", io);
        assert_eq!(err.to_string(), "cannot write out/x: gone");
    }

    #[test]
    fn an_outer_note_keeps_the_inner_one() {
        let err = Error::new("bad")
            .note("in template x")
            .note("for host node1");
        assert_eq!(err.to_string(), "bad (in template x) (for host node1)");
    }
}
