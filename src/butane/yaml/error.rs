//! Error reporting: the syntax-error state shared by the scanner and parser
//! (yaml.v3's `error`, `problem`, `context_mark`, `problem_mark` fields) and
//! the public `Error` type with yaml.v3's exact message text.
//!
//! Boundary: this module formats messages; it does not decide when an error
//! happens. The scanner and parser record into `ErrorState` field by field,
//! exactly as Go does, because a later error may overwrite only some fields
//! of an earlier one and the final message is built from the mix.

use std::fmt;

use super::scanner::Mark;

/// Start of the message used where yaml.v3 would crash instead of returning.
pub const GO_PANIC_PREFIX: &str = "yaml: internal error: yaml.v3 would panic: ";

/// Which stage recorded the error (Go's `yaml_error_type_t`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(super) enum Stage {
    #[default]
    None,
    Reader,
    Scanner,
    Parser,
    /// Go would crash with a runtime panic (an index out of range) here.
    GoPanic,
}

/// Marker returned by scanner and parser steps after they recorded an error
/// in `ErrorState` (Go returns `false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Failed;

/// Result of a scanner or parser step.
pub(super) type Fallible<T = ()> = Result<T, Failed>;

/// The error fields of Go's `yaml_parser_t`.
#[derive(Debug, Default)]
pub(super) struct ErrorState {
    pub(super) stage: Stage,
    pub(super) problem: String,
    pub(super) context_mark: Mark,
    pub(super) problem_mark: Mark,
}

impl ErrorState {
    /// yaml_parser_set_reader_error: leaves the marks alone.
    pub(super) fn set_reader(&mut self, problem: &str) -> Failed {
        self.stage = Stage::Reader;
        self.problem = problem.to_string();
        Failed
    }

    /// yaml_parser_set_scanner_error (the context text is never printed).
    pub(super) fn set_scanner(&mut self, context_mark: Mark, problem: &str, at: Mark) -> Failed {
        self.stage = Stage::Scanner;
        self.context_mark = context_mark;
        self.problem = problem.to_string();
        self.problem_mark = at;
        Failed
    }

    /// yaml_parser_set_parser_error: leaves the context mark alone.
    pub(super) fn set_parser(&mut self, problem: &str, problem_mark: Mark) -> Failed {
        self.stage = Stage::Parser;
        self.problem = problem.to_string();
        self.problem_mark = problem_mark;
        Failed
    }

    /// yaml_parser_set_parser_error_context.
    pub(super) fn set_parser_context(
        &mut self,
        context_mark: Mark,
        problem: &str,
        problem_mark: Mark,
    ) -> Failed {
        self.stage = Stage::Parser;
        self.context_mark = context_mark;
        self.problem = problem.to_string();
        self.problem_mark = problem_mark;
        Failed
    }

    /// Where yaml.v3 itself crashes (a Go runtime panic that Unmarshal does
    /// not recover), we stop with an error instead.
    pub(super) fn set_go_panic(&mut self, what: &str) -> Failed {
        self.stage = Stage::GoPanic;
        self.problem = what.to_string();
        Failed
    }

    pub(super) fn is_set(&self) -> bool {
        self.stage != Stage::None
    }

    /// The message of decode.go's `parser.fail()`. Marks are 0-based; only
    /// scanner errors get the +1, and a context mark on line 0 is skipped in
    /// favour of the problem mark. Both quirks are yaml.v3's.
    pub(super) fn message(&self) -> String {
        if self.stage == Stage::GoPanic {
            return format!("{GO_PANIC_PREFIX}{}", self.problem);
        }
        let bump = usize::from(self.stage == Stage::Scanner);
        let line = if self.context_mark.line != 0 {
            self.context_mark.line + bump
        } else if self.problem_mark.line != 0 {
            self.problem_mark.line + bump
        } else {
            0
        };
        let place = if line != 0 {
            format!("line {line}: ")
        } else {
            String::new()
        };
        let problem = if self.problem.is_empty() {
            "unknown problem parsing YAML content"
        } else {
            &self.problem
        };
        format!("yaml: {place}{problem}")
    }
}

/// What `yaml.Unmarshal` returned, with yaml.v3's exact text.
///
/// Messages are kept as bytes: yaml.v3 cuts values to 7 bytes in type errors,
/// which can split a UTF-8 character, and Go prints those bytes as they are.
/// `Display` shows such bytes as U+FFFD; use `message_bytes` for the exact text.
#[derive(Clone, PartialEq, Eq)]
pub enum Error {
    /// A fatal error (Go: a panic through `failf`/`fail`, e.g. every syntax
    /// error, "unknown anchor", "document contains excessive aliasing").
    /// The text includes the "yaml: " prefix.
    Fatal(Vec<u8>),
    /// Go's `*yaml.TypeError`: each entry is one `line N: ...` item.
    Type(Vec<Vec<u8>>),
}

impl Error {
    pub(super) fn fatal(message: impl Into<Vec<u8>>) -> Self {
        Error::Fatal(message.into())
    }

    /// The exact bytes of Go's `err.Error()`.
    pub fn message_bytes(&self) -> Vec<u8> {
        match self {
            Error::Fatal(message) => message.clone(),
            Error::Type(items) => {
                let mut out = b"yaml: unmarshal errors:\n  ".to_vec();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b"\n  ");
                    }
                    out.extend_from_slice(item);
                }
                out
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::gostd::lossy_string(&self.message_bytes()))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?})", self.to_string())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(line: usize) -> Mark {
        Mark {
            index: 0,
            line,
            column: 0,
        }
    }

    #[test]
    fn scanner_errors_add_one_parser_errors_do_not() {
        let mut e = ErrorState::default();
        e.set_scanner(mark(6), "found unexpected end of stream", mark(9));
        assert_eq!(e.message(), "yaml: line 7: found unexpected end of stream");
        let mut e = ErrorState::default();
        e.set_parser_context(mark(2), "did not find expected key", mark(4));
        assert_eq!(e.message(), "yaml: line 2: did not find expected key");
    }

    #[test]
    fn context_on_first_line_falls_back_to_problem_mark() {
        let mut e = ErrorState::default();
        e.set_scanner(mark(0), "could not find expected ':'", mark(1));
        assert_eq!(e.message(), "yaml: line 2: could not find expected ':'");
        let mut e = ErrorState::default();
        e.set_reader("control characters are not allowed");
        assert_eq!(e.message(), "yaml: control characters are not allowed");
    }

    #[test]
    fn type_errors_are_listed() {
        let e = Error::Type(vec![b"line 3: a".to_vec(), b"line 9: b".to_vec()]);
        assert_eq!(
            e.to_string(),
            "yaml: unmarshal errors:\n  line 3: a\n  line 9: b"
        );
    }
}
