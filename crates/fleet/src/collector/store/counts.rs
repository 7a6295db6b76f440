//! The `latest_counts` summary (schema version 2): what one latest report
//! contributes, and the change when a node's latest report is replaced.
//! Both engines apply [`delta`] in the ingest transaction that moves
//! `node_latest`, and the version 2 backfill sums [`contributions`] of
//! every latest report, so the table is always the sum over `node_latest`.
use std::collections::BTreeMap;

/// Shards of each count (see the schema's note on row locks).
pub(super) const SHARDS: i32 = 16;

/// Status of the rows that count nodes where a check fails or errors.
pub(super) const FAILING: &str = "failing";

/// `(check_id, severity, status, layout)`.
pub(super) type Key = (String, String, String, String);

/// `(findings, nodes)` per key.
pub(super) type Counts = BTreeMap<Key, (i64, i64)>;

/// A shard for a node's changes where no better one is known (the
/// backfills, SQLite's single writer): any choice is right, since readers
/// sum the shards; this one spreads nodes evenly. PostgreSQL's ingest uses
/// its client's own shard instead (`postgres::Conn::shard`).
pub(super) fn shard(node: &str) -> i32 {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in node.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i32::try_from(h % SHARDS.unsigned_abs()).unwrap_or(0)
}

/// What one node's latest report adds: per (check, severity, status) its
/// findings and one node; per failing check one node (status `failing`);
/// one reporting node (check `''`). `findings` yields
/// `(check_id, severity, status)`.
pub(super) fn contributions<'a>(
    layout: &str,
    findings: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
) -> Counts {
    weighted(
        layout,
        findings.into_iter().map(|(c, sev, st)| (c, sev, st, 1)),
    )
}

/// [`contributions`] from a report's [`tally`]: `(check_id, severity,
/// status, findings)`.
pub(super) fn weighted<'a>(
    layout: &str,
    findings: impl IntoIterator<Item = (&'a str, &'a str, &'a str, i64)>,
) -> Counts {
    let mut out = Counts::new();
    let key = |c: &str, sev: &str, st: &str| {
        (
            c.to_string(),
            sev.to_string(),
            st.to_string(),
            layout.to_string(),
        )
    };
    for (c, sev, st, n) in findings {
        out.entry(key(c, sev, st)).or_insert((0, 1)).0 += n;
        if st == "fail" || st == "error" {
            out.entry(key(c, "", FAILING)).or_insert((0, 1));
        }
    }
    out.insert(key("", "", ""), (0, 1));
    out
}

/// A report's findings counted by (check, severity, status), as
/// `node_tally` keeps each node's latest: a line `check TAB severity TAB
/// status TAB count` per kind, in key order. Ingest reads the old latest
/// report's contribution from it instead of from that report's findings,
/// and a typed page number is turned into a place in the list with it
/// (see [`locate`]). Check IDs, severities and statuses hold no tab or
/// newline (ingest validates them).
pub(super) fn tally<'a>(findings: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> String {
    let mut by: BTreeMap<(&str, &str, &str), i64> = BTreeMap::new();
    for k in findings {
        *by.entry(k).or_insert(0) += 1;
    }
    let mut out = String::new();
    for ((c, sev, st), n) in by {
        out.push_str(&format!("{c}\t{sev}\t{st}\t{n}\n"));
    }
    out
}

/// The entries of a [`tally`] line by line, each `None` when the line is
/// not one.
fn entries(s: &str) -> impl Iterator<Item = Option<(&str, &str, &str, i64)>> {
    s.lines().map(|l| {
        let mut p = l.split('\t');
        let e = (p.next()?, p.next()?, p.next()?, p.next()?.parse().ok()?);
        p.next().is_none().then_some(e)
    })
}

/// The entries of a [`tally`]; `None` when it is not one (then the caller
/// reads the findings themselves).
pub(super) fn parse_tally(s: &str) -> Option<Vec<(&str, &str, &str, i64)>> {
    entries(s).collect()
}

/// How many of a node's latest findings `tally` says match the filters
/// (`None`: any); `None` when the tally is unreadable. Without collecting
/// the entries: this runs for every node before a deep page.
pub(super) fn matching(
    tally: &str,
    check: Option<&str>,
    severity: Option<&str>,
    status: Option<&str>,
) -> Option<i64> {
    let ok = |want: Option<&str>, v: &str| want.is_none_or(|w| w == v);
    entries(tally).try_fold(0, |sum, e| {
        let (c, sev, st, n) = e?;
        Some(if ok(check, c) && ok(severity, sev) && ok(status, st) {
            sum + n
        } else {
            sum
        })
    })
}

