//! PostgreSQL engine: a small pool of tokio-postgres clients, each with its
//! statements prepared once; TLS to the server through rustls when the URL
//! asks for it (`sslmode`, `sslrootcert`: see [`super::pg_tls`]).
//!
//! Concurrency is the server's job here: each ingest is its own short
//! transaction, and the `ON CONFLICT` forms make two collectors (or two
//! retries) racing on the same run ID end as one `Created` and one
//! `Duplicate`/`Conflict`, never an error. A transaction the server aborts
//! as a deadlock or serialisation failure is run again (a few times).
//!
//! When the server goes away (restart, failover), the statements fail,
//! their clients are dropped from the pool, and the next request connects
//! afresh: in between, the HTTP layer answers 503 and agents keep the
//! report in their spool.
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Row, Statement};

use super::counts;
use super::pg_tls::{self, MakeRustls};
use super::schema::{self, MIGRATIONS, MIGRATIONS_TABLE};
use super::{
    FindingQuery, FleetFinding, IngestOutcome, NodeRow, ReportRow, Role, StoreError, TokenRow,
};
use crate::collector::ingest::{FindingRow, NewReport};

/// Clients in the pool (and concurrent statements against the server).
const POOL: usize = 8;
/// Extra runs of a transaction the server aborted as a deadlock or
/// serialisation failure.
const RETRIES: u32 = 3;
/// Key of the advisory lock that serialises migrations ("bataudit").
const MIGRATION_LOCK: i64 = 0x6261_7461_7564_6974;
/// Key of the advisory lock one retention batch holds ("batretnt").
const RETENTION_LOCK: i64 = 0x6261_7472_6574_6e74;

/// The postgres engine.
pub struct PgStore {
    pool: Arc<Pool>,
}

struct Pool {
    config: Config,
    tls: MakeRustls,
    /// The URL without user and password, for connection errors.
    shown: String,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    /// The number of the next client connected (see [`Conn::shard`]).
    next: AtomicU32,
}

/// A client and the statements it has prepared (they live per session).
struct Conn {
    client: Client,
    stmts: HashMap<&'static str, Statement>,
    /// The `latest_counts` shard this client's ingests add to. Each client
    /// of a pool has its own (the pool's clients are numbered from a
    /// random start, so two replicas' clients mostly differ too), so two
    /// ingests of this process never wait for each other's summary rows;
    /// any shard is right, since readers sum them.
    shard: i32,
}

impl Conn {
    async fn stmt(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await?;
        self.stmts.insert(sql, s.clone());
        Ok(s)
    }
}

/// A checked-out client; goes back to the pool on drop unless its
/// connection has closed (the next checkout then connects afresh).
struct Lease {
    pool: Arc<Pool>,
    conn: Option<Conn>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    fn conn(&mut self) -> Result<&mut Conn, StoreError> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Other("postgres client already returned".into()))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            if !c.client.is_closed() {
                lock(&self.pool.idle).push(c);
            }
        }
    }
}

/// A failure that running the transaction again can cure.
fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn connect(
    config: &Config,
    tls: &MakeRustls,
    shown: &str,
    number: u32,
) -> Result<Conn, StoreError> {
    // The URL (without user and password) in the message: a refused TLS handshake or
    // login must say which server and settings it was.
    let (client, connection) = config
        .connect(tls.clone())
        .await
        .map_err(|e| StoreError::Connect(format!("{shown}: {}", pg_tls::with_causes(&e))))?;
    // The connection task ends when the client is dropped or the server
    // goes away; the client then reports is_closed() and is replaced.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Conn {
        client,
        stmts: HashMap::new(),
        shard: i32::try_from(number % counts::SHARDS.unsigned_abs()).unwrap_or(0),
    })
}

impl Pool {
    async fn get(self: &Arc<Self>) -> Result<Lease, StoreError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Other(format!("postgres pool: {e}")))?;
        let idle = {
            let mut idle = lock(&self.idle);
            let mut found = None;
            while let Some(c) = idle.pop() {
                if !c.client.is_closed() {
                    found = Some(c);
                    break;
                }
            }
            found
        };
        let conn = match idle {
            Some(c) => c,
            None => {
                let number = self.next.fetch_add(1, Ordering::Relaxed);
                connect(&self.config, &self.tls, &self.shown, number).await?
            }
        };
        Ok(Lease {
            pool: Arc::clone(self),
            conn: Some(conn),
            _permit: permit,
        })
    }
}

