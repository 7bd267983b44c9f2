//! coregen's state: every issued certificate (the audit), the bootstrap
//! tokens, and each host's enrollment state, behind one interface.
//!
//! A backend implements [`Store`]: transactions over a few plain records
//! ([`TokenRecord`], [`HostState`], [`IssuedRecord`]), and nothing more.
//! The rules live here, in Rust, the same for every backend: whether a
//! token may enroll ([`verdict`]), what enrolling writes, what a reset
//! undoes. [`State`] applies them inside the backend's transactions, so a
//! check made there sees every write committed before it, by this process
//! or another. SQLite ([`SqliteStore`]) is the backend today; adding one
//! means writing one more implementation of [`Store`].
//!
//! [`State::apply`] takes a batch of operations so that a server can commit
//! many requests with one disk flush (group commit); see `serve`'s writer.

mod sqlite;

use std::sync::Arc;

pub use sqlite::SqliteStore;

use crate::error::Result;
pub use crate::pki::IssuedRecord;
use crate::pki::{MintedToken, PresentedToken};
pub use crate::values::{rfc3339, unix_now};

/// Spent or expired tokens are kept this long (for `host list` and
/// forensics), then pruned.
pub const TOKEN_RETENTION_SECS: i64 = 7 * 86400;

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
    /// Inserts `host`, or replaces the one with its name.
    fn put_host(&mut self, host: &HostState) -> Result<()>;
    /// Appends a record; fails when its serial is recorded already.
    fn add_issued(&mut self, record: &IssuedRecord) -> Result<()>;
    /// Deletes tokens that expired before `time`; returns how many.
    fn delete_tokens_expired_before(&mut self, time: i64) -> Result<usize>;
}

/// One write of a batch for [`State::apply`].
#[derive(Debug)]
pub enum Op {
    /// Store tokens just minted for configs being rendered.
    Mint(Vec<MintedToken>),
    /// Spend a token: the host is enrolled with these certificates.
    Enroll(Enrollment),
}

#[derive(Debug)]
pub struct Enrollment {
    pub token: PresentedToken,
    /// The host the certificates were made for; it must be the token's.
    pub host: String,
    pub now: i64,
    /// The client's address, for `host list`.
    pub from: String,
    pub issued: Vec<IssuedRecord>,
}

/// Why a token may not enroll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, tampered with, or bound to another host: the client is
    /// told no more than that.
    InvalidToken,
    Expired,
    Spent,
    /// The host enrolled already; `coregen host reset` allows it again.
    Enrolled,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::InvalidToken => "the bootstrap token is not valid",
            Refusal::Expired => "the bootstrap token has expired; render or fetch the config again",
            Refusal::Spent => "the bootstrap token has been used already",
            Refusal::Enrolled => {
                "this host has enrolled already; an operator can allow it again with \
                 `coregen host reset <host>`"
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
    if token.used_at.is_some() {
        Verdict::Refused(Refusal::Spent)
    } else if now >= token.expires_at {
        Verdict::Refused(Refusal::Expired)
    } else if host.is_some_and(|h| h.enrolled_at.is_some()) {
        Verdict::Refused(Refusal::Enrolled)
    } else {
        Verdict::Allowed(token.host.clone())
    }
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

    /// Whether `token` may enroll now, and for which host. A fast check
    /// before the work of signing; [`State::apply`] checks again.
    pub fn check_token(&self, token: &PresentedToken, now: i64) -> Result<Verdict> {
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
                    Op::Mint(tokens) => mint(tx, tokens),
                    Op::Enroll(enrollment) => enroll(tx, enrollment),
                }?);
            }
            Ok(results)
        })
    }

    /// Records a certificate issued outside enrollment (`coregen sign`,
    /// the server's own).
    pub fn record_issued(&self, record: &IssuedRecord) -> Result<()> {
        self.write(|tx| tx.add_issued(record))
    }

    /// Every record, oldest first; only `host`'s when given.
    pub fn issued(&self, host: Option<&str>) -> Result<Vec<IssuedRecord>> {
        self.read(|tx| tx.issued(host))
    }

    /// Every host the state knows of, by name.
    pub fn host_states(&self) -> Result<Vec<HostState>> {
        self.read(|tx| tx.hosts())
    }

    /// Lets an enrolled host enroll again. False when it was not enrolled.
    pub fn reset_host(&self, name: &str, now: i64) -> Result<bool> {
        self.write(|tx| {
            let Some(mut host) = tx.host(name)?.filter(|h| h.enrolled_at.is_some()) else {
                return Ok(false);
            };
            host.enrolled_at = None;
            host.enrolled_from = None;
            host.reset_at = Some(now);
            tx.put_host(&host)?;
            Ok(true)
        })
    }

    /// Deletes tokens that expired more than [`TOKEN_RETENTION_SECS`]
    /// before `now`.
    pub fn prune_tokens(&self, now: i64) -> Result<usize> {
        self.write(|tx| tx.delete_tokens_expired_before(now - TOKEN_RETENTION_SECS))
    }
}

