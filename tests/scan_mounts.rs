//! The KEK scan on a root with real mounts, in a private mount namespace
//! (`unshare -m`, as root): `/proc`, `/sys`, `/dev` and `/run` are real
//! pseudo-filesystems or tmpfs mounts there, as on every live host, `/var/log`
//! is a filesystem of its own, and an excluded directory is a mount point.
//! Copies are planted in every top-level directory, some before and some
//! after `proc` in readdir order: the walk must read them all (the walkdir
//! walk ended at the first mount point and read /etc and /boot only).
#![allow(clippy::unwrap_used)] // tests may panic on setup failures
#![allow(clippy::disallowed_macros)] // a skipped test says why on stderr

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

const KEK: &str = "q1Ehz1X-mAyDqEk3Ot5Kb0NQz0tqjFQ7v2GlAX9Pk3s=";

/// Top-level directories of the root that get a copy each (on the root's
/// own filesystem).
const PLANTED: &[&str] = &[
    "bin", "boot", "etc", "home", "lib", "media", "mnt", "opt", "root", "sbin", "srv", "tmp",
    "usr", "var", "zz-last", "aa-first",
];

/// Can this process make a mount namespace (root, not in a locked-down
/// container)? Under CI the answer must be yes.
fn can_unshare() -> bool {
    let ok = Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run these tests as root with mount namespaces (unshare -m)"
        );
        eprintln!("skipped: cannot unshare a mount namespace here (not root?)");
    }
    ok
}

/// [`host_root`] for a test that mounts: `None` (the test is skipped) where
/// this process cannot make a mount namespace.
fn host_root_to_mount() -> Option<Root> {
    can_unshare().then(host_root)
}

/// A root with barbican.conf naming the KEK and a copy in every directory
/// of [`PLANTED`], plus the empty mount points.
fn host_root() -> Root {
    let r = Root::barbican();
    r.conf(&format!("[DEFAULT]\n[simple_crypto_plugin]\nkek = {KEK}\n"));
    for d in PLANTED {
        r.file(
            &format!("/{d}/kek-copy.txt"),
            &format!("backup of the key: {KEK}\n"),
            0,
            0,
            0o600,
        );
    }
    for m in ["proc", "sys", "dev", "run", "var/log", "srv/excluded"] {
        std::fs::create_dir_all(r.real(&format!("/{m}"))).unwrap();
    }
    r
}

/// Runs the binary inside a private mount namespace in which `R/proc` is
/// procfs, `R/sys` sysfs, `R/dev`, `R/run`, `R/var/log` and `R/srv/excluded`
/// tmpfs; each tmpfs gets a copy of the key (`kek-copy.txt`) once mounted.
fn in_mount_ns(root: &Path, args: &[&str]) -> Output {
    let script = r#"set -eu
R=$1; shift
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys" 2>/dev/null || mount -t tmpfs sys "$R/sys"
for m in dev run var/log srv/excluded; do
  mount -t tmpfs "tmp-$(basename "$m")" "$R/$m"
  printf 'backup of the key: %s\n' "$KEK" > "$R/$m/kek-copy.txt"
done
# the mounts are really there: another device than the root's
[ "$(stat -c %d "$R/var/log")" != "$(stat -c %d "$R")" ]
[ "$(stat -f -c %T "$R/proc")" = proc ]
exec "$BIN" "$@"
"#;
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(root)
        .args(args)
        .env("KEK", KEK)
        .env("BIN", env!("CARGO_BIN_EXE_barbican-audit"))
        .output()
        .unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!all.contains(KEK), "the key itself was printed");
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Subjects of BAR-013 failures.
fn copies(report: &serde_json::Value) -> Vec<String> {
    statuses(report, "BAR-013")
        .into_iter()
        .filter(|(_, s)| s == "fail")
        .map(|(subject, _)| subject)
        .collect()
}

/// The readdir order of the root puts some planted directories before
/// `proc` and some after it, or the test proves nothing about walkdir #166.
fn assert_proc_in_the_middle(root: &Path) {
    let order: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let proc_at = order.iter().position(|n| n == "proc").unwrap();
    let planted_at: Vec<usize> = order
        .iter()
        .enumerate()
        .filter(|(_, n)| PLANTED.contains(&n.as_str()))
        .map(|(i, _)| i)
        .collect();
    assert!(
        planted_at.iter().any(|&i| i < proc_at) && planted_at.iter().any(|&i| i > proc_at),
        "readdir order {order:?} has no planted directory on both sides of proc"
    );
}

fn expect_all_planted(found: &[String]) {
    for d in PLANTED {
        let want = format!("/{d}/kek-copy.txt");
        assert!(found.contains(&want), "{want} not found; found {found:?}");
    }
}

