//! PostgreSQL half of [`super::super::pages`] (a child of the engine, for its pool).
use std::sync::OnceLock;

use super::{schema, FindingQuery, FleetFinding, PgStore, StoreError};

const PG_FILTER: &str = "WHERE ($1::TEXT IS NULL OR f.check_id = $1) \
       AND ($2::TEXT IS NULL OR f.status = $2) \
       AND ($3::TEXT IS NULL OR f.severity = $3) \
       AND ($4::TEXT IS NULL OR l.node = $4)";

/// The statements, built once from [`PG_FILTER`] (prepared statements are cached by `&'static str`).
fn sql() -> &'static (String, String) {
    static SQL: OnceLock<(String, String)> = OnceLock::new();
    SQL.get_or_init(|| {
        (
            format!(
                "SELECT count(*) FROM node_latest l JOIN findings f ON f.run_id = l.run_id {PG_FILTER}"
            ),
            format!(
                "SELECT l.node, l.run_id, r.started_at, \
                        f.check_id, f.severity, f.status, f.subject, f.title, f.message \
                 FROM node_latest l JOIN reports r ON r.run_id = l.run_id \
                 JOIN findings f ON f.run_id = l.run_id {PG_FILTER} \
                 ORDER BY l.node COLLATE \"C\", f.check_id COLLATE \"C\", \
                          f.subject COLLATE \"C\", f.seq LIMIT $5 OFFSET $6"
            ),
        )
    })
}

const BODY: &str = "SELECT b.body FROM report_bodies b JOIN reports r ON r.run_id = b.run_id \
     WHERE r.node = $1 AND r.run_id = $2";

impl PgStore {
    /// See [`super::super::Store::findings_page`].
    pub async fn findings_page(
        &self,
        q: &FindingQuery,
        offset: u32,
    ) -> Result<(Vec<FleetFinding>, i64), StoreError> {
        let (count_sql, page_sql) = sql();
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let st = c.stmt(count_sql.as_str()).await?;
        let total: i64 = c
            .client
            .query_one(&st, &[&q.check, &q.status, &q.severity, &q.node])
            .await?
            .try_get(0)?;
        let st = c.stmt(page_sql.as_str()).await?;
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
                    &i64::from(offset),
                ],
            )
            .await?;
        let list = rows
            .iter()
            .map(crate::collector::store::postgres::fleet_finding)
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((list, total))
    }

    /// See [`super::super::Store::report_body`].
    pub async fn report_body(
        &self,
        node: &str,
        run_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let st = c.stmt(BODY).await?;
        let row = c.client.query_opt(&st, &[&node, &run_id]).await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }
}
