//! Property tests of the collector's report decoder: whatever bytes
//! arrive, `decode` answers (never panics), and its answer is consistent:
//! bytes that are not JSON are `Malformed` (400), JSON that is not a valid
//! report is `Invalid` (422), and an accepted report round-trips.
//! A long run: `FUZZ_CASES=1000000 cargo test --release --test ingest_fuzz`.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

#[path = "common/fleet.rs"]
mod fleet;

use barbican_audit_fleet::collector::ingest::{decode, Rejection};
use proptest::prelude::*;

fn seed() -> Vec<u8> {
    serde_json::to_vec(fleet::real_report()).unwrap()
}

fn classify(bytes: &[u8]) {
    match decode(bytes) {
        Ok(r) => {
            // Accepted: valid JSON, and stable.
            assert!(serde_json::from_slice::<serde_json::Value>(bytes).is_ok());
            assert_eq!(decode(bytes).unwrap().run_id, r.run_id);
            assert!(!r.findings.is_empty());
        }
        Err(Rejection::Malformed(_)) => {
            // Not JSON: (except for nesting beyond serde_json's limit) a
            // plain JSON parse must fail too.
            if let Ok(v) = std::str::from_utf8(bytes) {
                let depth = v.chars().filter(|c| *c == '[' || *c == '{').count();
                if depth < 100 {
                    assert!(serde_json::from_slice::<serde_json::Value>(bytes).is_err());
                }
            }
        }
        Err(Rejection::Invalid(m)) => {
            assert!(
                serde_json::from_slice::<serde_json::Value>(bytes).is_ok(),
                "{m}"
            );
        }
    }
}

proptest! {
    // FUZZ_CASES=1000000 for a long run; CI runs 3,000 of each.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn byte_mutations_of_a_real_report(ops in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 1..8)) {
        let mut b = seed();
        for (pos, byte, op) in ops {
            if b.is_empty() { break; }
            let i = pos % b.len();
            match op {
                0 => b[i] = byte,
                1 => { b.remove(i); }
                2 => b.insert(i, byte),
                _ => b.truncate(i),
            }
        }
        classify(&b);
    }

    #[test]
    fn arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..512)) {
        classify(&b);
    }

    #[test]
    fn field_level_mutations(path in 0usize..12, value in prop_oneof![
        Just(serde_json::Value::Null),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
    ]) {
        let mut v = fleet::real_report().clone();
        let targets = [
            "/schema_version", "/run/id", "/run/started_at", "/summary/pass", "/catalog/sha256",
            "/findings/0/status", "/findings/0/severity", "/findings/0/check_id",
            "/findings/1/subject", "/host/hostname", "/tool/name", "/findings",
        ];
        if let Some(slot) = v.pointer_mut(targets[path]) {
            *slot = value;
        }
        classify(&serde_json::to_vec(&v).unwrap());
    }
}

#[test]
fn the_seed_is_accepted() {
    assert!(decode(&seed()).is_ok());
}
