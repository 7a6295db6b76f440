//! The command line: exit codes, formats, atomic output, waivers, lint,
//! and bad input (exit 2 with file and line, nothing written, no panic).
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

mod common;

use common::*;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn exit_0_when_all_pass_1_when_something_fails() {
    let r = Root::barbican();
    assert_eq!(r.audit_json(&[]).0, 0);
    r.chmod("/etc/barbican/barbican.conf", 0o644);
    assert_eq!(r.audit_json(&[]).0, 1);
    assert_eq!(r.audit_json(&["--fail-on", "none"]).0, 0);
    // BAR-002 is high: --fail-on critical lets it through, --fail-on high does not.
    assert_eq!(r.audit_json(&["--fail-on", "critical"]).0, 0);
    assert_eq!(r.audit_json(&["--fail-on", "high"]).0, 1);
}

#[test]
fn error_findings_exit_1_unless_fail_on_none() {
    let r = Root::barbican();
    r.file("/etc/group", "root:x:0:\n", 0, 0, 0o644);
    assert_eq!(r.audit_json(&["--fail-on", "critical"]).0, 1);
    assert_eq!(r.audit_json(&["--fail-on", "none"]).0, 0);
}

#[test]
fn missing_root_is_exit_2_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let out_file = d.path().join("report.json");
    let o = run(&[
        "audit",
        "--root",
        "/nonexistent/root",
        "--output",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--root /nonexistent/root"),
        "{}",
        stderr(&o)
    );
    assert!(!out_file.exists());
    assert!(stdout(&o).is_empty());
    let f = d.path().join("file");
    std::fs::write(&f, "").unwrap();
    let o = run(&["audit", "--root", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a directory"));
}

#[test]
fn unknown_format_is_usage_error() {
    let o = run(&["audit", "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("xml"));
}

#[test]
fn output_is_written_atomically_and_matches_stdout() {
    let r = Root::barbican();
    let d = tempfile::tempdir().unwrap();
    let out_file = d.path().join("report.json");
    let root = r.path().to_str().unwrap();
    let o = run(&[
        "audit",
        "--root",
        root,
        "--format",
        "json",
        "--output",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), stdout(&o));
    // No temp file left beside it.
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn unwritable_output_is_exit_2_and_previous_file_intact() {
    let r = Root::barbican();
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--output",
        "/nonexistent-dir/report.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent-dir/report.json"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).is_empty(),
        "no report on stdout when the audit could not complete its output"
    );
}

#[test]
fn json_is_byte_identical_across_runs_except_run() {
    let r = Root::barbican();
    r.chmod("/etc/barbican/barbican.conf", 0o644);
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("run");
        serde_json::to_string(&v).unwrap()
    };
    let (_, a) = r.audit_json(&[]);
    let (_, b) = r.audit_json(&[]);
    assert_eq!(strip(a.clone()), strip(b));
    assert_eq!(a["schema_version"], 1);
    assert_eq!(a["host"]["hostname"], "fixture-host");
    assert_eq!(a["catalog"]["checks"], catalog_len());
    assert_eq!(a["catalog"]["sha256"].as_str().unwrap().len(), 64);
    assert!(a["run"]["id"].as_str().unwrap().len() == 36);
    assert!(a["run"]["started_at"].as_str().unwrap().ends_with('Z'));
    // Findings sorted by check, then subject.
    let keys: Vec<(String, String)> = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check_id"].as_str().unwrap().into(),
                f["subject"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn text_has_no_colour_when_piped_and_groups_by_check() {
    let r = Root::barbican();
    r.chmod("/etc/barbican/barbican.conf", 0o604);
    let o = run(&["audit", "--root", r.path().to_str().unwrap()]);
    let t = stdout(&o);
    assert!(!t.contains('\x1b'), "{t}");
    assert!(
        t.contains("BAR-002 [high] Config files mode 0640 or stricter, no ACL widening\n"),
        "{t}"
    );
    assert!(t.contains("  FAIL   /etc/barbican/barbican.conf: mode 0604 grants read to others; expected 0640 or stricter\n"), "{t}");
    assert!(
        t.contains(&format!(
            "fix: chmod 0600 {}",
            r.real("/etc/barbican/barbican.conf").display()
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!("{} checks: ", catalog_len())) && t.contains(" 1 fail, 0 error,"),
        "{t}"
    );
}

fn waiver_file(text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

#[test]
fn waiver_applies_keeps_original_status_and_exit_0() {
    let r = Root::barbican();
    r.chmod("/etc/barbican/barbican.conf", 0o644);
    let w = waiver_file("[[waiver]]\ncheck = \"BAR-002\"\nsubject = \"/etc/barbican/*.conf\"\nreason = \"CHG-42 until the puppet fix\"\nexpires = \"2999-12-31\"\n");
    let (code, rep) = r.audit_json(&["--waivers", w.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    let f = finding(&rep, "BAR-002", "/etc/barbican/barbican.conf");
    assert_eq!(f["status"], "waived");
    assert_eq!(f["evidence"]["waiver"]["original_status"], "fail");
    assert_eq!(
        f["evidence"]["waiver"]["reason"],
        "CHG-42 until the puppet fix"
    );
    assert_eq!(rep["summary"]["waived"], 1);
    assert_eq!(rep["waivers"][0]["state"], "applied");
}

#[test]
fn expired_waiver_no_longer_applies_and_is_reported() {
    let r = Root::barbican();
    r.chmod("/etc/barbican/barbican.conf", 0o644);
    let w = waiver_file(
        "[[waiver]]\ncheck = \"BAR-002\"\nreason = \"old exception\"\nexpires = 2020-01-31\n",
    );
    let (code, rep) = r.audit_json(&["--waivers", w.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = finding(&rep, "BAR-002", "/etc/barbican/barbican.conf");
    assert_eq!(f["status"], "fail");
    assert_eq!(f["evidence"]["waiver_expired"]["expires"], "2020-01-31");
    assert_eq!(rep["waivers"][0]["state"], "expired");
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--waivers",
        w.path().to_str().unwrap(),
    ]);
    assert!(
        stdout(&o).contains("waiver BAR-002 * (expires 2020-01-31): expired, no longer applies (would match 1 finding)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn waiver_without_reason_is_usage_error_with_line() {
    let r = Root::barbican();
    let w = waiver_file(
        "# team waivers\n\n[[waiver]]\ncheck = \"BAR-002\"\nexpires = \"2030-01-01\"\n",
    );
    let d = tempfile::tempdir().unwrap();
    let out_file = d.path().join("r.json");
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--waivers",
        w.path().to_str().unwrap(),
        "--output",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "{}:3: waiver for BAR-002 has no reason",
            w.path().display()
        )),
        "{e}"
    );
    assert!(!out_file.exists());
}

#[test]
fn malformed_waivers_file_names_line() {
    let r = Root::barbican();
    let w = waiver_file("[[waiver]]\ncheck = \"BAR-002\"\nreason = \"x\"\nexpires = \"2030-01-01\"\nsubjekt = \"typo\"\n");
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--waivers",
        w.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("{}:5:", w.path().display())),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("subjekt"), "{}", stderr(&o));
}

const GOOD: &str = include_str!("../checks/barbican/BAR-002.toml");

fn check_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (n, t) in files {
        std::fs::write(d.path().join(n), t).unwrap();
    }
    d
}

#[test]
fn lint_reports_every_problem_with_file_and_line() {
    let bad_sev = GOOD
        .replace("severity = \"high\"", "severity = \"urgent\"")
        .replace(
            "remediation = \"chmod {fixed_mode} {path}{acl_fix}\"",
            "remediation = \"  \"",
        );
    let bad_probe = GOOD
        .replace("BAR-002", "BAR-004")
        .replace("[probe.file-metadata]", "[probe.no-such-probe]");
    let bad_regex = GOOD.replace("BAR-002", "BAR-005").replace(
        "acl = \"no-widening\"",
        "acl = \"no-widening\"\nsubjects-exclude = \"([\"",
    );
    let unknown_key = GOOD
        .replace("BAR-002", "BAR-006")
        .replace("title =", "colour = \"red\"\ntitle =");
    let bad_id = GOOD.replace("id = \"BAR-002\"", "id = \"BAR-2\"");
    // a citation of a document that does not ship (issue 16)
    let internal_ref = GOOD
        .replace("BAR-002", "BAR-009")
        .replace("references = [", "references = [\"barbican.md §3\", ");
    let dup = GOOD.to_string();
    let d = check_dir(&[
        ("BAR-002.toml", &bad_sev),
        ("BAR-004.toml", &bad_probe),
        ("BAR-005.toml", &bad_regex),
        ("BAR-006.toml", &unknown_key),
        ("BAR-007.toml", &bad_id),
        ("BAR-008.toml", &dup),
        ("BAR-009.toml", &internal_ref),
    ]);
    let o = run(&["checks", "lint", d.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    let p = |n: &str| d.path().join(n).display().to_string();
    for want in [
        format!("{}:4: bad severity \"urgent\"", p("BAR-002.toml")),
        format!("{}:15: empty remediation", p("BAR-002.toml")),
        format!(
            "{}:23: [probe.no-such-probe]: unknown probe \"no-such-probe\"",
            p("BAR-004.toml")
        ),
        format!(
            "{}:23: [probe.file-metadata]: bad regex in subjects-exclude: unclosed character class",
            p("BAR-005.toml")
        ),
        format!("{}:3: unknown field `colour`", p("BAR-006.toml")),
        format!("{}:2: malformed check ID \"BAR-2\"", p("BAR-007.toml")),
        format!(
            "{}:2: check ID BAR-002 does not match file name BAR-008.toml",
            p("BAR-008.toml")
        ),
        format!(
            "{}:5: reference \"barbican.md §3\" has no https:// address",
            p("BAR-009.toml")
        ),
    ] {
        assert!(e.contains(&want), "missing {want:?} in:\n{e}");
    }
    assert!(e.ends_with("8 problems found\n"), "{e}");
}

#[test]
fn lint_duplicate_id_and_clean_dir() {
    let d = check_dir(&[("BAR-002.toml", GOOD)]);
    let o = run(&["checks", "lint", d.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("1 checks OK"), "{}", stdout(&o));
    assert_eq!(stdout(&o).lines().count(), 1);
    let o = run(&["checks", "lint"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with(&format!("embedded: {} checks OK", catalog_len())));
}

#[test]
fn invalid_checks_dir_stops_audit_with_exit_2() {
    let r = Root::barbican();
    let d = check_dir(&[("BAR-002.toml", "id = \"BAR-002\"\nnot toml at all [[[\n")]);
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--checks",
        d.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("BAR-002.toml:2:"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--checks",
        "/nonexistent/checks",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/checks"));
}

#[test]
fn checks_dir_replaces_catalog_and_changes_sha() {
    let r = Root::barbican();
    let (_, embedded) = r.audit_json(&[]);
    let d = check_dir(&[("BAR-002.toml", GOOD)]);
    let (_, custom) = r.audit_json(&["--checks", d.path().to_str().unwrap()]);
    assert_eq!(custom["catalog"]["checks"], 1);
    assert_ne!(custom["catalog"]["sha256"], embedded["catalog"]["sha256"]);
}

#[test]
fn checks_list_and_explain() {
    let o = run(&["checks", "list"]);
    assert_eq!(o.status.code(), Some(0));
    let t = stdout(&o);
    assert!(
        t.contains("BAR-001  high      Config files owned by root, group barbican"),
        "{t}"
    );
    assert!(t.lines().count() >= 3);
    let o = run(&["checks", "explain", "BAR-002"]);
    let t = stdout(&o);
    assert!(
        t.contains("0440 and 0600")
            && t.contains("\nFix\n")
            && t.contains(
                "References\n  [1] OpenStack Security Guide, Check-Key-Manager-02: https://"
            ),
        "{t}"
    );
    let o = run(&["checks", "explain", "BAR-999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no check BAR-999"));
}

#[test]
fn help_lists_every_subcommand() {
    let t = stdout(&run(&["--help"]));
    for cmd in ["audit", "scan", "agent", "collector", "checks"] {
        assert!(
            t.lines().any(|l| l.trim_start().starts_with(cmd)),
            "{cmd} missing from --help:\n{t}"
        );
    }
}

/// Deterministic byte mutations of a good check file and of passwd/group:
/// the binary must answer 0, 1 or 2, never crash.
#[test]
fn mangled_toml_and_passwd_never_panic() {
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let base = GOOD.as_bytes().to_vec();
    for _ in 0..40 {
        let mut b = base.clone();
        for _ in 0..(1 + next() % 6) {
            let i = (next() as usize) % b.len();
            match next() % 3 {
                0 => b[i] = (next() % 256) as u8,
                1 => {
                    b.remove(i);
                }
                _ => {
                    let pick = b"[]=\"'\n\\{}";
                    b.insert(i, pick[(next() as usize) % pick.len()])
                }
            }
        }
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("BAR-002.toml"), &b).unwrap();
        let o = run(&["checks", "lint", d.path().to_str().unwrap()]);
        let code = o.status.code();
        assert!(
            matches!(code, Some(0) | Some(2)),
            "lint crashed ({code:?}): {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"));
    }
    for _ in 0..20 {
        let r = Root::barbican();
        let mut p = PASSWD.as_bytes().to_vec();
        let mut g = GROUP.as_bytes().to_vec();
        for buf in [&mut p, &mut g] {
            for _ in 0..(1 + next() % 8) {
                let i = (next() as usize) % buf.len();
                buf[i] = b":\n\xff0x"[(next() % 5) as usize];
            }
        }
        std::fs::write(r.real("/etc/passwd"), &p).unwrap();
        std::fs::write(r.real("/etc/group"), &g).unwrap();
        let o = run(&[
            "audit",
            "--root",
            r.path().to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert!(
            matches!(o.status.code(), Some(0) | Some(1)),
            "audit crashed: {}",
            stderr(&o)
        );
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .expect("valid JSON despite mangled passwd");
    }
}

#[test]
fn malformed_passwd_lines_are_warned_not_fatal() {
    let r = Root::barbican();
    let passwd = format!("{PASSWD}this line is broken\n");
    std::fs::write(r.real("/etc/passwd"), passwd).unwrap();
    let root = r.path().to_str().unwrap();
    let o = run(&["audit", "--root", root, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("/etc/passwd:4: skipped malformed line"),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["warnings"][0], "/etc/passwd:4: skipped malformed line");
}

/// Hostile inputs: a 100 MB barbican.conf (sparse), binary garbage, a FIFO
/// as the paste file, paste `use` cycles, a self-referencing `$name`. Each is
/// an error or fail finding for that file, the audit finishes, no panic.
#[test]
fn hostile_config_files_are_findings_not_crashes() {
    let r = Root::barbican();
    let big = std::fs::File::create(r.real("/etc/barbican/barbican.conf")).unwrap();
    big.set_len(100 << 20).unwrap();
    drop(big);
    let (code, rep) = r.audit_json(&[]);
    assert_eq!(code, 1);
    let f = finding(&rep, "BAR-012", "/etc/barbican/barbican.conf");
    assert_eq!(f["status"], "error");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("larger than the 16 MiB"),
        "{f}"
    );
    // The other checks still ran.
    assert_eq!(
        status_of(&rep, "BAR-002", "/etc/barbican/barbican.conf"),
        "pass"
    );

    let r = Root::barbican();
    std::fs::write(
        r.real("/etc/barbican/barbican.conf"),
        b"\x7fELF\x02\x01\x01\x00\x00\xff\xfe[DEFAULT]\x00\x00",
    )
    .unwrap();
    let (_, rep) = r.audit_json(&[]);
    assert_eq!(
        status_of(&rep, "BAR-012", "/etc/barbican/barbican.conf"),
        "fail"
    );

    let r = Root::barbican();
    let paste = r.real("/etc/barbican/barbican-api-paste.ini");
    std::fs::remove_file(&paste).unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(&paste)
        .status()
        .unwrap();
    assert!(st.success());
    let (_, rep) = r.audit_json(&[]);
    assert_eq!(status_of(&rep, "BAR-004", "/v1"), "error");
    assert!(finding(&rep, "BAR-004", "/v1")["message"]
        .as_str()
        .unwrap()
        .contains("not a regular file"));

    let r = Root::barbican();
    r.paste(&GOOD_PASTE.replace("[pipeline:barbican-api-keystone]\npipeline = authtoken context apiapp", "[pipeline:barbican-api-keystone]\npipeline = authtoken context loop\n\n[pipeline:loop]\npipeline = authtoken barbican-api-keystone"));
    let (_, rep) = r.audit_json(&[]);
    assert_eq!(status_of(&rep, "BAR-004", "/v1"), "error");
    assert_eq!(
        status_of(&rep, "BAR-012", "/etc/barbican/barbican-api-paste.ini"),
        "fail"
    );

    let r = Root::barbican();
    r.conf(&format!("{GOOD_CONF}[DEFAULT]\nhost_href = $host_href\n"));
    let (_, rep) = r.audit_json(&[]);
    assert_eq!(
        status_of(&rep, "BAR-012", "/etc/barbican/barbican.conf"),
        "fail"
    );
}

#[test]
fn stale_temp_files_of_a_killed_run_are_removed_on_the_next_write() {
    // A run killed between creating its temp file and renaming it leaves
    // `.barbican-audit.XXXXXX` behind. The next write to that directory removes such leftovers:
    // our exact name pattern, a regular file, ours, untouched for a while. Nothing else.
    use std::os::unix::fs::symlink;
    let r = Root::barbican();
    let d = tempfile::tempdir().unwrap();
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let plant = |name: &str| {
        let p = d.path().join(name);
        std::fs::write(&p, "{\"partial").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        p
    };
    let stale = [
        plant(".barbican-audit.AbC123"),
        plant(".barbican-audit.zz9ZZ9"),
    ];
    let fresh = d.path().join(".barbican-audit.Fresh1");
    std::fs::write(&fresh, "x").unwrap();
    let foreign = plant(".barbican-audit.Other1");
    chown(&foreign, 65534, 65534);
    let victim = plant("victim.json");
    let link = d.path().join(".barbican-audit.Link01");
    symlink(&victim, &link).unwrap();
    let t = std::process::Command::new("touch")
        .args(["-h", "-d", "1 hour ago"])
        .arg(&link)
        .status()
        .unwrap();
    assert!(t.success());
    let dir = d.path().join(".barbican-audit.Dir001");
    std::fs::create_dir(&dir).unwrap();
    std::fs::File::open(&dir)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let other_names = [
        plant(".barbican-audit.prom"),
        plant(".barbican-audit.TooLong7"),
        plant(".barbican-audit.ab-123"),
        plant("barbican-audit.AbC123"),
    ];
    let out_file = d.path().join("report.json");
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--format",
        "json",
        "--output",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out_file.is_file());
    for p in &stale {
        assert!(!p.exists(), "{} is still there", p.display());
    }
    for p in [&fresh, &foreign, &victim, &dir]
        .into_iter()
        .chain(&other_names)
    {
        assert!(p.exists(), "{} was removed", p.display());
    }
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    // The --textfile writer shares the code: a leftover there goes too.
    let tf = plant(".barbican-audit.Prom01");
    let o = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--textfile",
        d.path().join("barbican-audit.prom").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!tf.exists());
}

/// Every entry of a directory, sorted.
fn dir_names(d: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn exit_2_after_the_report_was_staged_leaves_no_output_file() {
    // --output is renamed into place first; when the next step fails (the --textfile rename,
    // or stdout), the run exits 2 and --output must be as it was before the run.
    let r = Root::barbican();
    let root = r.path().to_str().unwrap();
    let d = tempfile::tempdir().unwrap();
    let out_file = d.path().join("report.json");
    let out = out_file.to_str().unwrap();
    // A directory where the metrics file should go: staging works, the rename fails (EISDIR).
    let tf_dir = d.path().join("metrics.prom");
    std::fs::create_dir(&tf_dir).unwrap();
    let tf = tf_dir.to_str().unwrap();
    let args = ["audit", "--root", root, "--format", "json", "--output", out];
    let o = run(&[&args[..], &["--textfile", tf]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("metrics.prom"), "{}", stderr(&o));
    assert!(!out_file.exists(), "an exit-2 run wrote --output");
    assert!(stdout(&o).is_empty());
    assert_eq!(dir_names(d.path()), ["metrics.prom"]);

    // A previous report stays byte for byte.
    std::fs::write(&out_file, "previous report\n").unwrap();
    let o = run(&[&args[..], &["--textfile", tf]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "previous report\n"
    );
    assert_eq!(dir_names(d.path()), ["metrics.prom", "report.json"]);

    // stdout failing (a full disk) after both files were renamed: both are rolled back.
    let good_tf = d.path().join("good.prom");
    std::fs::write(&good_tf, "# previous metrics\n").unwrap();
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_barbican-audit"))
        .args(args)
        .args(["--textfile", good_tf.to_str().unwrap()])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("<stdout>"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "previous report\n"
    );
    // The metrics file says the run failed (as for every exit 2), over the previous series.
    let metrics = std::fs::read_to_string(&good_tf).unwrap();
    assert!(
        !metrics.contains("barbican_audit_check_status"),
        "{metrics}"
    );
    assert_eq!(
        dir_names(d.path()),
        ["good.prom", "metrics.prom", "report.json"]
    );

    // And when everything works, both are written and nothing else is left.
    let o = run(&[&args[..], &["--textfile", good_tf.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), stdout(&o));
    assert_eq!(
        dir_names(d.path()),
        ["good.prom", "metrics.prom", "report.json"]
    );
}
