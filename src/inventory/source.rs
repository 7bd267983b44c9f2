//! One TOML file of the inventory, kept with its text so that any byte span
//! can be turned into a place (line, column) and a key path (`files[1].mode`).
//!
//! Every error about inventory content goes through [`SourceFile::error`] or
//! [`SourceFile::parse`]; nothing else in the crate counts lines.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use super::Origin;
use crate::error::{Error, Place, Result};

pub struct SourceFile {
    /// The path as shown in messages.
    pub path: PathBuf,
    pub text: String,
    /// Byte offset of the start of each line, for quick place look-ups.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn read(path: &Path) -> Result<SourceFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        Ok(SourceFile::new(display_path(path), text))
    }

    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// Deserialize the whole file, turning TOML and serde errors into errors
    /// that name the place and the key.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        toml::from_str(&self.text).map_err(|err| {
            let message = friendly_message(err.message());
            match err.span() {
                Some(span) => self.error(span, message),
                None => Error::new(message).at(Place::file(&self.path)),
            }
        })
    }

    /// An error about the value or key at `span` in this file.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> Error {
        let err = Error::new(message).at(self.place(span.start));
        match key_path(&self.text, span) {
            Some(key) => err.key(key),
            None => err,
        }
    }

    pub fn place(&self, offset: usize) -> Place {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        Place::at(&self.path, line, column)
    }

    /// Remembers where an item was declared; `key` is its path in the file.
    pub fn origin(&self, span: Range<usize>, key: String) -> Origin {
        Origin::new(self.place(span.start), key)
    }
}

/// `./hosts/x.toml` reads worse than `hosts/x.toml`.
fn display_path(path: &Path) -> PathBuf {
    path.strip_prefix(".").unwrap_or(path).to_path_buf()
}

/// serde's "unknown field `x`, expected one of `a`, `b`" becomes "unknown key
/// `x` (did you mean `a`?); expected one of ...". serde gives the expected
/// names only inside this message, so it is taken apart here.
fn friendly_message(message: &str) -> String {
    let message = message.trim_end();
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let mut out = format!("unknown key `{unknown}`");
    if let Some(best) = did_you_mean(unknown, candidates.iter().copied()) {
        out.push_str(&format!(" (did you mean `{best}`?)"));
    }
    if !candidates.is_empty() {
        let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
        out.push_str(&format!("; expected one of {}", list.join(", ")));
    }
    out
}

/// The closest candidate, if any is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wrong, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The dotted key path (`units[0].dropins[1].name`) of the innermost key or
/// value that contains `span`, found by re-reading the document with spans.
fn key_path(text: &str, span: Range<usize>) -> Option<String> {
    // Recoverable parsing still yields the keys before a syntax error.
    let (doc, _) = DeTable::parse_recoverable(text);
    let find = |offset| {
        let mut path = Vec::new();
        find_in_table(doc.get_ref(), offset, &mut path).then(|| path.concat())
    };
    // A syntax error may sit past the end of what could be parsed; then the
    // key that starts its line is the best name for it.
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = text[line_start..].len() - text[line_start..].trim_start().len();
    find(span.start).or_else(|| find(line_start + indent))
}

fn find_in_table(table: &DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
    for (key, value) in table {
        let segment = if path.is_empty() {
            key.get_ref().to_string()
        } else {
            format!(".{}", key.get_ref())
        };
        path.push(segment);
        if key.span().contains(&offset) || find_in_value(value, offset, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn find_in_value(
    value: &toml::Spanned<DeValue<'_>>,
    offset: usize,
    path: &mut Vec<String>,
) -> bool {
    match value.get_ref() {
        DeValue::Table(table) => {
            find_in_table(table, offset, path) || value.span().contains(&offset)
        }
        DeValue::Array(array) => {
            for (index, item) in array.into_iter().enumerate() {
                path.push(format!("[{index}]"));
                if find_in_value(item, offset, path) {
                    return true;
                }
                path.pop();
            }
            value.span().contains(&offset)
        }
        _ => value.span().contains(&offset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> SourceFile {
        SourceFile::new(PathBuf::from("hosts/x.toml"), text.to_string())
    }

    #[test]
    fn key_path_names_array_of_tables_entries() {
        let text = "ip = \"10.0.0.1\"\n\n[[files]]\npath = \"/a\"\n\n[[files]]\npath = \"/b\"\nmode = \"0999\"\n";
        let at = text.find("\"0999\"").unwrap();
        assert_eq!(key_path(text, at..at + 6).as_deref(), Some("files[1].mode"));
        let at = text.find("10.0").unwrap();
        assert_eq!(key_path(text, at..at + 1).as_deref(), Some("ip"));
    }

    #[test]
    fn key_path_names_nested_inline_tables() {
        let text = "[[units]]\nname = \"a.service\"\ndropins = [{ name = \"x\" }]\n";
        let at = text.find("\"x\"").unwrap();
        assert_eq!(
            key_path(text, at..at + 3).as_deref(),
            Some("units[0].dropins[0].name")
        );
    }

    #[test]
    fn place_counts_lines_and_columns() {
        let src = source("a = 1\nbb = 2\n");
        let place = src.place(src.text.find('2').unwrap());
        assert_eq!((place.line, place.column), (Some(2), Some(6)));
    }

    #[test]
    fn unknown_field_gets_a_suggestion() {
        let msg = friendly_message("unknown field `groupz`, expected one of `groups`, `ip`");
        assert_eq!(
            msg,
            "unknown key `groupz` (did you mean `groups`?); expected one of `groups`, `ip`"
        );
        let msg = friendly_message("unknown field `zzz`, expected `name`");
        assert_eq!(msg, "unknown key `zzz`; expected one of `name`");
    }
}
