//! Storage behind one interface, two engines: SQLite (default, embedded,
//! WAL, one file) and PostgreSQL (`postgres://...`, for sites that run the
//! collector highly available). Both migrate their schema on open, store a
//! report in one transaction, and are idempotent on `run.id`.
//!
//! Tokens: `bat1_<id>_<secret>`. Only `sha256(secret)` is stored; the row is
//! found by `<id>` and the hash compared in constant time.
use crate::collector::ingest::NewReport;

mod counts;
mod fleet;
mod pages;
pub use fleet::{FleetQuery, FleetSummary};
pub use pages::PageAt;
pub mod pg_tls;
pub mod postgres;
mod schema;
pub mod sqlite;
#[cfg(test)]
mod tests;

/// Who a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A node: may POST its own reports.
    Node,
    /// A viewer: may read the fleet views.
    Viewer,
}

impl Role {
    /// `node` or `viewer`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Viewer => "viewer",
        }
    }
}

/// The holder of a valid, unrevoked token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Node or viewer name given at enrolment.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// What [`Store::ingest`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Stored now (HTTP 201).
    Created,
    /// This run ID with the same body from the same node was stored before (HTTP 200).
    Duplicate,
    /// This run ID is stored with another body or for another node (HTTP 409).
    Conflict,
}

/// How far a report's `run.started_at` may lie after its arrival and still count as it is.
/// A node's latest report is the one that started last, but a start later than this after
/// arrival counts as arrival + this: a report dated in the future (a clock once wrong) would
/// otherwise stay the node's latest forever, whatever it sent after.
pub const MAX_CLOCK_AHEAD_MS: i64 = 5 * 60 * 1000;

/// One node in the fleet view (stale is decided by the caller from `last_report_ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// Node name (from its token).
    pub name: String,
    /// Enrolment time, ms since the epoch.
    pub enrolled_ms: i64,
    /// Revoked nodes are listed (their history stays) but flagged.
    pub revoked: bool,
    /// Latest report (by `run.started_at`, taken as no later than [`MAX_CLOCK_AHEAD_MS`] after
    /// the collector received it), if any.
    pub latest: Option<ReportRow>,
}

/// A stored report's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// `run.id`.
    pub run_id: String,
    /// Node name.
    pub node: String,
    /// `run.started_at`, ms since the epoch.
    pub started_at_ms: i64,
    /// When the collector stored it, ms since the epoch.
    pub received_at_ms: i64,
    /// `host.hostname` as reported.
    pub hostname: Option<String>,
    /// `host.barbican_version`.
    pub barbican_version: Option<String>,
    /// `tool.version`.
    pub tool_version: String,
    /// `fail`, `error` or `pass`.
    pub status: String,
    /// Check counts: pass, fail, error, na, waived.
    pub summary: [i64; 5],
    /// Failing (fail or error) check IDs, sorted.
    pub failing: Vec<String>,
}

/// Filter for [`Store::findings`]; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingQuery {
    /// Check ID, exact.
    pub check: Option<String>,
    /// Status, exact (lowercase).
    pub status: Option<String>,
    /// Severity, exact (lowercase).
    pub severity: Option<String>,
    /// Node name, exact.
    pub node: Option<String>,
    /// Layout of the report (`host.layout`), exact.
    pub layout: Option<String>,
    /// Target of the finding (`finding.target`), exact.
    pub target: Option<String>,
    /// At most this many rows.
    pub limit: u32,
}

/// A finding of a node's latest report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetFinding {
    /// Node name.
    pub node: String,
    /// The report it comes from.
    pub run_id: String,
    /// `run.started_at`, ms.
    pub started_at_ms: i64,
    /// Its place in the report (with `node`, the list's order and cursor).
    pub seq: i64,
    /// The finding.
    pub finding: crate::collector::ingest::FindingRow,
}

/// Storage failures (the HTTP layer answers 503 and logs them).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one we know.
    #[error("database URL {0:?}: expected sqlite:///PATH or postgres://user@host/db")]
    Url(String),
    /// A `postgres://` URL whose settings are wrong (named without user and password).
    #[error("database URL {0}")]
    PgUrl(String),
    /// SQLite said no.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL said no.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No session with the PostgreSQL server (down, TLS or login refused);
    /// the message names the URL without user and password.
    #[error("postgres {0}")]
    Connect(String),
    /// A name that cannot be enrolled, or already has the other role.
    #[error("{0}")]
    Name(String),
    /// Anything else (I/O on the database file, a closed writer thread).
    #[error("{0}")]
    Other(String),
}