/// Where row `offset` of a findings list is: the node it falls in, and how
/// many of that node's matching findings come before it. `nodes` are the
/// listed nodes in list order with their matching counts (`None`: not
/// known, then `None`: count rows instead). `Some(None)`: the list is
/// shorter than `offset`.
pub(super) fn locate<S>(
    nodes: impl IntoIterator<Item = (S, Option<i64>)>,
    offset: i64,
) -> Option<Option<(S, i64)>> {
    let mut before = 0i64;
    for (node, n) in nodes {
        let n = n?;
        if before + n > offset {
            return Some(Some((node, offset - before)));
        }
        before += n;
    }
    Some(None)
}

/// `new` minus `old`, without the keys that do not change.
pub(super) fn delta(old: Option<Counts>, new: Counts) -> Vec<(Key, i64, i64)> {
    let mut all = new;
    for (k, (f, n)) in old.unwrap_or_default() {
        let e = all.entry(k).or_insert((0, 0));
        e.0 -= f;
        e.1 -= n;
    }
    // BTreeMap order: every transaction locks the rows of a shard in the
    // same order, so two ingests can wait for each other but not deadlock.
    all.into_iter()
        .filter(|(_, (f, n))| *f != 0 || *n != 0)
        .map(|(k, (f, n))| (k, f, n))
        .collect()
}

/// A latest report's layout and its findings' `(check_id, severity,
/// status)`, as both engines read them back from the findings table.
pub(super) struct Kinds {
    layout: String,
    findings: Vec<(String, String, String)>,
}

/// [`Kinds`] from the rows of a `node_latest` join that left-joins the
/// findings: `(layout, check_id, severity, status)`, the last three NULL
/// for a report without findings. `None`: no rows (no latest report).
pub(super) fn kinds(
    rows: impl IntoIterator<Item = (String, Option<String>, Option<String>, Option<String>)>,
) -> Option<Kinds> {
    let mut layout = None;
    let mut findings = Vec::new();
    for (l, c, sev, st) in rows {
        layout.get_or_insert(l);
        if let (Some(c), Some(sev), Some(st)) = (c, sev, st) {
            findings.push((c, sev, st));
        }
    }
    Some(Kinds {
        layout: layout?,
        findings,
    })
}

impl Kinds {
    fn each(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.findings
            .iter()
            .map(|(c, sev, st)| (c.as_str(), sev.as_str(), st.as_str()))
    }

    /// What the report adds to `latest_counts`.
    pub fn contributions(&self) -> Counts {
        contributions(&self.layout, self.each())
    }

    /// The report's [`tally`].
    pub fn tally(&self) -> String {
        tally(self.each())
    }
}

/// A delta as one array per column, as both engines bind it.
pub(super) struct Columns<'a> {
    pub check: Vec<&'a str>,
    pub severity: Vec<&'a str>,
    pub status: Vec<&'a str>,
    pub layout: Vec<&'a str>,
    pub findings: Vec<i64>,
    pub nodes: Vec<i64>,
}

impl<'a> Columns<'a> {
    pub fn of(delta: &'a [(Key, i64, i64)]) -> Self {
        let col = |pick: fn(&Key) -> &String| delta.iter().map(|d| pick(&d.0).as_str()).collect();
        Columns {
            check: col(|k| &k.0),
            severity: col(|k| &k.1),
            status: col(|k| &k.2),
            layout: col(|k| &k.3),
            findings: delta.iter().map(|d| d.1).collect(),
            nodes: delta.iter().map(|d| d.2).collect(),
        }
    }
}

