//! JSON reports in tests: running `scan` for one, and picking one check's
//! findings out of a report. A test crate includes it next to `mod common;`
//! with `#[path = "common/report.rs"] mod report;`.
#![allow(dead_code)]

use std::path::Path;
use std::process::Output;

/// Runs `barbican-audit scan --root <root> --format json` plus `extra`
/// through `common::run` (which checks the report against the schema).
pub fn scan_run(root: &Path, extra: &[&str]) -> Output {
    let root = root.to_str().expect("utf8");
    crate::common::run(&[&["scan", "--root", root, "--format", "json"], extra].concat())
}

/// [`scan_run`]: the exit code and the report.
pub fn scan_json(root: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = scan_run(root, extra);
    (out.status.code().expect("exit code"), report_of(&out))
}

/// The JSON report on a run's stdout; a panic names the run's stderr.
pub fn report_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report on stdout ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Every finding of one check, in report order.
pub fn findings_of<'a>(report: &'a serde_json::Value, check: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check_id"] == check)
        .collect()
}
