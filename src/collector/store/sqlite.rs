//! sqlite engine (to be written: see the contract in mod.rs).
use super::{
    FindingQuery, FleetFinding, IngestOutcome, NodeRow, ReportRow, Role, StoreError, TokenRow,
};
use crate::collector::ingest::NewReport;

/// The sqlite engine.
pub struct SqliteStore {}

#[allow(clippy::unused_async, unused_variables)]
impl SqliteStore {
    /// Opens and migrates.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Err(StoreError::Other("sqlite engine not built yet".into()))
    }
    /// Inserts or replaces the tokens of these names, in one transaction.
    pub async fn enroll(
        &self,
        rows: &[(&str, &super::token::NewToken)],
        role: Role,
    ) -> Result<(), StoreError> {
        Err(StoreError::Other("not built".into()))
    }
    /// Marks the name's token revoked.
    pub async fn revoke(&self, name: &str) -> Result<bool, StoreError> {
        Err(StoreError::Other("not built".into()))
    }
    /// The unrevoked token row with this ID.
    pub async fn token_row(&self, id: &str) -> Result<Option<TokenRow>, StoreError> {
        Err(StoreError::Other("not built".into()))
    }
    /// Stores one report.
    pub async fn ingest(
        &self,
        node: &str,
        r: &NewReport,
        now_ms: i64,
    ) -> Result<IngestOutcome, StoreError> {
        Err(StoreError::Other("not built".into()))
    }
    /// Nodes with their latest report.
    pub async fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        Err(StoreError::Other("not built".into()))
    }
    /// A node's reports.
    pub async fn node_reports(
        &self,
        node: &str,
        limit: u32,
    ) -> Result<Option<Vec<ReportRow>>, StoreError> {
        Err(StoreError::Other("not built".into()))
    }
    /// Fleet findings.
    pub async fn findings(&self, q: &FindingQuery) -> Result<Vec<FleetFinding>, StoreError> {
        Err(StoreError::Other("not built".into()))
    }
}
