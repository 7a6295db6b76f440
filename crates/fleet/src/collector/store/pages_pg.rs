//! PostgreSQL half of [`super::super::pages`] (a child of the engine, for its pool).
use std::sync::OnceLock;

use tokio_postgres::types::ToSql;

use super::super::pages::{counted, located, Locator, PageAt};
use super::{schema, FindingQuery, FleetFinding, PgStore, StoreError};

/// As the SQLite engine's, with typed NULLs; node order is byte order
/// (`COLLATE "C"`, the collation of the `node_latest_node_c` index).
const FROM: &str = "FROM node_latest l JOIN reports r ON r.run_id = l.run_id \
     JOIN findings f ON f.run_id = l.run_id \
     WHERE ($1::TEXT IS NULL OR f.check_id = $1) AND ($2::TEXT IS NULL OR f.status = $2) \
       AND ($3::TEXT IS NULL OR f.severity = $3) AND ($4::TEXT IS NULL OR l.node = $4) \
       AND ($5::TEXT IS NULL OR r.layout = $5) AND ($6::TEXT IS NULL OR f.target = $6)";

/// [`FROM`] with a target: starts from the target's findings.
const FROM_TARGET: &str = "FROM findings f JOIN node_latest l ON l.run_id = f.run_id \
     JOIN reports r ON r.run_id = l.run_id \
     WHERE f.target = $6::TEXT AND ($1::TEXT IS NULL OR f.check_id = $1) \
       AND ($2::TEXT IS NULL OR f.status = $2) AND ($3::TEXT IS NULL OR f.severity = $3) \
       AND ($4::TEXT IS NULL OR l.node = $4) AND ($5::TEXT IS NULL OR r.layout = $5)";

const COLS: &str = "l.node, l.run_id, r.started_at, f.check_id, f.severity, \
     f.status, f.subject, f.title, f.message, f.seq, f.target";

const SUMMED: &str = "SELECT COALESCE(SUM(findings), 0)::BIGINT FROM latest_counts \
     WHERE status NOT IN ('', 'failing') AND ($1::TEXT IS NULL OR check_id = $1) \
       AND ($2::TEXT IS NULL OR status = $2) AND ($3::TEXT IS NULL OR severity = $3) \
       AND ($4::TEXT IS NULL OR layout = $4)";

/// The next `$4` listed nodes after node `$3` (`''` for the first) with
/// their tallies, in list order (`$1` layout, `$2` node). In
/// batches with a LIMIT: planned for the whole list, this join sorted all
/// 10,000 tallies (500 bytes each, spilling to disk) before sending the
/// first; planned for a batch it merges `node_latest_node_c` with
/// `node_tally_node_c` as they stream (EXPLAIN ANALYZE at 6,000 nodes:
/// 7 ms for the first 4,158, against 19 ms looking each tally up and
/// 23 ms sorting), and stops when the page is found. The bound on `t`
/// too, or each batch merges the tallies from the first node on.
const TALLIES: &str = "SELECT l.node, t.tally FROM node_latest l \
     LEFT JOIN node_tally t ON t.node COLLATE \"C\" = l.node COLLATE \"C\" \
        AND t.node COLLATE \"C\" > $3 \
     WHERE ($1::TEXT IS NULL OR l.layout = $1) AND ($2::TEXT IS NULL OR l.node = $2) \
       AND l.node COLLATE \"C\" > $3 \
     ORDER BY l.node COLLATE \"C\" LIMIT $4";

/// Tallies read per round trip while locating a page.
const TALLY_BATCH: i64 = 2500;

/// The statements: live count, then a page by offset, after and before a
/// cursor, and from a node on (`$9` of its rows skipped); without and with
/// a target (prepared statements are cached by `&'static str`).
fn sql(target: bool) -> &'static [String; 5] {
    static SQL: OnceLock<[[String; 5]; 2]> = OnceLock::new();
    let all = SQL.get_or_init(|| [statements(FROM), statements(FROM_TARGET)]);
    &all[usize::from(target)]
}

fn statements(from: &str) -> [String; 5] {
    {
        [
            format!("SELECT count(*) {from}"),
            format!("SELECT {COLS} {from} ORDER BY l.node COLLATE \"C\", f.seq LIMIT $7 OFFSET $8"),
            format!(
                "SELECT {COLS} {from} AND l.node COLLATE \"C\" >= $8 \
                 AND (l.node COLLATE \"C\" > $8 OR f.seq > $9) \
                 ORDER BY l.node COLLATE \"C\", f.seq LIMIT $7"
            ),
            format!(
                "SELECT {COLS} {from} AND l.node COLLATE \"C\" <= $8 \
                 AND (l.node COLLATE \"C\" < $8 OR f.seq < $9) \
                 ORDER BY l.node COLLATE \"C\" DESC, f.seq DESC LIMIT $7"
            ),
            format!(
                "SELECT {COLS} {from} AND l.node COLLATE \"C\" >= $8 \
                 ORDER BY l.node COLLATE \"C\", f.seq LIMIT $7 OFFSET $9"
            ),
        ]
    }
}

