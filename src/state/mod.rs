//! coregen's state: every issued certificate (the audit), the bootstrap
//! tokens, and each host's enrollment state, behind one interface.
//!
//! A backend implements [`Store`]: transactions over a few plain records
//! ([`TokenRecord`], [`HostState`], [`IssuedRecord`] and the
//! [`Delivered`] certificate beside it), and nothing more. The rules live
//! here, in Rust, the same for every backend: whether a token may enroll
//! ([`verdict`]) or repeat an answer that was lost ([`Replay`]), how many
//! live tokens a host may have ([`MAX_LIVE_TOKENS`]), what enrolling
//! writes, what a reset undoes. [`State`] applies them inside the backend's transactions, so a
//! check made there sees every write committed before it, by this process
//! or another. SQLite ([`SqliteStore`]) is the backend today; adding one
//! means writing one more implementation of [`Store`].
//!
//! Retirement and revocation live here too: [`State::retire_host`] ends a
//! host for good (no enrollment or renewal any more, its unexpired
//! certificates revoked), [`State::revoke`] revokes one certificate, and
//! each change to a CA's revocations bumps its CRL number in the same
//! transaction, which is how `serve` knows its cached CRL is stale.
//!
//! [`State::apply`] takes a batch of operations so that a server can commit
//! many requests with one disk flush (group commit); see `serve`'s writer.

mod sqlite;

use std::sync::Arc;

pub use sqlite::SqliteStore;

use crate::error::Result;
pub use crate::pki::IssuedRecord;
pub use crate::pki::Reason;
use crate::pki::{MintedToken, PresentedToken};
use crate::values::parse_rfc3339;
pub use crate::values::{rfc3339, unix_now};

/// Spent or expired tokens are kept this long (for `host list` and
/// forensics), then pruned.
pub const TOKEN_RETENTION_SECS: i64 = 7 * 86400;

/// Unspent, unexpired tokens a host may have at once from each minter;
/// minting one more deletes the oldest of that minter's. Each fetch of a
/// config from `serve` mints one, and a machine that retries its boot
/// fetches a few; a flood of fetches must not grow the database without
/// bound. The count is per minter so that fetches, which anyone on the
/// network can make, never push out a token that `render` or `host token`
/// wrote into install media.
pub const MAX_LIVE_TOKENS: usize = 8;

/// How long after its enrollment a lost answer can still be repeated,
/// even past the token's own expiry: a host that enrolled in the last
/// minute of its token's life must not be stranded by a lost answer.
pub const REPLAY_SECS: i64 = 86400;

/// Who minted a token: `serve`, for a config fetched at boot, or
/// `render` and `host token`, for configs written to files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Minter {
    Serve,
    Render,
}

impl Minter {
    pub fn as_str(self) -> &'static str {
        match self {
            Minter::Serve => "serve",
            Minter::Render => "render",
        }
    }

    pub fn parse(s: &str) -> Minter {
        if s == "serve" {
            Minter::Serve
        } else {
            Minter::Render
        }
    }
}

/// A bootstrap token as stored: never its secret, only the secret's hash.
/// Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub host: String,
    pub secret_hash: Vec<u8>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// Set by `coregen host reset`: the token neither enrolls nor repeats
    /// an answer any more.
    pub retired_at: Option<i64>,
    pub minted_by: Minter,
}

/// A certificate as it was handed to a host, kept beside its audit record
/// so that a host whose answer was lost gets the same certificate again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub record: IssuedRecord,
    /// The SHA-256 of the certificate's public key, as
    /// [`crate::pki::CsrKey::sha256`] gives it.
    pub key_sha256: String,
    /// The certificate (PEM). Public, like the audit record.
    pub certificate: String,
}

/// What the state knows of one host. Times are Unix seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostState {
    pub name: String,
    pub token_issued_at: Option<i64>,
    pub token_expires_at: Option<i64>,
    pub enrolled_at: Option<i64>,
    pub enrolled_from: Option<String>,
    pub reset_at: Option<i64>,
    /// Set by `coregen host retire`, for good: the host enrolls and
    /// renews no more.
    pub retired_at: Option<i64>,
}

/// A revoked certificate. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// As the audit records it (lower-case hex).
    pub serial: String,
    pub ca: String,
    pub host: String,
    pub reason: Reason,
    pub revoked_at: i64,
}

impl Revocation {
    /// This revocation as a CRL lists it.
    pub fn entry(&self) -> crate::pki::CrlEntry<'_> {
        crate::pki::CrlEntry {
            serial: &self.serial,
            revoked_at: self.revoked_at,
            reason: self.reason,
        }
    }
}

