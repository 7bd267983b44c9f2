//! The check a template's text passes before handlebars compiles it.
//!
//! Handlebars builds the syntax tree of nested subexpressions (`(a (b (c
//! ...)))`) by recursion, and an `{{else if}}` chain as one node nested in
//! the next, with no bound on either: a few hundred nested subexpressions
//! overflow a thread's stack while the template compiles, and a chain of
//! some thousands while its tree is dropped. Either aborts the process. So
//! this scan bounds both before the text reaches handlebars. Blocks nested
//! in blocks need no scan: the parser (pest) stops with an error when it
//! runs short of stack, and the tree it leaves is cheap to drop. What the
//! compiled tree may do when rendered (blocks, partials, cycles) is
//! `limits.rs`'s.
//!
//! The scan cannot parse handlebars exactly, so it errs on one side only:
//! it may count more nesting than handlebars would build, never less.

use super::limits::MAX_DEPTH;

/// How deep parentheses (subexpressions) and braces (object literals) may
/// nest inside one tag, as the scan counts them: twice the render bound,
/// since the scan cannot always tell a parenthesis in a string from one
/// that opens a subexpression, and still far below the depth at which
/// compiling overflows (about 300 subexpressions on a 2 MiB thread in a
/// debug build). The render bound then applies to the compiled tree.
pub const MAX_PARENS: usize = 2 * MAX_DEPTH;

/// How many `{{else}}` tags one template may hold. Each `{{else if}}` of a
/// chain nests the rest of the chain one level deeper in the tree, and
/// dropping a tree some ten thousand levels deep overflows a 2 MiB stack
/// (compiling such a chain also takes quadratic time). A chain longer than
/// [`MAX_DEPTH`] is refused once compiled; this only keeps the compiler safe.
pub const MAX_ELSE: usize = 1000;

/// Where and why the scan refused a text (1-based line and column).
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Checks `text` before it is compiled: subexpressions and braces nest at
/// most [`MAX_PARENS`] deep, and there are at most [`MAX_ELSE`] `{{else}}`s.
pub fn check(text: &str) -> Result<(), Refused> {
    else_tags(text)?;
    nesting(text)
}

/// Where the scan is, in one of the ways the parser may read the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Text outside tags, which may also be an escaped `\{{` or the
    /// content of a raw block: any `{{` may or may not open a tag.
    Text,
    /// After one `{` of text.
    Open,
    /// Right after `{{`: `!` makes a comment.
    TagStart,
    /// Inside a tag, outside strings.
    Tag,
    /// After a `}` that may end the tag.
    Close,
    /// Inside a string literal (or quoted partial name), and right after
    /// a backslash in one.
    Double,
    DoubleEscape,
    Single,
    SingleEscape,
    /// Inside `[...]`: a path segment, where quotes and parentheses are
    /// plain characters (or an array literal, which `Tag` also follows).
    Key,
    /// `{{!`, `{{!-`: a comment, which `--` may make a long one.
    Bang,
    BangDash,
    /// `{{! ... }}`, and after its first `}`.
    Comment,
    CommentClose,
    /// `{{!-- ... --}}`, and after `-`, `--`, `--}`.
    Long,
    LongDash,
    LongDashes,
    LongClose,
}

/// One way of reading the text so far: its mode, how many braces and
/// parentheses are open in the tag. Only the deepest count of parentheses
/// per mode and braces is kept: it bounds every reading that has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reading {
    mode: Mode,
    braces: usize,
    parens: usize,
}

