//! SQLite engine: one file in WAL mode, one writer thread with group
//! commit, a small pool of read-only connections.
//!
//! Why this shape: SQLite allows one writer at a time, and with
//! `synchronous=FULL` every commit is an fsync (a few ms on real disks).
//! One commit per report would cap ingest at a few hundred reports/s; a
//! single writer that commits everything queued at once (each report in its
//! own savepoint, so one bad report does not sink the others) pays one
//! fsync per batch instead. Readers never wait for it: WAL lets them read
//! the last committed state while the writer works. No SQLite call runs on
//! the async runtime's threads.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::counts;
use super::schema::{self, MIGRATIONS, MIGRATIONS_TABLE};
use super::{
    FindingQuery, FleetFinding, IngestOutcome, NodeRow, ReportRow, Role, StoreError, TokenRow,
};
use crate::collector::ingest::{FindingRow, NewReport};

/// Most requests one commit carries: bounds the latency of the first one.
const BATCH_MAX: usize = 256;
/// Queued write requests before senders wait (back-pressure on ingest).
const QUEUE: usize = 1024;
/// Read-only connections (and concurrent reads).
const READERS: usize = 4;
/// How long a statement waits for another process's lock (e.g. a
/// `collector enroll` run next to a live collector) before failing.
const BUSY: Duration = Duration::from_millis(5000);

/// What the writer thread answers a request with once its batch committed
/// (`Some(reason)` when the commit failed).
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;
/// A write request: runs on the writer's connection inside an open
/// transaction (or, given `Err(reason)`, only records that it cannot run);
/// says whether it left the transaction unusable.
type Job = Box<dyn FnOnce(Result<&Connection, &str>) -> (Finish, bool) + Send>;

