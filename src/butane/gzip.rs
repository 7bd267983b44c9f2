//! Gzip compression that reproduces Go's `compress/gzip` writer at
//! `gzip.BestCompression` byte for byte.
//!
//! Butane embeds file contents as data URLs and switches to gzip+base64 only
//! when that is shorter than the plain encoding. Which form wins depends on
//! the exact size of Go's gzip stream, and Go's `compress/flate` makes
//! different choices than zlib or miniz (hash function, chain limits, lazy
//! matching rules, block splitting, Huffman tree construction). To produce the
//! same Ignition configs as upstream butane we therefore mirror Go 1.19's
//! `compress/flate` level 9 path (`compressor.deflate` with
//! `levels[9] = {good 32, lazy 258, nice 258, chain 4096, skipNever}`) and
//! its `huffmanBitWriter.writeBlock`, decision for decision. Names follow the
//! Go source where that helps line up the two; comments say why a quirk is
//! kept when it looks odd.
//!
//! Only the path butane takes is implemented: one `Write` with all the data,
//! then `Close`, with no name, comment or modification time in the header.
//!
//! ## Reuse between calls
//!
//! coregen calls [`gzip_best`] once per embedded file, in short-lived
//! processes. Setting up Go's compressor afresh every time means zeroing
//! about 700 KB of tables, and in a new process each page of them touched
//! costs a page fault: both far more than compressing a small file. So each
//! thread keeps one compressor and reuses it without clearing anything big:
//!
//! - A call starts by advancing `hash_offset` past every position stored by
//!   earlier calls, so their hash entries stand for negative positions,
//!   which the matcher rejects just as it rejects Go's zero entries; and the
//!   window is only read where the current call has filled it.
//!   `Compressor::reset` gives the full argument.
//! - Inputs up to 16 KiB keep their hash heads in a table sized to the
//!   input instead of Go's 512 KB one (`HashHeads`), and the other tables
//!   only grow as far as the input needs, so small inputs touch few pages.
//!
//! Neither changes the output (the tests check reused against fresh
//! compressors, and the differential test against Go runs thousands of
//! inputs through one reused compressor). The cost is up to about 1 MB kept
//! per thread that has called `gzip_best`.

use std::cell::RefCell;

/// Compresses `data` exactly like Go's
/// `gzip.NewWriterLevel(&buf, gzip.BestCompression)` followed by one
/// `Write(data)` and `Close()`.
pub fn gzip_best(data: &[u8]) -> Vec<u8> {
    COMPRESSOR
        .try_with(|compressor| compressor.borrow_mut().gzip(data))
        // Only during thread teardown (a thread-local destructor calling
        // us): fall back to a compressor of our own.
        .unwrap_or_else(|_| Compressor::new().gzip(data))
}

/// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=2 (Go sets 2 for BestCompression)
/// OS=255 (Go's default "unknown").
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff];

// ---------------------------------------------------------------------------
// CRC-32 (IEEE, reflected), the gzip trailer checksum.

const CRC32_TABLE: [u32; 256] = build_crc32_table();

const fn build_crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

