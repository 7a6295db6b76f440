//! Fixture roots from data, audited in-process.
//!
//! A case is `data/<bar_0NN>/<condition>.case` (a small manifest) plus, when
//! it has text files, `data/<bar_0NN>/<condition>/` holding them at their
//! in-root paths. The manifest says what git cannot keep (owners, modes,
//! symlinks, ACLs) and what the case expects; this module only materialises
//! it on top of a base root from `tests/common` and runs the audit through
//! `barbican_audit_core::audit`, the library call the `audit` command makes.
//!
//! Manifest lines, applied in order (`#` starts a comment):
//!
//! ```text
//! expect STATUS SUBJECT...       the check's finding for SUBJECT has STATUS
//!                                (`absent`: the check judges other subjects, not SUBJECT)
//! base barbican|new              Root::barbican() (default) or Root::new()
//! scan                           run the disk scan (audit --scan)
//! dir PATH OWNER:GROUP MODE      create a directory (OWNER, GROUP: a name or a number)
//! file PATH OWNER:GROUP MODE     write <condition>/PATH there
//! gzip PATH OWNER:GROUP MODE     write <condition>/PATH there, gzip-compressed
//! ln PATH TARGET                 symlink (absolute targets are in-root)
//! rm PATH                        remove a file of the base
//! chown PATH OWNER:GROUP         chmod PATH MODE         setfacl PATH SPEC
//! ```
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use barbican_audit_core::audit::{self, AuditOptions};
use barbican_audit_core::probe::ScanRequest;
use barbican_audit_core::report;

use crate::common::{chown, statuses, Root, BARBICAN_GID, BARBICAN_UID};

/// Secrets planted in fixtures: no output may contain them. The published
/// sample KEK is public, but the auditor must not print it either.
pub const SECRETS: &[&str] = &[
    "q1Ehz1X-mAyDqEk3Ot5Kb0NQz0tqjFQ7v2GlAX9Pk3s=", // random KEK
    "n0V1Hc3vYtK2Qy7r8oLzA5mWbJd4sXeFpG6uTiRkZ9c=", // another random KEK
    "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=", // the charm's published KEK
    "pa$word-1234",                                 // HSM PIN / password
    "word-1234",                                    // ... after a `$pa` interpolation
    "hvs.CAESIJlU1q0Fixture0Token",                 // Vault token
    // nova's and cinder's fixed_key (KMC-002)
    "f83c2d7e584e5c2a05ca3f7ce5f62bc98e7d863e5b7cacddcfe4a850c2a25c67",
    "76b836f90b8a367e05e2a7a4d8c9356c1f76ea67851d5daa6945c182b1738b89",
    // [key_manager] token and password, a service user's password (KMC-006)
    "gAAAAABkmc006FixtureStaticToken0000",
    "kmc006-fixture-password",
    "kmc006-service-user-password",
    // octavia's amphora certificate passphrases (KMC-012): two random, one
    // invalid, and the published default (public, but shown by fingerprint)
    "Zk3vQ9xR2mT7pL4sW8nB1cY6hJ0dF5gA",
    "Hq8wE2rT6yU0iO4pA7sD1fG5hJ9kL3zX",
    "short-Hq8wE2rT",
    "insecure-key-do-not-use-this-key",
];

/// The random KEK of the fixtures (in its data files too).
pub const RANDOM_KEK: &str = "q1Ehz1X-mAyDqEk3Ot5Kb0NQz0tqjFQ7v2GlAX9Pk3s=";

pub const CONF: &str = "/etc/barbican/barbican.conf";
pub const PASTE: &str = "/etc/barbican/barbican-api-paste.ini";

/// The fixture data directory.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/checks/data")
}

/// `BAR-004` -> `bar_004`, the check's data directory and test module.
pub fn module_of(check: &str) -> String {
    check.to_lowercase().replace('-', "_")
}