/// The store: one of two engines behind the same calls.
pub enum Store {
    /// Embedded SQLite.
    Sqlite(sqlite::SqliteStore),
    /// PostgreSQL server.
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`:
    /// `sqlite:///abs/path.db`, `sqlite://rel/path.db` or `postgres://...`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            Ok(Store::Sqlite(sqlite::SqliteStore::open(path).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(postgres::PgStore::open(url).await?))
        } else {
            Err(StoreError::Url(pg_tls::redact(url)))
        }
    }

    /// Enrols `name` (or rotates its token) and returns the new token; only its hash is kept.
    pub async fn enroll(&self, name: &str, role: Role) -> Result<String, StoreError> {
        Ok(self.enroll_many(&[name.to_string()], role).await?.remove(0))
    }

    /// Enrols many names in one transaction (the load generator enrols
    /// 10,000); returns their tokens in the same order.
    pub async fn enroll_many(
        &self,
        names: &[String],
        role: Role,
    ) -> Result<Vec<String>, StoreError> {
        let mut tokens = Vec::with_capacity(names.len());
        let mut seen = std::collections::HashSet::with_capacity(names.len());
        for n in names {
            check_name(n)?;
            // A name twice in one call would hand out two tokens of which
            // only the last works.
            if !seen.insert(n.as_str()) {
                return Err(StoreError::Name(format!("name {n:?} is given twice")));
            }
            tokens.push(token::generate()?);
        }
        let rows: Vec<(&str, &token::NewToken)> = names
            .iter()
            .map(String::as_str)
            .zip(tokens.iter())
            .collect();
        match self {
            Store::Sqlite(s) => s.enroll(&rows, role).await?,
            Store::Postgres(s) => s.enroll(&rows, role).await?,
        }
        Ok(tokens.into_iter().map(|t| t.token).collect())
    }

    /// Revokes `name`'s token; false when no such name is enrolled.
    pub async fn revoke(&self, name: &str) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.revoke(name).await,
            Store::Postgres(s) => s.revoke(name).await,
        }
    }

    /// The principal a bearer token belongs to, if it is valid and not revoked.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        let Some((id, secret)) = token::parse(token) else {
            return Ok(None);
        };
        let row = match self {
            Store::Sqlite(s) => s.token_row(id).await?,
            Store::Postgres(s) => s.token_row(id).await?,
        };
        Ok(row.and_then(|r| {
            token::verify(secret, &r.hash).then_some(Principal {
                name: r.name,
                role: r.role,
            })
        }))
    }

    /// Stores one report of `node` in one transaction.
    pub async fn ingest(
        &self,
        node: &str,
        report: &NewReport,
    ) -> Result<IngestOutcome, StoreError> {
        self.ingest_at(node, report, now_ms()).await
    }

    /// Runs `sql` as it is, on the writer (tests that age a database).
    #[cfg(test)]
    pub(crate) async fn raw_execute(&self, sql: &'static str) {
        match self {
            Store::Sqlite(s) => s.raw_execute(sql).await,
            Store::Postgres(s) => s.raw_execute(sql).await,
        }
    }

    /// [`Store::ingest`] as if received at `now` (ms since the epoch).
    pub(crate) async fn ingest_at(
        &self,
        node: &str,
        report: &NewReport,
        now: i64,
    ) -> Result<IngestOutcome, StoreError> {
        match self {
            Store::Sqlite(s) => s.ingest(node, report, now).await,
            Store::Postgres(s) => s.ingest(node, report, now).await,
        }
    }

    /// Every enrolled node with its latest report, sorted by name.
    pub async fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.nodes().await,
            Store::Postgres(s) => s.nodes().await,
        }
    }

    /// A node's reports, newest first; `None` when the node is not enrolled.
    pub async fn node_reports(
        &self,
        node: &str,
        limit: u32,
    ) -> Result<Option<Vec<ReportRow>>, StoreError> {
        match self {
            Store::Sqlite(s) => s.node_reports(node, limit).await,
            Store::Postgres(s) => s.node_reports(node, limit).await,
        }
    }

    /// Findings of each node's latest report matching `q`, by node then check then subject.
    pub async fn findings(&self, q: &FindingQuery) -> Result<Vec<FleetFinding>, StoreError> {
        match self {
            Store::Sqlite(s) => s.findings(q).await,
            Store::Postgres(s) => s.findings(q).await,
        }
    }
}

