//! Read-only queries of the dashboard pages: one page of the fleet's
//! findings with the total, and a stored report body (the node page reads
//! evidence and fixes from it). Same calls on both engines; the engine
//! halves live in `pages_sqlite.rs` and `pages_pg.rs`, child modules of each
//! engine so they use its connection pool.
use super::{FindingQuery, FleetFinding, Store, StoreError};

/// Where a page of findings starts. The list's order is (node, place in
/// the report), and a report lists its findings by check then subject, so
/// that is the order operators read; a cursor is the last (or first) row
/// shown, and the query seeks to it through the primary keys instead of
/// counting rows off from the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAt {
    /// Skip this many rows (a page number typed or bookmarked).
    Offset(u32),
    /// The rows after this `(node, seq)` (a "next" link).
    After(String, i64),
    /// The rows before this `(node, seq)`, still returned in list order (a "previous" link).
    Before(String, i64),
}

impl Store {
    /// Findings of each node's latest report matching `q` (its `limit` is
    /// the page size), starting `at`, and how many match in all.
    pub async fn findings_page(
        &self,
        q: &FindingQuery,
        at: &PageAt,
    ) -> Result<(Vec<FleetFinding>, i64), StoreError> {
        let (mut rows, total) = match self {
            Store::Sqlite(s) => s.findings_page(q, at).await?,
            Store::Postgres(s) => s.findings_page(q, at).await?,
        };
        if matches!(at, PageAt::Before(..)) {
            // Fetched backwards from the cursor.
            rows.reverse();
        }
        Ok((rows, total))
    }

    /// The report `run_id` of `node` as the node sent it; `None` when there is none.
    pub async fn report_body(
        &self,
        node: &str,
        run_id: &str,
    ) -> Result<Option<String>, StoreError> {
        match self {
            Store::Sqlite(s) => s.report_body(node, run_id).await,
            Store::Postgres(s) => s.report_body(node, run_id).await,
        }
    }
}

/// Whether the total of `q` can be read from `latest_counts` (no node and
/// no target filter: the table has neither) instead of counting rows.
pub(super) fn counted(q: &FindingQuery) -> bool {
    q.node.is_none() && q.target.is_none()
}

/// From this many rows on, a typed page number is not read by skipping
/// rows (each skipped row is a finding read and joined: 175 ms for row
/// 25,000 at 10,000 nodes on PostgreSQL) but located through the nodes'
/// tallies (`node_tally`, one narrow row per node), then read from that
/// node on. Unit tests locate every page after the first, so both ways
/// are tested (the offset way by the page tests through the server).
pub(super) const LOCATE_FROM: u32 = if cfg!(test) { 1 } else { 500 };

/// The offset of `at` when it is located through the tallies: a typed
/// page deep enough, and no target filter (a tally has no targets).
pub(super) fn located(q: &FindingQuery, at: &PageAt) -> Option<i64> {
    match at {
        PageAt::Offset(n) if *n >= LOCATE_FROM && q.target.is_none() => Some(i64::from(*n)),
        _ => None,
    }
}

/// Reads the listed nodes' tallies in list order up to the node a typed
/// page starts in (both engines feed it from their `TALLIES` query).
pub(super) struct Locator<'q> {
    q: &'q FindingQuery,
    offset: i64,
    seen: i64,
    nodes: Vec<(String, Option<i64>)>,
}

impl<'q> Locator<'q> {
    pub fn new(q: &'q FindingQuery, offset: i64) -> Self {
        Locator {
            q,
            offset,
            seen: 0,
            nodes: Vec::new(),
        }
    }

    /// Takes the next node and its tally (`None`: none kept); false once
    /// no more are needed.
    pub fn push(&mut self, node: String, tally: Option<&str>) -> bool {
        let n = tally.and_then(|t| {
            super::counts::matching(
                t,
                self.q.check.as_deref(),
                self.q.severity.as_deref(),
                self.q.status.as_deref(),
            )
        });
        self.seen += n.unwrap_or(0);
        self.nodes.push((node, n));
        n.is_some() && self.seen <= self.offset
    }

    /// The node the page starts in and how many of its rows come before
    /// the page; `Some(None)`: the list ends before it; `None`: a node on
    /// the way has no tally (count rows instead).
    pub fn found(self) -> Option<Option<(String, i64)>> {
        super::counts::locate(self.nodes, self.offset)
    }
}