fn crc32_ieee(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc = CRC32_TABLE[((crc ^ byte as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

// ---------------------------------------------------------------------------
// LZ77 stage: Go's `compressor` restricted to the level 9 (`deflate`) path.

const WINDOW_SIZE: usize = 1 << 15;
const WINDOW_MASK: usize = WINDOW_SIZE - 1;
/// Smallest length the wire format can express (RFC 1951 3.2.5).
const BASE_MATCH_LENGTH: usize = 3;
/// Go never emits matches shorter than 4 bytes.
const MIN_MATCH_LENGTH: usize = 4;
const MAX_MATCH_LENGTH: usize = 258;
const BASE_MATCH_OFFSET: usize = 1;
/// Go cuts a block after this many tokens even if the window is not full.
const MAX_FLATE_BLOCK_TOKENS: usize = 1 << 14;
const MAX_STORE_BLOCK_SIZE: usize = 65535;
const HASH_BITS: u32 = 17;
const HASH_SIZE: usize = 1 << HASH_BITS;
/// Hash chain positions are stored as `position + hash_offset` in u32s;
/// they are rebased once the offset passes this (Go's `maxHashOffset`).
const MAX_HASH_OFFSET: i64 = 1 << 24;
/// Go's `math.MaxInt32`, used to mark a block whose start slid out of the
/// window (such a block can no longer be emitted as a stored block).
const BLOCK_START_GONE: i64 = i32::MAX as i64;

/// `levels[9]` in Go's deflate.go.
const GOOD_LENGTH: usize = 32;
const LAZY_LENGTH: usize = 258;
const NICE_LENGTH: usize = 258;
const MAX_CHAIN: usize = 4096;
/// Go only accepts a 4-byte match if it is at most this far back (zlib's
/// TOO_FAR heuristic: a far 4-byte match rarely pays for its distance code).
const MAX_DISTANCE_FOR_MIN_MATCH: usize = 4096;

const HASH_MUL: u32 = 0x1e35_a7bd;

/// Go's `hash4`: big-endian 32-bit load times a constant, top 17 bits
/// (so Go's extra `& hashMask` is a no-op and is left out).
fn hash4(bytes: &[u8]) -> usize {
    let word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    (word.wrapping_mul(HASH_MUL) >> (32 - HASH_BITS)) as usize
}

/// Number of equal leading bytes of `a` and `b`, at most `max`.
/// Both slices must hold at least `max` bytes.
fn match_len(a: &[u8], b: &[u8], max: usize) -> usize {
    let (a, b) = (&a[..max], &b[..max]);
    let mut matched = 0;
    // Eight bytes at a time; the first differing bit tells the byte.
    for (chunk_a, chunk_b) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let word_a = u64::from_le_bytes(chunk_a.try_into().unwrap());
        let word_b = u64::from_le_bytes(chunk_b.try_into().unwrap());
        let diff = word_a ^ word_b;
        if diff != 0 {
            return matched + (diff.trailing_zeros() / 8) as usize;
        }
        matched += 8;
    }
    for (byte_a, byte_b) in a[matched..].iter().zip(&b[matched..]) {
        if byte_a != byte_b {
            return matched;
        }
        matched += 1;
    }
    max
}

/// Go's token.go packing: a literal is its byte value; a match is
/// `MATCH_TYPE | (length - 3) << 22 | (offset - 1)`.
type Token = u32;
const LENGTH_SHIFT: u32 = 22;
const OFFSET_MASK: u32 = (1 << LENGTH_SHIFT) - 1;
const MATCH_TYPE: u32 = 1 << 30;

fn literal_token(literal: u8) -> Token {
    literal as Token
}

/// `xlength` is length - 3 and `xoffset` is offset - 1, as in Go.
fn match_token(xlength: usize, xoffset: usize) -> Token {
    MATCH_TYPE + ((xlength as u32) << LENGTH_SHIFT) + xoffset as u32
}

thread_local! {
    /// Each thread's compressor, reused by every call (see `reset`).
    static COMPRESSOR: RefCell<Compressor> = RefCell::new(Compressor::new());
}

struct Compressor {
    writer: HuffmanBitWriter,
    sync: bool,

    /// `hash_head` maps a hash to the newest `position + hash_offset` with
    /// that hash; `hash_prev[p & WINDOW_MASK]` links to the previous one. An
    /// entry below `hash_offset` stands for a negative position, which
    /// every reader rejects: "none". Invariant: every entry of `hash_prev`
    /// and of the direct head table is below `hash_offset + window_end`
    /// (positions are hashed only with four bytes ahead of them in the
    /// window), which lets `reset` retire all entries without touching them.
    hash_head: HashHeads,
    hash_prev: Vec<u32>,
    /// Persists across iterations: Go reuses a stale head when the current
    /// position is too close to the end to be hashed.
    chain_head: i64,
    hash_offset: i64,

    /// Unprocessed input is `window[index..window_end]`. Grown on demand up
    /// to `2 * WINDOW_SIZE` bytes, as are `hash_prev` (to `WINDOW_SIZE`) and
    /// the hash head tables, so a small input touches little memory.
    window: Vec<u8>,
    index: usize,
    window_end: usize,
    /// Window index where the pending block's bytes start, or a value above
    /// any index when they slid out.
    block_start: i64,
    /// The byte at `index - 1` is still owed as a literal (lazy matching).
    byte_available: bool,

    tokens: Vec<Token>,
    /// Match found at the previous position (lazy evaluation state).
    length: usize,
    offset: usize,
}

impl Compressor {
    fn new() -> Self {
        Compressor {
            writer: HuffmanBitWriter::new(),
            sync: false,
            hash_head: HashHeads {
                direct: Vec::new(),
                small: Vec::new(),
                small_mask: None,
            },
            hash_prev: Vec::new(),
            chain_head: -1,
            hash_offset: 1,
            window: Vec::new(),
            index: 0,
            window_end: 0,
            block_start: 0,
            byte_available: false,
            tokens: Vec::with_capacity(MAX_FLATE_BLOCK_TOKENS + 1),
            length: MIN_MATCH_LENGTH - 1,
            offset: 0,
        }
    }

    /// The whole gzip stream of `data`.
    fn gzip(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(GZIP_HEADER.len() + data.len() / 2 + 64);
        out.extend_from_slice(&GZIP_HEADER);
        self.reset(data.len(), out);
        self.write(data);
        let mut out = self.close();
        out.extend_from_slice(&crc32_ieee(data).to_le_bytes());
        // ISIZE is the input size modulo 2^32 (RFC 1952), as Go's uint32
        // counter.
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }

    /// Puts the compressor in the state of Go's freshly made one, writing to
    /// `out`, for an input of `len` bytes, except for the contents of the
    /// hash tables and the window, which are not cleared (that would cost
    /// more than compressing a small input):
    ///
    /// - Advancing `hash_offset` by `window_end` is a slide of the whole
    ///   window out of reach: by the invariant on the tables, every entry
    ///   left by earlier calls is now below `hash_offset`, i.e. a negative
    ///   position, exactly what a zero entry means to Go. `hash_offset` only
    ///   grows within a call, and a rebase zeroes such entries, so they stay
    ///   negative for the whole call. Hash entries are read by
    ///   `insert_hash`, which passes the previous head on to `chain_head`
    ///   and `hash_prev`, then by `deflate` (`chain_start >= min_index`,
    ///   with `min_index >= 0`) and `find_match` (`candidate < 0` ends the
    ///   walk), so a negative position has the same effect whatever its
    ///   value. `hash_prev` is only read at positions reached through a
    ///   chain, i.e. inserted in this call. (The small head table is
    ///   cleared instead, at a cost in proportion to the input.)
    /// - The window is only read below `window_end`, i.e. bytes of this
    ///   call's input (`find_match` works on a slice that ends there).
    /// - The Huffman writer's tables are recomputed for every block, as in
    ///   Go, which reuses them from block to block.
    fn reset(&mut self, len: usize, out: Vec<u8>) {
        self.advance_hash_offset(self.window_end);
        self.hash_head.prepare(len);
        // Sizes at which nothing changes: the first fill takes all of a
        // small input (or 64 KiB, as in Go), and `hash_prev` is indexed by
        // positions below `len` or masked.
        grow(&mut self.hash_prev, len.min(WINDOW_SIZE));
        grow(&mut self.window, len.min(2 * WINDOW_SIZE));
        self.writer.bits = BitOutput {
            sink: out,
            bits: 0,
            nbits: 0,
        };
        self.sync = false;
        self.chain_head = -1;
        self.index = 0;
        self.window_end = 0;
        self.block_start = 0;
        self.byte_available = false;
        self.tokens.clear();
        self.length = MIN_MATCH_LENGTH - 1;
        self.offset = 0;
    }

    /// Adds `by` to `hash_offset`, then rebases all hash entries if it grew
    /// past `MAX_HASH_OFFSET`, as Go does when sliding the window. Go only
    /// rebases at a slide and we also do it between calls, so the two
    /// rebase at different times; that cannot change the output, because a
    /// rebase keeps the position every entry stands for (negative ones
    /// become 0, still negative), and so the invariant.
    fn advance_hash_offset(&mut self, by: usize) {
        self.hash_offset += by as i64;
        if self.hash_offset > MAX_HASH_OFFSET {
            let delta = self.hash_offset - 1;
            self.hash_offset -= delta;
            self.chain_head -= delta;
            let rebase = |v: &mut u32| {
                *v = if i64::from(*v) > delta {
                    (i64::from(*v) - delta) as u32
                } else {
                    0
                };
            };
            self.hash_prev.iter_mut().for_each(rebase);
            self.hash_head.rebase(rebase);
        }
    }

    /// Go's `compressor.write`: alternate processing and filling. The order
    /// matters because it decides where the window slides.
    fn write(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            self.deflate();
            let taken = self.fill_window(data);
            data = &data[taken..];
        }
    }

    /// Go's `compressor.close`: flush everything, then an empty final stored
    /// block (Go always ends the stream that way).
    fn close(&mut self) -> Vec<u8> {
        self.sync = true;
        self.deflate();
        self.writer.write_stored_header(0, true);
        self.writer.bits.flush();
        std::mem::take(&mut self.writer.bits.sink)
    }

    /// Go's `fillDeflate`: once processing nears the end of the 64 KiB
    /// buffer, slide it down by 32 KiB (rebasing hash positions and the
    /// block start), then append as much input as fits.
    fn fill_window(&mut self, data: &[u8]) -> usize {
        if self.index >= 2 * WINDOW_SIZE - (MIN_MATCH_LENGTH + MAX_MATCH_LENGTH) {
            self.window.copy_within(WINDOW_SIZE..2 * WINDOW_SIZE, 0);
            self.index -= WINDOW_SIZE;
            self.window_end -= WINDOW_SIZE;
            if self.block_start >= WINDOW_SIZE as i64 {
                self.block_start -= WINDOW_SIZE as i64;
            } else {
                self.block_start = BLOCK_START_GONE;
            }
            self.advance_hash_offset(WINDOW_SIZE);
        }
        let free = &mut self.window[self.window_end..];
        let taken = free.len().min(data.len());
        free[..taken].copy_from_slice(&data[..taken]);
        self.window_end += taken;
        taken
    }

    /// Records `pos` as the newest position with its hash and returns the
    /// previous head of that chain.
    fn insert_hash(&mut self, pos: usize) -> u32 {
        let hash = hash4(&self.window[pos..pos + MIN_MATCH_LENGTH]);
        let previous = self.hash_head.replace(hash, pos, self.hash_offset);
        self.hash_prev[pos & WINDOW_MASK] = previous;
        previous
    }

    /// Go's `maxInsertIndex` test: only positions with four bytes ahead of
    /// them are hashed.
    fn can_hash(&self, pos: usize) -> bool {
        pos + (MIN_MATCH_LENGTH - 1) < self.window_end
    }

    /// Go's `compressor.deflate` with `fastSkipHashing == skipNever`
    /// (lazy matching), the path levels 4 to 9 take.
    fn deflate(&mut self) {
        if self.window_end - self.index < MIN_MATCH_LENGTH + MAX_MATCH_LENGTH && !self.sync {
            return;
        }
        loop {
            let lookahead = self.window_end - self.index;
            if lookahead < MIN_MATCH_LENGTH + MAX_MATCH_LENGTH {
                if !self.sync {
                    break;
                }
                if lookahead == 0 {
                    if self.byte_available {
                        // The pending literal from lazy matching.
                        self.tokens.push(literal_token(self.window[self.index - 1]));
                        self.byte_available = false;
                    }
                    if !self.tokens.is_empty() {
                        self.write_block(self.index);
                    }
                    break;
                }
            }
            if self.can_hash(self.index) {
                self.chain_head = i64::from(self.insert_hash(self.index));
            }
            let prev_length = self.length;
            let prev_offset = self.offset;
            self.length = MIN_MATCH_LENGTH - 1;
            self.offset = 0;
            let min_index = (self.index as i64 - WINDOW_SIZE as i64).max(0);

            // Lazy matching: only search when the previous match was not
            // already long enough.
            let chain_start = self.chain_head - self.hash_offset;
            let found =
                if chain_start >= min_index && lookahead > prev_length && prev_length < LAZY_LENGTH
                {
                    self.find_match(self.index, chain_start, MIN_MATCH_LENGTH - 1, lookahead)
                } else {
                    None
                };
            if let Some((length, offset)) = found {
                self.length = length;
                self.offset = offset;
            }

            if prev_length >= MIN_MATCH_LENGTH && self.length <= prev_length {
                // The match that started at the previous byte is at least as
                // good as the one here: emit it.
                self.tokens.push(match_token(
                    prev_length - BASE_MATCH_LENGTH,
                    prev_offset - BASE_MATCH_OFFSET,
                ));
                // Positions index and index-1 are hashed already; hash the
                // rest of the match while there is lookahead for it.
                let new_index = self.index + prev_length - 1;
                for pos in self.index + 1..new_index {
                    if self.can_hash(pos) {
                        self.insert_hash(pos);
                    }
                }
                self.index = new_index;
                self.byte_available = false;
                self.length = MIN_MATCH_LENGTH - 1;
                if self.tokens.len() == MAX_FLATE_BLOCK_TOKENS {
                    self.write_block(self.index);
                }
            } else {
                if self.byte_available {
                    let literal_pos = self.index - 1;
                    self.tokens.push(literal_token(self.window[literal_pos]));
                    if self.tokens.len() == MAX_FLATE_BLOCK_TOKENS {
                        self.write_block(literal_pos + 1);
                    }
                }
                self.index += 1;
                self.byte_available = true;
            }
        }
    }

    /// Go's `findMatch`: walk at most `MAX_CHAIN` entries of the hash chain
    /// from `prev_head` looking for a match longer than `prev_length`.
    /// Returns (length, distance) of the best one.
    fn find_match(
        &self,
        pos: usize,
        prev_head: i64,
        prev_length: usize,
        lookahead: usize,
    ) -> Option<(usize, usize)> {
        let min_match_look = MAX_MATCH_LENGTH.min(lookahead);
        let win = &self.window[..pos + min_match_look];
        let nice = NICE_LENGTH.min(min_match_look);

        let mut tries = MAX_CHAIN;
        let mut length = prev_length;
        if length >= GOOD_LENGTH {
            tries >>= 2;
        }

        let mut end_byte = win[pos + length];
        let current = &win[pos..];
        // May be negative near the start; Go compares signed ints.
        let min_index = pos as i64 - WINDOW_SIZE as i64;

        let mut best = None;
        let mut candidate = prev_head;
        while tries > 0 {
            let start = candidate as usize;
            // Cheap filter: a longer match must agree at the current end.
            if end_byte == win[start + length] {
                let n = match_len(&win[start..], current, min_match_look);
                if n > length && (n > MIN_MATCH_LENGTH || pos - start <= MAX_DISTANCE_FOR_MIN_MATCH)
                {
                    length = n;
                    best = Some((n, pos - start));
                    if n >= nice {
                        break;
                    }
                    end_byte = win[pos + n];
                }
            }
            if candidate == min_index {
                // hash_prev for this slot has been overwritten already.
                break;
            }
            candidate = i64::from(self.hash_prev[start & WINDOW_MASK]) - self.hash_offset;
            if candidate < min_index || candidate < 0 {
                break;
            }
            tries -= 1;
        }
        best
    }

    /// Go's `compressor.writeBlock`: emit the pending tokens, offering the
    /// raw bytes for a stored block only while they are still in the window.
    fn write_block(&mut self, index: usize) {
        if index > 0 {
            let raw = if self.block_start <= index as i64 {
                Some(&self.window[self.block_start as usize..index])
            } else {
                None
            };
            self.block_start = index as i64;
            self.writer.write_block(&self.tokens, false, raw);
        }
        self.tokens.clear();
    }
}

/// Extends `table` with zeros to at least `len` entries. The zeros are
/// written, not left to the allocator, so each new page faults once rather
/// than twice (read, then write).
fn grow<T: Copy + Default>(table: &mut Vec<T>, len: usize) {
    if table.len() < len {
        table.resize(len, T::default());
    }
}

/// Inputs up to this size keep their hash heads in `HashHeads::small`. At
/// most `2 * WINDOW_SIZE`, so that such an input never slides the window.
/// Up to 16 KiB, the small table takes at most a quarter of the memory of
/// the direct one (up to 10 KiB, at most 64 KiB, which glibc's malloc still
/// serves from its heap rather than with fresh pages from mmap).
const SMALL_INPUT: usize = 16 * 1024;
/// A `HashHeads::small` slot holds a hash (`HASH_BITS`) and a position + 1.
const SMALL_POSITION_BITS: u32 = 32 - HASH_BITS;
const SMALL_POSITION_MASK: u32 = (1 << SMALL_POSITION_BITS) - 1;
const _: () = assert!(SMALL_INPUT <= 2 * WINDOW_SIZE);
const _: () = assert!(SMALL_INPUT < SMALL_POSITION_MASK as usize);

/// Go's `hashHead`: for each hash value, the newest `position + hash_offset`
/// with that hash, and for none a value below `hash_offset`.
///
/// Go uses a direct table of `HASH_SIZE` entries. Even a 60-byte input
/// spreads over most of its 128 pages, and in a short-lived process the
/// first touch of each page (a page fault, two if read before written)
/// costs more than compressing a small input. So inputs up to
/// `SMALL_INPUT` bytes use a hash table with memory proportional to the
/// input instead. Both map every hash to the same head, so which one is
/// used cannot change the output.
struct HashHeads {
    /// The direct table, allocated at the first input above `SMALL_INPUT`.
    direct: Vec<u32>,
    /// The small table: slots of `hash << SMALL_POSITION_BITS | position + 1`
    /// (0 when free), linear probing, at least 1.5 times as many slots as
    /// the input has bytes (so at most two thirds get taken). The slots in
    /// use are cleared for every call, which costs in proportion to the
    /// input. A small input never slides the window, so `hash_offset` stays
    /// the same for the whole call and turns a position into the head the
    /// direct table would hold.
    small: Vec<u32>,
    /// Number of slots of `small` in use, minus one; `None` when `direct`
    /// is in use.
    small_mask: Option<usize>,
}

impl HashHeads {
    /// Picks and prepares the table for an input of `len` bytes.
    fn prepare(&mut self, len: usize) {
        if len <= SMALL_INPUT {
            let slots = (len + len / 2).next_power_of_two();
            grow(&mut self.small, slots);
            self.small[..slots].fill(0);
            self.small_mask = Some(slots - 1);
        } else {
            grow(&mut self.direct, HASH_SIZE);
            self.small_mask = None;
        }
    }

    /// Makes `pos` the newest position with `hash` and returns the previous
    /// head.
    fn replace(&mut self, hash: usize, pos: usize, hash_offset: i64) -> u32 {
        let Some(mask) = self.small_mask else {
            return std::mem::replace(&mut self.direct[hash], (pos as i64 + hash_offset) as u32);
        };
        let entry = ((hash as u32) << SMALL_POSITION_BITS) | (pos as u32 + 1);
        // The hash is the top bits of a multiplicative hash, so its low
        // bits are well mixed too.
        let mut slot = hash & mask;
        loop {
            let old = self.small[slot];
            if old == 0 {
                self.small[slot] = entry;
                return 0;
            }
            if old >> SMALL_POSITION_BITS == hash as u32 {
                self.small[slot] = entry;
                let previous = i64::from((old & SMALL_POSITION_MASK) - 1);
                return (previous + hash_offset) as u32;
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Applies `rebase` to the direct table (the small one holds positions).
    fn rebase(&mut self, rebase: impl Fn(&mut u32)) {
        self.direct.iter_mut().for_each(rebase);
    }
}

// ---------------------------------------------------------------------------
// Bit output, LSB first as RFC 1951 requires.

struct BitOutput {
    sink: Vec<u8>,
    bits: u64,
    nbits: u32,
}

impl BitOutput {
    fn write_bits(&mut self, value: u32, nbits: u32) {
        self.bits |= u64::from(value) << self.nbits;
        self.nbits += nbits;
        if self.nbits >= 48 {
            self.sink.extend_from_slice(&self.bits.to_le_bytes()[..6]);
            self.bits >>= 48;
            self.nbits -= 48;
        }
    }

    fn write_code(&mut self, code: HuffmanCode) {
        self.write_bits(u32::from(code.code), u32::from(code.len));
    }

    /// Pads to a byte boundary with zero bits and emits everything pending.
    fn flush(&mut self) {
        let nbytes = self.nbits.div_ceil(8) as usize;
        self.sink
            .extend_from_slice(&self.bits.to_le_bytes()[..nbytes]);
        self.bits = 0;
        self.nbits = 0;
    }

    /// Raw bytes; only called on a byte boundary (after a stored header).
    fn write_bytes(&mut self, bytes: &[u8]) {
        debug_assert_eq!(self.nbits % 8, 0);
        self.flush();
        self.sink.extend_from_slice(bytes);
    }
}

// ---------------------------------------------------------------------------
// Block encoding: Go's huffmanBitWriter, `writeBlock` path.

const OFFSET_CODE_COUNT: usize = 30;
const END_BLOCK_MARKER: usize = 256;
const LENGTH_CODES_START: usize = 257;
const CODEGEN_CODE_COUNT: usize = 19;
/// Literal/length alphabet size Go uses (286; codes 286 and 287 are unused).
const MAX_NUM_LIT: usize = 286;
/// Terminates the run-length encoded code lengths in `codegen`.
const BAD_CODE: u8 = 255;

const LENGTH_EXTRA_BITS: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Smallest `length - 3` of each length code.
const LENGTH_BASE: [u32; 29] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128,
    160, 192, 224, 255,
];
const OFFSET_EXTRA_BITS: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// Smallest `offset - 1` of each offset code.
const OFFSET_BASE: [u32; 30] = [
    0x000000, 0x000001, 0x000002, 0x000003, 0x000004, 0x000006, 0x000008, 0x00000c, 0x000010,
    0x000018, 0x000020, 0x000030, 0x000040, 0x000060, 0x000080, 0x0000c0, 0x000100, 0x000180,
    0x000200, 0x000300, 0x000400, 0x000600, 0x000800, 0x000c00, 0x001000, 0x001800, 0x002000,
    0x003000, 0x004000, 0x006000,
];
/// The order in which code length code lengths are sent (RFC 1951 3.2.7).
const CODEGEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Length code (0..=28) of `length - 3`.
const LENGTH_CODES: [u8; 256] = build_length_codes();

const fn build_length_codes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut code = 0;
    while code < 29 {
        let extra = LENGTH_EXTRA_BITS[code];
        let start = LENGTH_BASE[code] as usize;
        let mut i = 0;
        while i < (1usize << extra) && start + i < 256 {
            table[start + i] = code as u8;
            i += 1;
        }
        code += 1;
    }
    table
}

/// Offset code (0..=29) of `offset - 1`.
fn offset_code(xoffset: u32) -> usize {
    // Every code's base is a power of two or 1.5 times one, so the code
    // follows from the top two bits.
    if xoffset < 4 {
        return xoffset as usize;
    }
    let top_bit = 31 - xoffset.leading_zeros();
    let half = (xoffset >> (top_bit - 1)) & 1;
    (2 * top_bit + half) as usize
}

#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct HuffmanCode {
    /// Bit-reversed so it can be written LSB first.
    code: u16,
    len: u16,
}

fn reverse_bits(number: u16, bit_length: u16) -> u16 {
    (number << (16 - bit_length)).reverse_bits()
}

const FIXED_LITERAL_CODES: [HuffmanCode; MAX_NUM_LIT] = build_fixed_literal_codes();
const FIXED_OFFSET_CODES: [HuffmanCode; OFFSET_CODE_COUNT] = build_fixed_offset_codes();

const fn build_fixed_literal_codes() -> [HuffmanCode; MAX_NUM_LIT] {
    let mut codes = [HuffmanCode { code: 0, len: 0 }; MAX_NUM_LIT];
    let mut ch = 0;
    while ch < MAX_NUM_LIT {
        let (bits, size) = match ch {
            0..=143 => (ch + 48, 8),
            144..=255 => (ch + 400 - 144, 9),
            256..=279 => (ch - 256, 7),
            _ => (ch + 192 - 280, 8),
        };
        codes[ch] = HuffmanCode {
            code: ((bits as u16) << (16 - size)).reverse_bits(),
            len: size,
        };
        ch += 1;
    }
    codes
}

const fn build_fixed_offset_codes() -> [HuffmanCode; OFFSET_CODE_COUNT] {
    let mut codes = [HuffmanCode { code: 0, len: 0 }; OFFSET_CODE_COUNT];
    let mut ch = 0;
    while ch < OFFSET_CODE_COUNT {
        codes[ch] = HuffmanCode {
            code: ((ch as u16) << 11).reverse_bits(),
            len: 5,
        };
        ch += 1;
    }
    codes
}

/// Total bits `codes` spend on symbols with frequencies `freq`.
fn bit_length(codes: &[HuffmanCode], freq: &[i32]) -> i64 {
    freq.iter()
        .zip(codes)
        .filter(|&(&f, _)| f != 0)
        .map(|(&f, code)| i64::from(f) * i64::from(code.len))
        .sum()
}

#[derive(Clone, Copy, Debug)]
struct LiteralNode {
    literal: u16,
    freq: i32,
}

/// Go's `levelInfo`: the state of one depth in the package-merge style
/// construction in `bitCounts`.
#[derive(Clone, Copy, Default)]
struct LevelInfo {
    level: i32,
    last_freq: i32,
    next_char_freq: i32,
    next_pair_freq: i32,
    needed: i32,
}

const MAX_BITS_LIMIT: usize = 16;

/// Go's `huffmanEncoder`: length-limited canonical Huffman codes built with
/// Go's own algorithm, because a different (equally optimal) tree would
/// change the output bytes.
struct HuffmanEncoder {
    codes: Vec<HuffmanCode>,
    /// Reused buffer for the non-zero symbols.
    nodes: Vec<LiteralNode>,
}

impl HuffmanEncoder {
    fn new(size: usize) -> Self {
        HuffmanEncoder {
            codes: vec![HuffmanCode::default(); size],
            nodes: Vec::with_capacity(MAX_NUM_LIT + 1),
        }
    }

    /// Go's `huffmanEncoder.generate`. Codes of unused symbols keep a stale
    /// `code` with `len` 0, as in Go; only `len` of those is ever read.
    fn generate(&mut self, freq: &[i32], max_bits: i32) {
        let mut list = std::mem::take(&mut self.nodes);
        list.clear();
        for (i, &f) in freq.iter().enumerate() {
            if f != 0 {
                list.push(LiteralNode {
                    literal: i as u16,
                    freq: f,
                });
            } else {
                self.codes[i].len = 0;
            }
        }
        if list.len() <= 2 {
            // Go gives one or two symbols 1-bit codes in symbol order.
            for (i, node) in list.iter().enumerate() {
                self.codes[node.literal as usize] = HuffmanCode {
                    code: i as u16,
                    len: 1,
                };
            }
        } else {
            // (freq, literal) is a total order, so any sort matches Go's.
            list.sort_unstable_by_key(|node| (node.freq, node.literal));
            let mut bit_count = [0i32; MAX_BITS_LIMIT + 1];
            let max_bits = bit_counts(&mut list, max_bits, &mut bit_count);
            self.assign_encoding_and_size(&bit_count[..=max_bits], &mut list);
        }
        self.nodes = list;
    }

    /// Go's `assignEncodingAndSize`: the most frequent symbols get the
    /// shortest codes; within one length, codes go in symbol order
    /// (canonical Huffman, RFC 1951 3.2.2).
    fn assign_encoding_and_size(&mut self, bit_count: &[i32], list: &mut [LiteralNode]) {
        let mut code: u16 = 0;
        let mut remaining = list.len();
        for (n, &bits) in bit_count.iter().enumerate() {
            code <<= 1;
            if n == 0 || bits == 0 {
                continue;
            }
            let chunk = &mut list[remaining - bits as usize..remaining];
            chunk.sort_unstable_by_key(|node| node.literal);
            for node in chunk.iter() {
                self.codes[node.literal as usize] = HuffmanCode {
                    code: reverse_bits(code, n as u16),
                    len: n as u16,
                };
                code = code.wrapping_add(1);
            }
            remaining -= bits as usize;
        }
    }
}

/// Go's `bitCounts`: how many symbols get each code length, with lengths
/// limited to `max_bits`. `list` holds at least three symbols sorted by
/// increasing frequency. Fills `bit_count[1..=returned max_bits]` and
/// returns the effective `max_bits`.
fn bit_counts(
    list: &mut Vec<LiteralNode>,
    mut max_bits: i32,
    bit_count: &mut [i32; MAX_BITS_LIMIT + 1],
) -> usize {
    assert!(max_bits < MAX_BITS_LIMIT as i32, "flate: maxBits too large");
    let n = list.len() as i32;
    // Sentinel: never chosen as a leaf.
    list.push(LiteralNode {
        literal: u16::MAX,
        freq: i32::MAX,
    });

    // No tree over n leaves is deeper than n - 1.
    if max_bits > n - 1 {
        max_bits = n - 1;
    }

    // levels[0] is a dummy whose `needed` stays 0.
    let mut levels = [LevelInfo::default(); MAX_BITS_LIMIT];
    // leaf_counts[i][j]: literals left of the level-j ancestor of the
    // rightmost node at level i.
    let mut leaf_counts = [[0i32; MAX_BITS_LIMIT]; MAX_BITS_LIMIT];

    for level in 1..=max_bits as usize {
        // Every level starts as if its first two items were the two rarest
        // characters.
        levels[level] = LevelInfo {
            level: level as i32,
            last_freq: list[1].freq,
            next_char_freq: list[2].freq,
            next_pair_freq: list[0].freq.wrapping_add(list[1].freq),
            needed: 0,
        };
        leaf_counts[level][level] = 2;
        if level == 1 {
            levels[level].next_pair_freq = i32::MAX;
        }
    }

    // 2n - 2 items are needed at the top level; two are there already.
    levels[max_bits as usize].needed = 2 * n - 4;

    let mut level = max_bits as usize;
    loop {
        let l = levels[level];
        if l.next_pair_freq == i32::MAX && l.next_char_freq == i32::MAX {
            // Out of both leaves and pairs: close this level for good.
            levels[level].needed = 0;
            levels[level + 1].next_pair_freq = i32::MAX;
            level += 1;
            continue;
        }

        let prev_freq = l.last_freq;
        if l.next_char_freq < l.next_pair_freq {
            // Next item on this level is a leaf.
            let next = leaf_counts[level][level] + 1;
            levels[level].last_freq = l.next_char_freq;
            leaf_counts[level][level] = next;
            levels[level].next_char_freq = list[next as usize].freq;
        } else {
            // Next item is a pair from the level below, which must then
            // produce two more items before its pair frequency is valid.
            levels[level].last_freq = l.next_pair_freq;
            let (lower, upper) = leaf_counts.split_at_mut(level);
            upper[0][..level].copy_from_slice(&lower[level - 1][..level]);
            levels[(l.level - 1) as usize].needed = 2;
        }

        levels[level].needed -= 1;
        if levels[level].needed == 0 {
            // This level is done; hand its last pair up.
            if l.level == max_bits {
                break;
            }
            levels[(l.level + 1) as usize].next_pair_freq =
                prev_freq.wrapping_add(levels[level].last_freq);
            level += 1;
        } else {
            // We took from below: go down and replenish.
            while levels[level - 1].needed > 0 {
                level -= 1;
            }
        }
    }

    let max_bits = max_bits as usize;
    assert_eq!(
        leaf_counts[max_bits][max_bits], n,
        "leafCounts[maxBits][maxBits] != n"
    );

    let counts = &leaf_counts[max_bits];
    for (bits, level) in (1..=max_bits).zip((1..=max_bits).rev()) {
        // Literals that need at least `bits` bits.
        bit_count[bits] = counts[level] - counts[level - 1];
    }
    list.pop();
    max_bits
}

struct HuffmanBitWriter {
    bits: BitOutput,
    literal_freq: [i32; MAX_NUM_LIT],
    offset_freq: [i32; OFFSET_CODE_COUNT],
    /// Run-length encoded code lengths (RFC 1951 3.2.7): symbols 0..=18,
    /// each of 16/17/18 followed by its repeat count, ended by `BAD_CODE`.
    codegen: Vec<u8>,
    codegen_freq: [i32; CODEGEN_CODE_COUNT],
    literal_encoding: HuffmanEncoder,
    offset_encoding: HuffmanEncoder,
    codegen_encoding: HuffmanEncoder,
}

impl HuffmanBitWriter {
    fn new() -> Self {
        HuffmanBitWriter {
            bits: BitOutput {
                sink: Vec::new(),
                bits: 0,
                nbits: 0,
            },
            literal_freq: [0; MAX_NUM_LIT],
            offset_freq: [0; OFFSET_CODE_COUNT],
            codegen: Vec::with_capacity(MAX_NUM_LIT + OFFSET_CODE_COUNT + 1),
            codegen_freq: [0; CODEGEN_CODE_COUNT],
            literal_encoding: HuffmanEncoder::new(MAX_NUM_LIT),
            offset_encoding: HuffmanEncoder::new(OFFSET_CODE_COUNT),
            codegen_encoding: HuffmanEncoder::new(CODEGEN_CODE_COUNT),
        }
    }

    /// Go's `writeStoredHeader`: BFINAL + BTYPE=00, pad, LEN, NLEN.
    fn write_stored_header(&mut self, length: usize, is_eof: bool) {
        self.bits.write_bits(u32::from(is_eof), 3);
        self.bits.flush();
        self.bits.write_bits(length as u32, 16);
        self.bits.write_bits(u32::from(!(length as u16)), 16);
    }

    /// Go's `huffmanBitWriter.writeBlock`: encode `tokens` (plus the end of
    /// block marker) with whichever of fixed, dynamic or stored is smallest
    /// by Go's size estimates. `input` is the raw bytes if still available.
    fn write_block(&mut self, tokens: &[Token], eof: bool, input: Option<&[u8]>) {
        let (num_literals, num_offsets) = self.index_tokens(tokens);

        let stored = input.filter(|raw| raw.len() <= MAX_STORE_BLOCK_SIZE);
        let stored_size = stored.map_or(0, |raw| (raw.len() as i64 + 5) * 8);
        let mut extra_bits: i64 = 0;
        if stored.is_some() {
            // Length/offset extra bits cost the same in fixed and dynamic
            // blocks, so Go only counts them when comparing with stored.
            // The first eight length codes and four offset codes have none.
            let length_freq = &self.literal_freq[LENGTH_CODES_START..num_literals];
            for (&freq, &extra) in length_freq.iter().zip(&LENGTH_EXTRA_BITS).skip(8) {
                extra_bits += i64::from(freq) * i64::from(extra);
            }
            let offset_freq = &self.offset_freq[..num_offsets];
            for (&freq, &extra) in offset_freq.iter().zip(&OFFSET_EXTRA_BITS).skip(4) {
                extra_bits += i64::from(freq) * i64::from(extra);
            }
        }

        let mut size = 3
            + bit_length(&FIXED_LITERAL_CODES, &self.literal_freq)
            + bit_length(&FIXED_OFFSET_CODES, &self.offset_freq)
            + extra_bits;
        let mut dynamic = false;

        self.generate_codegen(num_literals, num_offsets);
        self.codegen_encoding.generate(&self.codegen_freq, 7);
        let (dynamic_size, num_codegens) = self.dynamic_size(extra_bits);
        if dynamic_size < size {
            size = dynamic_size;
            dynamic = true;
        }

        if let Some(raw) = stored.filter(|_| stored_size < size) {
            self.write_stored_header(raw.len(), eof);
            self.bits.write_bytes(raw);
            return;
        }

        if dynamic {
            self.write_dynamic_header(num_literals, num_offsets, num_codegens, eof);
            write_tokens(
                &mut self.bits,
                tokens,
                &self.literal_encoding.codes,
                &self.offset_encoding.codes,
            );
        } else {
            // BFINAL + BTYPE=01.
            self.bits.write_bits(if eof { 3 } else { 2 }, 3);
            write_tokens(
                &mut self.bits,
                tokens,
                &FIXED_LITERAL_CODES,
                &FIXED_OFFSET_CODES,
            );
        }
    }

    /// Go's `indexTokens`: symbol frequencies (end marker included), the
    /// used alphabet sizes, and the dynamic codes for them.
    fn index_tokens(&mut self, tokens: &[Token]) -> (usize, usize) {
        self.literal_freq.fill(0);
        self.offset_freq.fill(0);
        for &token in tokens {
            if token < MATCH_TYPE {
                self.literal_freq[token as usize] += 1;
                continue;
            }
            let xlength = (token - MATCH_TYPE) >> LENGTH_SHIFT;
            let xoffset = token & OFFSET_MASK;
            self.literal_freq[LENGTH_CODES_START + LENGTH_CODES[xlength as usize] as usize] += 1;
            self.offset_freq[offset_code(xoffset)] += 1;
        }
        self.literal_freq[END_BLOCK_MARKER] += 1;

        let mut num_literals = MAX_NUM_LIT;
        while self.literal_freq[num_literals - 1] == 0 {
            num_literals -= 1;
        }
        let mut num_offsets = OFFSET_CODE_COUNT;
        while num_offsets > 0 && self.offset_freq[num_offsets - 1] == 0 {
            num_offsets -= 1;
        }
        if num_offsets == 0 {
            // A dynamic block needs at least one distance code. Go counts
            // this phantom code in the fixed and dynamic size estimates
            // too, which can tip the choice, so it is kept.
            self.offset_freq[0] = 1;
            num_offsets = 1;
        }
        self.literal_encoding.generate(&self.literal_freq, 15);
        self.offset_encoding.generate(&self.offset_freq, 15);
        (num_literals, num_offsets)
    }

    /// Go's `generateCodegen`: run-length encode the concatenated literal
    /// and offset code lengths, counting symbol frequencies as we go.
    fn generate_codegen(&mut self, num_literals: usize, num_offsets: usize) {
        self.codegen_freq = [0; CODEGEN_CODE_COUNT];
        // The code lengths, then BAD_CODE.
        let mut lengths = [BAD_CODE; MAX_NUM_LIT + OFFSET_CODE_COUNT + 1];
        let codes = self.literal_encoding.codes[..num_literals]
            .iter()
            .chain(&self.offset_encoding.codes[..num_offsets]);
        for (length, code) in lengths.iter_mut().zip(codes) {
            *length = code.len as u8;
        }
        let codegen = &mut self.codegen;
        let freq = &mut self.codegen_freq;
        codegen.clear();

        let mut size = lengths[0];
        let mut count: i32 = 1;
        let mut in_index = 1;
        while size != BAD_CODE {
            let next_size = lengths[in_index];
            in_index += 1;
            if next_size == size {
                count += 1;
                continue;
            }
            if size != 0 {
                // The first length is sent literally; repeats use code 16
                // (3 to 6 copies of the previous length).
                codegen.push(size);
                freq[size as usize] += 1;
                count -= 1;
                while count >= 3 {
                    let n = count.min(6);
                    codegen.push(16);
                    codegen.push((n - 3) as u8);
                    freq[16] += 1;
                    count -= n;
                }
            } else {
                // Zero runs: code 18 (11 to 138 zeros), then 17 (3 to 10).
                while count >= 11 {
                    let n = count.min(138);
                    codegen.push(18);
                    codegen.push((n - 11) as u8);
                    freq[18] += 1;
                    count -= n;
                }
                if count >= 3 {
                    codegen.push(17);
                    codegen.push((count - 3) as u8);
                    freq[17] += 1;
                    count = 0;
                }
            }
            // Whatever is left goes out literally.
            for _ in 0..count {
                codegen.push(size);
                freq[size as usize] += 1;
            }
            size = next_size;
            count = 1;
        }
        codegen.push(BAD_CODE);
    }

    /// Go's `dynamicSize`: bits for a dynamic block, and how many code
    /// length code lengths its header sends.
    fn dynamic_size(&self, extra_bits: i64) -> (i64, usize) {
        let mut num_codegens = CODEGEN_CODE_COUNT;
        while num_codegens > 4 && self.codegen_freq[CODEGEN_ORDER[num_codegens - 1]] == 0 {
            num_codegens -= 1;
        }
        let header = 3
            + 5
            + 5
            + 4
            + 3 * num_codegens as i64
            + bit_length(&self.codegen_encoding.codes, &self.codegen_freq)
            + i64::from(self.codegen_freq[16]) * 2
            + i64::from(self.codegen_freq[17]) * 3
            + i64::from(self.codegen_freq[18]) * 7;
        let size = header
            + bit_length(&self.literal_encoding.codes, &self.literal_freq)
            + bit_length(&self.offset_encoding.codes, &self.offset_freq)
            + extra_bits;
        (size, num_codegens)
    }

    /// Go's `writeDynamicHeader` (BTYPE=10, RFC 1951 3.2.7).
    fn write_dynamic_header(
        &mut self,
        num_literals: usize,
        num_offsets: usize,
        num_codegens: usize,
        is_eof: bool,
    ) {
        let out = &mut self.bits;
        out.write_bits(if is_eof { 5 } else { 4 }, 3);
        out.write_bits((num_literals - 257) as u32, 5);
        out.write_bits((num_offsets - 1) as u32, 5);
        out.write_bits((num_codegens - 4) as u32, 4);
        let codegen_codes = &self.codegen_encoding.codes;
        for &symbol in &CODEGEN_ORDER[..num_codegens] {
            out.write_bits(u32::from(codegen_codes[symbol].len), 3);
        }
        let mut rest = self.codegen.iter();
        while let Some(&symbol) = rest.next() {
            if symbol == BAD_CODE {
                break;
            }
            out.write_code(codegen_codes[symbol as usize]);
            let repeat_bits = match symbol {
                16 => 2,
                17 => 3,
                18 => 7,
                _ => continue,
            };
            let repeat = *rest.next().expect("repeat count follows 16/17/18");
            out.write_bits(u32::from(repeat), repeat_bits);
        }
    }
}

/// Go's `writeTokens`, followed by the end of block marker Go appends.
fn write_tokens(
    out: &mut BitOutput,
    tokens: &[Token],
    literal_codes: &[HuffmanCode],
    offset_codes: &[HuffmanCode],
) {
    for &token in tokens {
        if token < MATCH_TYPE {
            out.write_code(literal_codes[token as usize]);
            continue;
        }
        let xlength = (token - MATCH_TYPE) >> LENGTH_SHIFT;
        let length_code = LENGTH_CODES[xlength as usize] as usize;
        out.write_code(literal_codes[length_code + LENGTH_CODES_START]);
        let extra_length_bits = u32::from(LENGTH_EXTRA_BITS[length_code]);
        if extra_length_bits > 0 {
            out.write_bits(xlength - LENGTH_BASE[length_code], extra_length_bits);
        }
        let xoffset = token & OFFSET_MASK;
        let offset_code = offset_code(xoffset);
        out.write_code(offset_codes[offset_code]);
        let extra_offset_bits = u32::from(OFFSET_EXTRA_BITS[offset_code]);
        if extra_offset_bits > 0 {
            out.write_bits(xoffset - OFFSET_BASE[offset_code], extra_offset_bits);
        }
    }
    out.write_code(literal_codes[END_BLOCK_MARKER]);
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected outputs come from Go 1.19's compress/gzip at BestCompression
    // (/work/oracle/gogzip: `gogzip -hex FILE`).

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn check(data: &[u8], expected_hex: &str) {
        let ours = gzip_best(data);
        assert_eq!(hex(&ours), expected_hex);
    }

    /// Deterministic bytes (the classic ANSI C LCG), mirrored in the script
    /// that produced the Go outputs.
    fn lcg_bytes(len: usize) -> Vec<u8> {
        let mut state: u32 = 1;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (state >> 16) as u8
            })
            .collect()
    }

    #[test]
    fn empty_input_is_a_lone_final_stored_block() {
        check(b"", "1f8b08000000000002ff010000ffff0000000000000000");
    }

    #[test]
    fn single_byte() {
        check(b"a", "1f8b08000000000002ff4a04040000ffff43beb7e801000000");
    }

    #[test]
    fn short_text_uses_fixed_huffman() {
        check(
            b"hello, world\n",
            "1f8b08000000000002ffca48cdc9c9d75128cf2fca49e102040000ffff537424f40d000000",
        );
    }

    #[test]
    fn short_repeat_is_one_match() {
        check(
            b"abcabcabcabcabcabcabcabc",
            "1f8b08000000000002ff4a4c4ac68a00010000ffff370f200118000000",
        );
    }

    #[test]
    fn incompressible_bytes_are_stored() {
        let data: Vec<u8> = (0..=255).collect();
        check(
            &data,
            concat!(
                "1f8b08000000000002ff000001fffe000102030405060708090a0b0c0d0e0f101112131415161718",
                "191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",
                "4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768",
                "696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f90",
                "9192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8",
                "b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0",
                "e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff010000ffff738c0529",
                "00010000",
            ),
        );
    }

    #[test]
    fn sentences_use_dynamic_huffman() {
        let data: String = (0..20)
            .map(|i| format!("The quick brown fox {i} jumps over the lazy dog. "))
            .collect();
        check(
            data.as_bytes(),
            concat!(
                "1f8b08000000000002ff94d1c90dc2301884d156a602c4b0d3070db018ccfa83c140527d1a88227d",
                "f7777b9b9cf4aae7fd55bb12bf878ef1d758977a7fbe15df54f4c949b76ddbe810a791fab8199f30",
                "3e657cc6f89cf105e34bc6578caf61136d85af86b186b386b586b786b986bb86bd1ef8ed020000ff",
                "ffdde89b74b6030000",
            ),
        );
    }

    #[test]
    fn long_zero_run_crosses_window_slides() {
        check(
            &[0u8; 100_000],
            concat!(
                "1f8b08000000000002ffecc03101000000c220fba7b6c60e18000000000000000000000000000000",
                "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
                "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
                "0090f5000000ffff7d9511d4a0860100",
            ),
        );
    }

    // Large outputs are pinned by length, CRC-32 and both ends.
    fn check_large(data: &[u8], len: usize, crc: u32, head: &str, tail: &str) {
        let ours = gzip_best(data);
        assert_eq!(ours.len(), len);
        assert_eq!(crc32_ieee(&ours), crc);
        assert_eq!(hex(&ours[..24]), head);
        assert_eq!(hex(&ours[ours.len() - 24..]), tail);
    }

    #[test]
    fn random_bytes_split_at_token_limit_into_stored_blocks() {
        check_large(
            &lcg_bytes(70_000),
            70_048,
            0x0ef9_01b6,
            "1f8b08000000000002ff000040ffbfc67e816b4bfbe2fb54",
            "7ff00156f5032c79b42aea010000ffff5cd35eb470110100",
        );
    }

    #[test]
    fn small_alphabet_text_spans_many_dynamic_blocks() {
        let pieces: [&[u8]; 5] = [b"ab", b"cd", b"ef", b"abcd", b"\n"];
        let data: Vec<u8> = lcg_bytes(50_000)
            .iter()
            .flat_map(|&b| pieces[b as usize % 5].iter().copied())
            .collect();
        check_large(
            &data,
            18_699,
            0x913d_b08f,
            "1f8b08000000000002ff849d67723559939bff63971ab7ff",
            "74b21290a71228ccaffe7f000000fffff0a1c3e192ae0100",
        );
    }

    #[test]
    fn offset_codes_match_rfc_table() {
        for (code, &base) in OFFSET_BASE.iter().enumerate() {
            let span = 1u32 << OFFSET_EXTRA_BITS[code];
            assert_eq!(offset_code(base), code);
            assert_eq!(offset_code(base + span - 1), code);
        }
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32_ieee(b"123456789"), 0xcbf4_3926);
    }

    // Reuse between calls: a reused compressor must give what a fresh one
    // (Go's state) gives. The difftest checks reused ones against Go too.

    fn fresh(data: &[u8]) -> Vec<u8> {
        Compressor::new().gzip(data)
    }

    /// Sizes around the small table limit and the window sizes, text-like
    /// (long chains) and random (stored blocks).
    fn reuse_inputs() -> Vec<Vec<u8>> {
        let text = |len: usize| -> Vec<u8> {
            let words: [&[u8]; 6] = [b"storage ", b"files ", b"mode: 0644\n", b"a", b"b", b"c"];
            let mut out: Vec<u8> = lcg_bytes(len)
                .iter()
                .flat_map(|&b| words[b as usize % 6].iter().copied())
                .collect();
            out.truncate(len);
            out
        };
        vec![
            text(60),
            lcg_bytes(100_000),
            b"abc".to_vec(),
            text(SMALL_INPUT),
            text(SMALL_INPUT + 1),
            Vec::new(),
            text(2 * WINDOW_SIZE),
            text(70_000),
            lcg_bytes(1000),
            text(60),
            text(5000),
        ]
    }

    #[test]
    fn reused_compressor_matches_fresh_one() {
        let inputs = reuse_inputs();
        let expected: Vec<Vec<u8>> = inputs.iter().map(|data| fresh(data)).collect();
        let mut compressor = Compressor::new();
        // Forwards, then backwards, then each input twice in a row.
        let order = (0..inputs.len())
            .chain((0..inputs.len()).rev())
            .chain((0..inputs.len()).flat_map(|i| [i, i]));
        for i in order {
            assert_eq!(compressor.gzip(&inputs[i]), expected[i], "input {i}");
            assert_eq!(gzip_best(&inputs[i]), expected[i], "input {i}");
        }
    }

    #[test]
    fn rebase_at_any_offset() {
        let inputs = reuse_inputs();
        let expected: Vec<Vec<u8>> = inputs.iter().map(|data| fresh(data)).collect();
        // Starting just below the limit, the rebase falls between two calls
        // or at a slide within one, with entries of earlier calls around.
        for below_limit in [0, 1, 59, 100, 40_000, 70_000, 150_000] {
            let start = MAX_HASH_OFFSET - below_limit;
            let mut compressor = Compressor::new();
            // Empty tables are valid at any offset.
            compressor.hash_offset = start;
            for (i, data) in inputs.iter().enumerate() {
                assert_eq!(compressor.gzip(data), expected[i], "{below_limit}: {i}");
            }
            assert!(compressor.hash_offset < start, "no rebase from {start}");
        }
    }
}
