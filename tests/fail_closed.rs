//! Fail closed and never hang (issue 14, classes 3 and 4).
//!
//! * The unreadable-input matrix: for every check BAR-001..BAR-013, one input
//!   it judges is made unreadable, and the check must say `error` naming that
//!   input, never pass and never judge a default in its place. Run as root
//!   (the input is a FIFO, a directory, over the size cap or not UTF-8) and as
//!   `nobody` through `setpriv` (the input is a mode 0600 root file or a 0700
//!   directory).
//! * The special-file matrix: every path argument given a FIFO, a character
//!   device, a directory and a symlink to /dev/zero must be refused with a
//!   message naming the path and exit status 2, within a bounded time.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

mod common;
#[path = "common/report.rs"]
mod report;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use report::findings_of;

const CONF: &str = "/etc/barbican/barbican.conf";
const CONF_D: &str = "/etc/barbican/barbican.conf.d";
const CONF_D_FILE: &str = "/etc/barbican/barbican.conf.d/10-extra.conf";
const PASTE: &str = "/etc/barbican/barbican-api-paste.ini";
const POLICY_D: &str = "/etc/barbican/policy.d";
const POLICY: &str = "/etc/barbican/policy.d/50-scs.yaml";
const UNIT: &str = "/lib/systemd/system/barbican-worker.service";
const ENV_FILE: &str = "/etc/barbican/worker.env";
const HOME: &str = "/var/lib/barbican";
/// A random (unpublished) KEK: no output may contain it.
const KEK: &str = "q1Ehz1X-mAyDqEk3Ot5Kb0NQz0tqjFQ7v2GlAX9Pk3s=";

/// How long any run may take before it counts as a hang.
const LIMIT: Duration = Duration::from_secs(60);

fn conf_text() -> String {
    format!(
        "[DEFAULT]\n[oslo_policy]\npolicy_dirs = /etc/barbican/policy.d\n\
         [keystone_authtoken]\nauth_type = password\n\
         auth_url = https://keystone.example.net:5000/v3\n\
         www_authenticate_uri = https://keystone.example.net:5000\n\
         [simple_crypto_plugin]\nkek = '{KEK}'\n"
    )
}

/// A Barbican root with simple_crypto and every input each check reads:
/// barbican.conf, a .conf.d file, the paste file, a policy file, a unit with
/// an EnvironmentFile, the service user's home. Everything is readable by
/// any user, so that the same root serves the root and the `nobody` runs
/// and each case closes exactly one input.
fn base() -> Root {
    let r = Root::barbican();
    r.version("15.0.1");
    r.conf(&conf_text());
    r.dir_(CONF_D, 0, BARBICAN_GID, 0o755);
    r.file(
        CONF_D_FILE,
        "[DEFAULT]\ndebug = false\n",
        0,
        BARBICAN_GID,
        0o644,
    );
    r.file(
        UNIT,
        "[Service]\nExecStart=/usr/bin/barbican-worker\nEnvironmentFile=/etc/barbican/worker.env\n",
        0,
        0,
        0o644,
    );
    r.file(ENV_FILE, "OS_DEFAULT__DEBUG=false\n", 0, 0, 0o644);
    r.dir_(HOME, BARBICAN_UID, BARBICAN_GID, 0o755);
    r.dir_("/srv", 0, 0, 0o755);
    for p in [CONF, PASTE, POLICY] {
        r.chmod(p, 0o644);
    }
    for d in ["/etc/barbican", POLICY_D] {
        r.chmod(d, 0o755);
    }
    // tempdir() makes the root 0700: nobody must be able to enter it.
    std::fs::set_permissions(r.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    r
}

/// Runs `audit --format json --scan --scan-path /srv` on `root`, as root or as
/// nobody, with a time limit; returns the report.
fn audit(root: &Root, as_nobody: bool) -> serde_json::Value {
    let bin = env!("CARGO_BIN_EXE_barbican-audit");
    let rootp = root.path().to_str().unwrap();
    let args = [
        "audit",
        "--root",
        rootp,
        "--format",
        "json",
        "--scan",
        "--scan-path",
        "/srv",
    ];
    let mut cmd = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
            bin,
        ]);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args).env("NO_COLOR", "1");
    let (code, stdout, stderr) = run_limited(cmd);
    let code = code.unwrap_or_else(|| panic!("audit hung (over {LIMIT:?}): {args:?}"));
    assert!(code == 0 || code == 1, "exit {code}; stderr: {stderr}");
    assert!(
        !stdout.contains(KEK) && !stderr.contains(KEK),
        "KEK in output"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}); stderr: {stderr}"))
}

