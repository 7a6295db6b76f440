//! Unreadable files and directories become counted errors.
//!
//! The tests run as root, who can read everything, so the parent test builds
//! a tree and re-runs this test binary as `nobody` (with `setpriv`), where
//! `child_scans_as_nobody` does the scan and the assertions.
#![allow(clippy::unwrap_used, clippy::disallowed_macros)] // setup may panic; the child reports on stdout

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use barbican_audit_core::scan::{scan, Needle, ScanErrorKind, ScanOptions};

const ROOT_VAR: &str = "SCAN_TEST_NOBODY_ROOT";

fn needle() -> Needle {
    Needle::from_raw(std::array::from_fn(|i| {
        (i as u8).wrapping_mul(29).wrapping_add(3)
    }))
}

fn body() -> Vec<u8> {
    let mut v = b"copy: ".to_vec();
    v.extend_from_slice(&needle().raw);
    v.extend_from_slice(b"\n");
    v
}

fn write(p: &Path, mode: u32) {
    fs::write(p, body()).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn unreadable_file_and_directory_are_counted_errors() {
    // /proc/self belongs to the effective user
    if fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(1) != 0 {
        eprintln!("skipped: needs root to build a tree that nobody cannot read");
        return;
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(setpriv) = setpriv else {
        eprintln!("skipped: setpriv (util-linux) not installed");
        return;
    };
    let exe = std::env::current_exe().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
    write(&root.join("readable.conf"), 0o644);
    write(&root.join("secret.conf"), 0o600);
    fs::create_dir(root.join("locked")).unwrap();
    write(&root.join("locked/inside.conf"), 0o644);
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o700)).unwrap();

    let out = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&exe)
        .args([
            "--exact",
            "child_scans_as_nobody",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROOT_VAR, root)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("child: ok"), "child did not run:\n{text}");
}

/// Runs only when started by the test above, as `nobody`.
#[test]
fn child_scans_as_nobody() {
    let Some(root) = std::env::var_os(ROOT_VAR) else {
        return;
    };
    let root = Path::new(&root);
    let opts = ScanOptions {
        roots: vec![root.to_path_buf()],
        threads: 2,
        ..ScanOptions::default()
    };
    let r = scan(&[needle()], &opts, &|_| {});
    assert_eq!(r.hits.len(), 1, "{:?}", r.hits);
    assert!(r.hits[0].path.ends_with("readable.conf"));
    let errs: Vec<(String, ScanErrorKind)> = r
        .errors
        .iter()
        .map(|e| {
            (
                e.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                e.kind,
            )
        })
        .collect();
    assert_eq!(
        errs,
        vec![
            ("locked".to_string(), ScanErrorKind::PermissionDenied),
            ("secret.conf".into(), ScanErrorKind::PermissionDenied)
        ],
        "{:?}",
        r.errors
    );
    println!("child: ok");
}