/// A read-only snapshot whose statements are planned for their parameters
/// at each run. PostgreSQL would otherwise switch a prepared statement to
/// a generic plan after five runs, and for these lists (any filter may be
/// NULL) that plan reads every latest finding and sorts them: measured
/// 367 ms against 0.3 ms at 10,000 nodes (EXPLAIN ANALYZE).
pub(super) async fn custom_plans(
    client: &mut tokio_postgres::Client,
) -> Result<tokio_postgres::Transaction<'_>, StoreError> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    tx.batch_execute("SET LOCAL plan_cache_mode = force_custom_plan")
        .await?;
    Ok(tx)
}

const BODY: &str = "SELECT b.body FROM report_bodies b JOIN reports r ON r.run_id = b.run_id \
     WHERE r.node = $1 AND r.run_id = $2";

impl PgStore {
    /// See [`super::super::Store::findings_page`] (rows of `Before` come last first).
    pub async fn findings_page(
        &self,
        q: &FindingQuery,
        at: &PageAt,
    ) -> Result<(Vec<FleetFinding>, i64), StoreError> {
        let [count_sql, by_offset, after, before, from_node] = sql(q.target.is_some());
        let mut lease = self.pool.get().await?;
        let c = lease.conn()?;
        let summed = c.stmt(SUMMED).await?;
        let count = c.stmt(count_sql.as_str()).await?;
        let st = c
            .stmt(match at {
                PageAt::Offset(_) => by_offset,
                PageAt::After(..) => after,
                PageAt::Before(..) => before,
            })
            .await?;
        // Prepared before the transaction borrows the client.
        let locating = match located(q, at) {
            Some(offset) => Some((
                offset,
                c.stmt(TALLIES).await?,
                c.stmt(from_node.as_str()).await?,
            )),
            None => None,
        };
        let tx = custom_plans(&mut c.client).await?;
        let filters: [&(dyn ToSql + Sync); 6] = [
            &q.check,
            &q.status,
            &q.severity,
            &q.node,
            &q.layout,
            &q.target,
        ];
        let total: i64 = if counted(q) {
            tx.query_one(&summed, &[&q.check, &q.status, &q.severity, &q.layout])
                .await?
                .try_get(0)?
        } else {
            tx.query_one(&count, &filters).await?.try_get(0)?
        };
        // A deep page number: the node its first row is in, and how many
        // of that node's rows come before it.
        let mut start = None;
        if let Some((offset, tallies, _)) = &locating {
            let mut find = Locator::new(q, *offset);
            let mut last = String::new();
            'read: loop {
                let batch = tx
                    .query(tallies, &[&q.layout, &q.node, &last, &TALLY_BATCH])
                    .await?;
                for r in &batch {
                    last = r.try_get(0)?;
                    if !find.push(last.clone(), r.try_get(1)?) {
                        break 'read;
                    }
                }
                if batch.len() < TALLY_BATCH as usize {
                    break;
                }
            }
            match find.found() {
                Some(Some(at)) => start = Some(at),
                Some(None) => {
                    tx.commit().await?;
                    return Ok((Vec::new(), total));
                }
                None => {}
            }
        }
        let limit = schema::limit(q.limit);
        let mut args: Vec<&(dyn ToSql + Sync)> = filters.to_vec();
        args.push(&limit);
        let (offset, seq) = match at {
            PageAt::Offset(n) => (i64::from(*n), 0),
            PageAt::After(_, s) | PageAt::Before(_, s) => {
                (0, i32::try_from(*s).unwrap_or(i32::MAX))
            }
        };
        let st = match (&start, &locating) {
            (Some(_), Some((_, _, from_node))) => from_node.clone(),
            _ => st,
        };
        match (at, &start) {
            (PageAt::Offset(_), Some((node, skip))) => {
                args.push(node);
                args.push(skip);
            }
            (PageAt::Offset(_), None) => args.push(&offset),
            (PageAt::After(node, _) | PageAt::Before(node, _), _) => {
                args.push(node);
                args.push(&seq);
            }
        }
        let rows = tx.query(&st, &args).await?;
        tx.commit().await?;
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