/// Runs a command with stdin closed; `None` as the exit code when it did not
/// finish within [`LIMIT`] (it is killed then). Its output is read while it
/// runs: a report larger than a pipe buffer (64 KiB) would otherwise block
/// the audit on its write and look like a hang.
fn run_limited(mut cmd: Command) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return (None, String::new(), String::new());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), out.join().unwrap(), err.join().unwrap())
}

/// The check's status as the summary counts it: the worst of its findings.
fn check_status(report: &serde_json::Value, check: &str) -> String {
    let rank = |s: &str| match s {
        "fail" => 4,
        "error" => 3,
        "waived" => 2,
        "pass" => 1,
        _ => 0,
    };
    statuses(report, check)
        .into_iter()
        .map(|(_, s)| s)
        .max_by_key(|s| rank(s))
        .unwrap_or_else(|| panic!("no {check} finding"))
}

/// Asserts that `check` has an `error` finding naming `input` (in its
/// subject or message) and is not judged pass or n/a.
fn assert_error_names(report: &serde_json::Value, check: &str, input: &str, case: &str) {
    let findings = findings_of(report, check);
    let named = findings.iter().any(|f| {
        f["status"] == "error"
            && (f["subject"].as_str().unwrap_or("").contains(input)
                || f["message"].as_str().unwrap_or("").contains(input))
    });
    let shown: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {}: {}", f["status"], f["subject"], f["message"]))
        .collect();
    assert!(
        named,
        "{case}: {check} has no error naming {input}; findings: {shown:#?}"
    );
    let st = check_status(report, check);
    assert!(
        st == "error" || st == "fail",
        "{case}: {check} is {st}, expected error; findings: {shown:#?}"
    );
}

/// Replaces an in-root file with a FIFO.
fn fifo(r: &Root, inner: &str) {
    let p = r.real(inner);
    let _ = std::fs::remove_file(&p);
    nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
}

/// Replaces an in-root file with a directory of the same name.
fn directory(r: &Root, inner: &str) {
    let p = r.real(inner);
    let _ = std::fs::remove_file(&p);
    std::fs::create_dir(&p).unwrap();
}

/// Makes an in-root file larger than the 16 MiB the auditor reads (sparse).
fn oversize(r: &Root, inner: &str) {
    let f = std::fs::OpenOptions::new()
        .append(true)
        .open(r.real(inner))
        .unwrap();
    f.set_len((16 << 20) + 1).unwrap();
}

/// Puts a byte that is not UTF-8 into an in-root file, before its content.
fn not_utf8(r: &Root, inner: &str) {
    let p = r.real(inner);
    let mut bytes = b"[DEFAULT]\n# \xff\n".to_vec();
    bytes.extend(std::fs::read(&p).unwrap());
    std::fs::write(&p, bytes).unwrap();
}

