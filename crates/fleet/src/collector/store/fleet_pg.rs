//! PostgreSQL half of [`super::super::fleet`] (a child of the engine, for its pool).
use std::collections::BTreeMap;
use std::sync::OnceLock;

use tokio_postgres::types::ToSql;

use super::super::fleet::{less, FleetQuery, FleetSummary};
use super::{node_row, PgStore, StoreError};

/// As the SQLite engine's, with typed parameters.
const RANK: &str = "CASE WHEN p.revoked_at IS NOT NULL THEN 3 WHEN l.run_id IS NULL THEN 0 \
     WHEN $1::BIGINT - LEAST(l.started_at, l.received_at) > $2::BIGINT THEN 1 ELSE 2 END";

const SCOPE: &str = "FROM principals p LEFT JOIN node_latest l ON l.node = p.name \
     WHERE p.role = 'node' AND ($3::TEXT IS NULL OR l.layout = $3) \
       AND ($4::TEXT IS NULL OR EXISTS (SELECT 1 FROM findings t \
            WHERE t.run_id = l.run_id AND t.target = $4))";

const TARGET_FAILING: &str = "SELECT f.check_id, count(DISTINCT l.node) FROM principals p \
     JOIN node_latest l ON l.node = p.name JOIN findings f ON f.run_id = l.run_id \
     WHERE p.role = 'node' AND p.revoked_at IS NULL \
       AND f.status IN ('fail', 'error') AND f.target = $2::TEXT \
       AND ($1::TEXT IS NULL OR l.layout = $1) GROUP BY f.check_id";

const SUMMED_FAILING: &str = "SELECT check_id, SUM(nodes)::BIGINT FROM latest_counts \
     WHERE status = 'failing' AND ($1::TEXT IS NULL OR layout = $1) GROUP BY check_id";

const REVOKED_FAILING: &str = "SELECT f.check_id, count(DISTINCT l.node) FROM principals p \
     JOIN node_latest l ON l.node = p.name JOIN findings f ON f.run_id = l.run_id \
     WHERE p.revoked_at IS NOT NULL AND f.status IN ('fail', 'error') \
       AND ($1::TEXT IS NULL OR l.layout = $1) GROUP BY f.check_id";

/// States with the list's count (one pass), list page.
fn sql() -> &'static [String; 2] {
    static SQL: OnceLock<[String; 2]> = OnceLock::new();
    SQL.get_or_init(|| {
        let filters = format!(
            "($5::INTEGER IS NULL OR {RANK} = $5) \
             AND ($6::TEXT IS NULL OR l.status = $6) \
             AND ($7::TEXT IS NULL OR strpos(',' || l.failing || ',', ',' || $7 || ',') > 0) \
             AND ($8::TEXT IS NULL OR EXISTS (SELECT 1 FROM findings s \
                  WHERE s.run_id = l.run_id AND s.severity = $8 \
                    AND s.status IN ('fail', 'error')))"
        );
        [
            format!(
                "SELECT {RANK} AS rank, count(*), \
                 count(*) FILTER (WHERE {filters}) {SCOPE} GROUP BY rank"
            ),
            format!(
                "SELECT n.name, n.enrolled_at, n.revoked, {} FROM ( \
                    SELECT p.name, p.enrolled_at, p.revoked_at IS NOT NULL AS revoked, \
                       l.run_id AS run_id, {RANK} AS rank {SCOPE} AND {filters} \
                    ORDER BY rank, p.name COLLATE \"C\" LIMIT $9 OFFSET $10) n \
                 LEFT JOIN reports r ON r.run_id = n.run_id \
                 ORDER BY n.rank, n.name COLLATE \"C\"",
                report_cols!()
            ),
        ]
    })
}

impl PgStore {
    /// See [`super::super::Store::fleet`].
    pub async fn fleet(&self, q: &FleetQuery) -> Result<FleetSummary, StoreError> {
        let [states_sql, page_sql] = sql();
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let states = c.stmt(states_sql).await?;
        let page = c.stmt(page_sql).await?;
        let target_failing = c.stmt(TARGET_FAILING).await?;
        let summed = c.stmt(SUMMED_FAILING).await?;
        let revoked = c.stmt(REVOKED_FAILING).await?;
        // One snapshot for the counts and the list, planned per request.
        let tx = super::pages::custom_plans(&mut c.client).await?;
        let mut out = FleetSummary::default();
        let (limit, offset) = (i64::from(q.limit), i64::from(q.offset));
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![
            &q.now_ms,
            &q.stale_ms,
            &q.layout,
            &q.target,
            &q.state,
            &q.status,
            &q.check,
            &q.severity,
        ];
        for row in tx.query(&states, &args).await? {
            let rank: i32 = row.try_get(0)?;
            if let Some(slot) = usize::try_from(rank)
                .ok()
                .and_then(|i| out.states.get_mut(i))
            {
                *slot = row.try_get(1)?;
            }
            out.listed += row.try_get::<_, i64>(2)?;
        }
        args.extend([&limit as &(dyn ToSql + Sync), &offset]);
        out.nodes = tx
            .query(&page, &args)
            .await?
            .iter()
            .map(node_row)
            .collect::<Result<Vec<_>, StoreError>>()?;
        let pairs = |rows: Vec<tokio_postgres::Row>| -> Result<Vec<(String, i64)>, StoreError> {
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        };
        out.failing = match &q.target {
            Some(t) => pairs(tx.query(&target_failing, &[&q.layout, t]).await?)?
                .into_iter()
                .collect(),
            None => less(
                pairs(tx.query(&summed, &[&q.layout]).await?)?
                    .into_iter()
                    .collect::<BTreeMap<_, _>>(),
                pairs(tx.query(&revoked, &[&q.layout]).await?)?,
            ),
        };
        tx.commit().await?;
        Ok(out)
    }
}