/// Reads only, or reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// A backend: where the records are kept. It knows no rule of enrollment.
pub trait Store: Send + Sync {
    /// Runs `f` in one transaction and commits it when `f` succeeds (one
    /// durable flush for all its writes), or rolls it back. A
    /// [`Access::Write`] transaction sees every write committed before it
    /// began and no write of another transaction until it ends: two write
    /// transactions never interleave.
    fn transaction(
        &self,
        access: Access,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<()>;
}

/// The records, inside one transaction.
pub trait Tx {
    fn token(&mut self, id: &str) -> Result<Option<TokenRecord>>;
    fn host(&mut self, name: &str) -> Result<Option<HostState>>;
    /// Every host, by name.
    fn hosts(&mut self) -> Result<Vec<HostState>>;
    /// Every record, oldest first; only `host`'s when given.
    fn issued(&mut self, host: Option<&str>) -> Result<Vec<IssuedRecord>>;
    /// Inserts `token`, or replaces the one with its id.
    fn put_token(&mut self, token: &TokenRecord) -> Result<()>;
    /// Marks token `id` used at `time`; the one write an enrollment makes
    /// to a token, kept apart from [`Tx::put_token`] so that a backend
    /// can write just that.
    fn spend_token(&mut self, id: &str, time: i64) -> Result<()>;
    /// Inserts `host`, or replaces the one with its name.
    fn put_host(&mut self, host: &HostState) -> Result<()>;
    /// Appends a record; fails when its serial is recorded already.
    fn add_issued(&mut self, record: &IssuedRecord) -> Result<()>;
    /// Keeps what was handed out under token `token_id`; its record must
    /// have been added.
    fn add_delivered(&mut self, token_id: &str, delivered: &Delivered) -> Result<()>;
    /// What was handed out under token `token_id`, in the order added.
    fn delivered(&mut self, token_id: &str) -> Result<Vec<Delivered>>;
    /// `host`'s tokens that are not retired, oldest first.
    fn host_tokens(&mut self, host: &str) -> Result<Vec<TokenRecord>>;
    /// Deletes one token (and what was delivered under it).
    fn delete_token(&mut self, id: &str) -> Result<()>;
    /// Deletes tokens that expired before `time`, and what was delivered
    /// under them; returns how many tokens.
    fn delete_tokens_expired_before(&mut self, time: i64) -> Result<usize>;
    /// Records `seen`: a new machine, or one more request of a known one
    /// (the same MAC and UUID), whose first sighting is kept.
    fn saw_machine(&mut self, seen: &Sighting) -> Result<()>;
    /// Forgets the machines seen longest ago beyond the `keep` most recent.
    fn forget_machines_beyond(&mut self, keep: usize) -> Result<()>;
    /// The unknown machines, the last seen first.
    fn machines(&mut self) -> Result<Vec<Sighting>>;
    /// The serial of `host`'s latest certificate of `profile`.
    fn latest_serial(&mut self, host: &str, profile: &str) -> Result<Option<String>>;
    /// Records a renewal request's nonce; false when it was seen before.
    fn use_nonce(&mut self, nonce: &str, host: &str, time: i64) -> Result<bool>;
    /// Forgets nonces seen before `time`.
    fn delete_nonces_before(&mut self, time: i64) -> Result<()>;
    /// The record of the certificate with this serial, spelled exactly as
    /// recorded.
    fn issued_serial(&mut self, serial: &str) -> Result<Option<IssuedRecord>>;
    /// The revocation of the certificate with this serial, spelled exactly
    /// as recorded.
    fn revocation(&mut self, serial: &str) -> Result<Option<Revocation>>;
    /// Records a revocation; fails when its serial is revoked already.
    fn add_revocation(&mut self, revocation: &Revocation) -> Result<()>;
    /// Every revocation by serial; only `ca`'s when given.
    fn revocations(&mut self, ca: Option<&str>) -> Result<Vec<Revocation>>;
    /// `ca`'s CRL number: how many changes its revocations had (0 for none).
    fn crl_number(&mut self, ca: &str) -> Result<u64>;
    fn set_crl_number(&mut self, ca: &str, number: u64) -> Result<()>;
}

/// One write of a batch for [`State::apply`].
#[derive(Debug)]
pub enum Op {
    /// Store tokens just minted for configs being rendered.
    Mint(Vec<MintedToken>, Minter),
    /// Spend a token: the host is enrolled with these certificates.
    Enroll(Enrollment),
    /// A machine that no host matches asked for its boot files.
    Sighted(Sighting),
    /// A host renews certificates it holds.
    Renew(Renewal),
}

/// How long a renewal request's nonce is remembered; requests older than
/// half of it are refused by their time, so a replay can never outlive
/// its nonce's record.
pub const NONCE_RETENTION_SECS: i64 = 600;

/// A renewal to commit: the certificates issued for `host` under a request
/// with `nonce`. Each record's `renews` is filled in here, inside the
/// transaction, with the host's latest certificate of its profile.
#[derive(Debug)]
pub struct Renewal {
    pub host: String,
    /// The serial of the identity certificate the request presented.
    pub identity: String,
    pub nonce: String,
    pub now: i64,
    pub issued: Vec<Delivered>,
}

/// The most unknown machines remembered; the one seen longest ago goes
/// first. Anyone on the network can add one, so the table is bounded.
pub const MAX_UNKNOWN_MACHINES: usize = 10_000;

/// A machine that asked for its boot files by a MAC address or SMBIOS
/// UUID that no host has, for an operator to add to the inventory. One
/// machine is one pair of MAC and UUID, as it asked. Times are Unix
/// seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    pub mac: Option<String>,
    pub uuid: Option<String>,
    /// The client address of its last request.
    pub address: String,
    pub first_seen: i64,
    pub last_seen: i64,
    /// How many requests were recorded (requests close together may count
    /// once).
    pub requests: i64,
}

#[derive(Debug)]
pub struct Enrollment {
    pub token: PresentedToken,
    /// The host the certificates were made for; it must be the token's.
    pub host: String,
    pub now: i64,
    /// The client's address, for `host list`.
    pub from: String,
    pub issued: Vec<Delivered>,
}

/// Why a token may not enroll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, tampered with, or bound to another host: the client is
    /// told no more than that.
    InvalidToken,
    Expired,
    Spent,
    /// Retired by `coregen host reset`.
    Retired,
    /// The host enrolled already; `coregen host reset` allows it again.
    Enrolled,
    /// A renewal request whose nonce was seen before.
    Replayed,
    /// A renewal with an identity that is not the host's latest, was
    /// issued before the host's last reset, or was revoked.
    StaleIdentity,
    /// The host was retired by `coregen host retire`: for good.
    HostRetired,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::InvalidToken => "the bootstrap token is not valid",
            Refusal::Expired => "the bootstrap token has expired; render or fetch the config again",
            Refusal::Spent => "the bootstrap token has been used already",
            Refusal::Retired => {
                "the bootstrap token was retired when the host was reset; fetch the config again"
            }
            Refusal::Enrolled => {
                "this host has enrolled already; an operator can allow it again with \
                 `coregen host reset <host>`, after which it needs a config fetched or rendered \
                 after the reset"
            }
            Refusal::Replayed => {
                "this renewal request was sent before (its nonce is spent); a retry needs a new \
                 nonce and time"
            }
            Refusal::StaleIdentity => {
                "this identity certificate is no longer the host's: a newer one replaced it, the \
                 host was reset since, or it was revoked; the host must use its latest identity, \
                 or enroll again"
            }
            Refusal::HostRetired => {
                "this host has been retired (`coregen host retire`): it may not enroll or renew \
                 any more, and its certificates are revoked"
            }
        }
    }
}

/// The answer to a check or an operation: allowed (with the host, or
/// `T`), or refused and why. A refusal is an answer, not an error: the
/// store worked.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict<T = String> {
    Allowed(T),
    Refused(Refusal),
}

impl<T> Verdict<T> {
    /// The same verdict with the allowed value mapped.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Verdict<U> {
        match self {
            Verdict::Allowed(t) => Verdict::Allowed(f(t)),
            Verdict::Refused(r) => Verdict::Refused(r),
        }
    }
}

/// Whether `presented` may enroll at `now`, given its stored `token` and
/// the state of that token's host: the one rule of enrollment. The host is
/// named when it may.
pub fn verdict(
    presented: &PresentedToken,
    token: Option<&TokenRecord>,
    host: Option<&HostState>,
    now: i64,
) -> Verdict {
    let Some(token) = token.filter(|t| presented.matches(&t.secret_hash)) else {
        return Verdict::Refused(Refusal::InvalidToken);
    };
    if host.is_some_and(|h| h.retired_at.is_some()) {
        Verdict::Refused(Refusal::HostRetired)
    } else if token.retired_at.is_some() {
        Verdict::Refused(Refusal::Retired)
    } else if token.used_at.is_some() {
        Verdict::Refused(Refusal::Spent)
    } else if now >= token.expires_at {
        Verdict::Refused(Refusal::Expired)
    } else if host.is_some_and(|h| h.enrolled_at.is_some()) {
        Verdict::Refused(Refusal::Enrolled)
    } else {
        Verdict::Allowed(token.host.clone())
    }
}

/// What a valid token lets its holder do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Enroll the host named: check and sign, then apply [`Op::Enroll`].
    Enroll(String),
    /// Be handed again what this token's enrollment delivered: its answer
    /// may have been lost (the server killed, the connection dropped).
    Replay(Replay),
}