/// What a case expects of its check.
#[derive(Debug, Clone)]
pub struct Expect {
    pub status: String,
    pub subject: String,
}

/// A parsed manifest (nothing built yet).
#[derive(Debug, Clone)]
pub struct Manifest {
    pub expect: Option<Expect>,
    pub scan: bool,
    base_new: bool,
    ops: Vec<Vec<String>>,
}

/// Parses a `.case` manifest; panics naming the line on a bad one.
pub fn parse_manifest(name: &str, text: &str) -> Manifest {
    let mut m = Manifest {
        expect: None,
        scan: false,
        base_new: false,
        ops: Vec::new(),
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let arity = |want: usize| {
            assert!(
                words.len() == want,
                "{name}:{}: `{}` takes {} words: {line}",
                n + 1,
                words[0],
                want - 1
            )
        };
        match words[0].as_str() {
            "expect" => {
                assert!(words.len() >= 3, "{name}:{}: expect STATUS SUBJECT", n + 1);
                let status = words[1].clone();
                let subject = line["expect".len()..].trim_start()[status.len()..]
                    .trim()
                    .to_string();
                m.expect = Some(Expect { status, subject });
            }
            "base" => {
                arity(2);
                m.base_new = match words[1].as_str() {
                    "new" => true,
                    "barbican" => false,
                    other => panic!("{name}:{}: unknown base {other}", n + 1),
                };
            }
            "scan" => {
                arity(1);
                m.scan = true;
            }
            "dir" | "file" | "gzip" => arity(4),
            "ln" | "chown" | "chmod" | "setfacl" => arity(3),
            "rm" => arity(2),
            other => panic!("{name}:{}: unknown directive {other}", n + 1),
        }
        if !matches!(words[0].as_str(), "expect" | "base" | "scan") {
            m.ops.push(words);
        }
    }
    m
}

fn owner(name: &str, spec: &str) -> (u32, u32) {
    let (u, g) = spec
        .split_once(':')
        .unwrap_or_else(|| panic!("{name}: OWNER:GROUP, not {spec}"));
    let uid = match u {
        "root" => 0,
        "barbican" => BARBICAN_UID,
        "alice" => 1000,
        // A number: the consumers' service users (nova 64060, kolla's 42436).
        _ => u
            .parse()
            .unwrap_or_else(|_| panic!("{name}: unknown user {u}")),
    };
    let gid = match g {
        "root" => 0,
        "barbican" => BARBICAN_GID,
        "alice" => 1000,
        _ => g
            .parse()
            .unwrap_or_else(|_| panic!("{name}: unknown group {g}")),
    };
    (uid, gid)
}

fn mode(name: &str, s: &str) -> u32 {
    u32::from_str_radix(s, 8).unwrap_or_else(|_| panic!("{name}: bad mode {s}"))
}

/// One fixture: its root, built, and what it expects.
pub struct Fixture {
    pub check: String,
    pub condition: String,
    pub manifest: Manifest,
    pub root: Root,
}

/// Builds the case `condition` of `check` (`BAR-004`) from its data.
pub fn case(check: &str, condition: &str) -> Fixture {
    let mut f = load(&module_of(check), condition);
    f.check = check.to_string();
    f
}

