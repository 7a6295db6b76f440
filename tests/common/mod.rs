//! Test roots built in temp dirs with real ownership, modes and ACLs (CI runs
//! as root, so chown and setfacl are real), and a runner for the binary.
#![allow(dead_code)]

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Fixed ids of the fixture's barbican user and group.
pub const BARBICAN_UID: u32 = 102;
pub const BARBICAN_GID: u32 = 105;

pub const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
    barbican:x:102:105::/var/lib/barbican:/bin/false\n\
    alice:x:1000:1000::/home/alice:/bin/bash\n";
/// barbican.conf of [`Root::barbican`].
pub const GOOD_CONF: &str = "[DEFAULT]\n[oslo_policy]\npolicy_dirs = /etc/barbican/policy.d\n\
    [secretstore]\nenabled_secretstore_plugins = vault_plugin\n\
    [vault_plugin]\nvault_url = https://vault.example.net:8200\n\
    [keystone_authtoken]\nauth_type = password\nauth_url = https://keystone.example.net:5000/v3\n\
    www_authenticate_uri = https://keystone.example.net:5000\n";

/// The paste file of [`Root::barbican`]: the stock layout, /v1 authenticated,
/// the unused unauthenticated `barbican_api` pipeline kept as Debian ships it.
pub const GOOD_PASTE: &str = "[composite:main]\nuse = egg:Paste#urlmap\n/: barbican_version\n/v1: barbican-api-keystone\n\n\
[pipeline:barbican_version]\npipeline = versionapp\n\n\
[pipeline:barbican_api]\npipeline = unauthenticated-context apiapp\n\n\
[pipeline:barbican-api-keystone]\npipeline = authtoken context apiapp\n\n\
[app:apiapp]\npaste.app_factory = barbican.api.app:create_main_app\n\n\
[app:versionapp]\npaste.app_factory = barbican.api.app:create_version_app\n\n\
[filter:unauthenticated-context]\npaste.filter_factory = barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory\n\n\
[filter:context]\npaste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory\n\n\
[filter:authtoken]\npaste.filter_factory = keystonemiddleware.auth_token:filter_factory\n";

/// The number of checks in the embedded catalog.
pub fn catalog_len() -> usize {
    let out = run(&["checks", "list"]);
    String::from_utf8_lossy(&out.stdout).lines().count()
}

pub const GROUP: &str = "root:x:0:\nbarbican:x:105:\nalice:x:1000:\n";

/// A root filesystem under construction.
pub struct Root {
    pub dir: tempfile::TempDir,
}