/// A spent token's enrollment, for repeating its answer. Only within the
/// token's life or [`REPLAY_SECS`] of its use, whichever ends later; only
/// while the host is enrolled by it (a reset retires the token); and only
/// to a request for the same keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    pub host: String,
    pub delivered: Vec<Delivered>,
}

impl Replay {
    /// Whether a request for `keys`, each a profile and the SHA-256 of the
    /// key its CSR carries, is the request that was answered: the same
    /// profiles, each with the same key. Anything else issues nothing.
    pub fn matches<'a>(&self, keys: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        let mut asked: Vec<(&str, &str)> = keys.into_iter().collect();
        let mut answered: Vec<(&str, &str)> = self
            .delivered
            .iter()
            .map(|d| (d.record.profile.as_str(), d.key_sha256.as_str()))
            .collect();
        asked.sort_unstable();
        answered.sort_unstable();
        asked == answered
    }
}

/// What `coregen host reset` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reset {
    /// The host was enrolled and may enroll again.
    pub was_enrolled: bool,
    /// Its tokens retired: none of them enrolls or repeats an answer now.
    pub tokens_retired: usize,
}

/// What `coregen host retire` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retirement {
    /// When the host was retired: now, or when it first was.
    pub retired_at: i64,
    /// It was retired already: a second retirement changes nothing but
    /// what the first left to do (a certificate recorded since is revoked).
    pub already: bool,
    /// Its tokens retired.
    pub tokens_retired: usize,
    /// Its unexpired certificates that were not revoked, revoked now.
    pub revoked: Vec<Revocation>,
}

/// A host's current certificate of one profile: the newest issued, with
/// whether it renewed an older one and whether it is revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertStatus {
    pub record: IssuedRecord,
    /// An older certificate of the host and profile came before it: its
    /// `issued_at` is the last renewal.
    pub renewed: bool,
    pub revocation: Option<Revocation>,
    /// When its host was retired.
    pub host_retired_at: Option<i64>,
}

impl CertStatus {
    /// Whether it should be in use: not revoked, its host not retired.
    pub fn live(&self) -> bool {
        self.revocation.is_none() && self.host_retired_at.is_none()
    }
}

/// The share of a certificate's life after which its holder renews it,
/// unless its profile says otherwise.
pub const DEFAULT_RENEW_AT: f64 = 2.0 / 3.0;

/// When `record` should be renewed: `renew_at` (a share between 0 and 1)
/// of the way from its issue to its not-after. `None` when the record's
/// times do not parse.
pub fn renewal_due(record: &IssuedRecord, renew_at: f64) -> Option<i64> {
    let issued = parse_rfc3339(&record.issued_at)?;
    let not_after = parse_rfc3339(&record.not_after)?;
    let life = (not_after - issued).max(0) as f64;
    Some(issued + (life * renew_at.clamp(0.0, 1.0)) as i64)
}

/// The state with its rules: a cheap handle on one [`Store`], shared by
/// whoever needs it.
#[derive(Clone)]
pub struct State {
    store: Arc<dyn Store>,
}

impl State {
    pub fn new(store: impl Store + 'static) -> State {
        State {
            store: Arc::new(store),
        }
    }

    fn read<T>(&self, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.run(Access::Read, &mut f)
    }

    fn write<T>(&self, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.run(Access::Write, &mut f)
    }

    fn run<T>(&self, access: Access, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut out = None;
        self.store.transaction(access, &mut |tx| {
            out = Some(f(tx)?);
            Ok(())
        })?;
        Ok(out.expect("set when the transaction succeeds"))
    }

    /// What `token` may do now, and for which host. A fast check before
    /// the work of signing; [`State::apply`] checks again.
    pub fn check_token(&self, token: &PresentedToken, now: i64) -> Result<Verdict<Admission>> {
        self.read(|tx| check(tx, token, now))
    }

    /// Applies `ops` in one transaction, one disk flush for all of them,
    /// and says for each whether it was done or refused. A refused
    /// operation writes nothing; an error of the store fails the whole
    /// batch.
    pub fn apply(&self, ops: &[Op]) -> Result<Vec<Verdict<()>>> {
        self.write(|tx| {
            let mut results = Vec::with_capacity(ops.len());
            for op in ops {
                results.push(match op {
                    Op::Mint(tokens, by) => mint(tx, tokens, *by),
                    Op::Enroll(enrollment) => enroll(tx, enrollment),
                    // A sighting that cannot be written is lost, and the
                    // tokens and enrollments of its batch are not: SQLite
                    // undoes just the failed statement.
                    Op::Sighted(seen) => {
                        let _ = tx.saw_machine(seen);
                        Ok(Verdict::Allowed(()))
                    }
                    Op::Renew(renewal) => renew(tx, renewal),
                }?);
            }
            if ops.iter().any(|op| matches!(op, Op::Sighted(_))) {
                tx.forget_machines_beyond(MAX_UNKNOWN_MACHINES)?;
            }
            Ok(results)
        })
    }

    /// Records a certificate issued outside enrollment (`coregen sign`,
    /// the server's own). Refused for a retired host: checked in the
    /// transaction, so a retirement that commits while the certificate is
    /// being signed still wins, and the certificate never leaves coregen.
    pub fn record_issued(&self, record: &IssuedRecord) -> Result<()> {
        self.write(|tx| {
            if let Some(at) = tx.host(&record.host)?.and_then(|h| h.retired_at) {
                return Err(crate::error::Error::refused(format!(
                    "host {} was retired at {}; a retired host gets no certificate",
                    record.host,
                    time_text(at)
                )));
            }
            tx.add_issued(record)
        })
    }

    /// Every record, oldest first; only `host`'s when given.
    pub fn issued(&self, host: Option<&str>) -> Result<Vec<IssuedRecord>> {
        self.read(|tx| tx.issued(host))
    }

    /// Every host the state knows of, by name.
    pub fn host_states(&self) -> Result<Vec<HostState>> {
        self.read(|tx| tx.hosts())
    }

    /// Machines that asked and that no host matched, the last seen first.
    pub fn unknown_machines(&self) -> Result<Vec<Sighting>> {
        self.read(|tx| tx.machines())
    }

    /// Lets a host enroll again, and retires every token minted for it
    /// before now: a config fetched before the reset enrolls nothing. A
    /// retired host cannot be reset: retirement is final.
    pub fn reset_host(&self, name: &str, now: i64) -> Result<Reset> {
        self.write(|tx| {
            if let Some(at) = tx.host(name)?.and_then(|h| h.retired_at) {
                return Err(crate::error::Error::refused(format!(
                    "host {name} was retired at {}; retirement is final, so it cannot be reset \
                     (give the machine a new host name to provision it again)",
                    time_text(at)
                )));
            }
            let tokens_retired = retire_tokens_of(tx, name, now)?;
            let Some(mut host) = tx.host(name)? else {
                return Ok(Reset {
                    was_enrolled: false,
                    tokens_retired,
                });
            };
            let was_enrolled = host.enrolled_at.is_some();
            if was_enrolled || tokens_retired > 0 {
                host.enrolled_at = None;
                host.enrolled_from = None;
                host.token_issued_at = None;
                host.token_expires_at = None;
                host.reset_at = Some(now);
                tx.put_host(&host)?;
            }
            Ok(Reset {
                was_enrolled,
                tokens_retired,
            })
        })
    }

