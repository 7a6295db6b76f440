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

/// The shard a node's changes go to: any fixed choice is right (readers
/// sum the shards); this one spreads nodes evenly.
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
    let mut out = Counts::new();
    let key = |c: &str, sev: &str, st: &str| {
        (
            c.to_string(),
            sev.to_string(),
            st.to_string(),
            layout.to_string(),
        )
    };
    for (c, sev, st) in findings {
        out.entry(key(c, sev, st)).or_insert((0, 1)).0 += 1;
        if st == "fail" || st == "error" {
            out.entry(key(c, "", FAILING)).or_insert((0, 1));
        }
    }
    out.insert(key("", "", ""), (0, 1));
    out
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