#[test]
fn scan_reads_every_top_level_directory_of_a_root_with_real_mounts() {
    let Some(r) = host_root_to_mount() else {
        return;
    };
    assert_proc_in_the_middle(r.path());
    let root = r.path().to_str().unwrap();
    let rep = json(&in_mount_ns(
        r.path(),
        &[
            "scan",
            "--root",
            root,
            "--exclude",
            "**/srv/excluded",
            "--format",
            "json",
            "--quiet",
        ],
    ));
    let found = copies(&rep);
    expect_all_planted(&found);
    // pseudo-filesystems, another filesystem and the excluded mount point
    // are never read
    for never in ["/proc", "/sys", "/dev", "/run", "/var/log", "/srv/excluded"] {
        assert!(
            !found.iter().any(|f| f.starts_with(&format!("{never}/"))),
            "{never} was read: {found:?}"
        );
    }
    assert_eq!(found.len(), PLANTED.len(), "{found:?}");
    // the separate /var/log is named, with the flag that scans it; the
    // pseudo-filesystems and the excluded mount point are not
    assert_eq!(
        rep["scan"]["other_filesystems"],
        serde_json::json!(["/var/log"]),
        "{}",
        rep["scan"]
    );
}

#[test]
fn a_separate_var_log_is_scanned_only_when_listed() {
    let Some(r) = host_root_to_mount() else {
        return;
    };
    let root = r.path().to_str().unwrap();
    let args = |extra: &[&'static str]| {
        let mut a = vec!["scan", "--root", root, "--format", "json", "--quiet"];
        a.extend_from_slice(extra);
        a
    };
    let rep = json(&in_mount_ns(r.path(), &args(&[])));
    assert!(!copies(&rep).contains(&"/var/log/kek-copy.txt".to_string()));
    let rep = json(&in_mount_ns(r.path(), &args(&["--path", "/var/log"])));
    assert_eq!(copies(&rep), vec!["/var/log/kek-copy.txt".to_string()]);
    assert!(rep["scan"].get("other_filesystems").is_none());
}

#[test]
fn audit_scan_reads_every_top_level_directory_and_names_the_unscanned_mount() {
    let Some(r) = host_root_to_mount() else {
        return;
    };
    let root = r.path().to_str().unwrap();
    let rep = json(&in_mount_ns(
        r.path(),
        &["audit", "--root", root, "--scan", "--format", "json"],
    ));
    let found = copies(&rep);
    expect_all_planted(&found);
    // /srv/excluded is on its own tmpfs too: not scanned without --scan-path
    assert_eq!(
        rep["scan"]["other_filesystems"],
        serde_json::json!(["/srv/excluded", "/var/log"])
    );
    let text = in_mount_ns(r.path(), &["audit", "--root", root, "--scan"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("not scanned: /var/log is another filesystem: add --scan-path /var/log"),
        "{text}"
    );
    // with both listed, every copy is found
    let rep = json(&in_mount_ns(
        r.path(),
        &[
            "audit",
            "--root",
            root,
            "--scan",
            "--scan-path",
            "/",
            "--scan-path",
            "/var/log",
            "--scan-path",
            "/srv/excluded",
            "--format",
            "json",
        ],
    ));
    let found = copies(&rep);
    expect_all_planted(&found);
    assert!(found.contains(&"/var/log/kek-copy.txt".to_string()));
    assert!(found.contains(&"/srv/excluded/kek-copy.txt".to_string()));
}

#[test]
fn scan_paths_stay_inside_the_root() {
    let r = host_root();
    let root = r.path().to_str().unwrap();
    // a host file outside the root, holding the key
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("host-file"),
        format!("backup of the key: {KEK}\n"),
    )
    .unwrap();
    // /x is an absolute symlink to the outside directory: inside the root it
    // means R/<outside>, which does not exist
    std::os::unix::fs::symlink(outside.path(), r.real("/x")).unwrap();
    let o = run(&[
        "scan", "--root", root, "--path", "/x", "--format", "json", "--quiet",
    ]);
    let rep = json(&o);
    assert!(copies(&rep).is_empty(), "{rep}");
    // `..` above the root is refused, with exit 2, and nothing is read
    let climb = format!("/../../../../../..{}", outside.path().display());
    for args in [
        vec!["scan", "--root", root, "--path", &climb],
        vec!["audit", "--root", root, "--scan", "--scan-path", &climb],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("climbs above the root"), "{err}");
        assert!(o.stdout.is_empty());
    }
    // a symlink inside the root that points elsewhere inside it is followed
    std::os::unix::fs::symlink("/root", r.real("/y")).unwrap();
    let rep = json(&run(&[
        "scan", "--root", root, "--path", "/y", "--format", "json", "--quiet",
    ]));
    assert_eq!(copies(&rep).len(), 1, "{rep}");
}
