//! systemd unit-file parsing as Ignition validates it: Ignition's
//! `config/shared/parse.ParseUnitContents` over go-systemd v22's
//! `unit.Deserialize` (`unit/deserialize.go`), and the install-section
//! checks of `config/shared/validations/unit.go`.
//!
//! go-systemd lexes through a `bufio.Reader` of 4096 bytes and, before every
//! lexer step, refuses the input if 2048 buffered bytes hold no line break.
//! Whether that fires depends on how the buffer happens to be filled, so
//! this module reproduces `bufio.Reader` (fill, slide, `ReadRune`,
//! `ReadBytes`) rather than approximating it. Only what validation needs is
//! kept: the section of each option, and the error text.

use super::gostr::{decode_rune, is_space, quote_bytes, trim_space};

/// go-systemd's `SYSTEMD_LINE_MAX`.
const LINE_MAX: usize = 2048;
/// `bufio.defaultBufSize`.
const BUF_SIZE: usize = 4096;

/// The section of one parsed option (`UnitOption.Section`), as raw bytes.
pub type OptionSection = Vec<u8>;

/// `ParseUnitContents`: `Ok` with the section of every option (an empty list
/// for no contents), or the message Ignition reports at `.contents`.
pub fn parse_unit_contents(contents: Option<&str>) -> Result<Vec<OptionSection>, String> {
    match contents {
        None => Ok(Vec::new()),
        Some(c) => deserialize(c.as_bytes()).map_err(|e| format!("invalid unit content: {e}")),
    }
}

/// Whether any option lives in an `[Install]` section. An `[Install]`
/// header without options does not count, as in Ignition.
pub fn has_install_option(opts: &[OptionSection]) -> bool {
    opts.iter().any(|s| s == b"Install")
}

/// `validations.ValidateInstallSection`: the warning for an enabled unit
/// with contents but no install section. `opts` is `None` when the
/// contents failed to parse (that error is reported already).
pub fn validate_install_section(
    name: &str,
    enabled: bool,
    contents_empty: bool,
    opts: Option<&[OptionSection]>,
) -> Option<String> {
    if !enabled || contents_empty {
        return None;
    }
    let opts = opts?;
    if has_install_option(opts) {
        None
    } else {
        Some(super::errors::no_install_section(name))
    }
}

/// A port of the parts of `bufio.Reader` the lexer uses, over a byte slice
/// read the way `strings.Reader` gives it out.
struct BufReader<'a> {
    src: &'a [u8],
    src_pos: usize,
    buf: Vec<u8>,
    r: usize,
    w: usize,
    /// A pending `io.EOF` from the source.
    eof: bool,
    last_rune_size: Option<usize>,
}

impl<'a> BufReader<'a> {
    fn new(src: &'a [u8]) -> Self {
        BufReader {
            src,
            src_pos: 0,
            // Filled as read: `buf.len()` is always `w`, so that no
            // 4 KiB buffer is zeroed for a short unit.
            buf: Vec::with_capacity(BUF_SIZE.min(src.len())),
            r: 0,
            w: 0,
            eof: false,
            last_rune_size: None,
        }
    }

    fn buffered(&self) -> usize {
        self.w - self.r
    }

    /// `fill`: slide the unread bytes to the front, then one read.
    fn fill(&mut self) {
        if self.r > 0 {
            self.buf.drain(..self.r);
            self.w -= self.r;
            self.r = 0;
        }
        let n = (BUF_SIZE - self.w).min(self.src.len() - self.src_pos);
        if n == 0 {
            self.eof = true;
            return;
        }
        self.buf
            .extend_from_slice(&self.src[self.src_pos..self.src_pos + n]);
        self.src_pos += n;
        self.w += n;
    }

    /// `readErr`: report a pending EOF once.
    fn take_eof(&mut self) -> bool {
        std::mem::replace(&mut self.eof, false)
    }

    /// `ReadRune`; `None` at end of input.
    fn read_rune(&mut self) -> Option<char> {
        while self.r + 4 > self.w
            && !full_rune(&self.buf[self.r..self.w])
            && !self.eof
            && self.w - self.r < BUF_SIZE
        {
            self.fill();
        }
        self.last_rune_size = None;
        if self.r == self.w {
            self.take_eof();
            return None;
        }
        let (c, size) = decode_rune(&self.buf[self.r..self.w]);
        self.r += size;
        self.last_rune_size = Some(size);
        Some(c)
    }

    /// `UnreadRune` right after a successful `ReadRune`.
    fn unread_rune(&mut self) {
        let size = self.last_rune_size.take().unwrap_or(0);
        self.r = self.r.saturating_sub(size);
    }