/// How long reports are kept: the newest `keep_reports` of each node plus
/// every report received in the last `keep_days` days; 0 turns a rule off,
/// both 0 turn retention off. A node's latest report is always kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Newest reports kept per node (0: off).
    pub keep_reports: u32,
    /// Days of reports kept (0: off).
    pub keep_days: u32,
}

impl Retention {
    /// Both rules off: nothing is ever deleted.
    pub fn is_off(&self) -> bool {
        self.keep_reports == 0 && self.keep_days == 0
    }

    /// Received before this (ms since the epoch) is old enough to go.
    fn cutoff(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(i64::from(self.keep_days).saturating_mul(86_400_000))
    }
}

/// Reports deleted per statement (and per transaction) by retention.
pub const RETENTION_BATCH: u32 = 500;

impl Store {
    /// Deletes at most `batch` reports (with their findings and bodies)
    /// that `policy` lets go, in one transaction; returns how many.
    pub async fn prune_batch(
        &self,
        policy: Retention,
        now_ms: i64,
        batch: u32,
    ) -> Result<u64, StoreError> {
        if policy.is_off() || batch == 0 {
            return Ok(0);
        }
        let args = [
            i64::from(policy.keep_reports),
            i64::from(policy.keep_days),
            policy.cutoff(now_ms),
            i64::from(batch),
        ];
        match self {
            Store::Sqlite(s) => s.prune_batch(args).await,
            Store::Postgres(s) => s.prune_batch(args).await,
        }
    }

    /// Applies `policy` in batches of `batch` until a batch comes back
    /// short; returns how many reports went. Pauses between batches so
    /// ingest is never held up for long.
    pub async fn prune(
        &self,
        policy: Retention,
        now_ms: i64,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let n = self.prune_batch(policy, now_ms, batch).await?;
            total += n;
            if n < u64::from(batch) {
                return Ok(total);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// Milliseconds since the epoch now.
pub fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

/// Node and viewer names: 1-253 of `A-Z a-z 0-9 . _ -` (host names fit).
fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Name(format!(
            "name {name:?}: use 1-253 letters, digits, '.', '_' or '-'"
        )))
    }
}

/// A stored token: whose, which role, and the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Hex SHA-256 of the secret part.
    pub hash: String,
}

/// Token generation, parsing and constant-time verification.
pub mod token {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;

    /// A freshly generated token: the string handed out once, and what is stored.
    #[derive(Debug, Clone)]
    pub struct NewToken {
        /// The whole token, `bat1_<id>_<secret>` (printed once, never stored).
        pub token: String,
        /// The lookup ID (16 hex digits).
        pub id: String,
        /// Hex SHA-256 of the secret.
        pub hash: String,
    }

    /// 64 random bits of ID, 256 of secret, from the OS.
    pub fn generate() -> Result<NewToken, super::StoreError> {
        let mut id = [0u8; 8];
        let mut secret = [0u8; 32];
        getrandom::fill(&mut id)
            .and_then(|_| getrandom::fill(&mut secret))
            .map_err(|e| {
                super::StoreError::Other(format!("no OS random source for a token: {e}"))
            })?;
        let id = barbican_audit_support::hex(&id);
        let secret = barbican_audit_support::hex(&secret);
        Ok(NewToken {
            token: format!("bat1_{id}_{secret}"),
            hash: hash(&secret),
            id,
        })
    }

    /// `(id, secret)` of a well-formed token.
    pub fn parse(token: &str) -> Option<(&str, &str)> {
        let rest = token.trim().strip_prefix("bat1_")?;
        let (id, secret) = rest.split_once('_')?;
        let hexish = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        (hexish(id, 16) && hexish(secret, 64)).then_some((id, secret))
    }

    /// Hex SHA-256 of a secret.
    pub fn hash(secret: &str) -> String {
        barbican_audit_support::hex(&Sha256::digest(secret.as_bytes()))
    }

    /// Whether `secret` hashes to `stored`, compared in constant time.
    pub fn verify(secret: &str, stored: &str) -> bool {
        hash(secret).as_bytes().ct_eq(stored.as_bytes()).into()
    }
}