/// The sqlite engine.
pub struct SqliteStore {
    writer: mpsc::Sender<Job>,
    readers: Arc<Readers>,
}

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl SqliteStore {
    /// Opens (creating it, mode 0600) and migrates the database file at `path`.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let path = PathBuf::from(path);
        let p = path.clone();
        let conn = tokio::task::spawn_blocking(move || open_writer(&p))
            .await
            .map_err(|e| StoreError::Other(format!("sqlite open task: {e}")))??;
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StoreError::Other(format!("cannot start the sqlite writer: {e}")))?;
        Ok(SqliteStore {
            writer: tx,
            readers: Arc::new(Readers {
                path,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(READERS)),
            }),
        })
    }

    /// Inserts or replaces the tokens of these names, in one transaction.
    pub async fn enroll(
        &self,
        rows: &[(&str, &super::token::NewToken)],
        role: Role,
    ) -> Result<(), StoreError> {
        let rows: Vec<(String, String, String)> = rows
            .iter()
            .map(|(n, t)| (n.to_string(), t.id.clone(), t.hash.clone()))
            .collect();
        let now = super::now_ms();
        self.write(move |c| enroll_tx(c, &rows, role, now)).await
    }

    /// Marks the name's token revoked; false when the name is unknown.
    pub async fn revoke(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_string();
        let now = super::now_ms();
        self.write(move |c| {
            // Nulling the token fields (not only stamping revoked_at) means
            // no query can ever match the old token again.
            let n = c
                .prepare_cached(
                    "UPDATE principals SET revoked_at = COALESCE(revoked_at, ?2), \
                     token_id = NULL, token_hash = NULL WHERE name = ?1",
                )?
                .execute(params![name, now])?;
            Ok(n > 0)
        })
        .await
    }

    /// The unrevoked token row with this ID.
    pub async fn token_row(&self, id: &str) -> Result<Option<TokenRow>, StoreError> {
        let id = id.to_string();
        self.read(move |c| {
            let row = c
                .prepare_cached(
                    "SELECT name, role, token_hash FROM principals \
                     WHERE token_id = ?1 AND revoked_at IS NULL AND token_hash IS NOT NULL",
                )?
                .query_row([&id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .optional()?;
            Ok(row.map(|(name, role, hash)| TokenRow {
                name,
                role: role_of(&role),
                hash,
            }))
        })
        .await
    }

    /// Stores one report (in the next group commit).
    pub async fn ingest(
        &self,
        node: &str,
        r: &NewReport,
        now_ms: i64,
    ) -> Result<IngestOutcome, StoreError> {
        let node = node.to_string();
        let r = r.clone();
        self.write(move |c| ingest_tx(c, &node, &r, now_ms)).await
    }

    /// Nodes with their latest report, in one query.
    pub async fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT p.name, p.enrolled_at, p.revoked_at IS NOT NULL, {REPORT_COLS} \
                 FROM principals p \
                 LEFT JOIN node_latest l ON l.node = p.name \
                 LEFT JOIN reports r ON r.run_id = l.run_id \
                 WHERE p.role = 'node' ORDER BY p.name"
            ))?;
            let rows = st.query_map([], node_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// A node's reports, newest first; `None` when no node has this name.
    pub async fn node_reports(
        &self,
        node: &str,
        limit: u32,
    ) -> Result<Option<Vec<ReportRow>>, StoreError> {
        let node = node.to_string();
        let limit = schema::limit(limit);
        self.read(move |c| {
            // One read transaction: the node check and its reports see the
            // same snapshot.
            let tx = c.transaction()?;
            let known = tx
                .prepare_cached("SELECT 1 FROM principals WHERE name = ?1 AND role = 'node'")?
                .exists([&node])?;
            if !known {
                return Ok(None);
            }
            let mut st = tx.prepare_cached(&format!(
                "SELECT {REPORT_COLS} FROM reports r WHERE r.node = ?1 \
                 ORDER BY r.started_at DESC, r.run_id DESC LIMIT ?2"
            ))?;
            let rows = st
                .query_map(params![node, limit], |row| report_row(row, 0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(rows))
        })
        .await
    }

    /// Findings of every node's latest report, filtered and sorted.
    pub async fn findings(&self, q: &FindingQuery) -> Result<Vec<FleetFinding>, StoreError> {
        let q = q.clone();
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {} {} ORDER BY l.node, f.seq LIMIT ?7",
                pages::COLS,
                pages::FROM
            ))?;
            let rows = st.query_map(
                params![
                    q.check,
                    q.status,
                    q.severity,
                    q.node,
                    q.layout,
                    q.target,
                    schema::limit(q.limit)
                ],
                fleet_finding,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Retention: picks victims on a reader (the window scan never holds
    /// the write lock), then deletes them in the writer's next commit.
    pub async fn prune_batch(&self, args: [i64; 4]) -> Result<u64, StoreError> {
        let victims: Vec<String> = self
            .read(move |c| {
                let mut st = c.prepare_cached(&schema::retention_victims(false))?;
                let rows = st.query_map(params![args[0], args[1], args[2], args[3]], |r| {
                    r.get::<_, String>(0)
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        if victims.is_empty() {
            return Ok(0);
        }
        self.write(move |c| {
            // A victim is never a node's latest later on (the pointer only
            // moves to a report stored after it), so the pick stays valid.
            let mut n = 0u64;
            for id in &victims {
                c.prepare_cached("DELETE FROM findings WHERE run_id = ?1")?
                    .execute([id])?;
                c.prepare_cached("DELETE FROM report_bodies WHERE run_id = ?1")?
                    .execute([id])?;
                n += c
                    .prepare_cached("DELETE FROM reports WHERE run_id = ?1")?
                    .execute([id])? as u64;
            }
            Ok(n)
        })
        .await
    }

    #[cfg(test)]
    pub(super) async fn raw_execute(&self, sql: &'static str) {
        self.write(move |c| Ok(c.execute_batch(sql)?))
            .await
            .expect("raw SQL runs");
    }

    /// Runs `f` in the writer thread's next group commit; answers once the
    /// batch is durable (or failed).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let (result, broken) = match conn {
                Ok(conn) => in_savepoint(conn, f),
                Err(why) => (Err(StoreError::Other(format!("sqlite: {why}"))), false),
            };
            let finish: Finish = Box::new(move |commit_err| {
                let result = match (result, commit_err) {
                    (Ok(_), Some(e)) => Err(StoreError::Other(format!(
                        "sqlite commit failed, nothing stored: {e}"
                    ))),
                    (r, _) => r,
                };
                // The caller may have gone away (client disconnected); the
                // write is done either way.
                let _ = reply.send(result);
            });
            (finish, broken)
        });
        self.writer.send(job).await.map_err(|_| writer_gone())?;
        rx.await.map_err(|_| writer_gone())?
    }

    /// Runs `f` on a pooled read-only connection off the async runtime.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let permit = Arc::clone(&self.readers.permits)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Other(format!("sqlite reader pool: {e}")))?;
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let idle = lock(&readers.idle).pop();
            let mut conn = match idle {
                Some(c) => c,
                None => open_reader(&readers.path)?,
            };
            let result = f(&mut conn);
            lock(&readers.idle).push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Other(format!("sqlite reader task: {e}")))?
    }
}