    /// Retires host `name` for good, at `now`: it may not enroll or renew
    /// any more (a running `serve` sees it at once, since its checks run
    /// inside the committing transaction), every live token of it is
    /// retired, and each of its unexpired certificates that is not revoked
    /// yet is revoked for `cessationOfOperation`. A second retirement is
    /// not an error: it keeps the first time and revokes only what was
    /// recorded since (nothing, under these rules), so a script may retry.
    pub fn retire_host(&self, name: &str, now: i64) -> Result<Retirement> {
        self.write(|tx| {
            let mut host = tx.host(name)?.unwrap_or_else(|| HostState {
                name: name.to_string(),
                ..HostState::default()
            });
            let already = host.retired_at.is_some();
            let retired_at = *host.retired_at.get_or_insert(now);
            tx.put_host(&host)?;
            let tokens_retired = retire_tokens_of(tx, name, now)?;
            let mut revoked = Vec::new();
            for record in tx.issued(Some(name))? {
                let expired = parse_rfc3339(&record.not_after).is_some_and(|t| t <= now);
                if expired || tx.revocation(&record.serial)?.is_some() {
                    continue;
                }
                let revocation = Revocation {
                    serial: record.serial,
                    ca: record.ca,
                    host: record.host,
                    reason: Reason::CessationOfOperation,
                    revoked_at: now,
                };
                tx.add_revocation(&revocation)?;
                revoked.push(revocation);
            }
            let mut cas: Vec<&str> = revoked.iter().map(|r| r.ca.as_str()).collect();
            cas.sort_unstable();
            cas.dedup();
            for ca in cas {
                bump_crl_number(tx, ca)?;
            }
            Ok(Retirement {
                retired_at,
                already,
                tokens_retired,
                revoked,
            })
        })
    }

    /// Revokes the certificate with `serial` (in any spelling
    /// [`crate::pki::parse_serial`] takes) for `reason`, at `now`, and
    /// bumps its CA's CRL number. A serial that is malformed, that the
    /// audit does not know, or that is revoked already is an error that
    /// says so, and nothing changes.
    pub fn revoke(&self, serial: &str, reason: Reason, now: i64) -> Result<Revocation> {
        let canonical = crate::pki::parse_serial(serial).map_err(crate::error::Error::invalid)?;
        self.write(|tx| {
            let Some(record) = find_issued(tx, &canonical)? else {
                return Err(crate::error::Error::invalid(format!(
                    "no certificate with serial {canonical} was issued by coregen \
                     (`coregen audit` lists every one)"
                )));
            };
            if let Some(done) = tx.revocation(&record.serial)? {
                return Err(crate::error::Error::invalid(format!(
                    "certificate {} (host {}, profile {}) was revoked already, at {} ({})",
                    record.serial,
                    record.host,
                    record.profile,
                    time_text(done.revoked_at),
                    done.reason
                )));
            }
            let revocation = Revocation {
                serial: record.serial,
                ca: record.ca,
                host: record.host,
                reason,
                revoked_at: now,
            };
            tx.add_revocation(&revocation)?;
            bump_crl_number(tx, &revocation.ca)?;
            Ok(revocation)
        })
    }