macro_rules! report_cols {
    () => {
        "r.run_id, r.node, r.started_at, r.received_at, r.hostname, r.barbican_version, \
         r.tool_version, r.status, r.pass, r.fail, r.error, r.na, r.waived, r.failing"
    };
}

const TOKEN_ROW: &str = "SELECT name, role, token_hash FROM principals \
     WHERE token_id = $1 AND revoked_at IS NULL AND token_hash IS NOT NULL";

const ENROLL: &str =
    "INSERT INTO principals (name, role, token_id, token_hash, enrolled_at, revoked_at) \
     SELECT n, $2::TEXT, i, h, $5::BIGINT, NULL \
     FROM UNNEST($1::TEXT[], $3::TEXT[], $4::TEXT[]) AS u (n, i, h) \
     ON CONFLICT (name) DO UPDATE SET token_id = excluded.token_id, \
        token_hash = excluded.token_hash, revoked_at = NULL \
     WHERE principals.role = excluded.role \
     RETURNING name";

const REVOKE: &str = "UPDATE principals SET revoked_at = COALESCE(revoked_at, $2), \
     token_id = NULL, token_hash = NULL WHERE name = $1";

/// The report, its body and its findings, in one statement (one round
/// trip); nothing when the run ID is stored already (`DO NOTHING` answers
/// no row, and the body and findings select from that answer). The
/// foreign keys of the body and findings are checked at the statement's
/// end, when the report row is there.
const INSERT_REPORT: &str = "WITH r AS ( \
        INSERT INTO reports (run_id, node, started_at, received_at, \
            body_sha256, hostname, barbican_version, tool_version, catalog_sha256, \
            pass, fail, error, na, waived, status, failing, layout) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
        ON CONFLICT (run_id) DO NOTHING RETURNING run_id), \
     b AS (INSERT INTO report_bodies (run_id, body) SELECT run_id, $18 FROM r), \
     f AS (INSERT INTO findings \
            (run_id, seq, check_id, severity, status, subject, title, message, target) \
        SELECT r.run_id, s, c, sv, st, sb, t, m, tg \
        FROM r, UNNEST($19::INTEGER[], $20::TEXT[], $21::TEXT[], $22::TEXT[], $23::TEXT[], \
                 $24::TEXT[], $25::TEXT[], $26::TEXT[]) AS u (s, c, sv, st, sb, t, m, tg)) \
     SELECT run_id FROM r";

const STORED_REPORT: &str = "SELECT node, body_sha256 FROM reports WHERE run_id = $1";

/// Moves the node's latest pointer forward in started_at, a start in the
/// future counting as received_at + MAX_CLOCK_AHEAD_MS ($5): see the
/// SQLite engine. When it moved, the node's tally follows in the same statement (a row
/// answered means the pointer moved).
const MOVE_LATEST: &str = "WITH moved AS (INSERT INTO node_latest \
        (node, run_id, started_at, received_at, layout, status, failing) \
     VALUES ($1, $2, $3, $4, $6, $7, $8) \
     ON CONFLICT (node) DO UPDATE SET run_id = excluded.run_id, \
        started_at = excluded.started_at, received_at = excluded.received_at, \
        layout = excluded.layout, status = excluded.status, failing = excluded.failing \
     WHERE LEAST(excluded.started_at, excluded.received_at + $5) \
          > LEAST(node_latest.started_at, node_latest.received_at + $5) \
        OR (LEAST(excluded.started_at, excluded.received_at + $5) \
            = LEAST(node_latest.started_at, node_latest.received_at + $5) \
          AND excluded.run_id > node_latest.run_id) \
     RETURNING node) \
     INSERT INTO node_tally (node, tally) SELECT node, $9 FROM moved \
     ON CONFLICT (node) DO UPDATE SET tally = excluded.tally RETURNING node";

