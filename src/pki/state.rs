//! `pki/state.db`: the embedded SQLite database that records every issued
//! certificate (and, later, bootstrap tokens and enrollment state).
//!
//! The schema is versioned with `PRAGMA user_version` and grows only by
//! appending to [`MIGRATIONS`]. Writes are committed with
//! `synchronous=FULL` in WAL mode, so a record is on disk before the
//! certificate it describes leaves coregen.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::error::{Error, Result};

/// Each entry moves the schema one version up; never edit a released one.
const MIGRATIONS: &[&str] = &["CREATE TABLE issued (
        id         INTEGER PRIMARY KEY,
        issued_at  TEXT NOT NULL,
        serial     TEXT NOT NULL UNIQUE,
        host       TEXT NOT NULL,
        profile    TEXT NOT NULL,
        ca         TEXT NOT NULL,
        not_after  TEXT NOT NULL,
        sha256     TEXT NOT NULL
    );
    CREATE INDEX issued_by_host ON issued (host);"];

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
            .map_err(|e| db_error(path, e))?;
        migrate(&mut conn).map_err(|e| db_error(path, e))?;
        Ok(StateDb { conn })
    }

    pub fn record_issued(&mut self, record: &IssuedRecord) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO issued (issued_at, serial, host, profile, ca, not_after, sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    record.issued_at,
                    record.serial,
                    record.host,
                    record.profile,
                    record.ca,
                    record.not_after,
                    record.sha256
                ],
            )
            .map(drop)
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
}
