//! SQLite half of [`super::super::fleet`] (a child of the engine, for its reader pool).
use std::collections::BTreeMap;

use rusqlite::params;

use super::super::fleet::{less, FleetQuery, FleetSummary};
use super::{node_row, SqliteStore, StoreError, REPORT_COLS};

/// Never (0), stale (1), fresh (2), revoked (3); `?1` now, `?2` stale after.
const RANK: &str = "CASE WHEN p.revoked_at IS NOT NULL THEN 3 WHEN l.run_id IS NULL THEN 0 \
     WHEN ?1 - min(l.started_at, l.received_at) > ?2 THEN 1 ELSE 2 END";

/// Nodes in scope: `?3` layout, `?4` target.
const SCOPE: &str = "FROM principals p LEFT JOIN node_latest l ON l.node = p.name \
     WHERE p.role = 'node' AND (?3 IS NULL OR l.layout = ?3) \
       AND (?4 IS NULL OR EXISTS (SELECT 1 FROM findings t \
            WHERE t.run_id = l.run_id AND t.target = ?4))";

/// The list's filters: `?5` state, `?6` status, `?7` check, `?8` severity.
fn filters() -> String {
    format!(
        "(?5 IS NULL OR {RANK} = ?5) AND (?6 IS NULL OR l.status = ?6) \
         AND (?7 IS NULL OR instr(',' || l.failing || ',', ',' || ?7 || ',') > 0) \
         AND (?8 IS NULL OR EXISTS (SELECT 1 FROM findings s WHERE s.run_id = l.run_id \
              AND s.severity = ?8 AND s.status IN ('fail', 'error')))"
    )
}

impl SqliteStore {
    /// See [`super::super::Store::fleet`].
    pub async fn fleet(&self, q: &FleetQuery) -> Result<FleetSummary, StoreError> {
        let q = q.clone();
        self.read(move |c| {
            // One read transaction: the counts and the list see one snapshot.
            let tx = c.transaction()?;
            let mut out = FleetSummary::default();
            let filter_args = params![
                q.now_ms, q.stale_ms, q.layout, q.target, q.state, q.status, q.check, q.severity
            ];
            // One pass over the nodes in scope: by state, and how many the list shows.
            let mut st = tx.prepare_cached(&format!(
                "SELECT {RANK} AS rank, count(*), SUM(CASE WHEN {} THEN 1 ELSE 0 END) {SCOPE} \
                 GROUP BY rank",
                filters()
            ))?;
            let rows = st.query_map(filter_args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (rank, n, listed) = row?;
                if let Some(slot) = usize::try_from(rank)
                    .ok()
                    .and_then(|i| out.states.get_mut(i))
                {
                    *slot = n;
                }
                out.listed += listed;
            }
            drop(st);
            let mut st = tx.prepare_cached(&format!(
                // The page first (node_latest only), then its 50 reports.
                "SELECT n.name, n.enrolled_at, n.revoked, {REPORT_COLS} FROM ( \
                    SELECT p.name, p.enrolled_at, p.revoked_at IS NOT NULL AS revoked, \
                       l.run_id AS run_id, {RANK} AS rank {SCOPE} AND {} \
                    ORDER BY rank, p.name LIMIT ?9 OFFSET ?10) n \
                 LEFT JOIN reports r ON r.run_id = n.run_id ORDER BY n.rank, n.name",
                filters()
            ))?;
            out.nodes = st
                .query_map(
                    params![
                        q.now_ms,
                        q.stale_ms,
                        q.layout,
                        q.target,
                        q.state,
                        q.status,
                        q.check,
                        q.severity,
                        i64::from(q.limit),
                        i64::from(q.offset)
                    ],
                    node_row,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            drop(st);
            let per_check = |sql: &str,
                             args: &[&dyn rusqlite::ToSql]|
             -> Result<Vec<(String, i64)>, StoreError> {
                let mut st = tx.prepare_cached(sql)?;
                let rows = st.query_map(args, |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            };
            out.failing = match &q.target {
                // The summary has no target: count that target's findings.
                Some(t) => per_check(
                    "SELECT f.check_id, count(DISTINCT l.node) FROM principals p \
                     JOIN node_latest l ON l.node = p.name JOIN findings f ON f.run_id = l.run_id \
                     WHERE p.role = 'node' AND p.revoked_at IS NULL \
                       AND f.status IN ('fail', 'error') AND f.target = ?2 \
                       AND (?1 IS NULL OR l.layout = ?1) GROUP BY f.check_id",
                    &[&q.layout, t],
                )?
                .into_iter()
                .collect(),
                None => less(
                    per_check(
                        "SELECT check_id, SUM(nodes) FROM latest_counts \
                         WHERE status = 'failing' AND (?1 IS NULL OR layout = ?1) \
                         GROUP BY check_id",
                        &[&q.layout],
                    )?
                    .into_iter()
                    .collect::<BTreeMap<_, _>>(),
                    per_check(
                        "SELECT f.check_id, count(DISTINCT l.node) FROM principals p \
                         JOIN node_latest l ON l.node = p.name \
                         JOIN findings f ON f.run_id = l.run_id \
                         WHERE p.revoked_at IS NOT NULL AND f.status IN ('fail', 'error') \
                           AND (?1 IS NULL OR l.layout = ?1) GROUP BY f.check_id",
                        &[&q.layout],
                    )?,
                ),
            };
            Ok(out)
        })
        .await
    }
}