    /// The revocation of the certificate with `serial`, in any spelling
    /// [`crate::pki::parse_serial`] takes (a certificate's serial as
    /// x509-parser or openssl shows it, or as the audit records it); for
    /// a renewal to refuse a revoked certificate. `None` when it is not
    /// revoked, or not a serial.
    pub fn revocation(&self, serial: &str) -> Result<Option<Revocation>> {
        let Ok(canonical) = crate::pki::parse_serial(serial) else {
            return Ok(None);
        };
        self.read(|tx| {
            for spelling in crate::pki::serial_spellings(&canonical) {
                if let Some(found) = tx.revocation(&spelling)? {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        })
    }

    /// When host `name` was retired, if it was: a renewal refuses it.
    pub fn is_retired(&self, name: &str) -> Result<Option<i64>> {
        self.read(|tx| Ok(tx.host(name)?.and_then(|h| h.retired_at)))
    }

    /// Every revocation by serial; only `ca`'s when given.
    pub fn revocations(&self, ca: Option<&str>) -> Result<Vec<Revocation>> {
        self.read(|tx| tx.revocations(ca))
    }

    /// `ca`'s CRL number: it grows by one with each change to its
    /// revocations, and is 0 before the first.
    pub fn crl_number(&self, ca: &str) -> Result<u64> {
        self.read(|tx| tx.crl_number(ca))
    }

    /// `ca`'s CRL number and revocations, read together, for a CRL.
    pub fn crl(&self, ca: &str) -> Result<(u64, Vec<Revocation>)> {
        self.read(|tx| Ok((tx.crl_number(ca)?, tx.revocations(Some(ca))?)))
    }

    /// Each host's newest certificate of each profile (only `host`'s when
    /// given), in the audit's order of hosts' first certificates.
    pub fn current_certificates(&self, host: Option<&str>) -> Result<Vec<CertStatus>> {
        self.read(|tx| {
            let records = tx.issued(host)?;
            let revoked: std::collections::HashMap<String, Revocation> = tx
                .revocations(None)?
                .into_iter()
                .map(|r| (r.serial.clone(), r))
                .collect();
            let retired: std::collections::HashMap<String, i64> = tx
                .hosts()?
                .into_iter()
                .filter_map(|h| Some((h.name, h.retired_at?)))
                .collect();
            let mut current: Vec<CertStatus> = Vec::new();
            let mut index: std::collections::HashMap<(String, String), usize> =
                std::collections::HashMap::new();
            for record in records {
                let key = (record.host.clone(), record.profile.clone());
                let status = CertStatus {
                    revocation: revoked.get(&record.serial).cloned(),
                    host_retired_at: retired.get(&record.host).copied(),
                    renewed: false,
                    record,
                };
                match index.get(&key) {
                    Some(&at) => {
                        current[at] = CertStatus {
                            renewed: true,
                            ..status
                        }
                    }
                    None => {
                        index.insert(key, current.len());
                        current.push(status);
                    }
                }
            }
            Ok(current)
        })
    }

    /// Retires the unspent tokens among `ids` (those a killed run wrote
    /// into files it never renamed into place); returns how many.
    pub fn retire_tokens(&self, ids: &[String], now: i64) -> Result<usize> {
        self.write(|tx| {
            let mut retired = 0;
            for id in ids {
                if let Some(mut token) = tx.token(id)?
                    && token.used_at.is_none()
                    && token.retired_at.is_none()
                {
                    token.retired_at = Some(now);
                    tx.put_token(&token)?;
                    retired += 1;
                }
            }
            Ok(retired)
        })
    }

    /// Deletes tokens that expired more than [`TOKEN_RETENTION_SECS`]
    /// before `now`.
    pub fn prune_tokens(&self, now: i64) -> Result<usize> {
        self.write(|tx| {
            tx.delete_nonces_before(now - NONCE_RETENTION_SECS)?;
            tx.delete_tokens_expired_before(now - TOKEN_RETENTION_SECS)
        })
    }
}

/// Retires every live token of `host`; returns how many.
fn retire_tokens_of(tx: &mut dyn Tx, host: &str, now: i64) -> Result<usize> {
    let mut retired = 0;
    for mut token in tx.host_tokens(host)? {
        token.retired_at = Some(now);
        tx.put_token(&token)?;
        retired += 1;
    }
    Ok(retired)
}

/// One more change to `ca`'s revocations.
fn bump_crl_number(tx: &mut dyn Tx, ca: &str) -> Result<()> {
    let number = tx.crl_number(ca)?;
    tx.set_crl_number(ca, number + 1)
}

/// The record of the serial `canonical` (from [`crate::pki::parse_serial`]),
/// however the audit spells it.
fn find_issued(tx: &mut dyn Tx, canonical: &str) -> Result<Option<IssuedRecord>> {
    for spelling in crate::pki::serial_spellings(canonical) {
        if let Some(record) = tx.issued_serial(&spelling)? {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

fn time_text(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs).map_or_else(|_| secs.to_string(), rfc3339)
}

fn check(tx: &mut dyn Tx, token: &PresentedToken, now: i64) -> Result<Verdict<Admission>> {
    let stored = tx.token(&token.id)?;
    let host = match &stored {
        Some(t) => tx.host(&t.host)?,
        None => None,
    };
    Ok(match verdict(token, stored.as_ref(), host.as_ref(), now) {
        Verdict::Allowed(host) => Verdict::Allowed(Admission::Enroll(host)),
        Verdict::Refused(Refusal::Spent) => {
            let stored = stored.expect("a spent token is stored");
            let enrolled = host.is_some_and(|h| h.enrolled_at.is_some());
            let used = stored.used_at.unwrap_or(stored.issued_at);
            let window = stored.expires_at.max(used.saturating_add(REPLAY_SECS));
            let delivered = if enrolled && now < window {
                tx.delivered(&stored.id)?
            } else {
                Vec::new()
            };
            if delivered.is_empty() {
                Verdict::Refused(Refusal::Spent)
            } else {
                Verdict::Allowed(Admission::Replay(Replay {
                    host: stored.host,
                    delivered,
                }))
            }
        }
        Verdict::Refused(refusal) => Verdict::Refused(refusal),
    })
}

fn mint(tx: &mut dyn Tx, tokens: &[MintedToken], by: Minter) -> Result<Verdict<()>> {
    for token in tokens {
        // Minted before a reset that committed while its config rendered:
        // retired like every other token from before the reset.
        let reset_at = tx.host(&token.host)?.and_then(|h| h.reset_at);
        let retired_at = reset_at.filter(|&reset| token.issued_at < reset);
        tx.put_token(&TokenRecord {
            id: token.id.clone(),
            host: token.host.clone(),
            secret_hash: token.secret_hash.to_vec(),
            issued_at: token.issued_at,
            expires_at: token.expires_at,
            used_at: None,
            retired_at,
            minted_by: by,
        })?;
        // The oldest of this minter's live tokens beyond the bound go:
        // they have enrolled nothing, so nothing is lost but a config that
        // a newer one of the same kind replaced.
        let live: Vec<String> = tx
            .host_tokens(&token.host)?
            .into_iter()
            .filter(|t| t.minted_by == by && t.used_at.is_none() && t.expires_at > token.issued_at)
            .map(|t| t.id)
            .collect();
        for id in &live[..live.len().saturating_sub(MAX_LIVE_TOKENS)] {
            tx.delete_token(id)?;
        }
        let mut host = tx.host(&token.host)?.unwrap_or_else(|| HostState {
            name: token.host.clone(),
            ..HostState::default()
        });
        host.token_issued_at = Some(token.issued_at);
        host.token_expires_at = Some(token.expires_at);
        tx.put_host(&host)?;
    }
    Ok(Verdict::Allowed(()))
}

/// A renewal: refused when its nonce was seen; else each certificate is
/// recorded with the serial it renews. Whether the host may renew (in the
/// inventory, not retired, the identity certificate sound) is checked by
/// the caller before anything is signed.
fn renew(tx: &mut dyn Tx, r: &Renewal) -> Result<Verdict<()>> {
    // Retired while the certificates were signed: nothing is recorded, and
    // nothing goes out.
    let host = tx.host(&r.host)?;
    if host.as_ref().and_then(|h| h.retired_at).is_some() {
        return Ok(Verdict::Refused(Refusal::HostRetired));
    }
    // Only the host's latest identity renews, and only one issued since its
    // last reset, and not revoked: a copied identity key stops working once
    // the host renews its identity, is reset, or the identity is revoked
    // (checked here too, for a revocation that committed while this
    // request was signed).
    let same =
        |a: &str, b: &str| crate::pki::parse_serial(a).ok() == crate::pki::parse_serial(b).ok();
    let latest = tx.latest_serial(&r.host, crate::pki::identity::IDENTITY)?;
    let current = match latest {
        Some(serial) if same(&serial, &r.identity) => tx.issued_serial(&serial)?,
        _ => None,
    };
    let reset_at = host.as_ref().and_then(|h| h.reset_at);
    let fresh = current.as_ref().is_some_and(|record| {
        let issued = crate::values::parse_rfc3339(&record.issued_at);
        // Times are whole seconds: one issued in the reset's second counts
        // as before it (an enrollment after a reset needs a reboot first).
        reset_at.is_none_or(|reset| issued.is_some_and(|at| at > reset))
    });
    let revoked = match &current {
        Some(record) => tx.revocation(&record.serial)?.is_some(),
        None => false,
    };
    if !fresh || revoked {
        return Ok(Verdict::Refused(Refusal::StaleIdentity));
    }
    if !tx.use_nonce(&r.nonce, &r.host, r.now)? {
        return Ok(Verdict::Refused(Refusal::Replayed));
    }
    for delivered in &r.issued {
        let mut record = delivered.record.clone();
        record.renews = tx.latest_serial(&r.host, &record.profile)?;
        tx.add_issued(&record)?;
    }
    Ok(Verdict::Allowed(()))
}

fn enroll(tx: &mut dyn Tx, e: &Enrollment) -> Result<Verdict<()>> {
    match check(tx, &e.token, e.now)? {
        Verdict::Allowed(Admission::Enroll(host)) if host == e.host => {}
        Verdict::Allowed(Admission::Enroll(_)) => {
            return Ok(Verdict::Refused(Refusal::InvalidToken));
        }
        // Spent: the caller may ask for the replay itself.
        Verdict::Allowed(Admission::Replay(_)) => return Ok(Verdict::Refused(Refusal::Spent)),
        Verdict::Refused(refusal) => return Ok(Verdict::Refused(refusal)),
    }
    tx.spend_token(&e.token.id, e.now)?;
    let mut host = tx.host(&e.host)?.unwrap_or_else(|| HostState {
        name: e.host.clone(),
        ..HostState::default()
    });
    host.enrolled_at = Some(e.now);
    host.enrolled_from = Some(e.from.clone());
    tx.put_host(&host)?;
    for delivered in &e.issued {
        tx.add_issued(&delivered.record)?;
        tx.add_delivered(&e.token.id, delivered)?;
    }
    Ok(Verdict::Allowed(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_machines_are_kept_per_pair_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let db = State::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
        let seen = |i: usize, at: i64| {
            Op::Sighted(Sighting {
                mac: Some(format!("52:54:00:00:{:02x}:{:02x}", i / 256, i % 256)),
                uuid: None,
                address: format!("10.0.{}.{}", i / 256, i % 256),
                first_seen: at,
                last_seen: at,
                requests: 1,
            })
        };
        // The same machine twice: one row, its first sighting kept.
        db.apply(&[seen(0, 100), seen(0, 200)]).unwrap();
        let rows = db.unknown_machines().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].first_seen, rows[0].last_seen, rows[0].requests),
            (100, 200, 2)
        );

        // Past the bound, the machines seen longest ago go.
        let more: Vec<Op> = (1..MAX_UNKNOWN_MACHINES + 5)
            .map(|i| seen(i, 1000 + i as i64))
            .collect();
        db.apply(&more).unwrap();
        let rows = db.unknown_machines().unwrap();
        assert_eq!(rows.len(), MAX_UNKNOWN_MACHINES);
        assert_eq!(rows[0].last_seen, 1000 + (MAX_UNKNOWN_MACHINES + 4) as i64);
        let oldest = rows.last().unwrap();
        assert_eq!(
            oldest.last_seen, 1005,
            "machine 0 and the four oldest are gone"
        );
    }

    #[test]
    fn records_survive_reopening_and_filter_by_host() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let record = |host: &str, serial: &str| IssuedRecord {
            issued_at: "2026-11-28T00:00:00Z".into(),
            serial: serial.into(),
            host: host.into(),
            profile: "etcd-peer".into(),
            ca: "etcd".into(),
            not_after: "2027-11-28T00:00:00Z".into(),
            sha256: "00".into(),
            renews: None,
        };
        let db = State::new(SqliteStore::open(&path).unwrap());
        db.record_issued(&record("node1", "01")).unwrap();
        db.record_issued(&record("node2", "02")).unwrap();
        assert!(
            db.record_issued(&record("node2", "02")).is_err(),
            "serials are unique"
        );
        drop(db);

        let db = State::new(SqliteStore::open(&path).unwrap());
        assert_eq!(db.issued(None).unwrap().len(), 2);
        assert_eq!(
            db.issued(Some("node2")).unwrap(),
            vec![record("node2", "02")]
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    fn enrollment(token: &MintedToken, host: &str, now: i64) -> Op {
        Op::Enroll(Enrollment {
            token: crate::pki::parse_token(&token.text).unwrap(),
            host: host.into(),
            now,
            from: "10.0.0.11".into(),
            issued: Vec::new(),
        })
    }

    #[test]
    fn a_token_enrolls_its_host_once_until_reset() {
        let dir = tempfile::tempdir().unwrap();
        let db = State::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
        let mint = |host: &str| crate::pki::mint_token(host, 100, 1000).unwrap();
        let (t1, t2, t3) = (mint("node1"), mint("node2"), mint("node1"));
        let ok = db
            .apply(&[Op::Mint(
                vec![t1.clone(), t2.clone(), t3.clone()],
                Minter::Serve,
            )])
            .unwrap();
        assert_eq!(ok, vec![Verdict::Allowed(())]);

        let presented = crate::pki::parse_token(&t1.text).unwrap();
        assert_eq!(
            db.check_token(&presented, 1050).unwrap(),
            Verdict::Allowed(Admission::Enroll("node1".into()))
        );
        assert_eq!(
            db.check_token(&presented, 1100).unwrap(),
            Verdict::Refused(Refusal::Expired)
        );

        // Within one batch: a token for another host, then the real thing,
        // then the same token again.
        let results = db
            .apply(&[
                enrollment(&t2, "node1", 1050),
                enrollment(&t1, "node1", 1050),
                enrollment(&t1, "node1", 1050),
            ])
            .unwrap();
        assert_eq!(
            results,
            vec![
                Verdict::Refused(Refusal::InvalidToken),
                Verdict::Allowed(()),
                Verdict::Refused(Refusal::Spent)
            ]
        );
        let results = db.apply(&[enrollment(&t3, "node1", 1060)]).unwrap();
        assert_eq!(results, vec![Verdict::Refused(Refusal::Enrolled)]);

        // A reset retires every token minted before it, spent or not.
        let reset = db.reset_host("node1", 1070).unwrap();
        assert_eq!(
            reset,
            Reset {
                was_enrolled: true,
                tokens_retired: 2
            }
        );
        let again = db.reset_host("node1", 1070).unwrap();
        assert_eq!(again.tokens_retired, 0, "retired already");
        assert!(!again.was_enrolled);
        let t4 = crate::pki::mint_token("node1", 100, 1075).unwrap();
        let _ = db
            .apply(&[Op::Mint(vec![t4.clone()], Minter::Serve)])
            .unwrap();
        let results = db
            .apply(&[
                enrollment(&t1, "node1", 1080),
                enrollment(&t3, "node1", 1080),
                enrollment(&t4, "node1", 1080),
            ])
            .unwrap();
        assert_eq!(
            results,
            vec![
                Verdict::Refused(Refusal::Retired),
                Verdict::Refused(Refusal::Retired),
                Verdict::Allowed(())
            ]
        );

        let states = db.host_states().unwrap();
        assert_eq!(states.len(), 2);
        assert_eq!(states[0].enrolled_at, Some(1080));
        assert_eq!(states[0].reset_at, Some(1070));
        assert_eq!(states[1].enrolled_at, None);
        assert_eq!(states[1].token_expires_at, Some(1100));
        assert_eq!(db.prune_tokens(1175 + TOKEN_RETENTION_SECS + 1).unwrap(), 4);
    }

    fn delivered(token: &MintedToken, serial: &str, profile: &str, key: &str) -> Delivered {
        Delivered {
            record: IssuedRecord {
                issued_at: "2026-11-28T00:00:00Z".into(),
                serial: serial.into(),
                host: token.host.clone(),
                profile: profile.into(),
                ca: "etcd".into(),
                not_after: "2027-11-28T00:00:00Z".into(),
                sha256: "00".into(),
                renews: None,
            },
            key_sha256: key.into(),
            certificate: format!("PEM {serial}"),
        }
    }

    #[test]
    fn a_spent_token_repeats_its_answer_for_the_same_keys_within_its_life() {
        let dir = tempfile::tempdir().unwrap();
        let db = State::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
        let token = crate::pki::mint_token("node1", 100, 1000).unwrap();
        let _ = db
            .apply(&[Op::Mint(vec![token.clone()], Minter::Serve)])
            .unwrap();
        let presented = crate::pki::parse_token(&token.text).unwrap();
        let issued = vec![
            delivered(&token, "01", "etcd-peer", "k1"),
            delivered(&token, "02", "etcd-client", "k2"),
        ];
        let done = db
            .apply(&[Op::Enroll(Enrollment {
                token: presented.clone(),
                host: "node1".into(),
                now: 1010,
                from: "10.0.0.11".into(),
                issued: issued.clone(),
            })])
            .unwrap();
        assert_eq!(done, vec![Verdict::Allowed(())]);

        let Verdict::Allowed(Admission::Replay(replay)) = db.check_token(&presented, 1050).unwrap()
        else {
            panic!("a spent token within its life replays");
        };
        assert_eq!(replay.host, "node1");
        assert_eq!(replay.delivered, issued);
        assert!(replay.matches([("etcd-client", "k2"), ("etcd-peer", "k1")]));
        assert!(!replay.matches([("etcd-client", "k2"), ("etcd-peer", "other")]));
        assert!(!replay.matches([("etcd-peer", "k1")]));
        assert!(!replay.matches([("etcd-peer", "k1"), ("etcd-client", "k2"), ("x", "k3")]));

        // The same token enrolls nothing new, replay or not.
        let again = db
            .apply(&[Op::Enroll(Enrollment {
                token: presented.clone(),
                host: "node1".into(),
                now: 1050,
                from: "10.0.0.11".into(),
                issued: vec![delivered(&token, "03", "etcd-peer", "k1")],
            })])
            .unwrap();
        assert_eq!(again, vec![Verdict::Refused(Refusal::Spent)]);
        assert_eq!(db.issued(None).unwrap().len(), 2);

        assert!(
            matches!(
                db.check_token(&presented, 1010 + REPLAY_SECS - 1).unwrap(),
                Verdict::Allowed(Admission::Replay(_))
            ),
            "past the token's life, within a day of its use"
        );
        assert_eq!(
            db.check_token(&presented, 1010 + REPLAY_SECS).unwrap(),
            Verdict::Refused(Refusal::Spent),
            "not for ever"
        );
        db.reset_host("node1", 1060).unwrap();
        assert_eq!(
            db.check_token(&presented, 1061).unwrap(),
            Verdict::Refused(Refusal::Retired),
            "not after a reset"
        );
    }

    #[test]
    fn a_token_minted_before_a_reset_and_stored_after_it_is_retired() {
        let dir = tempfile::tempdir().unwrap();
        let db = State::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
        let early = crate::pki::mint_token("node1", 100, 1000).unwrap();
        let _ = db
            .apply(&[Op::Mint(vec![early.clone()], Minter::Serve)])
            .unwrap();
        // Minted at 1005 for a config being rendered; the reset commits at
        // 1010; the token is stored after it.
        let racing = crate::pki::mint_token("node1", 100, 1005).unwrap();
        db.reset_host("node1", 1010).unwrap();
        let _ = db
            .apply(&[Op::Mint(vec![racing.clone()], Minter::Serve)])
            .unwrap();
        let after = crate::pki::mint_token("node1", 100, 1011).unwrap();
        let _ = db
            .apply(&[Op::Mint(vec![after.clone()], Minter::Serve)])
            .unwrap();
        let verdict = |t: &MintedToken| {
            db.check_token(&crate::pki::parse_token(&t.text).unwrap(), 1012)
                .unwrap()
        };
        assert_eq!(verdict(&early), Verdict::Refused(Refusal::Retired));
        assert_eq!(verdict(&racing), Verdict::Refused(Refusal::Retired));
        assert_eq!(
            verdict(&after),
            Verdict::Allowed(Admission::Enroll("node1".into()))
        );
    }

    fn cert(host: &str, serial: &str, ca: &str, not_after: &str) -> IssuedRecord {
        IssuedRecord {
            issued_at: "2026-01-01T00:00:00Z".into(),
            serial: serial.into(),
            host: host.into(),
            profile: "etcd-peer".into(),
            ca: ca.into(),
            not_after: not_after.into(),
            sha256: "00".into(),
            renews: None,
        }
    }

    /// 2026-06-01T00:00:00Z.
    const JUNE: i64 = 1_780_272_000;

    #[test]
    fn retiring_a_host_revokes_its_unexpired_certificates_and_refuses_it_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let db = State::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
        db.record_issued(&cert("node1", "01", "etcd", "2026-03-01T00:00:00Z"))
            .unwrap();
        db.record_issued(&cert("node1", "02", "etcd", "2027-01-01T00:00:00Z"))
            .unwrap();
        db.record_issued(&cert("node1", "03", "http", "2027-01-01T00:00:00Z"))
            .unwrap();
        db.record_issued(&cert("node2", "04", "etcd", "2027-01-01T00:00:00Z"))
            .unwrap();
        db.revoke("03", Reason::KeyCompromise, JUNE - 10).unwrap();
        let token = crate::pki::mint_token("node1", 3600, JUNE).unwrap();
        let _ = db
            .apply(&[Op::Mint(vec![token.clone()], Minter::Serve)])
            .unwrap();
        assert_eq!(db.crl_number("etcd").unwrap(), 0);
        assert_eq!(db.crl_number("http").unwrap(), 1);

        let retired = db.retire_host("node1", JUNE).unwrap();
        assert_eq!(retired.retired_at, JUNE);
        assert!(!retired.already);
        assert_eq!(retired.tokens_retired, 1);
        let serials: Vec<&str> = retired.revoked.iter().map(|r| r.serial.as_str()).collect();
        assert_eq!(
            serials,
            ["02"],
            "expired (01) and revoked already (03) are left"
        );
        assert_eq!(retired.revoked[0].reason, Reason::CessationOfOperation);
        assert_eq!(db.crl_number("etcd").unwrap(), 1, "one change");
        assert_eq!(db.crl_number("http").unwrap(), 1, "no change");
        assert_eq!(db.is_retired("node1").unwrap(), Some(JUNE));
        assert_eq!(db.is_retired("node2").unwrap(), None);
        assert_eq!(
            db.revocation("02").unwrap().map(|r| r.host),
            Some("node1".into())
        );
        assert_eq!(db.revocation("04").unwrap(), None);

        // Its token, even a fresh one, enrolls nothing; nor a reset.
        let presented = crate::pki::parse_token(&token.text).unwrap();
        assert_eq!(
            db.check_token(&presented, JUNE + 1).unwrap(),
            Verdict::Refused(Refusal::HostRetired)
        );
        let fresh = crate::pki::mint_token("node1", 3600, JUNE + 5).unwrap();
        let _ = db
            .apply(&[Op::Mint(vec![fresh.clone()], Minter::Serve)])
            .unwrap();
        assert_eq!(
            db.apply(&[enrollment(&fresh, "node1", JUNE + 6)]).unwrap(),
            vec![Verdict::Refused(Refusal::HostRetired)]
        );
        let err = db.reset_host("node1", JUNE + 7).unwrap_err();
        assert!(err.to_string().contains("retirement is final"), "{err}");
        let err = db
            .record_issued(&cert("node1", "06", "etcd", "2027-01-01T00:00:00Z"))
            .unwrap_err();
        assert!(err.to_string().contains("gets no certificate"), "{err}");

        // Again: idempotent, keeping the first time, revoking only what
        // was recorded since (here straight through the store, past the
        // rules, as an older coregen sharing the database might).
        db.store
            .transaction(Access::Write, &mut |tx| {
                tx.add_issued(&cert("node1", "05", "etcd", "2027-01-01T00:00:00Z"))
            })
            .unwrap();
        let again = db.retire_host("node1", JUNE + 100).unwrap();
        assert!(again.already);
        assert_eq!(again.retired_at, JUNE);
        assert_eq!(again.revoked.len(), 1);
        assert_eq!(again.revoked[0].serial, "05");
        assert_eq!(db.crl_number("etcd").unwrap(), 2);
        let nothing = db.retire_host("node1", JUNE + 200).unwrap();
        assert!(nothing.revoked.is_empty());
        assert_eq!(
            db.crl_number("etcd").unwrap(),
            2,
            "no change, no new number"
        );
        let etcd: Vec<String> = db
            .revocations(Some("etcd"))
            .unwrap()
            .into_iter()
            .map(|r| r.serial)
            .collect();
        assert_eq!(etcd, ["02", "05"]);
    }

    #[test]
    fn revoking_checks_the_serial_and_bumps_the_crl_number_once_per_change() {
        let dir = tempfile::tempdir().unwrap();
        let db = State::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
        // A random serial whose first byte came out zero: DER, and so
        // openssl, shows it without.
        db.record_issued(&cert("node1", "00ab01", "etcd", "2027-01-01T00:00:00Z"))
            .unwrap();
        db.record_issued(&cert("node1", "7f02", "etcd", "2027-01-01T00:00:00Z"))
            .unwrap();

        let err = db
            .revoke("not-hex", Reason::KeyCompromise, JUNE)
            .unwrap_err();
        assert_eq!(err.kind(), crate::error::Kind::Invalid);
        let err = db.revoke("ffff", Reason::KeyCompromise, JUNE).unwrap_err();
        assert!(
            err.to_string().contains("no certificate with serial ffff"),
            "{err}"
        );
        assert_eq!(db.crl_number("etcd").unwrap(), 0);

        let done = db.revoke("AB:01", Reason::KeyCompromise, JUNE).unwrap();
        assert_eq!(done.serial, "00ab01");
        assert_eq!(db.crl_number("etcd").unwrap(), 1);
        let err = db
            .revoke("00ab01", Reason::Superseded, JUNE + 5)
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("revoked already, at 2026-06-01T00:00:00Z (keyCompromise)"),
            "{text}"
        );
        assert_eq!(db.crl_number("etcd").unwrap(), 1, "nothing changed");
        db.revoke("7F02", Reason::Superseded, JUNE + 6).unwrap();
        assert_eq!(db.crl_number("etcd").unwrap(), 2);
        assert_eq!(db.crl_number("http").unwrap(), 0);
        assert_eq!(
            db.revocation("ab01").unwrap().map(|r| r.reason),
            Some(Reason::KeyCompromise)
        );
        let (number, list) = db.crl("etcd").unwrap();
        assert_eq!((number, list.len()), (2, 2));
    }

    #[test]
    fn current_certificates_are_the_newest_per_profile() {
        let dir = tempfile::tempdir().unwrap();
        let db = State::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
        let mut renewed = cert("node1", "02", "etcd", "2027-06-01T00:00:00Z");
        renewed.issued_at = "2026-06-01T00:00:00Z".into();
        for record in [
            cert("node1", "01", "etcd", "2027-01-01T00:00:00Z"),
            cert("node2", "03", "etcd", "2027-01-01T00:00:00Z"),
            renewed.clone(),
        ] {
            db.record_issued(&record).unwrap();
        }
        db.revoke("03", Reason::Superseded, JUNE).unwrap();
        let current = db.current_certificates(None).unwrap();
        assert_eq!(current.len(), 2);
        assert_eq!(current[0].record, renewed);
        assert!(current[0].renewed && current[0].live());
        assert!(!current[1].renewed && !current[1].live());
        assert_eq!(db.current_certificates(Some("node2")).unwrap().len(), 1);
        // Two thirds of a year from New Year's Day.
        let due = renewal_due(&current[1].record, DEFAULT_RENEW_AT).unwrap();
        assert_eq!(due, 1_767_225_600 + 365 * 86400 * 2 / 3);
    }

    #[test]
    fn a_host_keeps_at_most_its_newest_live_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let db = State::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
        let tokens: Vec<MintedToken> = (0..MAX_LIVE_TOKENS + 3)
            .map(|_| crate::pki::mint_token("node1", 100, 1000).unwrap())
            .collect();
        let other = crate::pki::mint_token("node2", 100, 1000).unwrap();
        let _ = db
            .apply(&[Op::Mint(vec![other.clone()], Minter::Serve)])
            .unwrap();
        for token in &tokens {
            let _ = db
                .apply(&[Op::Mint(vec![token.clone()], Minter::Serve)])
                .unwrap();
        }
        let verdict = |t: &MintedToken| {
            db.check_token(&crate::pki::parse_token(&t.text).unwrap(), 1010)
                .unwrap()
        };
        for old in &tokens[..3] {
            assert_eq!(verdict(old), Verdict::Refused(Refusal::InvalidToken));
        }
        for new in &tokens[3..] {
            assert_eq!(
                verdict(new),
                Verdict::Allowed(Admission::Enroll("node1".into()))
            );
        }
        assert_eq!(
            verdict(&other),
            Verdict::Allowed(Admission::Enroll("node2".into()))
        );

        // Tokens that `render` wrote into files are not pushed out by
        // fetches, and expired ones do not count.
        let rendered = crate::pki::mint_token("node1", 100, 1000).unwrap();
        let _ = db
            .apply(&[Op::Mint(vec![rendered.clone()], Minter::Render)])
            .unwrap();
        for _ in 0..MAX_LIVE_TOKENS * 2 {
            let t = crate::pki::mint_token("node1", 100, 1000).unwrap();
            let _ = db.apply(&[Op::Mint(vec![t], Minter::Serve)]).unwrap();
        }
        assert_eq!(
            verdict(&rendered),
            Verdict::Allowed(Admission::Enroll("node1".into()))
        );
        let later: Vec<MintedToken> = (0..MAX_LIVE_TOKENS)
            .map(|_| crate::pki::mint_token("node1", 100, 2000).unwrap())
            .collect();
        let _ = db.apply(&[Op::Mint(later.clone(), Minter::Serve)]).unwrap();
        let at_2010 = |t: &MintedToken| {
            db.check_token(&crate::pki::parse_token(&t.text).unwrap(), 2010)
                .unwrap()
        };
        for t in &later {
            assert_eq!(
                at_2010(t),
                Verdict::Allowed(Admission::Enroll("node1".into()))
            );
        }
        assert_eq!(at_2010(&rendered), Verdict::Refused(Refusal::Expired));
    }
}
