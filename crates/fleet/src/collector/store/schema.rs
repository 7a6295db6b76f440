//! The schema both engines share, as an ordered list of migrations.
//!
//! The DDL is written in the common subset of SQLite and PostgreSQL
//! (`TEXT`, `BIGINT`, `INTEGER`, `CHECK`, `REFERENCES`) so one list serves
//! both and the engines cannot drift apart. A later version appends a step
//! (never edits a shipped one): a database records each applied version in
//! `schema_migrations`, and opening it applies only the missing ones.

/// `(version, SQL)` in ascending version order; each step runs in the same
/// transaction as its `schema_migrations` row, so a crash mid-migration
/// leaves the previous version intact.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[(1, V1), (2, V2), (3, V3)];

/// The newest schema version this build knows.
pub(super) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Bookkeeping table, created before anything else.
pub(super) const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    applied_at BIGINT NOT NULL
)";

/// Version 1: tokens, reports, findings, and the per-node latest pointer.
///
/// No foreign key from `reports.node` to `principals`: a report is stored
/// after the server has authenticated its node, and a revoked (or later
/// renamed) node's history must stay. `node_latest` exists so the fleet
/// view is one join instead of a per-node "newest report" subquery.
const V1: &str = "
CREATE TABLE principals (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('node', 'viewer')),
    token_id TEXT UNIQUE,
    token_hash TEXT,
    enrolled_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE reports (
    run_id TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    body_sha256 TEXT NOT NULL,
    hostname TEXT,
    barbican_version TEXT,
    tool_version TEXT NOT NULL,
    catalog_sha256 TEXT NOT NULL,
    pass INTEGER NOT NULL,
    fail INTEGER NOT NULL,
    error INTEGER NOT NULL,
    na INTEGER NOT NULL,
    waived INTEGER NOT NULL,
    status TEXT NOT NULL,
    failing TEXT NOT NULL
);
CREATE INDEX reports_node_started ON reports (node, started_at DESC);
-- The raw body (several KB) lives apart: inline, SQLite would page through
-- it for every row of the fleet view (measured: 340 ms for 10,000 nodes).
CREATE TABLE report_bodies (
    run_id TEXT PRIMARY KEY REFERENCES reports (run_id),
    body TEXT NOT NULL
);
CREATE TABLE findings (
    run_id TEXT NOT NULL REFERENCES reports (run_id),
    seq INTEGER NOT NULL,
    check_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    subject TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE node_latest (
    node TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
";

/// Version 2: what the dashboard pages need at 10,000 nodes.
///
/// - `reports.layout` (`host.layout`) and `findings.target`
///   (`finding.target`) for the layout and target filters. Reports stored
///   before this version have them NULL, except each node's latest, which
///   the engine's backfill (same transaction) reads from the stored body.
/// - `latest_counts`: the findings of every node's latest report counted
///   by (check, severity, status, layout), and the nodes having such a
///   finding, so the fleet page and the findings totals never aggregate the
///   findings table. Ingest adds the new latest report's counts and takes
///   off the old one's in the transaction that moves `node_latest`, so the
///   table cannot drift from it. Rows are spread over `shard` so
///   concurrent ingests on PostgreSQL do not all wait for one row lock
///   (each pooled client adds to its own shard); a reader sums the shards,
///   so a node's share may lie in several. Two kinds of row are not findings: status
///   `failing` (nodes where the check fails or errors, whatever the
///   subjects; `findings` 0) and check `''` (nodes reporting, per layout).
/// - `node_latest` carries its report's layout, status and failing checks
///   (set by the same upsert that moves it): the fleet page orders,
///   filters and counts 10,000 nodes without a lookup into `reports` each
///   (measured: that lookup was most of the page's time).
/// - Indexes: the findings lists seek `node_latest` by node and each
///   latest report's findings by `(run_id, seq)` (the primary keys); a
///   target filter starts from `findings_target` and keeps the latest
///   reports' through `node_latest_run`. No index on findings' status or
///   check: those match the findings of every report ever stored (six per
///   node in the load bench), of which the lists want only the latest, in
///   node order; walking `node_latest` in order finds a page sooner.
const V2: &str = "
ALTER TABLE reports ADD COLUMN layout TEXT;
ALTER TABLE findings ADD COLUMN target TEXT;
CREATE INDEX findings_target ON findings (target, run_id);
CREATE INDEX node_latest_run ON node_latest (run_id);
ALTER TABLE node_latest ADD COLUMN layout TEXT;
ALTER TABLE node_latest ADD COLUMN status TEXT;
ALTER TABLE node_latest ADD COLUMN failing TEXT;
UPDATE node_latest SET
    status = (SELECT r.status FROM reports r WHERE r.run_id = node_latest.run_id),
    failing = (SELECT r.failing FROM reports r WHERE r.run_id = node_latest.run_id);
CREATE TABLE latest_counts (
    check_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    layout TEXT NOT NULL,
    shard INTEGER NOT NULL,
    findings BIGINT NOT NULL,
    nodes BIGINT NOT NULL,
    PRIMARY KEY (check_id, severity, status, layout, shard)
);
";

/// Version 3: ingest and deep pages at 10,000 nodes.
///
/// - `node_tally`: each node's latest report's findings counted by
///   (check, severity, status) (`counts::tally`), written when the
///   pointer moves. Ingest takes the old latest report's share of
///   `latest_counts` from it (one row) instead of reading that report's
///   findings, and a typed page number of a findings list is located from
///   the tallies (one narrow row per node) instead of counting off rows.
///   A table of its own, so the fleet page's scans of `node_latest` stay
///   narrow. The engine's backfill fills it from the findings.
/// - `findings_target` only over findings that have a target (most have
///   none, and each of them cost an index entry at ingest); the target
///   filter's `target = ?` implies it, so it still serves.
const V3: &str = "
CREATE TABLE node_tally (
    node TEXT PRIMARY KEY,
    tally TEXT NOT NULL
);
DROP INDEX findings_target;
CREATE INDEX findings_target ON findings (target, run_id) WHERE target IS NOT NULL;
";

/// Error for a database migrated by a newer collector than this one.
pub(super) fn too_new(found: i64) -> super::StoreError {
    super::StoreError::Other(format!(
        "database schema version {found} is newer than this collector knows ({}); upgrade the collector",
        latest()
    ))
}

/// Failing check IDs as stored: comma-joined (check IDs cannot hold a comma).
pub(super) fn join_failing(ids: &[String]) -> String {
    ids.join(",")
}

/// The stored comma column back into IDs.
pub(super) fn split_failing(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Row cap of the list queries: 0 would mean "everything", which a fleet of
/// 10,000 nodes turns into a very large answer, so it means the default.
pub(super) fn limit(n: u32) -> i64 {
    if n == 0 {
        1000
    } else {
        i64::from(n)
    }
}

/// A count as the database stores it.
pub(super) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Enrolling `name` as `role` when it exists with the other role.
pub(super) fn name_taken(name: &str, role: super::Role) -> super::StoreError {
    let other = match role {
        super::Role::Node => super::Role::Viewer,
        super::Role::Viewer => super::Role::Node,
    };
    super::StoreError::Name(format!(
        "name {name:?} is already enrolled as a {} (names are unique across roles; pick another)",
        other.as_str()
    ))
}

/// Reports retention may delete: not among the newest `$1` of their node
/// (by `run.started_at`, as the node's report list orders them; 0: no
/// count kept), received before `$3` (ignored when `$2` is 0), and never a
/// node's latest. At most `$4`. `?N` for SQLite, `$N` for PostgreSQL.
pub(super) fn retention_victims(pg: bool) -> String {
    let sql = "SELECT run_id FROM ( \
            SELECT r.run_id, r.received_at, ROW_NUMBER() OVER ( \
                PARTITION BY r.node ORDER BY r.started_at DESC, r.run_id DESC) AS pos \
            FROM reports r) ranked \
         WHERE (?1 = 0 OR pos > ?1) \
           AND (?2 = 0 OR received_at < ?3) \
           AND run_id NOT IN (SELECT run_id FROM node_latest) \
         LIMIT ?4";
    if pg {
        sql.replace("?1", "$1::BIGINT")
            .replace("?2", "$2::BIGINT")
            .replace("?3", "$3::BIGINT")
            .replace("?4", "$4::BIGINT")
    } else {
        sql.to_string()
    }
}
