//! Audits a copy of the REAL files Debian's `barbican-common` installs
//! (CI installs the package), with their real ownership and modes mapped
//! onto a fixture passwd/group, and asserts the verdicts they deserve:
//! `/etc/barbican` barbican:barbican 0750 fails BAR-003,
//! `policy.d/00_default_policy.yaml` root:root 0644 fails BAR-001 and BAR-002,
//! `barbican.conf` and the paste file root:barbican 0640 pass.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;

/// uid/gid of the host's barbican user and group (from the host's own files).
fn host_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let group = std::fs::read_to_string("/etc/group").unwrap();
    let uid = passwd
        .lines()
        .find_map(|l| l.strip_prefix("barbican:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|s| s.parse().ok());
    let gid = group
        .lines()
        .find_map(|l| l.strip_prefix("barbican:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|s| s.parse().ok());
    (
        uid.expect("barbican user: apt-get install barbican-common"),
        gid.expect("barbican group"),
    )
}

/// Copies a tree, mapping the host's barbican ids onto the fixture's.
fn copy_mapped(src: &Path, dst: &Path, ids: (u32, u32)) {
    let map_u = |u: u32| if u == ids.0 { BARBICAN_UID } else { u };
    let map_g = |g: u32| if g == ids.1 { BARBICAN_GID } else { g };
    let meta = std::fs::symlink_metadata(src).unwrap();
    if meta.is_dir() {
        std::fs::create_dir_all(dst).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            copy_mapped(&e.path(), &dst.join(e.file_name()), ids);
        }
    } else {
        std::fs::copy(src, dst).unwrap();
    }
    chown(dst, map_u(meta.uid()), map_g(meta.gid()));
    std::fs::set_permissions(
        dst,
        std::os::unix::fs::PermissionsExt::from_mode(meta.mode() & 0o7777),
    )
    .unwrap();
}

fn stock_root() -> Root {
    assert!(
        Path::new("/etc/barbican/barbican.conf").exists(),
        "this test audits Debian's real files: apt-get install barbican-common"
    );
    let r = Root::new();
    copy_mapped(
        Path::new("/etc/barbican"),
        &r.real("/etc/barbican"),
        host_ids(),
    );
    // Only the barbican-common stanza of the real dpkg status.
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap();
    let stanza = status
        .split("\n\n")
        .find(|s| s.starts_with("Package: barbican-common\n"))
        .expect("barbican-common in dpkg status");
    r.file("/var/lib/dpkg/status", &format!("{stanza}\n"), 0, 0, 0o644);
    r
}

fn normalise(text: &str, root: &Path) -> String {
    text.replace(&root.display().to_string(), "[ROOT]")
}

#[test]
fn stock_debian_verdicts() {
    let r = stock_root();
    let (code, rep) = r.audit_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(rep["host"]["barbican_version"], "15.0.1");
    assert_eq!(status_of(&rep, "BAR-003", "/etc/barbican"), "fail");
    let dir = finding(&rep, "BAR-003", "/etc/barbican");
    assert_eq!(dir["message"], "owner is barbican (uid 102), expected root");
    let policy = "/etc/barbican/policy.d/00_default_policy.yaml";
    assert_eq!(status_of(&rep, "BAR-001", policy), "fail");
    assert_eq!(status_of(&rep, "BAR-002", policy), "fail");
    assert_eq!(
        finding(&rep, "BAR-002", policy)["message"],
        "mode 0644 grants read to others; expected 0640 or stricter"
    );
    for ok in [
        "/etc/barbican/barbican.conf",
        "/etc/barbican/barbican-api-paste.ini",
        "/etc/barbican/api_audit_map.conf",
    ] {
        assert_eq!(status_of(&rep, "BAR-001", ok), "pass", "{ok}");
        assert_eq!(status_of(&rep, "BAR-002", ok), "pass", "{ok}");
    }
    // No kek in the stock barbican.conf: 15.0.1 falls back to its published code default.
    assert_eq!(
        status_of(&rep, "BAR-006", "/etc/barbican/barbican.conf"),
        "pass"
    );
    let kek = finding(&rep, "BAR-007", "[simple_crypto_plugin] kek (code default)");
    assert_eq!(kek["status"], "fail");
    assert!(kek["message"]
        .as_str()
        .unwrap()
        .contains("Barbican 15.0.1 uses its code default"));
    assert_eq!(
        status_of(&rep, "BAR-009", "/etc/barbican/barbican.conf"),
        "pass"
    );
    // /v1 is served by barbican-api-keystone; the unused barbican_api pipeline
    // (unauthenticated-context) is not a finding.
    let v1 = finding(&rep, "BAR-004", "/v1");
    assert_eq!(v1["status"], "pass");
    assert_eq!(v1["evidence"]["chain"], "/v1 -> pipeline:barbican-api-keystone [cors, http_proxy_to_wsgi, authtoken(keystonemiddleware.auth_token), context, microversion] -> app:apiapp");
    assert_eq!(statuses(&rep, "BAR-004").len(), 1);
    // auth_url = http://localhost:5000 in the stock barbican.conf.
    assert_eq!(status_of(&rep, "BAR-005", "auth_url"), "fail");
    assert_eq!(status_of(&rep, "BAR-005", "www_authenticate_uri"), "fail");
    assert_eq!(
        status_of(&rep, "BAR-012", "/etc/barbican/barbican.conf"),
        "pass"
    );
    assert_eq!(
        status_of(&rep, "BAR-012", "/etc/barbican/barbican-api-paste.ini"),
        "pass"
    );
    // policy.d/00_default_policy.yaml is all comments: creator stays role:creator.
    assert_eq!(status_of(&rep, "BAR-008", "creator"), "fail");
    // barbican-functional.conf is not read by any Barbican service.
    assert!(!statuses(&rep, "BAR-002")
        .iter()
        .any(|(s, _)| s.ends_with("barbican-functional.conf")));
}

#[test]
fn stock_debian_snapshots() {
    let r = stock_root();
    let root = r.path().to_str().unwrap();
    let text = run(&["audit", "--root", root]);
    insta::assert_snapshot!(
        "stock_debian_text",
        normalise(&String::from_utf8_lossy(&text.stdout), r.path())
    );
    let json = run(&["audit", "--root", root, "--format", "json"]);
    let mut v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    v["run"] = serde_json::json!({"id": "[RUN]", "started_at": "[TIME]", "duration_ms": 0});
    insta::assert_snapshot!(
        "stock_debian_json",
        normalise(&serde_json::to_string_pretty(&v).unwrap(), r.path())
    );
}