/// The layout of a stored body (`host.layout`), and each finding's target
/// in report order: the version 2 backfill of reports stored before it.
pub(super) fn body_layout_targets(body: &str) -> (String, Vec<Option<String>>) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let layout = v
        .pointer("/host/layout")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    let targets = v
        .get("findings")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .map(|f| {
                    f.get("target")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    (layout, targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_counts_findings_failing_checks_and_one_node() {
        let c = contributions(
            "kolla",
            [
                ("BAR-001", "high", "fail"),
                ("BAR-001", "high", "fail"),
                ("BAR-001", "high", "error"),
                ("BAR-002", "low", "pass"),
            ],
        );
        let k = |c: &str, s: &str, st: &str| {
            (
                c.to_string(),
                s.to_string(),
                st.to_string(),
                "kolla".to_string(),
            )
        };
        assert_eq!(c[&k("BAR-001", "high", "fail")], (2, 1));
        assert_eq!(c[&k("BAR-001", "high", "error")], (1, 1));
        // Failing once per node, however many failing findings.
        assert_eq!(c[&k("BAR-001", "", FAILING)], (0, 1));
        assert!(!c.contains_key(&k("BAR-002", "", FAILING)));
        assert_eq!(c[&k("", "", "")], (0, 1));
        assert_eq!(c.len(), 5);
    }

    #[test]
    fn replacing_a_report_moves_only_what_changed() {
        let old = contributions("kolla", [("BAR-001", "high", "fail")]);
        let new = contributions("kolla", [("BAR-001", "high", "pass")]);
        let d = delta(Some(old), new);
        let k = |c: &str, s: &str, st: &str| {
            (
                c.to_string(),
                s.to_string(),
                st.to_string(),
                "kolla".to_string(),
            )
        };
        assert_eq!(
            d,
            vec![
                (k("BAR-001", "", FAILING), 0, -1),
                (k("BAR-001", "high", "fail"), -1, -1),
                (k("BAR-001", "high", "pass"), 1, 1),
            ]
        );
        // A first report adds everything.
        assert_eq!(delta(None, contributions("x", [])).len(), 1);
    }

    #[test]
    fn a_tally_counts_each_kind_and_reads_back() {
        let t = tally([
            ("BAR-002", "low", "pass"),
            ("BAR-001", "high", "fail"),
            ("BAR-001", "high", "fail"),
        ]);
        assert_eq!(t, "BAR-001\thigh\tfail\t2\nBAR-002\tlow\tpass\t1\n");
        assert_eq!(
            parse_tally(&t),
            Some(vec![
                ("BAR-001", "high", "fail", 2),
                ("BAR-002", "low", "pass", 1)
            ])
        );
        // The counts it gives are those of the findings themselves.
        let from_findings = contributions(
            "x",
            [
                ("BAR-002", "low", "pass"),
                ("BAR-001", "high", "fail"),
                ("BAR-001", "high", "fail"),
            ],
        );
        assert_eq!(weighted("x", parse_tally(&t).unwrap()), from_findings);
        assert_eq!(matching(&t, None, None, Some("fail")), Some(2));
        assert_eq!(matching(&t, Some("BAR-002"), None, None), Some(1));
        assert_eq!(matching(&t, None, Some("low"), Some("fail")), Some(0));
        assert_eq!(matching("", None, None, None), Some(0));
        for bad in ["BAR-001\thigh\tfail\n", "a\tb\tc\tx\n", "a\tb\tc\t1\te\n"] {
            assert_eq!(parse_tally(bad), None, "{bad:?}");
            assert_eq!(matching(bad, None, None, None), None);
        }
    }

    #[test]
    fn a_row_number_is_located_in_its_node() {
        let nodes = || vec![("a", Some(3)), ("b", Some(0)), ("c", Some(2))];
        assert_eq!(locate(nodes(), 0), Some(Some(("a", 0))));
        assert_eq!(locate(nodes(), 2), Some(Some(("a", 2))));
        // "b" has none: row 3 is c's first.
        assert_eq!(locate(nodes(), 3), Some(Some(("c", 0))));
        assert_eq!(locate(nodes(), 4), Some(Some(("c", 1))));
        assert_eq!(locate(nodes(), 5), Some(None));
        // Unknown before the place: count instead; after it: irrelevant.
        assert_eq!(locate(vec![("a", None), ("b", Some(1))], 0), None);
        assert_eq!(
            locate(vec![("a", Some(1)), ("b", None)], 0),
            Some(Some(("a", 0)))
        );
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        assert_eq!(shard("node-00001"), shard("node-00001"));
        let seen: std::collections::HashSet<i32> =
            (0..200).map(|i| shard(&format!("node-{i:05}"))).collect();
        assert!(seen.iter().all(|s| (0..SHARDS).contains(s)));
        assert!(seen.len() > SHARDS as usize / 2);
    }

    #[test]
    fn backfill_reads_layout_and_targets_from_the_body() {
        let (l, t) = body_layout_targets(
            r#"{"host":{"layout":"kolla"},"findings":[{"target":"kolla:barbican_api"},{}]}"#,
        );
        assert_eq!(l, "kolla");
        assert_eq!(t, vec![Some("kolla:barbican_api".to_string()), None]);
        assert_eq!(body_layout_targets("not json").0, "unknown");
    }
}
