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