impl Root {
    /// An empty root with passwd and group.
    pub fn new() -> Root {
        let r = Root {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        r.file("/etc/passwd", PASSWD, 0, 0, 0o644);
        r.file("/etc/group", GROUP, 0, 0, 0o644);
        r.file("/etc/hostname", "fixture-host\n", 0, 0, 0o644);
        r
    }

    /// A root with a minimal, correct Barbican configuration that every
    /// check passes (or finds not applicable): /etc/barbican root:barbican
    /// 0750, barbican.conf and the paste file root:barbican 0640, secrets in
    /// Vault over TLS (so no simple_crypto KEK on the host).
    pub fn barbican() -> Root {
        let r = Root::new();
        r.dir_("/etc/barbican", 0, BARBICAN_GID, 0o750);
        r.file(
            "/etc/barbican/barbican.conf",
            GOOD_CONF,
            0,
            BARBICAN_GID,
            0o640,
        );
        r.file(
            "/etc/barbican/barbican-api-paste.ini",
            GOOD_PASTE,
            0,
            BARBICAN_GID,
            0o640,
        );
        r.dir_("/etc/barbican/policy.d", 0, BARBICAN_GID, 0o750);
        r.file(
            "/etc/barbican/policy.d/50-scs.yaml",
            "# SCS-0116: member may act as creator\n\"creator\": \"role:creator or role:member\"\n",
            0,
            BARBICAN_GID,
            0o640,
        );
        r
    }

    /// Records an installed Barbican version in the root's dpkg status.
    pub fn version(&self, v: &str) -> &Root {
        self.file(
            "/var/lib/dpkg/status",
            &format!(
                "Package: barbican-common\nStatus: install ok installed\nVersion: 1:{v}-1\n\n"
            ),
            0,
            0,
            0o644,
        )
    }

    /// Replaces the paste file (root:barbican 0640).
    pub fn paste(&self, text: &str) -> &Root {
        self.file(
            "/etc/barbican/barbican-api-paste.ini",
            text,
            0,
            BARBICAN_GID,
            0o640,
        )
    }

    /// Replaces barbican.conf (root:barbican 0640).
    pub fn conf(&self, text: &str) -> &Root {
        self.file("/etc/barbican/barbican.conf", text, 0, BARBICAN_GID, 0o640)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn real(&self, inner: &str) -> PathBuf {
        self.dir.path().join(inner.trim_start_matches('/'))
    }

    /// Writes a file with owner, group and mode (parents created root-owned 0755).
    pub fn file(&self, inner: &str, content: &str, uid: u32, gid: u32, mode: u32) -> &Root {
        let p = self.real(inner);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
        chown(&p, uid, gid);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        self
    }

    /// Creates a directory with owner, group and mode.
    pub fn dir_(&self, inner: &str, uid: u32, gid: u32, mode: u32) -> &Root {
        let p = self.real(inner);
        std::fs::create_dir_all(&p).expect("mkdir");
        chown(&p, uid, gid);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        self
    }

    /// `ln -s target inner` (target is as written: absolute targets are in-root).
    pub fn link(&self, inner: &str, target: &str) -> &Root {
        let p = self.real(inner);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        symlink(target, &p).expect("symlink");
        self
    }

    pub fn chmod(&self, inner: &str, mode: u32) -> &Root {
        std::fs::set_permissions(self.real(inner), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
        self
    }

    /// Real `setfacl -m SPEC` (needs the acl package; CI installs it).
    pub fn setfacl(&self, inner: &str, spec: &str) -> &Root {
        let st = Command::new("setfacl")
            .args(["-m", spec])
            .arg(self.real(inner))
            .status()
            .expect("setfacl must be installed (apt-get install acl)");
        assert!(st.success(), "setfacl -m {spec} failed");
        self
    }

    /// Runs the text report (for secret-leak checks).
    pub fn audit_text(&self) -> String {
        let out = run(&["audit", "--root", self.path().to_str().expect("utf8")]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Runs `barbican-audit audit --root <root> --format json` plus extra args.
    pub fn audit_json(&self, extra: &[&str]) -> (i32, serde_json::Value) {
        let root = self.path().to_str().expect("utf8");
        let mut args = vec!["audit", "--root", root, "--format", "json"];
        args.extend_from_slice(extra);
        let out = run(&args);
        let code = out.status.code().expect("exit code");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "bad JSON ({e}); stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, v)
    }
}

pub fn chown(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid)).expect("chown (tests run as root)");
}

/// Runs the binary. A JSON report on stdout is checked against the
/// shipped schema on the way, so every report the suite produces is.
pub fn run(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_barbican-audit"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run barbican-audit");
    assert_report_schema(&out.stdout);
    out
}

/// Panics when `stdout` is a JSON report (an object with `schema_version`)
/// that breaks packaging/report.schema.json, naming the first violation;
/// anything else passes. The validator is Debian's python3-jsonschema
/// (tests/confirm/report_schema.py), an implementation independent of
/// the schemars that generated the schema.
pub fn assert_report_schema(stdout: &[u8]) {
    let Ok(report) = serde_json::from_slice::<serde_json::Value>(stdout) else {
        return;
    };
    if report.get("schema_version").is_none() {
        return;
    }
    if let Err(violation) = check_report_schema(stdout) {
        panic!("the report breaks packaging/report.schema.json: {violation}");
    }
}

/// Validates one JSON report (bytes) against packaging/report.schema.json
/// with python3-jsonschema: Err(first violation) when it does not conform.
pub fn check_report_schema(report: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut child = Command::new("/usr/bin/python3")
        .arg(format!("{dir}/tests/confirm/report_schema.py"))
        .arg(format!("{dir}/packaging/report.schema.json"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("Debian's /usr/bin/python3 (apt-get install python3-jsonschema)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(report)
        .expect("write the report to the validator");
    let out = child.wait_with_output().expect("report_schema.py");
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        _ => panic!(
            "report_schema.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Validates JSON report files against packaging/report.schema.json in one
/// run of python3-jsonschema: Err(one line per bad report) when any breaks it.
pub fn check_report_schema_files(reports: &[PathBuf]) -> Result<(), String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("/usr/bin/python3")
        .arg(format!("{dir}/tests/confirm/report_schema.py"))
        .arg(format!("{dir}/packaging/report.schema.json"))
        .args(reports)
        .output()
        .expect("Debian's /usr/bin/python3 (apt-get install python3-jsonschema)");
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        _ => panic!(
            "report_schema.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Findings of one check as (subject, status).
pub fn statuses(report: &serde_json::Value, check: &str) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check_id"] == check)
        .map(|f| {
            (
                f["subject"].as_str().unwrap_or("").to_string(),
                f["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The status of one subject for one check.
pub fn status_of(report: &serde_json::Value, check: &str, subject: &str) -> String {
    let all = statuses(report, check);
    all.iter()
        .find(|(s, _)| s == subject)
        .map(|(_, st)| st.clone())
        .unwrap_or_else(|| panic!("no {check} finding for {subject}; have {all:?}"))
}

/// The finding object for one check and subject.
pub fn finding<'a>(
    report: &'a serde_json::Value,
    check: &str,
    subject: &str,
) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check_id"] == check && f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {check} finding for {subject}"))
}