    /// `ReadSlice`'s loop, collecting full-buffer fragments as `ReadBytes`
    /// does. Returns the bytes and whether the delimiter was found.
    fn read_bytes(&mut self, delim: u8) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        self.last_rune_size = None;
        let mut s = 0;
        loop {
            if let Some(i) = self.buf[self.r + s..self.w]
                .iter()
                .position(|&b| b == delim)
            {
                let end = self.r + s + i + 1;
                out.extend_from_slice(&self.buf[self.r..end]);
                self.r = end;
                return (out, true);
            }
            if self.eof {
                out.extend_from_slice(&self.buf[self.r..self.w]);
                self.r = self.w;
                self.take_eof();
                return (out, false);
            }
            if self.buffered() >= BUF_SIZE {
                // ErrBufferFull: keep the fragment and start over.
                out.extend_from_slice(&self.buf[self.r..self.w]);
                self.r = self.w;
                s = 0;
                continue;
            }
            s = self.w - self.r;
            self.fill();
        }
    }

    /// go-systemd's `toEOL`: a line without its final `\n` (and a `\r` only when no
    /// `\n` followed it, as go-systemd trims in that order), and whether
    /// input ended.
    fn read_line(&mut self) -> (Vec<u8>, bool) {
        let (mut line, found) = self.read_bytes(b'\n');
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        (line, !found)
    }
}

/// `utf8.FullRune`.
fn full_rune(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else {
        return false;
    };
    let (need, lo, hi) = match b0 {
        0xc2..=0xdf => (2, 0x80, 0xbf),
        0xe0 => (3, 0xa0, 0xbf),
        0xe1..=0xec | 0xee..=0xef => (3, 0x80, 0xbf),
        0xed => (3, 0x80, 0x9f),
        0xf0 => (4, 0x90, 0xbf),
        0xf1..=0xf3 => (4, 0x80, 0xbf),
        0xf4 => (4, 0x80, 0x8f),
        _ => return true,
    };
    if p.len() >= need {
        return true;
    }
    if p.len() > 1 && !(lo..=hi).contains(&p[1]) {
        return true;
    }
    p.len() > 2 && !(0x80..=0xbf).contains(&p[2])
}

/// The lexer's states (go-systemd's `lexStep` closures).
enum Step {
    NextSection,
    SectionName,
    SectionSuffix(Vec<u8>),
    IgnoreLine(Box<Step>),
    NextSectionOrOption(Vec<u8>),
    OptionName(Vec<u8>),
    OptionValue(Vec<u8>),
}

/// `unit.Deserialize`, keeping the section of each option.
fn deserialize(input: &[u8]) -> Result<Vec<OptionSection>, String> {
    let mut l = Lexer {
        buf: BufReader::new(input),
        options: Vec::new(),
    };
    let mut next = Some(Step::NextSection);
    while let Some(step) = next {
        if l.buf.buffered() >= LINE_MAX {
            // systemd truncates longer lines; go-systemd refuses them.
            let window = &l.buf.buf[l.buf.r..l.buf.r + LINE_MAX];
            if !window.iter().any(|&b| b == b'\r' || b == b'\n') {
                return Err(format!("line too long (max {LINE_MAX} bytes)"));
            }
        }
        next = l.step(step)?;
    }
    Ok(l.options)
}

/// The result of a lexer step: the next step, `None` at the end.
type Next = Result<Option<Step>, String>;

struct Lexer<'a> {
    buf: BufReader<'a>,
    options: Vec<OptionSection>,
}