/// Serialises the transactions that move one node's latest pointer (two
/// replicas storing two reports of the node at once), so each reads the
/// pointer it replaces and `latest_counts` moves by exactly that. Held to
/// commit; other nodes are not held up (a hash collision only queues two
/// nodes behind each other).
const LOCK_NODE: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))";

/// The node's current latest report's layout and tally (no row: none yet;
/// a NULL tally: read [`LATEST_FINDINGS`]).
const LATEST_TALLY: &str = "SELECT COALESCE(l.layout, 'unknown'), t.tally \
     FROM node_latest l LEFT JOIN node_tally t ON t.node = l.node WHERE l.node = $1";

/// The node's current latest report's layout and findings (no row: none yet).
const LATEST_FINDINGS: &str =
    "SELECT COALESCE(r.layout, 'unknown'), f.check_id, f.severity, f.status \
     FROM node_latest l JOIN reports r ON r.run_id = l.run_id \
     LEFT JOIN findings f ON f.run_id = l.run_id WHERE l.node = $1";

/// Adds a delta to `latest_counts` (rows in key order: see `counts::delta`)
/// if node `$8`'s latest report is now `$9`: the pointer moved (sent in
/// the round trip of [`MOVE_LATEST`], which runs first).
const ADD_COUNTS: &str = "INSERT INTO latest_counts \
        (check_id, severity, status, layout, shard, findings, nodes) \
     SELECT c, sv, st, lay, $5::INTEGER, f, n \
     FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $6::BIGINT[], $7::BIGINT[]) \
        WITH ORDINALITY AS u (c, sv, st, lay, f, n, i) \
     WHERE EXISTS (SELECT 1 FROM node_latest WHERE node = $8::TEXT AND run_id = $9::TEXT) \
     ORDER BY i \
     ON CONFLICT (check_id, severity, status, layout, shard) DO UPDATE SET \
        findings = latest_counts.findings + excluded.findings, \
        nodes = latest_counts.nodes + excluded.nodes";

// COLLATE "C": byte order, the same order SQLite gives, whatever the
// database's default collation.
const NODES: &str = concat!(
    "SELECT p.name, p.enrolled_at, p.revoked_at IS NOT NULL, ",
    report_cols!(),
    " FROM principals p \
     LEFT JOIN node_latest l ON l.node = p.name \
     LEFT JOIN reports r ON r.run_id = l.run_id \
     WHERE p.role = 'node' ORDER BY p.name COLLATE \"C\""
);

const NODE_KNOWN: &str = "SELECT 1 FROM principals WHERE name = $1 AND role = 'node'";

const NODE_REPORTS: &str = concat!(
    "SELECT ",
    report_cols!(),
    " FROM reports r WHERE r.node = $1 \
     ORDER BY r.started_at DESC, r.run_id DESC LIMIT $2"
);

const FINDINGS: &str = "SELECT l.node, l.run_id, r.started_at, \
        f.check_id, f.severity, f.status, f.subject, f.title, f.message, f.seq, f.target \
     FROM node_latest l \
     JOIN reports r ON r.run_id = l.run_id \
     JOIN findings f ON f.run_id = l.run_id \
     WHERE ($1::TEXT IS NULL OR f.check_id = $1) \
       AND ($2::TEXT IS NULL OR f.status = $2) \
       AND ($3::TEXT IS NULL OR f.severity = $3) \
       AND ($4::TEXT IS NULL OR l.node = $4) \
       AND ($6::TEXT IS NULL OR r.layout = $6) \
       AND ($7::TEXT IS NULL OR f.target = $7) \
     ORDER BY l.node COLLATE \"C\", f.seq \
     LIMIT $5";

