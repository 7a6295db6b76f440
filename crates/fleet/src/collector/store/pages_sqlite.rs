//! SQLite half of [`super::super::pages`] (a child of the engine, for its reader pool).
use rusqlite::{params, OptionalExtension};

use super::super::pages::FILTER;
use super::{schema, FindingQuery, FleetFinding, SqliteStore, StoreError};

impl SqliteStore {
    /// See [`super::super::Store::findings_page`].
    pub async fn findings_page(
        &self,
        q: &FindingQuery,
        offset: u32,
    ) -> Result<(Vec<FleetFinding>, i64), StoreError> {
        let q = q.clone();
        let filter = FILTER.replace('#', "?");
        self.read(move |c| {
            let args = params![q.check, q.status, q.severity, q.node];
            let total: i64 = c
                .prepare_cached(&format!(
                    "SELECT count(*) FROM node_latest l JOIN findings f ON f.run_id = l.run_id {filter}"
                ))?
                .query_row(args, |r| r.get(0))?;
            let mut st = c.prepare_cached(&format!(
                "SELECT l.node, l.run_id, r.started_at, \
                        f.check_id, f.severity, f.status, f.subject, f.title, f.message \
                 FROM node_latest l JOIN reports r ON r.run_id = l.run_id \
                 JOIN findings f ON f.run_id = l.run_id {filter} \
                 ORDER BY l.node, f.check_id, f.subject, f.seq LIMIT ?5 OFFSET ?6"
            ))?;
            let rows = st.query_map(
                params![
                    q.check,
                    q.status,
                    q.severity,
                    q.node,
                    schema::limit(q.limit),
                    i64::from(offset)
                ],
                crate::collector::store::sqlite::fleet_finding,
            )?;
            Ok((rows.collect::<Result<Vec<_>, _>>()?, total))
        })
        .await
    }

    /// See [`super::super::Store::report_body`].
    pub async fn report_body(
        &self,
        node: &str,
        run_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let (node, run_id) = (node.to_string(), run_id.to_string());
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT b.body FROM report_bodies b JOIN reports r ON r.run_id = b.run_id \
                 WHERE r.node = ?1 AND r.run_id = ?2",
            )?
            .query_row(params![node, run_id], |r| r.get(0))
            .optional()?)
        })
        .await
    }
}