/// The deepest nesting of parentheses and braces in any tag, over every
/// way the parser could read `text`: each reading the parser might take at
/// a character (`{{` opening a tag or being escaped text, `[` opening a
/// path segment or an array) is followed, the set kept small by merging
/// readings that differ only in their count of parentheses.
fn nesting(text: &str) -> Result<(), Refused> {
    let mut readings = vec![Reading {
        mode: Mode::Text,
        braces: 0,
        parens: 0,
    }];
    let mut next: Vec<Reading> = Vec::new();
    let (mut line, mut column) = (1, 0);
    for c in text.chars() {
        if c == '\n' {
            (line, column) = (line + 1, 0);
        } else {
            column += 1;
        }
        next.clear();
        for reading in &readings {
            step(*reading, c, &mut |r| add(&mut next, r));
        }
        if let Some(deep) = next
            .iter()
            .find(|r| r.parens > MAX_PARENS || r.braces > MAX_PARENS)
        {
            let what = if deep.parens > MAX_PARENS {
                "subexpressions"
            } else {
                "braces"
            };
            return Err(Refused {
                line,
                column,
                message: format!(
                    "{what} nest more than {MAX_PARENS} deep inside one tag (coregen's bound, \
                     so that compiling cannot overflow the stack)"
                ),
            });
        }
        std::mem::swap(&mut readings, &mut next);
    }
    Ok(())
}

fn add(readings: &mut Vec<Reading>, r: Reading) {
    match readings
        .iter_mut()
        .find(|o| o.mode == r.mode && o.braces == r.braces)
    {
        Some(other) => other.parens = other.parens.max(r.parens),
        None => readings.push(r),
    }
}

/// The readings that follow `r` past character `c`.
fn step(r: Reading, c: char, out: &mut dyn FnMut(Reading)) {
    use Mode::*;
    let to = |mode: Mode| Reading { mode, ..r };
    let text = Reading {
        mode: Text,
        braces: 0,
        parens: 0,
    };
    match r.mode {
        Text => {
            out(text);
            if c == '{' {
                out(to(Open));
            }
        }
        Open => match c {
            '{' => out(Reading {
                mode: TagStart,
                braces: 0,
                parens: 0,
            }),
            _ => step(text, c, out),
        },
        TagStart => match c {
            '!' => out(to(Bang)),
            _ => step(to(Tag), c, out),
        },
        Tag => match c {
            '(' => out(Reading {
                parens: r.parens + 1,
                ..r
            }),
            ')' => out(Reading {
                parens: r.parens.saturating_sub(1),
                ..r
            }),
            '"' => out(to(Double)),
            '\'' => out(to(Single)),
            '[' => {
                out(to(Key));
                out(r);
            }
            '{' => out(Reading {
                braces: r.braces + 1,
                ..r
            }),
            '}' if r.braces > 0 => out(Reading {
                braces: r.braces - 1,
                ..r
            }),
            '}' => out(to(Close)),
            _ => out(r),
        },
        Close => match c {
            '}' => out(text),
            _ => step(to(Tag), c, out),
        },
        Double => match c {
            '\\' => out(to(DoubleEscape)),
            '"' => out(to(Tag)),
            _ => out(r),
        },
        DoubleEscape => out(to(Double)),
        // A quoted partial name reads `\\` as two characters, a string as
        // one: both are followed.
        Single => match c {
            '\\' => {
                out(to(SingleEscape));
                out(r);
            }
            '\'' => out(to(Tag)),
            _ => out(r),
        },
        SingleEscape => out(to(Single)),
        Key => match c {
            ']' => out(to(Tag)),
            _ => out(r),
        },
        // `{{!--}}` is a short comment when no `--}}` follows: both are
        // followed.
        Bang => match c {
            '-' => {
                out(to(BangDash));
                out(to(Comment));
            }
            _ => step(to(Comment), c, out),
        },
        BangDash => match c {
            '-' => {
                out(to(Long));
                out(to(Comment));
            }
            _ => step(to(Comment), c, out),
        },
        Comment => match c {
            '}' => out(to(CommentClose)),
            _ => out(r),
        },
        CommentClose => match c {
            '}' => out(text),
            _ => step(to(Comment), c, out),
        },
        Long => match c {
            '-' => out(to(LongDash)),
            _ => out(r),
        },
        LongDash => match c {
            '-' => out(to(LongDashes)),
            _ => step(to(Long), c, out),
        },
        LongDashes => match c {
            '}' => out(to(LongClose)),
            '-' => out(r),
            _ => step(to(Long), c, out),
        },
        LongClose => match c {
            '}' => out(text),
            _ => step(to(Long), c, out),
        },
    }
}

