//! Tests that read like the catalog: one file per check, one test per case,
//! named after the condition it holds (`cargo test bar_004` runs BAR-004's).
//!
//! A case's root and expectation are data (`data/<bar_0NN>/<condition>.case`
//! and its files, see `fixture.rs`), audited in-process through
//! `barbican_audit_core::audit`; `binary.rs` holds the few cases that are
//! about the binary itself (exit status, text view, JSON on stdout). Here:
//! the rules that keep the cases and the catalog in step, a snapshot of the
//! catalog's IDs, titles and severities, and the README's checks table.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

#[path = "../common/mod.rs"]
mod common;

mod across;
mod binary;
mod fixture;

mod bar_001;
mod bar_002;
mod bar_003;
mod bar_004;
mod bar_005;
mod bar_006;
mod bar_007;
mod bar_008;
mod bar_009;
mod bar_010;
mod bar_011;
mod bar_012;
mod bar_013;
mod kmc_001;
mod kmc_002;
mod kmc_003;
mod kmc_004;
mod kmc_005;
mod kmc_006;
mod kmc_007;
mod kmc_008;
mod kmc_009;
mod kmc_010;
mod kmc_011;
mod kmc_012;

use std::path::{Path, PathBuf};

use barbican_audit_core::catalog::Catalog;

fn catalog() -> Catalog {
    Catalog::embedded().unwrap_or_else(|d| panic!("the embedded catalog is invalid: {d:?}"))
}

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/checks")
}

/// Every data case of one check: (condition, manifest).
fn data_cases(module: &str) -> Vec<(String, fixture::Manifest)> {
    let dir = fixture::data_dir().join(module);
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        let Some(cond) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".case"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&p).unwrap();
        out.push((
            cond.to_string(),
            fixture::parse_manifest(&format!("{module}/{cond}.case"), &text),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// No check goes without a case where it passes, one where it fails and one
/// where an input cannot be read (an `expect error` case or an
/// `unreadable(...)` test in its file).
#[test]
fn every_check_has_pass_fail_and_error_cases() {
    let cat = catalog();
    assert!(!cat.checks.is_empty());
    for c in &cat.checks {
        let module = fixture::module_of(&c.id);
        let src = tests_dir().join(format!("{module}.rs"));
        let source = std::fs::read_to_string(&src)
            .unwrap_or_else(|e| panic!("{} has no test file {}: {e}", c.id, src.display()));
        let cases = data_cases(&module);
        let has = |status: &str| {
            cases
                .iter()
                .any(|(_, m)| m.expect.as_ref().is_some_and(|e| e.status == status))
        };
        assert!(has("pass"), "{} has no case where it should pass", c.id);
        assert!(has("fail"), "{} has no case where it should fail", c.id);
        assert!(
            has("error") || source.contains("unreadable("),
            "{} has no case where an input is unreadable",
            c.id
        );
    }
}

/// A `.case` no test names would silently never run; a case without an
/// `expect` line would assert nothing.
#[test]
fn every_data_case_is_run_by_its_check_file() {
    let mut count = 0;
    for c in &catalog().checks {
        let module = fixture::module_of(&c.id);
        let source = std::fs::read_to_string(tests_dir().join(format!("{module}.rs"))).unwrap();
        for (cond, m) in data_cases(&module) {
            assert!(
                source.contains(&format!("\"{cond}\"")),
                "data/{module}/{cond}.case is run by no test in {module}.rs"
            );
            assert!(
                m.expect.is_some(),
                "data/{module}/{cond}.case has no expect line"
            );
            count += 1;
        }
    }
    // The table this replaced held 115 cases; none may get lost.
    assert!(count >= 115, "only {count} data cases");
}

/// Every case's JSON report conforms to packaging/report.schema.json, all
/// validated in one run of Debian's python3-jsonschema (one run per report
/// would cost more than the audits).
#[test]
fn every_case_report_conforms_to_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for c in &catalog().checks {
        let module = fixture::module_of(&c.id);
        for (cond, _) in data_cases(&module) {
            let f = fixture::case(&c.id, &cond);
            let a = f.audit();
            let p = dir.path().join(format!("{}.{cond}.json", c.id));
            std::fs::write(&p, &a.json_text).unwrap();
            paths.push(p);
        }
    }
    if let Err(v) = common::check_report_schema_files(&paths) {
        panic!("reports break packaging/report.schema.json:\n{v}");
    }
}

/// The catalog's IDs, titles and severities: a change to any is a change to
/// what reports, waivers and dashboards refer to, so it shows in review.
#[test]
fn catalog_ids_titles_severities() {
    let text: String = catalog()
        .checks
        .iter()
        .map(|c| format!("{} [{}] {}\n", c.id, c.severity.as_str(), c.title))
        .collect();
    insta::with_settings!({ snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!("catalog", text);
    });
}

/// README.md's checks tables, rendered from the catalog: one per pack
/// (`checks/barbican`, then `checks/consumers`), in that order. The disk
/// scan's check runs only when asked for (`audit --scan`, or `scan` alone).
fn readme_tables() -> Vec<String> {
    barbican_audit_support::PACKS
        .iter()
        .map(|(_, prefix)| {
            let mut t = String::from("| ID | title | severity | run by |\n|---|---|---|---|\n");
            for c in catalog()
                .checks
                .iter()
                .filter(|c| c.id.starts_with(&format!("{prefix}-")))
            {
                let run_by = if c.probe.name() == "kek-scan" {
                    "`audit --scan`, `scan`"
                } else {
                    "`audit`"
                };
                t.push_str(&format!(
                    "| {} | {} | {} | {run_by} |\n",
                    c.id,
                    c.title.replace('|', "\\|"),
                    c.severity.as_str()
                ));
            }
            t
        })
        .collect()
}

/// README.md's checks tables are the catalog's: `UPDATE_README=1 cargo test
/// --test checks readme` rewrites them (then commit it).
#[test]
fn readme_checks_table_is_the_catalog() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let mut readme = std::fs::read_to_string(&path).unwrap();
    let mut from = 0;
    let mut changed = false;
    for (i, generated) in readme_tables().into_iter().enumerate() {
        // The i-th table: from its header line to the first line not starting with `|`.
        let start = readme[from..]
            .find("\n| ID | title |")
            .map(|at| from + at + 1)
            .unwrap_or_else(|| {
                panic!(
                    "README.md has no checks table {} starting `| ID | title |`",
                    i + 1
                )
            });
        let len = readme[start..]
            .split_inclusive('\n')
            .take_while(|l| l.starts_with('|'))
            .map(str::len)
            .sum::<usize>();
        let committed = readme[start..start + len].to_string();
        if committed != generated && std::env::var_os("UPDATE_README").is_some() {
            readme = format!("{}{generated}{}", &readme[..start], &readme[start + len..]);
            changed = true;
        } else {
            assert_eq!(
                committed,
                generated,
                "README.md's checks table {} is not the catalog's: \
                 UPDATE_README=1 cargo test --test checks readme rewrites it",
                i + 1
            );
        }
        from = start + generated.len();
    }
    if changed {
        std::fs::write(&path, readme).unwrap();
    }
}