/// The report columns `report_row` reads, from alias `r`.
const REPORT_COLS: &str = "r.run_id, r.node, r.started_at, r.received_at, r.hostname, \
     r.barbican_version, r.tool_version, r.status, r.pass, r.fail, r.error, r.na, r.waived, \
     r.failing";

/// A node with its latest report (columns: name, enrolled, revoked, then
/// the report's from column 3, null when it never reported).
pub(super) fn node_row(row: &Row<'_>) -> rusqlite::Result<NodeRow> {
    let latest = match row.get::<_, Option<String>>(3)? {
        Some(_) => Some(report_row(row, 3)?),
        None => None,
    };
    Ok(NodeRow {
        name: row.get(0)?,
        enrolled_ms: row.get(1)?,
        revoked: row.get(2)?,
        latest,
    })
}

fn report_row(row: &Row<'_>, at: usize) -> rusqlite::Result<ReportRow> {
    Ok(ReportRow {
        run_id: row.get(at)?,
        node: row.get(at + 1)?,
        started_at_ms: row.get(at + 2)?,
        received_at_ms: row.get(at + 3)?,
        hostname: row.get(at + 4)?,
        barbican_version: row.get(at + 5)?,
        tool_version: row.get(at + 6)?,
        status: row.get(at + 7)?,
        summary: [
            row.get(at + 8)?,
            row.get(at + 9)?,
            row.get(at + 10)?,
            row.get(at + 11)?,
            row.get(at + 12)?,
        ],
        failing: schema::split_failing(&row.get::<_, String>(at + 13)?),
    })
}

fn role_of(s: &str) -> Role {
    // The CHECK constraint allows only these two.
    if s == "viewer" {
        Role::Viewer
    } else {
        Role::Node
    }
}

fn writer_gone() -> StoreError {
    StoreError::Other("the sqlite writer has stopped (see earlier errors)".into())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A reader that panicked left a valid Vec behind: keep using it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Creates the file 0600 if missing (it holds token hashes and reports; the
/// -wal and -shm files SQLite creates copy its mode), opens it read-write,
/// sets the PRAGMAs and migrates.
fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    if path.as_os_str().is_empty() {
        return Err(StoreError::Url(
            "sqlite:// needs a file path, e.g. sqlite:///var/lib/barbican-audit-collector/collector.db"
                .into(),
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(StoreError::Other(format!(
            "database directory {} does not exist (create it, owned by the collector's user)",
            dir.display()
        )));
    }
    create_private(path)?;
    // SQLite opens a FIFO or device and then fails with a bare "disk I/O
    // error"; refuse anything but a regular file first, naming the path.
    crate::userfile::check_output_target(path).map_err(|e| StoreError::Other(e.to_string()))?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Other(format!(
            "{}: cannot switch to WAL mode (got {mode})",
            path.display()
        )));
    }
    // FULL: an acknowledged report survives power loss, not only a crash.
    // Group commit keeps the fsync cost per batch, not per report.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(32);
    migrate(&conn)?;
    Ok(conn)
}

#[cfg(unix)]
fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Other(format!("{}: {e}", path.display()))),
    }
}

#[cfg(not(unix))]
fn create_private(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY)?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