/// Builds `data/<group>/<condition>.case` (a group is a check's module name,
/// or `common` for roots several checks start from).
pub fn load(group: &str, condition: &str) -> Fixture {
    let name = format!("{group}/{condition}.case");
    let path = data_dir().join(&name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest = parse_manifest(&name, &text);
    let files = data_dir().join(group).join(condition);
    let root = if manifest.base_new {
        Root::new()
    } else {
        Root::barbican()
    };
    let mut used = Vec::new();
    for op in &manifest.ops {
        let p = op[1].as_str();
        let real = root.real(p);
        match op[0].as_str() {
            "dir" => {
                let (u, g) = owner(&name, &op[2]);
                root.dir_(p, u, g, mode(&name, &op[3]));
            }
            "file" | "gzip" => {
                let src = files.join(p.trim_start_matches('/'));
                let bytes = std::fs::read(&src)
                    .unwrap_or_else(|e| panic!("{name}: {}: {e}", src.display()));
                used.push(src);
                let bytes = if op[0] == "gzip" { gzip(&bytes) } else { bytes };
                std::fs::create_dir_all(real.parent().unwrap()).unwrap();
                std::fs::write(&real, bytes).unwrap();
                let (u, g) = owner(&name, &op[2]);
                chown(&real, u, g);
                root.chmod(p, mode(&name, &op[3]));
            }
            "ln" => {
                root.link(p, &op[2]);
            }
            "rm" => std::fs::remove_file(&real).unwrap_or_else(|e| panic!("{name}: rm {p}: {e}")),
            "chown" => {
                let (u, g) = owner(&name, &op[2]);
                chown(&real, u, g);
            }
            "chmod" => {
                root.chmod(p, mode(&name, &op[2]));
            }
            "setfacl" => {
                root.setfacl(p, &op[2]);
            }
            _ => unreachable!("parse_manifest admits no other directive"),
        }
    }
    // Every data file is named by the manifest: none lies there unused.
    for f in walk_files(&files) {
        assert!(
            used.contains(&f),
            "{name}: {} is not named by a file or gzip line",
            f.display()
        );
    }
    Fixture {
        check: String::new(),
        condition: condition.to_string(),
        manifest,
        root,
    }
}

/// The regular files under `dir` (none when it does not exist).
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// One in-process audit: the report as the JSON view renders it, and the
/// text view with the warnings the binary prints to stderr.
pub struct Audited {
    pub json: serde_json::Value,
    pub json_text: String,
    pub text: String,
}

/// Audits `root` the way `barbican-audit audit --format json [--scan
/// --scan-path P...]` does, without spawning it.
pub fn audit_root(root: &Path, scan: Option<Vec<PathBuf>>) -> Audited {
    let scan = scan.map(|paths| ScanRequest {
        paths,
        excludes: Vec::new(),
        threads: 0,
        fingerprint: None,
        cache: None,
        progress: Box::new(|_, _| {}),
        targets: Vec::new(),
    });
    let opts = AuditOptions {
        root: root.to_path_buf(),
        checks: None,
        waivers: None,
        scan,
    };
    let report = audit::run(opts, time::OffsetDateTime::now_utc())
        .unwrap_or_else(|e| panic!("audit of {}: {e}", root.display()));
    let json_text = report::json::render(&report);
    let json = serde_json::from_str(&json_text).unwrap();
    let mut text = report::text::render(&report, false);
    for w in &report.warnings {
        text.push_str(&format!(
            "barbican-audit: warning: {}: {w}\n",
            root.display()
        ));
    }
    Audited {
        json,
        json_text,
        text,
    }
}

impl Fixture {
    /// Audits the fixture (with the disk scan when the manifest says `scan`).
    pub fn audit(&self) -> Audited {
        audit_root(self.root.path(), self.manifest.scan.then(Vec::new))
    }

    /// The case as the catalog states it: the check's finding for the
    /// expected subject has the expected status, and no fixture secret is
    /// in the JSON or the text view. With DUMP_REPORTS=DIR the JSON report
    /// is written to DIR/<CHECK>.<condition>.json.
    pub fn check(&self) {
        let expect = self
            .manifest
            .expect
            .as_ref()
            .unwrap_or_else(|| panic!("{}: the manifest has no expect line", self.condition));
        let a = self.audit();
        dump_report(
            &format!("{}.{}", self.check, self.condition),
            self.root.path(),
            &a.json,
        );
        assert_no_secret(&self.condition, &a);
        let all = statuses(&a.json, &self.check);
        let got = all
            .iter()
            .find(|(s, _)| *s == expect.subject)
            .map(|(_, st)| st.as_str());
        if expect.status == "absent" {
            // Not judged, while the check did judge something (it ran).
            assert!(
                got.is_none() && !all.is_empty(),
                "{} ({}): {} expected not judged; all: {all:?}",
                self.condition,
                self.check,
                expect.subject
            );
            return;
        }
        assert_eq!(
            got,
            Some(expect.status.as_str()),
            "{} ({}): {} expected {}; all: {all:?}",
            self.condition,
            self.check,
            expect.subject,
            expect.status
        );
    }
}

/// Panics naming the first four characters of a fixture secret found in
/// either view (never the whole secret).
pub fn assert_no_secret(case: &str, a: &Audited) {
    for secret in SECRETS {
        assert!(
            !a.json_text.contains(secret) && !a.text.contains(secret),
            "{case}: output contains the fixture secret {}…",
            &secret[..4]
        );
    }
}

/// With DUMP_REPORTS=DIR, the case's JSON report (without `run`, which
/// differs every time, and with the fixture root as `<ROOT>`) goes to
/// DIR/<name>.json, so two builds can be compared byte for byte (issue 16:
/// a refactor must not change a report).
pub fn dump_report(name: &str, root: &Path, report: &serde_json::Value) {
    let Some(dir) = std::env::var_os("DUMP_REPORTS") else {
        return;
    };
    let mut r = report.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("run");
    }
    std::fs::create_dir_all(&dir).unwrap();
    let path = Path::new(&dir).join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(&r)
        .unwrap()
        .replace(root.to_str().unwrap(), "<ROOT>");
    std::fs::write(path, text).unwrap();
}

