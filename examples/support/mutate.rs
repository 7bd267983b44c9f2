//! Random mutations of Butane documents, for fuzzing the translation: the
//! `butane-fuzz` example runs them for minutes, `tests/butane.rs` for a few
//! seconds.
//!
//! Mutations are the edits that break YAML and Butane in interesting ways:
//! lines deleted, duplicated, swapped and re-indented; bytes flipped; and
//! YAML's own punctuation (quotes, colons, dashes, brackets, anchors,
//! aliases, merge keys, tags, tabs, comments, document markers) inserted.

/// A small, seedable PRNG (xorshift64*): reproducible runs, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (which must not be 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "\"",
    "'",
    ":",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!str ",
    "!!int ",
    "!!binary ",
    "\t",
    "# c\n",
    "---\n",
    "...\n",
    "|\n",
    ">-\n",
    "? ",
    "%YAML 1.1\n",
    "~",
    "0o777",
    "0x1F",
    "1e400",
    "yes",
    "-.inf",
    "\\",
    "\u{feff}",
    "\u{0}",
    "\r\n",
    "\u{2028}",
];

/// One to four random edits of `doc`.
pub fn mutate(doc: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = doc.to_vec();
    for _ in 0..1 + rng.below(4) {
        out = edit(&out, rng);
    }
    out
}

fn edit(doc: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = doc.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let n = lines.len().max(1);
    match rng.below(7) {
        0 if lines.len() > 1 => {
            lines.remove(rng.below(n));
        }
        1 => {
            let i = rng.below(n).min(lines.len().saturating_sub(1));
            if let Some(line) = lines.get(i).cloned() {
                lines.insert(i, line);
            }
        }
        2 if lines.len() > 1 => {
            let last = lines.len() - 1;
            let (a, b) = (rng.below(n).min(last), rng.below(n).min(last));
            lines.swap(a, b);
        }
        3 => {
            let i = rng.below(n).min(lines.len().saturating_sub(1));
            if let Some(line) = lines.get_mut(i) {
                let spaces = rng.below(5);
                line.splice(0..0, std::iter::repeat_n(b' ', spaces));
            }
        }
        4 if !doc.is_empty() => {
            let mut bytes = doc.to_vec();
            let i = rng.below(bytes.len());
            bytes[i] = (rng.next() & 0xff) as u8;
            return bytes;
        }
        _ => {
            let mut bytes = doc.to_vec();
            let at = rng.below(bytes.len() + 1);
            let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
            bytes.splice(at..at, token.iter().copied());
            return bytes;
        }
    }
    lines.join(&b'\n')
}