impl PgStore {
    /// Connects, migrates (under an advisory lock) and keeps the client.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let target = pg_tls::parse(url)?;
        // A random first number: see Conn::shard.
        let start = (std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
            & u64::from(u32::MAX)) as u32;
        let mut first = connect(&target.config, &target.tls, &target.shown, start).await?;
        migrate(&mut first.client)
            .await
            .map_err(|e| StoreError::Connect(format!("{}: migrating: {e}", target.shown)))?;
        Ok(PgStore {
            pool: Arc::new(Pool {
                config: target.config,
                tls: target.tls,
                shown: target.shown,
                idle: Mutex::new(vec![first]),
                permits: Arc::new(Semaphore::new(POOL)),
                next: AtomicU32::new(start.wrapping_add(1)),
            }),
        })
    }

    /// Inserts or replaces the tokens of these names, in one transaction.
    pub async fn enroll(
        &self,
        rows: &[(&str, &super::token::NewToken)],
        role: Role,
    ) -> Result<(), StoreError> {
        let names: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let ids: Vec<&str> = rows.iter().map(|r| r.1.id.as_str()).collect();
        let hashes: Vec<&str> = rows.iter().map(|r| r.1.hash.as_str()).collect();
        let now = super::now_ms();
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let st = c.stmt(ENROLL).await?;
        let tx = c.client.transaction().await?;
        let done = tx
            .query(&st, &[&names, &role.as_str(), &ids, &hashes, &now])
            .await?;
        if done.len() != names.len() {
            // Names whose upsert the role check skipped: already the other role.
            let done: std::collections::HashSet<String> = done
                .iter()
                .filter_map(|r| r.try_get::<_, String>(0).ok())
                .collect();
            let clash = names
                .iter()
                .find(|n| !done.contains(**n))
                .copied()
                .unwrap_or_default();
            // Dropping `tx` rolls the whole call back.
            return Err(schema::name_taken(clash, role));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks the name's token revoked; false when the name is unknown.
    pub async fn revoke(&self, name: &str) -> Result<bool, StoreError> {
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let st = c.stmt(REVOKE).await?;
        let n = c.client.execute(&st, &[&name, &super::now_ms()]).await?;
        Ok(n > 0)
    }

    /// The unrevoked token row with this ID.
    pub async fn token_row(&self, id: &str) -> Result<Option<TokenRow>, StoreError> {
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let st = c.stmt(TOKEN_ROW).await?;
        let row = c.client.query_opt(&st, &[&id]).await?;
        row.map(|r| {
            Ok(TokenRow {
                name: r.try_get(0)?,
                role: if r.try_get::<_, &str>(1)? == "viewer" {
                    Role::Viewer
                } else {
                    Role::Node
                },
                hash: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// Stores one report in one transaction, run again when the server
    /// aborted it as a deadlock or serialisation failure.
    pub async fn ingest(
        &self,
        node: &str,
        r: &NewReport,
        now_ms: i64,
    ) -> Result<IngestOutcome, StoreError> {
        let mut attempt = 0u32;
        loop {
            match self.ingest_once(node, r, now_ms).await {
                Err(StoreError::Postgres(e)) if attempt < RETRIES && retryable(&e) => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(attempt)))
                        .await;
                }
                other => return other,
            }
        }
    }

    /// Three round trips besides BEGIN: the node's lock, the inserts and
    /// the read of its current latest are sent together (the server runs
    /// them in order), then the pointer's move with the summary's delta,
    /// then COMMIT. Measured against one statement per step: see #18's
    /// note (ingest reports/s, `benches/collector_load.rs`).
    async fn ingest_once(
        &self,
        node: &str,
        r: &NewReport,
        now_ms: i64,
    ) -> Result<IngestOutcome, StoreError> {
        let s = &r.summary;
        let counts =
            [s.pass, s.fail, s.error, s.na, s.waived].map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        let failing = schema::join_failing(&r.failing);
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let ins = c.stmt(INSERT_REPORT).await?;
        let stored = c.stmt(STORED_REPORT).await?;
        let latest = c.stmt(MOVE_LATEST).await?;
        let lock_node = c.stmt(LOCK_NODE).await?;
        let old_tally = c.stmt(LATEST_TALLY).await?;
        let old_findings = c.stmt(LATEST_FINDINGS).await?;
        let add = c.stmt(ADD_COUNTS).await?;
        let fs = &r.findings;
        let seq: Vec<i32> = (0..fs.len())
            .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
            .collect();
        let check: Vec<&str> = fs.iter().map(|f| f.check_id.as_str()).collect();
        let severity: Vec<&str> = fs.iter().map(|f| f.severity.as_str()).collect();
        let status: Vec<&str> = fs.iter().map(|f| f.status.as_str()).collect();
        let subject: Vec<&str> = fs.iter().map(|f| f.subject.as_str()).collect();
        let title: Vec<&str> = fs.iter().map(|f| f.title.as_str()).collect();
        let message: Vec<&str> = fs.iter().map(|f| f.message.as_str()).collect();
        let target: Vec<Option<&str>> = fs.iter().map(|f| f.target.as_deref()).collect();
        let kinds = || {
            fs.iter()
                .map(|f| (f.check_id.as_str(), f.severity.as_str(), f.status.as_str()))
        };
        let tally = counts::tally(kinds());
        let params: [&(dyn ToSql + Sync); 26] = [
            &r.run_id,
            &node,
            &r.started_at_ms,
            &now_ms,
            &r.body_sha256,
            &r.hostname,
            &r.barbican_version,
            &r.tool_version,
            &r.catalog_sha256,
            &counts[0],
            &counts[1],
            &counts[2],
            &counts[3],
            &counts[4],
            &r.status,
            &failing,
            &r.layout,
            &r.body,
            &seq,
            &check,
            &severity,
            &status,
            &subject,
            &title,
            &message,
            &target,
        ];
        let tx = c.client.transaction().await?;
        // A concurrent insert of the same run ID makes the insert wait for
        // the other transaction; if that one commits, DO NOTHING returns no
        // row and the SELECT below sees its committed row.
        let by_node: [&(dyn ToSql + Sync); 1] = [&node];
        let (_, inserted, old) = tokio::try_join!(
            tx.execute(&lock_node, &by_node),
            tx.query_opt(&ins, &params),
            tx.query_opt(&old_tally, &by_node),
        )?;
        if inserted.is_none() {
            let row = tx.query_opt(&stored, &[&r.run_id]).await?.ok_or_else(|| {
                StoreError::Other(format!("run {} conflicted but is not stored", r.run_id))
            })?;
            let same =
                row.try_get::<_, &str>(0)? == node && row.try_get::<_, &str>(1)? == r.body_sha256;
            tx.commit().await?;
            return Ok(if same {
                IngestOutcome::Duplicate
            } else {
                IngestOutcome::Conflict
            });
        }
        let old = match old {
            None => None,
            Some(row) => {
                let layout: String = row.try_get(0)?;
                let t: Option<String> = row.try_get(1)?;
                match t.as_deref().and_then(counts::parse_tally) {
                    Some(entries) => Some(counts::weighted(&layout, entries)),
                    // No tally kept: count the findings themselves.
                    None => latest_kinds(&tx.query(&old_findings, &[&node]).await?)?
                        .map(|k| k.contributions()),
                }
            }
        };
        let delta = counts::delta(old, counts::contributions(&r.layout, kinds()));
        let d = counts::Columns::of(&delta);
        let shard = c.shard;
        let moved = [
            &node as &(dyn ToSql + Sync),
            &r.run_id,
            &r.started_at_ms,
            &now_ms,
            &super::MAX_CLOCK_AHEAD_MS,
            &r.layout,
            &r.status,
            &failing,
            &tally,
        ];
        let added = add_params(&d, &shard, &node, &r.run_id);
        if delta.is_empty() {
            tx.query_opt(&latest, &moved).await?;
        } else {
            tokio::try_join!(tx.query_opt(&latest, &moved), tx.execute(&add, &added))?;
        }
        tx.commit().await?;
        Ok(IngestOutcome::Created)
    }

    #[cfg(test)]
    pub(super) async fn raw_execute(&self, sql: &'static str) {
        let mut lease = self.pool.get().await.expect("a connection");
        let c = lease.conn().expect("a connection");
        c.client.batch_execute(sql).await.expect("raw SQL runs");
    }

    /// Nodes with their latest report, in one query.
    pub async fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let st = c.stmt(NODES).await?;
        let rows = c.client.query(&st, &[]).await?;
        rows.iter().map(node_row).collect()
    }

    /// A node's reports, newest first; `None` when no node has this name.
    pub async fn node_reports(
        &self,
        node: &str,
        limit: u32,
    ) -> Result<Option<Vec<ReportRow>>, StoreError> {
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let known = c.stmt(NODE_KNOWN).await?;
        let list = c.stmt(NODE_REPORTS).await?;
        // REPEATABLE READ: the node check and the list see one snapshot.
        let tx = c
            .client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        if tx.query_opt(&known, &[&node]).await?.is_none() {
            return Ok(None);
        }
        let rows = tx.query(&list, &[&node, &schema::limit(limit)]).await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| report_row(r, 0))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Findings of every node's latest report, filtered and sorted.
    pub async fn findings(&self, q: &FindingQuery) -> Result<Vec<FleetFinding>, StoreError> {
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let st = c.stmt(FINDINGS).await?;
        let rows = c
            .client
            .query(
                &st,
                &[
                    &q.check,
                    &q.status,
                    &q.severity,
                    &q.node,
                    &schema::limit(q.limit),
                    &q.layout,
                    &q.target,
                ],
            )
            .await?;
        rows.iter().map(fleet_finding).collect()
    }
}

impl PgStore {
    /// Retention: one transaction picks and deletes a batch. Replicas take
    /// turns through an advisory lock (two deleting the same rows could
    /// deadlock); one that finds it taken does nothing this time.
    pub async fn prune_batch(&self, args: [i64; 4]) -> Result<u64, StoreError> {
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let tx = c.client.transaction().await?;
        let locked: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&RETENTION_LOCK])
            .await?
            .try_get(0)?;
        if !locked {
            return Ok(0);
        }
        let victims: Vec<String> = tx
            .query(
                &schema::retention_victims(true),
                &[&args[0], &args[1], &args[2], &args[3]],
            )
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        if victims.is_empty() {
            return Ok(0);
        }
        tx.execute("DELETE FROM findings WHERE run_id = ANY($1)", &[&victims])
            .await?;
        tx.execute(
            "DELETE FROM report_bodies WHERE run_id = ANY($1)",
            &[&victims],
        )
        .await?;
        let n = tx
            .execute("DELETE FROM reports WHERE run_id = ANY($1)", &[&victims])
            .await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// A node with its latest report (columns: name, enrolled, revoked, then
/// the report's from column 3, null when it never reported).
pub(super) fn node_row(row: &Row) -> Result<NodeRow, StoreError> {
    let latest = match row.try_get::<_, Option<&str>>(3)? {
        Some(_) => Some(report_row(row, 3)?),
        None => None,
    };
    Ok(NodeRow {
        name: row.try_get(0)?,
        enrolled_ms: row.try_get(1)?,
        revoked: row.try_get(2)?,
        latest,
    })
}

fn report_row(row: &Row, at: usize) -> Result<ReportRow, StoreError> {
    let n = |i: usize| -> Result<i64, StoreError> { Ok(i64::from(row.try_get::<_, i32>(at + i)?)) };
    Ok(ReportRow {
        run_id: row.try_get(at)?,
        node: row.try_get(at + 1)?,
        started_at_ms: row.try_get(at + 2)?,
        received_at_ms: row.try_get(at + 3)?,
        hostname: row.try_get(at + 4)?,
        barbican_version: row.try_get(at + 5)?,
        tool_version: row.try_get(at + 6)?,
        status: row.try_get(at + 7)?,
        summary: [n(8)?, n(9)?, n(10)?, n(11)?, n(12)?],
        failing: schema::split_failing(row.try_get(at + 13)?),
    })
}

/// Applies the missing migrations in one transaction that first takes an
/// advisory lock: two collectors starting together migrate one after the
/// other, and the second finds nothing left to do.
async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(MIGRATIONS_TABLE).await?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    if current > schema::latest() {
        return Err(schema::too_new(current));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql).await?;
        if *version == 2 {
            // The findings lists seek node_latest by node in byte order
            // (COLLATE "C", as SQLite orders): an index in that collation,
            // whatever the database's default.
            tx.batch_execute("CREATE INDEX node_latest_node_c ON node_latest (node COLLATE \"C\")")
                .await?;
            backfill_v2(&tx).await?;
        }
        if *version == 3 {
            // The typed-page locator merges node_latest_node_c with this.
            tx.batch_execute("CREATE INDEX node_tally_node_c ON node_tally (node COLLATE \"C\")")
                .await?;
            backfill_v3(&tx).await?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[version, &super::now_ms()],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Read queries of the dashboard pages (a child module: it uses the pool).
#[path = "pages_pg.rs"]
mod pages;

/// One row of the fleet findings queries (both `findings` and the paged
/// list): node, run id, start, then the finding's columns, in that order.
pub(crate) fn fleet_finding(row: &tokio_postgres::Row) -> Result<FleetFinding, StoreError> {
    Ok(FleetFinding {
        node: row.try_get(0)?,
        run_id: row.try_get(1)?,
        started_at_ms: row.try_get(2)?,
        seq: i64::from(row.try_get::<_, i32>(9)?),
        finding: FindingRow {
            check_id: row.try_get(3)?,
            severity: row.try_get(4)?,
            status: row.try_get(5)?,
            subject: row.try_get(6)?,
            title: row.try_get(7)?,
            message: row.try_get(8)?,
            target: row.try_get(10)?,
        },
    })
}

/// The latest report [`LATEST_FINDINGS`] read (`None`: no rows).
fn latest_kinds(rows: &[Row]) -> Result<Option<counts::Kinds>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
    }
    Ok(counts::kinds(out))
}

/// Adds `delta` to `latest_counts` for `node`, whose latest report is
/// `run_id` (the backfill).
async fn add_counts(
    tx: &tokio_postgres::Transaction<'_>,
    node: &str,
    run_id: &str,
    delta: &[(counts::Key, i64, i64)],
) -> Result<(), StoreError> {
    let d = counts::Columns::of(delta);
    let shard = counts::shard(node);
    tx.execute(ADD_COUNTS, &add_params(&d, &shard, &node, &run_id))
        .await?;
    Ok(())
}

/// The parameters of [`ADD_COUNTS`].
fn add_params<'a>(
    d: &'a counts::Columns<'a>,
    shard: &'a i32,
    node: &'a &str,
    run_id: &'a (dyn ToSql + Sync),
) -> [&'a (dyn ToSql + Sync); 9] {
    [
        &d.check,
        &d.severity,
        &d.status,
        &d.layout,
        shard,
        &d.findings,
        &d.nodes,
        node,
        run_id,
    ]
}

