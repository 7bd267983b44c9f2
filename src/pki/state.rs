//! `pki/state.db`: the embedded SQLite database that records every issued
//! certificate, the bootstrap tokens, and each host's enrollment state.
//!
//! The schema is versioned with `PRAGMA user_version` and grows only by
//! appending to [`MIGRATIONS`]. Writes are committed with
//! `synchronous=FULL` in WAL mode, so a record is on disk before the
//! certificate it describes leaves coregen.
//!
//! The rules of enrollment live here, in [`StateDb::apply`]: a token is
//! spent, its host marked enrolled and the certificates recorded in one
//! transaction, after checking again, inside it, that the token is unspent
//! and unexpired and the host not enrolled. Whatever a caller checked
//! before is only a fast path; this check is the one that counts, and it
//! sees a `coregen host reset` made by another process at once. `apply`
//! takes a batch of operations so that a server can commit many requests
//! with one disk flush (group commit).

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::token::{MintedToken, PresentedToken};
use crate::error::{Error, Result};

/// Each entry moves the schema one version up; never edit a released one.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE issued (
        id         INTEGER PRIMARY KEY,
        issued_at  TEXT NOT NULL,
        serial     TEXT NOT NULL UNIQUE,
        host       TEXT NOT NULL,
        profile    TEXT NOT NULL,
        ca         TEXT NOT NULL,
        not_after  TEXT NOT NULL,
        sha256     TEXT NOT NULL
    );
    CREATE INDEX issued_by_host ON issued (host);",
    // Times are Unix seconds, compared in SQL.
    "CREATE TABLE tokens (
        id          TEXT PRIMARY KEY,
        host        TEXT NOT NULL,
        secret_hash BLOB NOT NULL,
        issued_at   INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE hosts (
        name             TEXT PRIMARY KEY,
        token_issued_at  INTEGER,
        token_expires_at INTEGER,
        enrolled_at      INTEGER,
        enrolled_from    TEXT,
        reset_at         INTEGER
    ) WITHOUT ROWID;",
];

/// Spent or expired tokens are kept this long (for `host list` and
/// forensics), then pruned.
const TOKEN_RETENTION_SECS: i64 = 7 * 86400;

/// Seconds since the Unix epoch: how token and enrollment times are kept.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A time as the audit log records it: RFC 3339, UTC, whole seconds.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One issued certificate, as `coregen audit` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IssuedRecord {
    pub issued_at: String,
    pub serial: String,
    pub host: String,
    pub profile: String,
    pub ca: String,
    pub not_after: String,
    pub sha256: String,
}

pub struct StateDb {
    conn: Connection,
    path: PathBuf,
}

fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::new(format!("state database {}", path.display())).with_source(e)
}

