//! Bootstrap tokens: the one-time secret in a host's rendered config that
//! lets it enroll once.
//!
//! A token reads `cgt1.<id>.<secret>`: 12 bytes of id and 32 random bytes
//! of secret, both base64url. The database keeps the id, the host it is
//! bound to, its expiry and the SHA-256 of the secret, never the secret
//! itself, so a copy of `state.db` enrolls nothing. The id only finds the
//! row and is no secret: it starts with the time of minting, in letters
//! that sort as the times do, so that new rows go to the end of the tokens
//! table (a random key spreads each batch of inserts over as many pages,
//! and the database writes every page it touches on each commit). The presented secret's hash is
//! compared in constant time. What a token may do (expiry, single use, the
//! host's enrollment state) is decided in `state.rs`, inside the
//! transaction that spends it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const PREFIX: &str = "cgt1.";
const ID_BYTES: usize = 12;
const SECRET_BYTES: usize = 32;

/// An id is 16 base64url characters: the minting time in microseconds as
/// 9 base-52 digits (`A`-`Z` then `a`-`z`, which sort in ASCII as in the
/// alphabet; enough until the year 2058), then 7 random characters.
const ID_CHARS: usize = 16;
const TIME_DIGITS: usize = 9;
const TIME_ALPHABET: &[u8; 52] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The longest text that can be a token; longer input is refused unread.
pub const MAX_TOKEN_LEN: usize = 96;

/// What `render --redact` writes instead of a token.
pub const REDACTED: &str = "<redacted>";

/// A token just made for a host, to be stored and then written into its
/// config.
#[derive(Clone, Debug)]
pub struct MintedToken {
    pub host: String,
    pub id: String,
    pub secret_hash: [u8; 32],
    /// Unix seconds.
    pub issued_at: i64,
    pub expires_at: i64,
    /// The whole token, for the config only; never logged or stored.
    pub text: String,
}

/// A token as a client presented it: its id and the hash of its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentedToken {
    pub id: String,
    pub secret_hash: [u8; 32],
}

pub fn mint(host: &str, ttl_secs: u64, now: i64) -> Result<MintedToken> {
    let mut bytes = [0u8; ID_BYTES + SECRET_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::new(format!("the system random source failed: {e}")))?;
    let (random, secret) = bytes.split_at(ID_BYTES);
    let id = time_ordered_id(next_micros(), random);
    let text = format!("{PREFIX}{id}.{}", URL_SAFE_NO_PAD.encode(secret));
    Ok(MintedToken {
        host: host.to_string(),
        id,
        secret_hash: Sha256::digest(secret).into(),
        issued_at: now,
        expires_at: now.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX)),
        text,
    })
}

/// The id for minting time `micros`: its base-52 digits, most significant
/// first, then the start of `random` in base64url.
fn time_ordered_id(mut micros: u64, random: &[u8]) -> String {
    let mut id = URL_SAFE_NO_PAD.encode(random).into_bytes();
    debug_assert_eq!(id.len(), ID_CHARS);
    for digit in id[..TIME_DIGITS].iter_mut().rev() {
        *digit = TIME_ALPHABET[(micros % 52) as usize];
        micros /= 52;
    }
    String::from_utf8(id).expect("base64url and letters are ASCII")
}

/// The time in microseconds, strictly increasing from one call to the next
/// in this process, so that ids minted in the same microsecond still sort
/// in minting order.
fn next_micros() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// The id of a token's text (no secret: it only finds the row).
pub fn token_id(text: &str) -> Option<&str> {
    let (id, _) = text.strip_prefix(PREFIX)?.split_once('.')?;
    (id.len() == ID_CHARS).then_some(id)
}

/// Reads a presented token. The error says only that it is malformed: the
/// caller answers every bad token alike.
pub fn parse(text: &str) -> Option<PresentedToken> {
    if text.len() > MAX_TOKEN_LEN {
        return None;
    }
    let (id, secret) = text.strip_prefix(PREFIX)?.split_once('.')?;
    let id_bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let secret = URL_SAFE_NO_PAD.decode(secret).ok()?;
    if id_bytes.len() != ID_BYTES || secret.len() != SECRET_BYTES {
        return None;
    }
    Some(PresentedToken {
        id: id.to_string(),
        secret_hash: Sha256::digest(&secret).into(),
    })
}

impl PresentedToken {
    /// Whether this is the token whose secret hashes to `stored`, compared
    /// in constant time.
    pub fn matches(&self, stored: &[u8]) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.secret_hash, stored).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_parses_back_and_matches_only_itself() {
        let token = mint("node1", 3600, 1000).unwrap();
        assert_eq!(token.expires_at, 4600);
        assert!(token.text.len() <= MAX_TOKEN_LEN);
        let presented = parse(&token.text).unwrap();
        assert_eq!(presented.id, token.id);
        assert!(presented.matches(&token.secret_hash));

        let other = mint("node1", 3600, 1000).unwrap();
        assert_ne!(other.id, token.id);
        assert!(!parse(&other.text).unwrap().matches(&token.secret_hash));
    }

    #[test]
    fn ids_sort_in_minting_order() {
        let ids: Vec<String> = (0..1000)
            .map(|_| mint("node1", 60, 0).unwrap().id)
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        // Digit by digit, across a carry, and as bytes (SQLite's order).
        let random = [0xffu8; ID_BYTES];
        let (a, b) = (time_ordered_id(51, &random), time_ordered_id(52, &random));
        assert_eq!(&a[..TIME_DIGITS], "AAAAAAAAz");
        assert_eq!(&b[..TIME_DIGITS], "AAAAAAABA");
        assert!(a.as_bytes() < b.as_bytes());
        let now = time_ordered_id(1_800_000_000_000_000, &random);
        let later = time_ordered_id(2_700_000_000_000_000, &random);
        assert!(now < later && later.len() == ID_CHARS, "{now} {later}");
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let token = mint("node1", 60, 0).unwrap();
        let good = token.text.clone();
        let mut flipped = good.clone().into_bytes();
        // The secret's first character carries six full bits; its last
        // carries two, and only A, Q, g and w are canonical there.
        let first = good.rfind('.').unwrap() + 1;
        flipped[first] = if flipped[first] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        // A changed secret still parses; it is the hash that differs.
        assert!(!parse(&flipped).unwrap().matches(&token.secret_hash));
        for bad in [
            "",
            "cgt1.",
            &good[1..],
            &good[..good.len() - 1],
            &format!("{good}A"),
            &good.replace('.', "_"),
            &"A".repeat(200),
            REDACTED,
        ] {
            assert!(parse(bad).is_none(), "{bad:?} accepted");
        }
    }
}
