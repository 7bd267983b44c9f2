//! The SQLite backend of [`Store`]: `pki/state.db`, an embedded database
//! on the provisioning machine.
//!
//! The schema is versioned with `PRAGMA user_version` and grows only by
//! appending to [`MIGRATIONS`]. Writes are committed with
//! `synchronous=FULL` in WAL mode, so a record is on disk before the
//! certificate it describes leaves coregen. One connection writes (write
//! transactions are `BEGIN IMMEDIATE`, so they take SQLite's write lock
//! first and see everything committed before them, by any process); reads
//! use a small pool of connections of their own, which WAL lets run
//! beside the writer.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Access, Delivered, HostState, IssuedRecord, Minter, Reason, Revocation, Sighting, Store,
    TokenRecord, Tx,
};
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
    // Times are Unix seconds.
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
    // A token's live index holds only what a mint or a reset looks at.
    // `delivered` keeps the certificate handed out under a token, beside
    // its audit record, so that a lost answer can be repeated. It is
    // appended to by rowid and has no index: an enrollment's rows are
    // consecutive, and the token's row says where they start
    // (`delivered_from`), which its spending writes anyway. Every index
    // is one more page scattered over the disk per enrollment, and the
    // enrollment rate is bound by the pages each commit writes.
    "ALTER TABLE tokens ADD COLUMN retired_at INTEGER;
    ALTER TABLE tokens ADD COLUMN minted_by TEXT NOT NULL DEFAULT 'render';
    ALTER TABLE tokens ADD COLUMN delivered_from INTEGER;
    CREATE INDEX tokens_by_host ON tokens (host, id) WHERE retired_at IS NULL;
    CREATE TABLE delivered (
        id          INTEGER PRIMARY KEY,
        serial      TEXT NOT NULL,
        token_id    TEXT NOT NULL,
        key_sha256  TEXT NOT NULL,
        certificate TEXT NOT NULL
    );",
    // Machines that asked for boot files and that no host matched. A
    // machine is its MAC and UUID as it asked ('' for one it did not
    // send, so that the pair can be the key).
    "CREATE TABLE machines (
        mac        TEXT NOT NULL,
        uuid       TEXT NOT NULL,
        address    TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL,
        requests   INTEGER NOT NULL,
        PRIMARY KEY (mac, uuid)
    );
    CREATE INDEX machines_by_last_seen ON machines (last_seen);",
    // Renewals: which certificate each replaces, and the nonces of the
    // renewal requests seen lately, so that a replayed request is refused.
    // The audit's host index gains the profile, for a host's latest
    // certificate of a profile.
    "ALTER TABLE issued ADD COLUMN renews TEXT;
    CREATE INDEX issued_by_host_profile ON issued (host, profile);
    CREATE TABLE nonces (
        nonce   TEXT PRIMARY KEY,
        host    TEXT NOT NULL,
        seen_at INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // Retirement and revocation. `revoked` is keyed by the serial as the
    // audit spells it, and read whole per CA for a CRL (a scan in serial
    // order: no index would make that cheaper). `crl_numbers` counts each
    // CA's changes to it, bumped in the transaction that makes the change.
    "ALTER TABLE hosts ADD COLUMN retired_at INTEGER;
    CREATE TABLE revoked (
        serial     TEXT PRIMARY KEY,
        ca         TEXT NOT NULL,
        host       TEXT NOT NULL,
        reason     TEXT NOT NULL,
        revoked_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE crl_numbers (
        ca     TEXT PRIMARY KEY,
        number INTEGER NOT NULL
    ) WITHOUT ROWID;",
];

/// The most certificates one enrollment hands out: a bound on the rowid
/// range read after a token's `delivered_from` (a host has a handful of
/// profiles; a request carries at most a dozen CSRs).
const MAX_DELIVERED: i64 = 64;

/// Idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 8;

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating with mode 0600 if needed) and migrates `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
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
        let mut conn = connect(path)?;
        migrate(&mut conn, path)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
        .and_then(|()| conn.busy_timeout(std::time::Duration::from_secs(10)))
        // The tables are small and a server keeps several connections:
        // 512 KiB of page cache each instead of SQLite's 2 MiB.
        .and_then(|()| conn.pragma_update(None, "cache_size", -512))
        .map_err(|e| db_error(path, e))?;
    Ok(conn)
}

fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::new(format!("state database {}", path.display())).with_source(e)
}

impl Store for SqliteStore {
    fn transaction(
        &self,
        access: Access,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<()> {
        let mut run = |conn: &mut Connection, behavior| {
            let tx = conn
                .transaction_with_behavior(behavior)
                .map_err(|e| db_error(&self.path, e))?;
            f(&mut SqliteTx {
                tx: &tx,
                path: &self.path,
            })?;
            tx.commit().map_err(|e| db_error(&self.path, e))
        };
        match access {
            Access::Write => {
                let mut conn = self.writer.lock().expect("no panic while holding it");
                run(&mut conn, TransactionBehavior::Immediate)
            }
            Access::Read => {
                let pooled = self.readers.lock().expect("not poisoned").pop();
                let mut conn = match pooled {
                    Some(conn) => conn,
                    None => connect(&self.path)?,
                };
                let result = run(&mut conn, TransactionBehavior::Deferred);
                let mut readers = self.readers.lock().expect("not poisoned");
                if readers.len() < MAX_IDLE_READERS {
                    readers.push(conn);
                }
                result
            }
        }
    }
}

struct SqliteTx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    path: &'a Path,
}

impl SqliteTx<'_> {
    fn err(&self, e: rusqlite::Error) -> Error {
        db_error(self.path, e)
    }
}

fn host_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<HostState> {
    Ok(HostState {
        name: row.get(0)?,
        token_issued_at: row.get(1)?,
        token_expires_at: row.get(2)?,
        enrolled_at: row.get(3)?,
        enrolled_from: row.get(4)?,
        reset_at: row.get(5)?,
        retired_at: row.get(6)?,
    })
}

fn revocation_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Revocation> {
    let reason = row.get_ref(3)?.as_str()?;
    Ok(Revocation {
        serial: row.get(0)?,
        ca: row.get(1)?,
        host: row.get(2)?,
        // Written by `as_str`; an unknown name (from a newer coregen) is
        // listed without a reason rather than failing the whole CRL.
        reason: reason.parse().unwrap_or(Reason::Unspecified),
        revoked_at: row.get(4)?,
    })
}

const REVOCATION_COLUMNS: &str = "serial, ca, host, reason, revoked_at";

fn token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.get(0)?,
        host: row.get(1)?,
        secret_hash: row.get(2)?,
        issued_at: row.get(3)?,
        expires_at: row.get(4)?,
        used_at: row.get(5)?,
        retired_at: row.get(6)?,
        minted_by: Minter::parse(row.get_ref(7)?.as_str()?),
    })
}

const TOKEN_COLUMNS: &str =
    "id, host, secret_hash, issued_at, expires_at, used_at, retired_at, minted_by";

/// An audit record from a row that starts with the `issued` columns in
/// this order: issued_at, serial, host, profile, ca, not_after, sha256,
/// renews.
fn issued_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<IssuedRecord> {
    Ok(IssuedRecord {
        issued_at: row.get(0)?,
        serial: row.get(1)?,
        host: row.get(2)?,
        profile: row.get(3)?,
        ca: row.get(4)?,
        not_after: row.get(5)?,
        sha256: row.get(6)?,
        renews: row.get(7)?,
    })
}

const HOST_COLUMNS: &str =
    "name, token_issued_at, token_expires_at, enrolled_at, enrolled_from, reset_at, retired_at";

impl Tx for SqliteTx<'_> {
    fn token(&mut self, id: &str) -> Result<Option<TokenRecord>> {
        self.tx
            .prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"))
            .and_then(|mut stmt| stmt.query_row(params![id], token_row).optional())
            .map_err(|e| self.err(e))
    }

    fn host(&mut self, name: &str) -> Result<Option<HostState>> {
        self.tx
            .prepare_cached(&format!("SELECT {HOST_COLUMNS} FROM hosts WHERE name = ?1"))
            .and_then(|mut stmt| stmt.query_row(params![name], host_row).optional())
            .map_err(|e| self.err(e))
    }

    fn hosts(&mut self) -> Result<Vec<HostState>> {
        self.tx
            .prepare_cached(&format!("SELECT {HOST_COLUMNS} FROM hosts ORDER BY name"))
            .and_then(|mut stmt| stmt.query_map([], host_row)?.collect())
            .map_err(|e| self.err(e))
    }

    fn issued(&mut self, host: Option<&str>) -> Result<Vec<IssuedRecord>> {
        self.tx
            .prepare_cached(
                "SELECT issued_at, serial, host, profile, ca, not_after, sha256, renews FROM issued
                 WHERE ?1 IS NULL OR host = ?1 ORDER BY id",
            )
            .and_then(|mut stmt| stmt.query_map(params![host], issued_row)?.collect())
            .map_err(|e| self.err(e))
    }

    fn put_token(&mut self, t: &TokenRecord) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO tokens
                   (id, host, secret_hash, issued_at, expires_at, used_at, retired_at, minted_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET
                   host = excluded.host, secret_hash = excluded.secret_hash,
                   issued_at = excluded.issued_at, expires_at = excluded.expires_at,
                   used_at = excluded.used_at, retired_at = excluded.retired_at,
                   minted_by = excluded.minted_by",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    t.id,
                    t.host,
                    t.secret_hash,
                    t.issued_at,
                    t.expires_at,
                    t.used_at,
                    t.retired_at,
                    t.minted_by.as_str()
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn spend_token(&mut self, id: &str, time: i64) -> Result<()> {
        // Only `used_at`: no index covers it, so SQLite rewrites the
        // token's own row and nothing else.
        self.tx
            .prepare_cached("UPDATE tokens SET used_at = ?2 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![id, time]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn put_host(&mut self, h: &HostState) -> Result<()> {
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO hosts ({HOST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (name) DO UPDATE SET
                   token_issued_at = excluded.token_issued_at,
                   token_expires_at = excluded.token_expires_at,
                   enrolled_at = excluded.enrolled_at,
                   enrolled_from = excluded.enrolled_from,
                   reset_at = excluded.reset_at,
                   retired_at = excluded.retired_at"
            ))
            .and_then(|mut stmt| {
                stmt.execute(params![
                    h.name,
                    h.token_issued_at,
                    h.token_expires_at,
                    h.enrolled_at,
                    h.enrolled_from,
                    h.reset_at,
                    h.retired_at
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn add_issued(&mut self, r: &IssuedRecord) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO issued
                   (issued_at, serial, host, profile, ca, not_after, sha256, renews)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    r.issued_at,
                    r.serial,
                    r.host,
                    r.profile,
                    r.ca,
                    r.not_after,
                    r.sha256,
                    r.renews
                ])
            })
            .map(drop)
            .map_err(|e| {
                Error::new("cannot record the issued certificate").with_source(self.err(e))
            })
    }

    fn add_delivered(&mut self, token_id: &str, d: &Delivered) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO delivered (serial, token_id, key_sha256, certificate)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    d.record.serial,
                    token_id,
                    d.key_sha256,
                    d.certificate
                ])
            })
            .and_then(|_| {
                self.tx.prepare_cached(
                    "UPDATE tokens SET delivered_from = coalesce(delivered_from, last_insert_rowid())
                     WHERE id = ?1",
                )
            })
            .and_then(|mut stmt| stmt.execute(params![token_id]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn delivered(&mut self, token_id: &str) -> Result<Vec<Delivered>> {
        self.tx
            .prepare_cached(
                "SELECT i.issued_at, i.serial, i.host, i.profile, i.ca, i.not_after, i.sha256,
                        i.renews, d.key_sha256, d.certificate
                 FROM tokens t
                 JOIN delivered d ON d.id >= t.delivered_from
                                 AND d.id < t.delivered_from + ?2
                                 AND d.token_id = t.id
                 JOIN issued i ON i.serial = d.serial
                 WHERE t.id = ?1 ORDER BY d.id",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![token_id, MAX_DELIVERED], |row| {
                    Ok(Delivered {
                        record: issued_row(row)?,
                        key_sha256: row.get(8)?,
                        certificate: row.get(9)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))
    }

    fn host_tokens(&mut self, host: &str) -> Result<Vec<TokenRecord>> {
        // The condition matches the partial index `tokens_by_host`.
        self.tx
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens
                 WHERE host = ?1 AND retired_at IS NULL ORDER BY id"
            ))
            .and_then(|mut stmt| stmt.query_map(params![host], token_row)?.collect())
            .map_err(|e| self.err(e))
    }

    fn delete_token(&mut self, id: &str) -> Result<()> {
        self.tx
            .prepare_cached(
                "DELETE FROM delivered WHERE token_id = ?1 AND id IN
                   (SELECT d.id FROM tokens t JOIN delivered d
                      ON d.id >= t.delivered_from AND d.id < t.delivered_from + ?2
                    WHERE t.id = ?1)",
            )
            .and_then(|mut stmt| stmt.execute(params![id, MAX_DELIVERED]))
            .and_then(|_| self.tx.prepare_cached("DELETE FROM tokens WHERE id = ?1"))
            .and_then(|mut stmt| stmt.execute(params![id]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn delete_tokens_expired_before(&mut self, time: i64) -> Result<usize> {
        self.tx
            .prepare_cached(
                "DELETE FROM delivered WHERE token_id IN
                   (SELECT id FROM tokens WHERE expires_at < ?1)",
            )
            .and_then(|mut stmt| stmt.execute(params![time]))
            .and_then(|_| {
                self.tx
                    .prepare_cached("DELETE FROM tokens WHERE expires_at < ?1")
            })
            .and_then(|mut stmt| stmt.execute(params![time]))
            .map_err(|e| self.err(e))
    }

    fn latest_serial(&mut self, host: &str, profile: &str) -> Result<Option<String>> {
        self.tx
            .prepare_cached(
                "SELECT serial FROM issued WHERE host = ?1 AND profile = ?2
                 ORDER BY id DESC LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![host, profile], |r| r.get(0))
                    .optional()
            })
            .map_err(|e| self.err(e))
    }

    fn use_nonce(&mut self, nonce: &str, host: &str, time: i64) -> Result<bool> {
        self.tx
            .prepare_cached(
                "INSERT INTO nonces (nonce, host, seen_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (nonce) DO NOTHING",
            )
            .and_then(|mut stmt| stmt.execute(params![nonce, host, time]))
            .map(|inserted| inserted == 1)
            .map_err(|e| self.err(e))
    }

    fn delete_nonces_before(&mut self, time: i64) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM nonces WHERE seen_at < ?1")
            .and_then(|mut stmt| stmt.execute(params![time]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn saw_machine(&mut self, seen: &Sighting) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO machines (mac, uuid, address, first_seen, last_seen, requests)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (mac, uuid) DO UPDATE SET
                   address = excluded.address,
                   last_seen = max(last_seen, excluded.last_seen),
                   requests = requests + excluded.requests",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    seen.mac.as_deref().unwrap_or(""),
                    seen.uuid.as_deref().unwrap_or(""),
                    seen.address,
                    seen.first_seen,
                    seen.last_seen,
                    seen.requests,
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn forget_machines_beyond(&mut self, keep: usize) -> Result<()> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.tx
            .prepare_cached(
                "DELETE FROM machines WHERE rowid IN (
                   SELECT rowid FROM machines ORDER BY last_seen DESC, rowid DESC
                   LIMIT -1 OFFSET ?1)",
            )
            .and_then(|mut stmt| stmt.execute(params![keep]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn machines(&mut self) -> Result<Vec<Sighting>> {
        let text = |s: String| (!s.is_empty()).then_some(s);
        self.tx
            .prepare_cached(
                "SELECT mac, uuid, address, first_seen, last_seen, requests FROM machines
                 ORDER BY last_seen DESC, rowid DESC",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |row| {
                    Ok(Sighting {
                        mac: text(row.get(0)?),
                        uuid: text(row.get(1)?),
                        address: row.get(2)?,
                        first_seen: row.get(3)?,
                        last_seen: row.get(4)?,
                        requests: row.get(5)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))
    }

    fn issued_serial(&mut self, serial: &str) -> Result<Option<IssuedRecord>> {
        self.tx
            .prepare_cached(
                "SELECT issued_at, serial, host, profile, ca, not_after, sha256, renews FROM issued
                 WHERE serial = ?1",
            )
            .and_then(|mut stmt| stmt.query_row(params![serial], issued_row).optional())
            .map_err(|e| self.err(e))
    }

    fn revocation(&mut self, serial: &str) -> Result<Option<Revocation>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {REVOCATION_COLUMNS} FROM revoked WHERE serial = ?1"
            ))
            .and_then(|mut stmt| stmt.query_row(params![serial], revocation_row).optional())
            .map_err(|e| self.err(e))
    }

    fn add_revocation(&mut self, r: &Revocation) -> Result<()> {
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO revoked ({REVOCATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
            ))
            .and_then(|mut stmt| {
                stmt.execute(params![
                    r.serial,
                    r.ca,
                    r.host,
                    r.reason.as_str(),
                    r.revoked_at
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn revocations(&mut self, ca: Option<&str>) -> Result<Vec<Revocation>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {REVOCATION_COLUMNS} FROM revoked
                 WHERE ?1 IS NULL OR ca = ?1 ORDER BY serial"
            ))
            .and_then(|mut stmt| stmt.query_map(params![ca], revocation_row)?.collect())
            .map_err(|e| self.err(e))
    }

    fn crl_number(&mut self, ca: &str) -> Result<u64> {
        self.tx
            .prepare_cached("SELECT number FROM crl_numbers WHERE ca = ?1")
            .and_then(|mut stmt| {
                stmt.query_row(params![ca], |row| row.get::<_, i64>(0))
                    .optional()
            })
            .map(|n| n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
            .map_err(|e| self.err(e))
    }

    fn set_crl_number(&mut self, ca: &str, number: u64) -> Result<()> {
        let number = i64::try_from(number).unwrap_or(i64::MAX);
        self.tx
            .prepare_cached(
                "INSERT INTO crl_numbers (ca, number) VALUES (?1, ?2)
                 ON CONFLICT (ca) DO UPDATE SET number = excluded.number",
            )
            .and_then(|mut stmt| stmt.execute(params![ca, number]))
            .map(drop)
            .map_err(|e| self.err(e))
    }
}

/// Brings the schema up to date. Each step runs in a write transaction
/// that reads the version again inside it, so two processes opening an
/// old database at once (a `serve` and a `render`) migrate it once. A
/// database from a newer coregen is refused: an older one would ignore
/// what it does not know (retired tokens, say) and break its rules.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_error(path, e))?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| db_error(path, e))?;
        let done = usize::try_from(version).unwrap_or(0);
        if done > MIGRATIONS.len() {
            return Err(Error::new(format!(
                "state database {} has schema version {version}, newer than this coregen knows \
                 ({}): use the coregen that wrote it, or a newer one",
                path.display(),
                MIGRATIONS.len()
            )));
        }
        let Some(migration) = MIGRATIONS.get(done) else {
            return Ok(());
        };
        tx.execute_batch(migration)
            .and_then(|()| tx.pragma_update(None, "user_version", version + 1))
            .and_then(|()| tx.commit())
            .map_err(|e| db_error(path, e))?;
    }
}