impl StateDb {
    /// Opens (creating with mode 0600 if needed) and migrates `path`.
    pub fn open(path: &Path) -> Result<StateDb> {
        if !path.exists() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
            }
            // Created here, not by SQLite, to get the mode right from the start.
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(|e| Error::io(path, "create", e))?;
        }
        let mut conn = Connection::open(path).map_err(|e| db_error(path, e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
            .and_then(|()| conn.busy_timeout(std::time::Duration::from_secs(10)))
            // The tables are small and a server keeps several connections:
            // 512 KiB of page cache each instead of SQLite's 2 MiB.
            .and_then(|()| conn.pragma_update(None, "cache_size", -512))
            .map_err(|e| db_error(path, e))?;
        migrate(&mut conn).map_err(|e| db_error(path, e))?;
        Ok(StateDb {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn record_issued(&mut self, record: &IssuedRecord) -> Result<()> {
        insert_issued(&self.conn, record)
            .map_err(|e| Error::new("cannot record the issued certificate").with_source(e))
    }

    /// Every record, oldest first; only `host`'s when given.
    pub fn issued(&self, host: Option<&str>) -> Result<Vec<IssuedRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT issued_at, serial, host, profile, ca, not_after, sha256 FROM issued
                 WHERE ?1 IS NULL OR host = ?1 ORDER BY id",
            )
            .map_err(|e| Error::new("cannot read the audit log").with_source(e))?;
        let rows = stmt
            .query_map(params![host], |row| {
                Ok(IssuedRecord {
                    issued_at: row.get(0)?,
                    serial: row.get(1)?,
                    host: row.get(2)?,
                    profile: row.get(3)?,
                    ca: row.get(4)?,
                    not_after: row.get(5)?,
                    sha256: row.get(6)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| Error::new("cannot read the audit log").with_source(e))?;
        Ok(rows)
    }

    /// Whether `token` may enroll now, and for which host. A fast check
    /// before the work of signing; [`StateDb::apply`] checks again.
    pub fn check_token(&self, token: &PresentedToken, now: i64) -> Result<Checked> {
        check_token(&self.conn, token, now).map_err(|e| db_error(&self.path, e))
    }

    /// Applies `ops` in one transaction, one disk flush for all of them,
    /// and says for each whether it was done or refused. A refused
    /// operation writes nothing; a database error fails the whole batch.
    pub fn apply(&mut self, ops: &[Op]) -> Result<Vec<Checked<()>>> {
        let path = self.path.clone();
        apply(&mut self.conn, ops).map_err(|e| db_error(&path, e))
    }

    /// Lets an enrolled host enroll again. False when it was not enrolled.
    pub fn reset_host(&mut self, host: &str, now: i64) -> Result<bool> {
        self.conn
            .execute(
                "UPDATE hosts SET enrolled_at = NULL, enrolled_from = NULL, reset_at = ?2
                 WHERE name = ?1 AND enrolled_at IS NOT NULL",
                params![host, now],
            )
            .map(|n| n > 0)
            .map_err(|e| db_error(&self.path, e))
    }

    /// Every host the database knows of, by name.
    pub fn host_states(&self) -> Result<Vec<HostState>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, token_issued_at, token_expires_at, enrolled_at, enrolled_from,
                        reset_at
                 FROM hosts ORDER BY name",
            )
            .map_err(|e| db_error(&self.path, e))?;
        stmt.query_map([], |row| {
            Ok(HostState {
                name: row.get(0)?,
                token_issued_at: row.get(1)?,
                token_expires_at: row.get(2)?,
                enrolled_at: row.get(3)?,
                enrolled_from: row.get(4)?,
                reset_at: row.get(5)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| db_error(&self.path, e))
    }

    /// Deletes tokens that expired more than a week before `now`.
    pub fn prune_tokens(&mut self, now: i64) -> Result<usize> {
        self.conn
            .execute(
                "DELETE FROM tokens WHERE expires_at < ?1",
                params![now - TOKEN_RETENTION_SECS],
            )
            .map_err(|e| db_error(&self.path, e))
    }
}

/// One write of a batch for [`StateDb::apply`].
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

/// The answer to a check: the host (or `T`), or why not.
pub type Checked<T = String> = std::result::Result<T, Refusal>;

/// What the database knows of one host. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostState {
    pub name: String,
    pub token_issued_at: Option<i64>,
    pub token_expires_at: Option<i64>,
    pub enrolled_at: Option<i64>,
    pub enrolled_from: Option<String>,
    pub reset_at: Option<i64>,
}

fn insert_issued(conn: &Connection, record: &IssuedRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO issued (issued_at, serial, host, profile, ca, not_after, sha256)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        record.issued_at,
        record.serial,
        record.host,
        record.profile,
        record.ca,
        record.not_after,
        record.sha256
    ])
    .map(drop)
}

fn check_token(conn: &Connection, token: &PresentedToken, now: i64) -> rusqlite::Result<Checked> {
    let row = conn
        .prepare_cached(
            "SELECT t.host, t.secret_hash, t.expires_at, t.used_at IS NOT NULL,
                    h.enrolled_at IS NOT NULL
             FROM tokens t LEFT JOIN hosts h ON h.name = t.host WHERE t.id = ?1",
        )?
        .query_row(params![token.id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Vec<u8>>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, bool>(3)?,
                row.get::<_, Option<bool>>(4)?.unwrap_or(false),
            ))
        })
        .optional()?;
    let Some((host, hash, expires_at, spent, enrolled)) = row else {
        return Ok(Err(Refusal::InvalidToken));
    };
    Ok(if !token.matches(&hash) {
        Err(Refusal::InvalidToken)
    } else if spent {
        Err(Refusal::Spent)
    } else if now >= expires_at {
        Err(Refusal::Expired)
    } else if enrolled {
        Err(Refusal::Enrolled)
    } else {
        Ok(host)
    })
}