/// How an input is made unreadable (as root: tests/fail_closed.rs runs the
/// same matrix through the binary, and as `nobody` with modes 0600/0700).
#[derive(Debug, Clone, Copy)]
pub enum How {
    /// Replaced by a FIFO.
    Fifo,
    /// Replaced by a directory of the same name.
    Directory,
    /// Larger than the 16 MiB the auditor reads (sparse).
    Oversize,
    /// A byte that is not UTF-8 before its content.
    NotUtf8,
}

/// The check's `error` case: on the all-inputs root (data/common), `input`
/// is made unreadable `how`; the check must say `error` naming it, never
/// pass and never judge a default in its place.
pub fn unreadable(check: &str, input: &str, how: How) {
    let f = load("common", "all-inputs");
    std::fs::set_permissions(f.root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let p = f.root.real(input);
    match how {
        How::Fifo => {
            let _ = std::fs::remove_file(&p);
            nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        }
        How::Directory => {
            let _ = std::fs::remove_file(&p);
            std::fs::create_dir(&p).unwrap();
        }
        How::Oversize => {
            let file = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
            file.set_len((16 << 20) + 1).unwrap();
        }
        How::NotUtf8 => {
            let mut bytes = b"[DEFAULT]\n# \xff\n".to_vec();
            bytes.extend(std::fs::read(&p).unwrap());
            std::fs::write(&p, bytes).unwrap();
        }
    }
    let a = audit_root(f.root.path(), Some(vec![PathBuf::from("/srv")]));
    let case = format!("{input} {how:?}");
    assert_no_secret(&case, &a);
    assert_error_names(&a.json, check, input, &case);
}

/// Asserts that `check` has an `error` finding naming `input` (in its
/// subject or message), so the check as a whole is not a pass.
pub fn assert_error_names(report: &serde_json::Value, check: &str, input: &str, case: &str) {
    let named = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check_id"] == check)
        .any(|f| {
            f["status"] == "error"
                && (f["subject"].as_str().unwrap_or("").contains(input)
                    || f["message"].as_str().unwrap_or("").contains(input))
        });
    assert!(
        named,
        "{case}: {check} has no error naming {input}: {:?}",
        statuses(report, check)
    );
}