/// Applies the missing migrations. `BEGIN IMMEDIATE` takes the write lock
/// first, so two processes opening a fresh file do not both migrate it.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        conn.execute_batch(MIGRATIONS_TABLE)?;
        let current: i64 = conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?;
        if current > schema::latest() {
            return Err(schema::too_new(current));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            conn.execute_batch(sql)?;
            if *version == 2 {
                backfill_v2(conn)?;
            }
            if *version == 3 {
                backfill_v3(conn)?;
            }
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, super::now_ms()],
            )?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Runs `f` inside `SAVEPOINT job`: its error undoes only its own writes.
/// The bool says the surrounding transaction is gone (SQLite rolls back the
/// whole transaction on some errors, e.g. disk full), so the batch must fail.
fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> (Result<T, StoreError>, bool) {
    if let Err(e) = conn.execute_batch("SAVEPOINT job") {
        return (Err(e.into()), true);
    }
    let result = f(conn);
    let end = if result.is_ok() {
        conn.execute_batch("RELEASE job")
    } else {
        conn.execute_batch("ROLLBACK TO job; RELEASE job")
    };
    let broken = end.is_err() || conn.is_autocommit();
    match (result, end) {
        (Ok(_), Err(e)) => (Err(e.into()), true),
        (r, _) => (r, broken),
    }
}

/// The writer thread: waits for a request, takes whatever else is queued,
/// commits them together, answers them. Ends when the store is dropped.
fn writer_loop(conn: Connection, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(BATCH_MAX);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < BATCH_MAX {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&conn, &mut batch);
    }
}

fn run_batch(conn: &Connection, batch: &mut Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Another process held the lock past busy_timeout, or the disk is
        // gone: fail this batch, keep serving (the next one may succeed).
        let why = format!("cannot start a write transaction: {e}");
        for job in batch.drain(..) {
            let (finish, _) = job(Err(&why));
            finish(None);
        }
        return;
    }
    let mut done: Vec<Finish> = Vec::with_capacity(batch.len());
    let mut broken = false;
    for job in batch.drain(..) {
        // After a job broke the transaction, the rest must not run in
        // autocommit mode: they are answered with the batch's failure.
        let (finish, b) = if broken {
            job(Err("skipped: the batch's transaction was aborted"))
        } else {
            job(Ok(conn))
        };
        done.push(finish);
        broken |= b;
    }
    let commit_err = if broken {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        Some("the transaction was aborted by an earlier error in the batch".to_string())
    } else {
        match conn.execute_batch("COMMIT") {
            Ok(()) => None,
            Err(e) => {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                Some(e.to_string())
            }
        }
    };
    for finish in done {
        finish(commit_err.as_deref());
    }
}

fn enroll_tx(
    c: &Connection,
    rows: &[(String, String, String)],
    role: Role,
    now: i64,
) -> Result<(), StoreError> {
    // Same role: rotate the token and lift a revocation. Other role: the
    // WHERE makes the upsert a no-op, which we turn into an error (and the
    // savepoint undoes the names before it).
    let mut st = c.prepare_cached(
        "INSERT INTO principals (name, role, token_id, token_hash, enrolled_at, revoked_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, NULL) \
         ON CONFLICT (name) DO UPDATE SET token_id = excluded.token_id, \
            token_hash = excluded.token_hash, revoked_at = NULL \
         WHERE principals.role = excluded.role",
    )?;
    for (name, id, hash) in rows {
        let n = st.execute(params![name, role.as_str(), id, hash, now])?;
        if n == 0 {
            return Err(schema::name_taken(name, role));
        }
    }
    Ok(())
}