fn check(tx: &mut dyn Tx, token: &PresentedToken, now: i64) -> Result<Verdict> {
    let stored = tx.token(&token.id)?;
    let host = match &stored {
        Some(t) => tx.host(&t.host)?,
        None => None,
    };
    Ok(verdict(token, stored.as_ref(), host.as_ref(), now))
}

fn mint(tx: &mut dyn Tx, tokens: &[MintedToken]) -> Result<Verdict<()>> {
    for token in tokens {
        tx.put_token(&TokenRecord {
            id: token.id.clone(),
            host: token.host.clone(),
            secret_hash: token.secret_hash.to_vec(),
            issued_at: token.issued_at,
            expires_at: token.expires_at,
            used_at: None,
        })?;
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

fn enroll(tx: &mut dyn Tx, e: &Enrollment) -> Result<Verdict<()>> {
    match check(tx, &e.token, e.now)? {
        Verdict::Allowed(host) if host == e.host => {}
        Verdict::Allowed(_) => return Ok(Verdict::Refused(Refusal::InvalidToken)),
        refused => return Ok(refused.map(drop)),
    }
    let mut token = tx.token(&e.token.id)?.expect("checked just now");
    token.used_at = Some(e.now);
    tx.put_token(&token)?;
    let mut host = tx.host(&e.host)?.unwrap_or_else(|| HostState {
        name: e.host.clone(),
        ..HostState::default()
    });
    host.enrolled_at = Some(e.now);
    host.enrolled_from = Some(e.from.clone());
    tx.put_host(&host)?;
    for record in &e.issued {
        tx.add_issued(record)?;
    }
    Ok(Verdict::Allowed(()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            .apply(&[Op::Mint(vec![t1.clone(), t2.clone(), t3.clone()])])
            .unwrap();
        assert_eq!(ok, vec![Verdict::Allowed(())]);

        let presented = crate::pki::parse_token(&t1.text).unwrap();
        assert_eq!(
            db.check_token(&presented, 1050).unwrap(),
            Verdict::Allowed("node1".into())
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

        assert!(db.reset_host("node1", 1070).unwrap());
        assert!(
            !db.reset_host("node1", 1070).unwrap(),
            "not enrolled any more"
        );
        let results = db
            .apply(&[
                enrollment(&t1, "node1", 1080),
                enrollment(&t3, "node1", 1080),
            ])
            .unwrap();
        assert_eq!(
            results,
            vec![Verdict::Refused(Refusal::Spent), Verdict::Allowed(())]
        );

        let states = db.host_states().unwrap();
        assert_eq!(states.len(), 2);
        assert_eq!(states[0].enrolled_at, Some(1080));
        assert_eq!(states[0].reset_at, Some(1070));
        assert_eq!(states[1].enrolled_at, None);
        assert_eq!(states[1].token_expires_at, Some(1100));
        assert_eq!(db.prune_tokens(1100 + TOKEN_RETENTION_SECS + 1).unwrap(), 3);
    }
}
