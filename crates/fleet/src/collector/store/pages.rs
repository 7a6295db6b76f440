//! Read-only queries of the dashboard pages: one page of the fleet's
//! findings with the total, and a stored report body (the node page reads
//! evidence and fixes from it). Same calls on both engines; the engine
//! halves live in `pages_sqlite.rs` and `pages_pg.rs`, child modules of each
//! engine so they use its connection pool.
use super::{FindingQuery, FleetFinding, Store, StoreError};

impl Store {
    /// Findings of each node's latest report matching `q` (its `limit` is
    /// the page size), skipping `offset`, and how many match in all.
    pub async fn findings_page(
        &self,
        q: &FindingQuery,
        offset: u32,
    ) -> Result<(Vec<FleetFinding>, i64), StoreError> {
        match self {
            Store::Sqlite(s) => s.findings_page(q, offset).await,
            Store::Postgres(s) => s.findings_page(q, offset).await,
        }
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

/// The SQLite WHERE clause (`#` becomes `?`); PostgreSQL spells its own with typed NULLs.
pub(super) const FILTER: &str = "WHERE (#1 IS NULL OR f.check_id = #1) \
       AND (#2 IS NULL OR f.status = #2) \
       AND (#3 IS NULL OR f.severity = #3) \
       AND (#4 IS NULL OR l.node = #4)";