fn ingest_tx(
    c: &Connection,
    node: &str,
    r: &NewReport,
    now: i64,
) -> Result<IngestOutcome, StoreError> {
    let s = &r.summary;
    let inserted = c
        .prepare_cached(
            "INSERT INTO reports (run_id, node, started_at, received_at, body_sha256, \
                hostname, barbican_version, tool_version, catalog_sha256, \
                pass, fail, error, na, waived, status, failing, layout) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
             ON CONFLICT (run_id) DO NOTHING",
        )?
        .execute(params![
            r.run_id,
            node,
            r.started_at_ms,
            now,
            r.body_sha256,
            r.hostname,
            r.barbican_version,
            r.tool_version,
            r.catalog_sha256,
            schema::count(s.pass),
            schema::count(s.fail),
            schema::count(s.error),
            schema::count(s.na),
            schema::count(s.waived),
            r.status,
            schema::join_failing(&r.failing),
            r.layout,
        ])?;
    if inserted == 0 {
        let (stored_node, stored_sha): (String, String) = c
            .prepare_cached("SELECT node, body_sha256 FROM reports WHERE run_id = ?1")?
            .query_row([&r.run_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        return Ok(if stored_node == node && stored_sha == r.body_sha256 {
            IngestOutcome::Duplicate
        } else {
            IngestOutcome::Conflict
        });
    }
    c.prepare_cached("INSERT INTO report_bodies (run_id, body) VALUES (?1, ?2)")?
        .execute(params![r.run_id, r.body])?;
    let mut st = c.prepare_cached(
        "INSERT INTO findings \
            (run_id, seq, check_id, severity, status, subject, title, message, target) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (seq, f) in r.findings.iter().enumerate() {
        st.execute(params![
            r.run_id,
            schema::count(seq),
            f.check_id,
            f.severity,
            f.status,
            f.subject,
            f.title,
            f.message,
            f.target
        ])?;
    }
    let old = latest_counts(c, node)?;
    // Reports arrive out of order (an agent drains its spool newest-last or
    // not at all in order): the pointer moves only forward in started_at, a
    // start in the future counting as received_at + MAX_CLOCK_AHEAD_MS (else one
    // report from a clock once wrong would stay latest forever). RETURNING
    // answers a row only when the pointer moved: then latest_counts moves too.
    let moved = c
        .prepare_cached(
            "INSERT INTO node_latest \
            (node, run_id, started_at, received_at, layout, status, failing) \
         VALUES (?1, ?2, ?3, ?4, ?6, ?7, ?8) \
         ON CONFLICT (node) DO UPDATE SET run_id = excluded.run_id, \
            started_at = excluded.started_at, received_at = excluded.received_at, \
            layout = excluded.layout, status = excluded.status, failing = excluded.failing \
         WHERE min(excluded.started_at, excluded.received_at + ?5) \
              > min(node_latest.started_at, node_latest.received_at + ?5) \
            OR (min(excluded.started_at, excluded.received_at + ?5) \
                = min(node_latest.started_at, node_latest.received_at + ?5) \
              AND excluded.run_id > node_latest.run_id) \
         RETURNING run_id",
        )?
        .query_row(
            params![
                node,
                r.run_id,
                r.started_at_ms,
                now,
                super::MAX_CLOCK_AHEAD_MS,
                r.layout,
                r.status,
                schema::join_failing(&r.failing)
            ],
            |_| Ok(()),
        )
        .optional()?;
    if moved.is_some() {
        let kinds = || {
            r.findings
                .iter()
                .map(|f| (f.check_id.as_str(), f.severity.as_str(), f.status.as_str()))
        };
        c.prepare_cached(
            "INSERT INTO node_tally (node, tally) VALUES (?1, ?2) \
             ON CONFLICT (node) DO UPDATE SET tally = excluded.tally",
        )?
        .execute(params![node, counts::tally(kinds())])?;
        let new = counts::contributions(&r.layout, kinds());
        add_counts(c, counts::shard(node), &counts::delta(old, new))?;
    }
    Ok(IngestOutcome::Created)
}

/// Read queries of the dashboard pages (a child module: it uses the reader pool).
#[path = "pages_sqlite.rs"]
mod pages;

/// One row of the fleet findings queries (both `findings` and the paged
/// list): node, run id, start, then the finding's columns, in that order.
pub(crate) fn fleet_finding(row: &rusqlite::Row<'_>) -> rusqlite::Result<FleetFinding> {
    Ok(FleetFinding {
        node: row.get(0)?,
        run_id: row.get(1)?,
        started_at_ms: row.get(2)?,
        seq: row.get(9)?,
        finding: FindingRow {
            check_id: row.get(3)?,
            severity: row.get(4)?,
            status: row.get(5)?,
            subject: row.get(6)?,
            title: row.get(7)?,
            message: row.get(8)?,
            target: row.get(10)?,
        },
    })
}

/// The node's current latest report's layout and its findings'
/// `(check_id, severity, status)` (`None` before its first report).
fn latest_kinds(c: &Connection, node: &str) -> Result<Option<counts::Kinds>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT COALESCE(r.layout, 'unknown'), f.check_id, f.severity, f.status \
         FROM node_latest l JOIN reports r ON r.run_id = l.run_id \
         LEFT JOIN findings f ON f.run_id = l.run_id WHERE l.node = ?1",
    )?;
    let rows = st
        .query_map([node], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(counts::kinds(rows))
}

/// What the node's current latest report contributes to `latest_counts`
/// (`None` before its first report): from its tally, or (none kept) from
/// its findings.
fn latest_counts(c: &Connection, node: &str) -> Result<Option<counts::Counts>, StoreError> {
    let row: Option<(String, Option<String>)> = c
        .prepare_cached(
            "SELECT COALESCE(l.layout, 'unknown'), t.tally \
             FROM node_latest l LEFT JOIN node_tally t ON t.node = l.node WHERE l.node = ?1",
        )?
        .query_row([node], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((layout, tally)) = row else {
        return Ok(None);
    };
    if let Some(entries) = tally.as_deref().and_then(counts::parse_tally) {
        return Ok(Some(counts::weighted(&layout, entries)));
    }
    Ok(latest_kinds(c, node)?.map(|k| k.contributions()))
}

/// Adds `delta` to `latest_counts` in `shard`.
fn add_counts(
    c: &Connection,
    shard: i32,
    delta: &[(counts::Key, i64, i64)],
) -> Result<(), StoreError> {
    let mut st = c.prepare_cached(
        "INSERT INTO latest_counts (check_id, severity, status, layout, shard, findings, nodes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (check_id, severity, status, layout, shard) DO UPDATE SET \
            findings = findings + excluded.findings, nodes = nodes + excluded.nodes",
    )?;
    for ((check, sev, status, layout), f, n) in delta {
        st.execute(params![check, sev, status, layout, shard, f, n])?;
    }
    Ok(())
}

/// Version 2 on a database with reports: each node's latest report gets
/// its layout and targets from its stored body, and `latest_counts` the
/// sum of every latest report (same transaction as the DDL).
fn backfill_v2(c: &Connection) -> Result<(), StoreError> {
    let latest: Vec<(String, String, String)> = c
        .prepare(
            "SELECT l.node, l.run_id, b.body FROM node_latest l \
             JOIN report_bodies b ON b.run_id = l.run_id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (node, run_id, body) in &latest {
        let (layout, targets) = counts::body_layout_targets(body);
        c.execute(
            "UPDATE reports SET layout = ?2 WHERE run_id = ?1",
            params![run_id, layout],
        )?;
        c.execute(
            "UPDATE node_latest SET layout = ?2 WHERE node = ?1",
            params![node, layout],
        )?;
        for (seq, t) in targets.iter().enumerate() {
            if let Some(t) = t {
                c.execute(
                    "UPDATE findings SET target = ?3 WHERE run_id = ?1 AND seq = ?2",
                    params![run_id, schema::count(seq), t],
                )?;
            }
        }
        if let Some(k) = latest_kinds(c, node)? {
            add_counts(
                c,
                counts::shard(node),
                &counts::delta(None, k.contributions()),
            )?;
        }
    }
    Ok(())
}

/// The fleet page's query (a child module: it uses the reader pool).
#[path = "fleet_sqlite.rs"]
mod fleet;

/// Version 3 on a database with reports: each node's tally, from its latest
/// report's findings (same transaction as the DDL).
fn backfill_v3(c: &Connection) -> Result<(), StoreError> {
    let nodes: Vec<String> = c
        .prepare("SELECT node FROM node_latest")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for node in &nodes {
        if let Some(k) = latest_kinds(c, node)? {
            c.execute(
                "INSERT INTO node_tally (node, tally) VALUES (?1, ?2)",
                params![node, k.tally()],
            )?;
        }
    }
    Ok(())
}