/// Mode 0600 root:root (a file) or 0700 (a directory): nobody cannot read it.
fn private(r: &Root, inner: &str) {
    let p = r.real(inner);
    chown(&p, 0, 0);
    let mode = if p.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

struct Case {
    check: &'static str,
    /// The input made unreadable, which the error must name.
    input: &'static str,
    /// What is done to it.
    how: fn(&Root, &str),
    how_name: &'static str,
}

/// One case per check, run as root.
const AS_ROOT: &[Case] = &[
    Case {
        check: "BAR-001",
        input: CONF,
        how: fifo,
        how_name: "FIFO",
    },
    Case {
        check: "BAR-002",
        input: CONF,
        how: oversize,
        how_name: "over the cap",
    },
    Case {
        check: "BAR-003",
        input: "/etc/group",
        how: fifo,
        how_name: "FIFO",
    },
    Case {
        check: "BAR-004",
        input: PASTE,
        how: directory,
        how_name: "directory",
    },
    Case {
        check: "BAR-005",
        input: CONF,
        how: not_utf8,
        how_name: "not UTF-8",
    },
    Case {
        check: "BAR-006",
        input: CONF,
        how: not_utf8,
        how_name: "not UTF-8",
    },
    Case {
        check: "BAR-007",
        input: CONF,
        how: fifo,
        how_name: "FIFO",
    },
    Case {
        check: "BAR-008",
        input: POLICY,
        how: oversize,
        how_name: "over the cap",
    },
    Case {
        check: "BAR-009",
        input: CONF_D_FILE,
        how: fifo,
        how_name: "FIFO",
    },
    Case {
        check: "BAR-010",
        input: CONF,
        how: directory,
        how_name: "directory",
    },
    Case {
        check: "BAR-011",
        input: ENV_FILE,
        how: fifo,
        how_name: "FIFO",
    },
    Case {
        check: "BAR-012",
        input: CONF,
        how: directory,
        how_name: "directory",
    },
    Case {
        check: "BAR-013",
        input: CONF,
        how: oversize,
        how_name: "over the cap",
    },
];

/// One case per check, run as nobody (inputs mode 0600 / 0700, owned by root).
const AS_NOBODY: &[Case] = &[
    Case {
        check: "BAR-001",
        input: POLICY_D,
        how: private,
        how_name: "0700 dir",
    },
    Case {
        check: "BAR-002",
        input: CONF_D,
        how: private,
        how_name: "0700 dir",
    },
    Case {
        check: "BAR-003",
        input: "/etc/group",
        how: private,
        how_name: "0600",
    },
    Case {
        check: "BAR-004",
        input: PASTE,
        how: private,
        how_name: "0600",
    },
    Case {
        check: "BAR-005",
        input: CONF,
        how: private,
        how_name: "0600",
    },
    Case {
        check: "BAR-006",
        input: CONF,
        how: private,
        how_name: "0600",
    },
    Case {
        check: "BAR-007",
        input: CONF,
        how: private,
        how_name: "0600",
    },
    Case {
        check: "BAR-008",
        input: POLICY_D,
        how: private,
        how_name: "0700 dir",
    },
    Case {
        check: "BAR-009",
        input: HOME,
        how: private,
        how_name: "0700 home",
    },
    Case {
        check: "BAR-010",
        input: CONF_D_FILE,
        how: private,
        how_name: "0600",
    },
    Case {
        check: "BAR-011",
        input: ENV_FILE,
        how: private,
        how_name: "0600",
    },
    Case {
        check: "BAR-012",
        input: CONF,
        how: private,
        how_name: "0600",
    },
    Case {
        check: "BAR-013",
        input: CONF,
        how: private,
        how_name: "0600",
    },
];

fn all_checks() -> Vec<String> {
    (1..=13).map(|n| format!("BAR-{n:03}")).collect()
}

/// The control: on the intact root no check errs, as root or as nobody, so
/// every error in the matrix comes from the one input each case closes.
#[test]
fn intact_root_has_no_error_as_root_or_nobody() {
    let r = base();
    for nobody in [false, true] {
        let rep = audit(&r, nobody);
        for c in all_checks() {
            let st = check_status(&rep, &c);
            assert!(
                st != "error",
                "{c} errs on the intact root (nobody: {nobody}): {:?}",
                statuses(&rep, &c)
            );
        }
    }
}

/// Runs every case of `cases` (one per check) as root or as `nobody`:
/// each check errs, naming its unreadable input.
fn every_check_errs_naming_an_unreadable_input(cases: &[Case], as_nobody: bool) {
    let checks: Vec<&str> = cases.iter().map(|c| c.check).collect();
    assert_eq!(checks, all_checks(), "one case per check");
    let who = if as_nobody { "nobody" } else { "root" };
    for case in cases {
        let r = base();
        (case.how)(&r, case.input);
        let rep = audit(&r, as_nobody);
        assert_error_names(
            &rep,
            case.check,
            case.input,
            &format!("{who}, {} {}", case.input, case.how_name),
        );
    }
}

#[test]
fn every_check_errs_naming_an_unreadable_input_as_root() {
    every_check_errs_naming_an_unreadable_input(AS_ROOT, false);
}

#[test]
fn every_check_errs_naming_an_unreadable_input_as_nobody() {
    every_check_errs_naming_an_unreadable_input(AS_NOBODY, true);
}

/// The issue's own examples, each stated exactly.
#[test]
fn unreadable_barbican_conf_is_never_a_pass_or_a_default() {
    let r = base();
    not_utf8(&r, CONF);
    // The metric said 0 (pass) for BAR-006: now 1 (fail or error).
    let tf = tempfile::tempdir().unwrap();
    let prom = tf.path().join("m.prom");
    let out = run(&[
        "audit",
        "--root",
        r.path().to_str().unwrap(),
        "--textfile",
        prom.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let metrics = std::fs::read_to_string(&prom).unwrap();
    for c in ["BAR-006", "BAR-007"] {
        assert!(
            metrics.contains(&format!(
                "barbican_audit_check_result{{check=\"{c}\",status=\"error\"}} 1"
            )),
            "{c}: {metrics}"
        );
    }
    let rep = audit(&r, false);
    // BAR-006 used to pass "no kek in any config file", BAR-007 to judge the
    // code default: now only errors naming barbican.conf.
    for c in ["BAR-006", "BAR-007"] {
        let st = statuses(&rep, c);
        assert!(
            st.iter().all(|(s, status)| status == "error" && s == CONF),
            "{c}: {st:?}"
        );
    }
}

#[test]
fn directory_named_barbican_conf_is_an_error_finding() {
    // oslo.config takes it (os.path.exists) and fails with IsADirectoryError
    // (confirmed with Debian's oslo.config 9.0.0).
    let r = base();
    directory(&r, CONF);
    let rep = audit(&r, false);
    let f = finding(&rep, "BAR-012", CONF);
    assert_eq!(f["status"], "error");
    assert!(
        f["message"].as_str().unwrap().contains("is a directory"),
        "{f}"
    );
}

#[test]
fn unparseable_dpkg_version_is_not_stated_as_a_version() {
    let r = base();
    r.file(
        "/var/lib/dpkg/status",
        "Package: barbican-common\nStatus: install ok installed\nVersion: 1:\u{fffd}\u{fffd}4294967296.0-1\n\n",
        0,
        0,
        0o644,
    );
    let rep = audit(&r, false);
    assert!(rep["host"]["barbican_version"].is_null(), "{}", rep["host"]);
    let text = rep.to_string();
    assert!(!text.contains("4294967296"), "version stated as fact");
}

// ---------------------------------------------------------------------------
// The special-file matrix.

/// The four special files every path argument is given.
struct Specials {
    _dir: tempfile::TempDir,
    list: Vec<(String, &'static str)>,
}

fn specials() -> Specials {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let dir = d.path().join("dir");
    std::fs::create_dir(&dir).unwrap();
    let zero = d.path().join("zero");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    // A private null device: should a regression rename a temp file over
    // the character device, it replaces this node, not the host's /dev/null.
    let null = d.path().join("null");
    nix::sys::stat::mknod(
        &null,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    Specials {
        list: vec![
            (s(&fifo), "FIFO"),
            (s(&null), "character device"),
            (s(&dir), "directory"),
            (s(&zero), "symlink to /dev/zero"),
        ],
        _dir: d,
    }
}

/// Owned argument list.
fn v(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Runs the binary with `args`; asserts exit 2 within the limit and that
/// stderr names `path`.
fn assert_refused(args: &[String], path: &str, what: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barbican-audit"));
    cmd.args(args).env("NO_COLOR", "1");
    let (code, _out, err) = run_limited(cmd);
    let code = code.unwrap_or_else(|| panic!("hung (over {LIMIT:?}) on a {what}: {args:?}"));
    assert_eq!(code, 2, "{what}: {args:?}; stderr: {err}");
    assert!(
        err.contains(path),
        "{what}: stderr does not name {path}: {err}"
    );
}

#[test]
fn every_path_argument_refuses_special_files_without_hanging() {
    let demo = Root::barbican();
    let root = demo.path().to_str().unwrap().to_string();
    let work = tempfile::tempdir().unwrap();
    let w = |n: &str| work.path().join(n).to_str().unwrap().to_string();
    // A certificate and key that are fine, for the collector's TLS cases.
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(w("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(w("key.pem"), ck.key_pair.serialize_pem()).unwrap();
    // A token file that is fine, for the ca_file cases.
    std::fs::write(w("token"), "abc\n").unwrap();
    std::fs::set_permissions(w("token"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let sp = specials();
    // Each case: the arguments before the path, what the path argument
    // starts with (`sqlite://` for a database URL), the arguments after it.
    let spool = w("spool");
    let audit = |flag: &str| v(&["audit", "--root", &root, flag]);
    let agent = |rest: &[&str]| {
        let mut a = v(&["agent", "--once", "--root", &root, "--spool-dir", &spool]);
        a.extend(v(rest));
        a
    };
    let collector = |db: &str, rest: &[&str]| {
        let url = format!("sqlite://{}", w(db));
        let mut a = v(&["collector", "--listen", "127.0.0.1:0", "--database", &url]);
        a.extend(v(rest));
        a
    };
    let (cert, key, token) = (w("cert.pem"), w("key.pem"), w("token"));
    let none = Vec::new;
    let cases: Vec<(&str, Vec<String>, &str, Vec<String>)> = vec![
        ("audit --checks", audit("--checks"), "", none()),
        ("audit --waivers", audit("--waivers"), "", none()),
        ("audit --output", audit("--output"), "", none()),
        ("audit --textfile", audit("--textfile"), "", none()),
        // The failed-run path: the audit cannot run, the textfile is updated.
        (
            "audit --textfile (failed run)",
            v(&["audit", "--root", "/nonexistent/root", "--textfile"]),
            "",
            none(),
        ),
        (
            "audit --scan-cache",
            v(&[
                "audit",
                "--root",
                &root,
                "--scan",
                "--scan-path",
                "/etc",
                "--scan-cache",
            ]),
            "",
            none(),
        ),
        (
            "scan --cache",
            v(&["scan", "--root", &root, "--path", "/etc", "--cache"]),
            "",
            none(),
        ),
        (
            "scan --output",
            v(&["scan", "--root", &root, "--path", "/etc", "--output"]),
            "",
            none(),
        ),
        ("checks lint", v(&["checks", "lint"]), "", none()),
        (
            "agent --config",
            v(&["agent", "--once", "--root", &root, "--config"]),
            "",
            none(),
        ),
        (
            "agent --token-file",
            agent(&["--collector", "http://127.0.0.1:9", "--token-file"]),
            "",
            none(),
        ),
        (
            "agent --ca-file",
            agent(&[
                "--collector",
                "https://127.0.0.1:9",
                "--token-file",
                &token,
                "--ca-file",
            ]),
            "",
            none(),
        ),
        ("agent --textfile", agent(&["--textfile"]), "", none()),
        ("agent --checks", agent(&["--checks"]), "", none()),
        ("agent --waivers", agent(&["--waivers"]), "", none()),
        (
            "collector --config",
            v(&["collector", "--config"]),
            "",
            none(),
        ),
        (
            "collector --database sqlite://",
            v(&["collector", "--listen", "127.0.0.1:0", "--database"]),
            "sqlite://",
            none(),
        ),
        (
            "collector --tls-cert",
            collector("c1.db", &["--tls-cert"]),
            "",
            v(&["--tls-key", &key]),
        ),
        (
            "collector --tls-key",
            collector("c2.db", &["--tls-cert", &cert, "--tls-key"]),
            "",
            none(),
        ),
        (
            "collector --client-ca",
            collector(
                "c3.db",
                &["--tls-cert", &cert, "--tls-key", &key, "--client-ca"],
            ),
            "",
            none(),
        ),
    ];
    for (name, before, prefix, after) in &cases {
        for (path, what) in &sp.list {
            let args = [
                before.clone(),
                vec![format!("{prefix}{path}")],
                after.clone(),
            ]
            .concat();
            assert_refused(&args, path, &format!("{name} given a {what}"));
        }
    }
    // A check file inside --checks DIR that is a FIFO or a link to /dev/zero.
    for (name, make) in [("FIFO", 0u8), ("symlink to /dev/zero", 1u8)] {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("BAR-099.toml");
        if make == 0 {
            nix::unistd::mkfifo(&f, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        } else {
            std::os::unix::fs::symlink("/dev/zero", &f).unwrap();
        }
        let d = dir.path().to_str().unwrap().to_string();
        let fp = f.to_str().unwrap().to_string();
        assert_refused(
            &v(&["audit", "--root", &root, "--checks", &d]),
            &fp,
            &format!("a check file that is a {name}"),
        );
    }
    // The device is still a device afterwards (renaming over it replaced
    // the node with a regular file: as root, `--output /dev/null` did).
    use std::os::unix::fs::FileTypeExt;
    let null = &sp.list[1].0;
    assert!(std::fs::metadata(null)
        .unwrap()
        .file_type()
        .is_char_device());
}

/// A judged boolean oslo.config refuses raises when read: the check reading
/// it says error (not the default's verdict), and only that check.
#[test]
fn invalid_judged_boolean_is_an_error_for_the_check_reading_it() {
    let r = base();
    r.conf(&format!(
        "{}[keystone_authtoken]\ninsecure = maybe\n",
        conf_text()
    ));
    r.chmod(CONF, 0o644);
    let rep = audit(&r, false);
    let f = finding(&rep, "BAR-005", CONF);
    assert_eq!(f["status"], "error", "{f}");
    assert!(f["message"].as_str().unwrap().contains("insecure"), "{f}");
    assert!(
        !f["message"].as_str().unwrap().contains("maybe"),
        "value quoted: {f}"
    );
    assert!(
        statuses(&rep, "BAR-005").iter().all(|(_, s)| s != "pass"),
        "{:?}",
        statuses(&rep, "BAR-005")
    );
    // BAR-006 does not read it.
    assert_ne!(check_status(&rep, "BAR-006"), "error");
}

/// A FIFO where the agent keeps its state (inside --spool-dir) is reported,
/// naming it, and never blocks the round.
#[test]
fn fifo_as_agent_state_file_does_not_hang_the_agent() {
    let demo = Root::barbican();
    let spool = tempfile::tempdir().unwrap();
    let state = spool.path().join("agent-state.json");
    nix::unistd::mkfifo(&state, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "abc\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barbican-audit"));
    cmd.args([
        "agent",
        "--once",
        "--root",
        demo.path().to_str().unwrap(),
        "--spool-dir",
        spool.path().to_str().unwrap(),
        "--collector",
        "http://127.0.0.1:9",
        "--token-file",
        token.to_str().unwrap(),
    ]);
    let (code, _out, err) = run_limited(cmd);
    assert!(code.is_some(), "agent hung on a FIFO state file");
    assert!(
        err.contains(&format!("{}: not a regular file (a FIFO)", state.display())),
        "{err}"
    );
}