fn apply(conn: &mut Connection, ops: &[Op]) -> rusqlite::Result<Vec<Checked<()>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        match op {
            Op::Mint(tokens) => {
                for token in tokens {
                    tx.prepare_cached(
                        "INSERT INTO tokens (id, host, secret_hash, issued_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![
                        token.id,
                        token.host,
                        &token.secret_hash[..],
                        token.issued_at,
                        token.expires_at
                    ])?;
                    tx.prepare_cached(
                        "INSERT INTO hosts (name, token_issued_at, token_expires_at)
                         VALUES (?1, ?2, ?3)
                         ON CONFLICT (name) DO UPDATE SET
                           token_issued_at = excluded.token_issued_at,
                           token_expires_at = excluded.token_expires_at",
                    )?
                    .execute(params![
                        token.host,
                        token.issued_at,
                        token.expires_at
                    ])?;
                }
                results.push(Ok(()));
            }
            Op::Enroll(e) => {
                let verdict = match check_token(&tx, &e.token, e.now)? {
                    Ok(host) if host == e.host => Ok(()),
                    Ok(_) => Err(Refusal::InvalidToken),
                    Err(refusal) => Err(refusal),
                };
                if verdict.is_ok() {
                    tx.prepare_cached("UPDATE tokens SET used_at = ?2 WHERE id = ?1")?
                        .execute(params![e.token.id, e.now])?;
                    tx.prepare_cached(
                        "INSERT INTO hosts (name, enrolled_at, enrolled_from) VALUES (?1, ?2, ?3)
                         ON CONFLICT (name) DO UPDATE SET
                           enrolled_at = excluded.enrolled_at,
                           enrolled_from = excluded.enrolled_from",
                    )?
                    .execute(params![e.host, e.now, e.from])?;
                    for record in &e.issued {
                        insert_issued(&tx, record)?;
                    }
                }
                results.push(verdict);
            }
        }
    }
    tx.commit()?;
    Ok(results)
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let done = usize::try_from(version).unwrap_or(0);
    for (i, migration) in (0i64..).zip(MIGRATIONS).skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
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
        let mut db = StateDb::open(&path).unwrap();
        db.record_issued(&record("node1", "01")).unwrap();
        db.record_issued(&record("node2", "02")).unwrap();
        assert!(
            db.record_issued(&record("node2", "02")).is_err(),
            "serials are unique"
        );
        drop(db);

        let db = StateDb::open(&path).unwrap();
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
        let mut db = StateDb::open(&dir.path().join("state.db")).unwrap();
        let mint = |host: &str| crate::pki::mint_token(host, 100, 1000).unwrap();
        let (t1, t2, t3) = (mint("node1"), mint("node2"), mint("node1"));
        let ok = db
            .apply(&[Op::Mint(vec![t1.clone(), t2.clone(), t3.clone()])])
            .unwrap();
        assert_eq!(ok, vec![Ok(())]);

        let presented = crate::pki::parse_token(&t1.text).unwrap();
        assert_eq!(
            db.check_token(&presented, 1050).unwrap(),
            Ok("node1".into())
        );
        assert_eq!(
            db.check_token(&presented, 1100).unwrap(),
            Err(Refusal::Expired)
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
            vec![Err(Refusal::InvalidToken), Ok(()), Err(Refusal::Spent)]
        );
        let results = db.apply(&[enrollment(&t3, "node1", 1060)]).unwrap();
        assert_eq!(results, vec![Err(Refusal::Enrolled)]);

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
        assert_eq!(results, vec![Err(Refusal::Spent), Ok(())]);

        let states = db.host_states().unwrap();
        assert_eq!(states.len(), 2);
        assert_eq!(states[0].enrolled_at, Some(1080));
        assert_eq!(states[0].reset_at, Some(1070));
        assert_eq!(states[1].enrolled_at, None);
        assert_eq!(states[1].token_expires_at, Some(1100));
        assert_eq!(db.prune_tokens(1100 + TOKEN_RETENTION_SECS + 1).unwrap(), 3);
    }
}
