//! SQLite half of [`super::super::pages`] (a child of the engine, for its reader pool).
use rusqlite::{params, OptionalExtension};

use super::super::pages::{counted, located, Locator, PageAt};
use super::{schema, FindingQuery, FleetFinding, SqliteStore, StoreError};

/// The findings of the latest reports, filtered: `?1` check, `?2` status,
/// `?3` severity, `?4` node, `?5` layout, `?6` target.
pub(super) const FROM: &str = "FROM node_latest l JOIN reports r ON r.run_id = l.run_id \
     JOIN findings f ON f.run_id = l.run_id \
     WHERE (?1 IS NULL OR f.check_id = ?1) AND (?2 IS NULL OR f.status = ?2) \
       AND (?3 IS NULL OR f.severity = ?3) AND (?4 IS NULL OR l.node = ?4) \
       AND (?5 IS NULL OR r.layout = ?5) AND (?6 IS NULL OR f.target = ?6)";

/// [`FROM`] with a target: starts from the target's findings
/// (`findings_target`, then `node_latest_run`), not from every node.
const FROM_TARGET: &str = "FROM findings f JOIN node_latest l ON l.run_id = f.run_id \
     JOIN reports r ON r.run_id = l.run_id \
     WHERE f.target = ?6 AND (?1 IS NULL OR f.check_id = ?1) AND (?2 IS NULL OR f.status = ?2) \
       AND (?3 IS NULL OR f.severity = ?3) AND (?4 IS NULL OR l.node = ?4) \
       AND (?5 IS NULL OR r.layout = ?5)";

/// The columns [`super::fleet_finding`] reads.
pub(super) const COLS: &str = "l.node, l.run_id, r.started_at, f.check_id, f.severity, \
     f.status, f.subject, f.title, f.message, f.seq, f.target";

/// Each listed node's tally in list order (`?1` layout, `?2` node).
const TALLIES: &str = "SELECT l.node, t.tally FROM node_latest l \
     LEFT JOIN node_tally t ON t.node = l.node \
     WHERE (?1 IS NULL OR l.layout = ?1) AND (?2 IS NULL OR l.node = ?2) ORDER BY l.node";

/// The total from the summary table (see [`counted`]); `?4` is the layout.
const SUMMED: &str = "SELECT COALESCE(SUM(findings), 0) FROM latest_counts \
     WHERE status NOT IN ('', 'failing') AND (?1 IS NULL OR check_id = ?1) \
       AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR severity = ?3) \
       AND (?4 IS NULL OR layout = ?4)";

impl SqliteStore {
    /// See [`super::super::Store::findings_page`] (rows of `Before` come newest first).
    pub async fn findings_page(
        &self,
        q: &FindingQuery,
        at: &PageAt,
    ) -> Result<(Vec<FleetFinding>, i64), StoreError> {
        let q = q.clone();
        let at = at.clone();
        self.read(move |c| {
            // One snapshot for the total, the tallies and the page.
            let c = c.transaction()?;
            let from = if q.target.is_some() {
                FROM_TARGET
            } else {
                FROM
            };
            let total: i64 = if counted(&q) {
                c.prepare_cached(SUMMED)?
                    .query_row(params![q.check, q.status, q.severity, q.layout], |r| {
                        r.get(0)
                    })?
            } else {
                c.prepare_cached(&format!("SELECT count(*) {from}"))?
                    .query_row(
                        params![q.check, q.status, q.severity, q.node, q.layout, q.target],
                        |r| r.get(0),
                    )?
            };
            // A deep page number: the node its first row is in, and how
            // many of that node's rows come before it.
            let mut start = None;
            if let Some(offset) = located(&q, &at) {
                let mut st = c.prepare_cached(TALLIES)?;
                let mut rows = st.query(params![q.layout, q.node])?;
                let mut find = Locator::new(&q, offset);
                // Read only up to the node the page starts in.
                while let Some(r) = rows.next()? {
                    if !find.push(r.get(0)?, r.get::<_, Option<String>>(1)?.as_deref()) {
                        break;
                    }
                }
                match find.found() {
                    Some(Some(at)) => start = Some(at),
                    Some(None) => return Ok((Vec::new(), total)),
                    None => {}
                }
            }
            let (tail, cursor): (&str, Vec<Box<dyn rusqlite::ToSql>>) = match (&at, start) {
                (PageAt::Offset(_), Some((node, skip))) => (
                    "AND l.node >= ?8 ORDER BY l.node, f.seq LIMIT ?7 OFFSET ?9",
                    vec![Box::new(node), Box::new(skip)],
                ),
                (PageAt::Offset(n), None) => (
                    "ORDER BY l.node, f.seq LIMIT ?7 OFFSET ?8",
                    vec![Box::new(i64::from(*n))],
                ),
                (PageAt::After(node, seq), _) => (
                    "AND l.node >= ?8 AND (l.node > ?8 OR f.seq > ?9) \
                     ORDER BY l.node, f.seq LIMIT ?7",
                    vec![Box::new(node.clone()), Box::new(*seq)],
                ),
                (PageAt::Before(node, seq), _) => (
                    "AND l.node <= ?8 AND (l.node < ?8 OR f.seq < ?9) \
                     ORDER BY l.node DESC, f.seq DESC LIMIT ?7",
                    vec![Box::new(node.clone()), Box::new(*seq)],
                ),
            };
            let limit = schema::limit(q.limit);
            let mut args: Vec<&dyn rusqlite::ToSql> =
                params![q.check, q.status, q.severity, q.node, q.layout, q.target].to_vec();
            args.push(&limit);
            args.extend(cursor.iter().map(|b| b.as_ref()));
            let rows = c
                .prepare_cached(&format!("SELECT {COLS} {from} {tail}"))?
                .query_map(
                    args.as_slice(),
                    crate::collector::store::sqlite::fleet_finding,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rows, total))
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