impl Lexer<'_> {
    fn step(&mut self, step: Step) -> Next {
        match step {
            Step::NextSection => Ok(self.next_section()),
            Step::SectionName => self.section_name(),
            Step::SectionSuffix(section) => self.section_suffix(section),
            Step::IgnoreLine(then) => Ok(Some(self.ignore_line(*then))),
            Step::NextSectionOrOption(section) => Ok(self.next_section_or_option(section)),
            Step::OptionName(section) => self.option_name(section),
            Step::OptionValue(section) => Ok(Some(self.option_value(section))),
        }
    }

    /// `lexNextSection`: skip to the first `[`, ignoring comments.
    fn next_section(&mut self) -> Option<Step> {
        match self.buf.read_rune()? {
            '[' => Some(Step::SectionName),
            '#' | ';' => Some(Step::IgnoreLine(Box::new(Step::NextSection))),
            _ => Some(Step::NextSection),
        }
    }

    /// `lexSectionName`: up to the `]`.
    fn section_name(&mut self) -> Next {
        let (mut sec, found) = self.buf.read_bytes(b']');
        if !found {
            return Err("unable to find end of section".to_string());
        }
        sec.pop();
        Ok(Some(Step::SectionSuffix(sec)))
    }

    /// `lexSectionSuffixFunc`: nothing but space may follow the `]`.
    fn section_suffix(&mut self, section: Vec<u8>) -> Next {
        let (garbage, _) = self.buf.read_line();
        let garbage = trim_space(&garbage);
        if !garbage.is_empty() {
            // go-systemd never sets the lexer's section, hence the gap.
            return Err(format!(
                "found garbage after section name : {}",
                quote_bytes(garbage)
            ));
        }
        Ok(Some(Step::NextSectionOrOption(section)))
    }

    /// `ignoreLineFunc`: a comment, with its backslash continuations.
    fn ignore_line(&mut self, then: Step) -> Step {
        loop {
            let (mut line, _) = self.buf.read_line();
            if line.last() == Some(&b' ') {
                line.pop();
            }
            if line.last() != Some(&b'\\') {
                return then;
            }
        }
    }

    /// `lexNextSectionOrOptionFunc`.
    fn next_section_or_option(&mut self, section: Vec<u8>) -> Option<Step> {
        match self.buf.read_rune()? {
            '[' => Some(Step::SectionName),
            '#' | ';' => Some(Step::IgnoreLine(Box::new(Step::NextSectionOrOption(
                section,
            )))),
            c if is_space(c) => Some(Step::NextSectionOrOption(section)),
            _ => {
                self.buf.unread_rune();
                Some(Step::OptionName(section))
            }
        }
    }

    /// `lexOptionNameFunc`: up to the `=`, on one line.
    fn option_name(&mut self, section: Vec<u8>) -> Next {
        loop {
            match self.buf.read_rune() {
                None => return Err("EOF".to_string()),
                Some('\n' | '\r') => {
                    return Err(
                        "unexpected newline encountered while parsing option name".to_string()
                    );
                }
                Some('=') => return Ok(Some(Step::OptionValue(section))),
                Some(_) => {}
            }
        }
    }

    /// `lexOptionValueFunc`: one line of the value; a trailing backslash
    /// continues it in a new step.
    fn option_value(&mut self, section: Vec<u8>) -> Step {
        let (line, _) = self.buf.read_line();
        if !trim_space(&line).is_empty() && line.last() == Some(&b'\\') {
            return Step::OptionValue(section);
        }
        self.options.push(section.clone());
        Step::NextSectionOrOption(section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(s: &str) -> Result<Vec<String>, String> {
        parse_unit_contents(Some(s)).map(|v| {
            v.into_iter()
                .map(|s| String::from_utf8_lossy(&s).into_owned())
                .collect()
        })
    }

    #[test]
    fn options_carry_their_section() {
        let got = sections("# c\n[Unit]\nA=b\n  \n[Install]\nWantedBy=x \\\n  y\n[Empty]\n");
        assert_eq!(got.unwrap(), vec!["Unit", "Install"]);
        assert_eq!(parse_unit_contents(None), Ok(vec![]));
        assert!(!has_install_option(
            &parse_unit_contents(Some("[Install]\n")).unwrap()
        ));
    }

    #[test]
    fn errors_read_as_go_systemd_reports_them() {
        assert_eq!(
            sections("[Unit"),
            Err("invalid unit content: unable to find end of section".into())
        );
        assert_eq!(
            sections("[Unit] x\n"),
            Err("invalid unit content: found garbage after section name : \"x\"".into())
        );
        assert_eq!(
            sections("[Unit]\nFoo\nBar=1"),
            Err(
                "invalid unit content: unexpected newline encountered while parsing option name"
                    .into()
            )
        );
        assert_eq!(
            sections("[Unit]\nFoo"),
            Err("invalid unit content: EOF".into())
        );
    }

    #[test]
    fn long_lines_are_refused_only_when_buffered() {
        let long = format!("[Unit]\nA={}\n", "x".repeat(3000));
        assert_eq!(
            sections(&long),
            Err("invalid unit content: line too long (max 2048 bytes)".into())
        );
        // Input text before the unit's first byte is irrelevant to the check;
        // a short file never buffers 2048 bytes.
        assert!(sections("[Unit]\nA=b\n").is_ok());
    }

    #[test]
    fn install_warning() {
        let opts = parse_unit_contents(Some("[Unit]\nA=b\n")).unwrap();
        assert_eq!(
            validate_install_section("a.service", true, false, Some(&opts)),
            Some(
                "unit \"a.service\" is enabled, but has no install section so enable does nothing"
                    .into()
            )
        );
        assert_eq!(
            validate_install_section("a.service", false, false, Some(&opts)),
            None
        );
        assert_eq!(
            validate_install_section("a.service", true, true, Some(&opts)),
            None
        );
        assert_eq!(
            validate_install_section("a.service", true, false, None),
            None
        );
    }
}
