//! The fleet page's query: node counts by state, compliance per check and
//! one page of nodes, without reading every node or every finding. The
//! compliance comes from `latest_counts` (less the revoked nodes, read
//! live: revocation does not touch the counts); the node list is ordered
//! and paged by the database. Engine halves: `fleet_sqlite.rs`, `fleet_pg.rs`.
use std::collections::BTreeMap;

use super::{NodeRow, Store, StoreError};

/// Filters and page of the fleet page. `layout` and `target` scope the
/// whole page (counts, compliance, list); the others filter the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetQuery {
    /// Nodes whose latest report fails or errors on this check.
    pub check: Option<String>,
    /// Nodes failing a check of this severity.
    pub severity: Option<String>,
    /// Nodes whose latest report has this overall status.
    pub status: Option<String>,
    /// Nodes in this state: 0 never reported, 1 stale, 2 fresh, 3 revoked.
    pub state: Option<i32>,
    /// Latest report's `host.layout`.
    pub layout: Option<String>,
    /// Latest report has a finding with this `target`; compliance counts
    /// the findings of this target only.
    pub target: Option<String>,
    /// Now, ms since the epoch.
    pub now_ms: i64,
    /// A node whose last report is older than this (ms) is stale.
    pub stale_ms: i64,
    /// Page size.
    pub limit: u32,
    /// Rows skipped.
    pub offset: u32,
}

/// What the fleet page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetSummary {
    /// Nodes in scope by state (index as [`FleetQuery::state`]).
    pub states: [i64; 4],
    /// Unrevoked nodes in scope failing each check (fail or error).
    pub failing: BTreeMap<String, i64>,
    /// Nodes the list's filters match.
    pub listed: i64,
    /// The page of them: never reported, stale, fresh, revoked; by name within.
    pub nodes: Vec<NodeRow>,
}

impl Store {
    /// The fleet page's numbers and node list.
    pub async fn fleet(&self, q: &FleetQuery) -> Result<FleetSummary, StoreError> {
        match self {
            Store::Sqlite(s) => s.fleet(q).await,
            Store::Postgres(s) => s.fleet(q).await,
        }
    }
}

/// `failing` less `revoked` (both per check), dropping zeros.
pub(super) fn less(
    mut failing: BTreeMap<String, i64>,
    revoked: Vec<(String, i64)>,
) -> BTreeMap<String, i64> {
    for (c, n) in revoked {
        if let Some(v) = failing.get_mut(&c) {
            *v -= n;
        }
    }
    failing.retain(|_, v| *v > 0);
    failing
}