/// Version 2 on a database with reports: see the SQLite engine's `backfill_v2`.
async fn backfill_v2(tx: &tokio_postgres::Transaction<'_>) -> Result<(), StoreError> {
    let latest = tx
        .query(
            "SELECT l.node, l.run_id, b.body FROM node_latest l \
             JOIN report_bodies b ON b.run_id = l.run_id",
            &[],
        )
        .await?;
    for row in &latest {
        let (node, run_id, body): (&str, &str, &str) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let (layout, targets) = counts::body_layout_targets(body);
        tx.execute(
            "UPDATE reports SET layout = $2 WHERE run_id = $1",
            &[&run_id, &layout],
        )
        .await?;
        tx.execute(
            "UPDATE node_latest SET layout = $2 WHERE node = $1",
            &[&node, &layout],
        )
        .await?;
        for (seq, t) in targets.iter().enumerate() {
            if let Some(t) = t {
                let seq = i32::try_from(seq).unwrap_or(i32::MAX);
                tx.execute(
                    "UPDATE findings SET target = $3 WHERE run_id = $1 AND seq = $2",
                    &[&run_id, &seq, t],
                )
                .await?;
            }
        }
        if let Some(k) = latest_kinds(&tx.query(LATEST_FINDINGS, &[&node]).await?)? {
            add_counts(tx, node, run_id, &counts::delta(None, k.contributions())).await?;
        }
    }
    Ok(())
}

/// Version 3 on a database with reports: see the SQLite engine's `backfill_v3`.
async fn backfill_v3(tx: &tokio_postgres::Transaction<'_>) -> Result<(), StoreError> {
    for row in tx.query("SELECT node FROM node_latest", &[]).await? {
        let node: &str = row.try_get(0)?;
        if let Some(k) = latest_kinds(&tx.query(LATEST_FINDINGS, &[&node]).await?)? {
            tx.execute(
                "INSERT INTO node_tally (node, tally) VALUES ($1, $2)",
                &[&node, &k.tally()],
            )
            .await?;
        }
    }
    Ok(())
}

/// The fleet page's query (a child module: it uses the pool).
#[path = "fleet_pg.rs"]
mod fleet;