/// Counts the tags that may be an `{{else}}` or `{{^}}` (each link of a
/// chain is one): every `{{` followed by `~` and blanks, then `else` or `^`.
fn else_tags(text: &str) -> Result<(), Refused> {
    let mut count = 0;
    for (at, _) in text.match_indices("{{") {
        let rest = text[at + 2..].trim_start_matches(['~', ' ', '\t', '\r', '\n']);
        let word_ends =
            |s: &str| !s.starts_with(|c: char| c.is_alphanumeric() || "-_$:".contains(c));
        let is_else = rest.strip_prefix("else").is_some_and(word_ends) || rest.starts_with('^');
        if !is_else {
            continue;
        }
        count += 1;
        if count > MAX_ELSE {
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            return Err(Refused {
                line,
                column,
                message: format!(
                    "more than {MAX_ELSE} `{{{{else}}}}` tags in one template (coregen's bound: \
                     each `{{{{else if}}}}` nests the rest of its chain one level deeper)"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subexpressions(n: usize) -> String {
        format!(
            "{{{{lookup {}x{} 0}}}}",
            "(lookup ".repeat(n),
            " 0)".repeat(n)
        )
    }

    #[test]
    fn nested_subexpressions_are_bounded() {
        assert_eq!(check(&subexpressions(MAX_PARENS)), Ok(()));
        let err = check(&subexpressions(MAX_PARENS + 1)).unwrap_err();
        assert_eq!((err.line, err.column), (1, 10 + 8 * MAX_PARENS));
        assert!(err.message.contains("subexpressions nest"), "{err:?}");
        assert!(check(&subexpressions(100_000)).is_err());
    }

    #[test]
    fn parentheses_outside_tags_and_in_comments_do_not_count() {
        let shell = "x=\"$(((((((\" # ))\n".repeat(200);
        assert_eq!(check(&format!("{shell}{{{{host.name}}}}\n{shell}")), Ok(()));
        let comment = format!(
            "{{{{!-- {} --}}}}{{{{! {} }}}}",
            "(".repeat(500),
            "(".repeat(500)
        );
        assert_eq!(check(&comment), Ok(()));
    }

    #[test]
    fn strings_cannot_hide_subexpressions() {
        // A `)` or `}}` inside a string literal neither closes a
        // subexpression nor ends the tag: the scan still counts.
        let hidden = format!(
            "{{{{lookup \"}}}}\" {}x{} 0}}}}",
            "(lookup \")\" ".repeat(MAX_PARENS + 1),
            " 0)".repeat(MAX_PARENS + 1)
        );
        assert!(check(&hidden).is_err());
        let single = format!("{{{{f {}}}}}", "(g ')' '\\\\' ".repeat(MAX_PARENS + 1));
        assert!(check(&single).is_err());
        let key = format!("{{{{f {}}}}}", "(g [a\"b] ".repeat(MAX_PARENS + 1));
        assert!(check(&key).is_err());
        let object = format!("{{{{f {{\"a\":{{}}}} {}}}}}", "(g ".repeat(MAX_PARENS + 1));
        assert!(check(&object).is_err());
    }

    #[test]
    fn else_chains_are_bounded() {
        let chain = |n: usize| format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{else if a}}".repeat(n));
        assert_eq!(check(&chain(MAX_ELSE)), Ok(()));
        let err = check(&chain(MAX_ELSE + 1)).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("`{{else}}` tags"), "{err:?}");
        assert_eq!(check(&"{{elsewhere}}".repeat(MAX_ELSE + 1)), Ok(()));
        assert!(check(&"{{~ ^}}".repeat(MAX_ELSE + 1)).is_err());
    }
}
