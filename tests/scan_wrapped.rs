//! BAR-013 through the binary on wrapped base64 and hex made by the real
//! tools: `tar cf - barbican.conf | base64` (GNU coreutils, 76 columns),
//! `base64 -w 64`, `openssl base64` (64 columns), MIME-style CRLF lines, a
//! base64'd binary holding the raw key, and `xxd -p` (60 columns). Each copy
//! crosses a line break and is found at the offset where it starts; a
//! wrapped decoy key and wrapped text without the key give no copy; no
//! output holds the key.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

mod common;
#[path = "common/report.rs"]
mod report;

use std::path::Path;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;

use common::*;
use report::*;

const KEK: &str = "q1Ehz1X-mAyDqEk3Ot5Kb0NQz0tqjFQ7v2GlAX9Pk3s=";
const DECOY: &str = "8RZ2nVvQ9mGmTqsvEw0h0T0ePZb2q6q3q4Q0nXc1a0c=";

/// Runs `script` with bash in `dir`; its stdout.
fn sh(dir: &Path, script: &str) -> Vec<u8> {
    let o = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

fn has_tool(name: &str) -> bool {
    Command::new("bash")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn wrapped_base64_made_by_the_real_tools_is_found_where_it_starts() {
    let r = Root::barbican();
    let conf = format!("[DEFAULT]\ndebug = false\n[simple_crypto_plugin]\nkek = {KEK}\n");
    r.conf(&conf);
    // the tools work outside the root: only their output goes into it
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("barbican.conf"), &conf).unwrap();
    let raw = URL_SAFE.decode(KEK).unwrap();
    let mut blob = vec![0x42u8; 1001];
    blob.extend_from_slice(&raw);
    blob.extend_from_slice(&[0xffu8; 500]);
    std::fs::write(work.path().join("blob.bin"), &blob).unwrap();
    let mut cases: Vec<(&str, &str, &str)> = vec![
        (
            "/root/backup/conf.tar.b64",
            "tar cf - barbican.conf | base64",
            "base64-double",
        ),
        (
            "/root/backup/conf.tar.w64",
            "tar cf - barbican.conf | base64 -w 64",
            "base64-double",
        ),
        (
            "/root/backup/conf.mime",
            "base64 barbican.conf | sed 's/$/\\r/'",
            "base64-double",
        ),
        (
            "/root/backup/blob.b64",
            "base64 blob.bin",
            "base64-embedded",
        ),
        ("/root/backup/kek.hex", "xxd -p blob.bin", "hex-lower"),
    ];
    if has_tool("openssl") {
        cases.push((
            "/root/backup/conf.tar.pem",
            "tar cf - barbican.conf | openssl base64",
            "base64-double",
        ));
    }
    // Runs `script` in the work directory and puts its output at `dest`.
    let plant = |dest: &str, script: &str| {
        let out = sh(work.path(), script);
        r.file(dest, std::str::from_utf8(&out).unwrap(), 0, 0, 0o600);
    };
    for (dest, script, _) in &cases {
        plant(dest, script);
    }
    // negatives: the decoy wrapped the same way, and wrapped base64 text
    // without the key
    let decoy = conf.replace(KEK, DECOY);
    std::fs::write(work.path().join("barbican.conf"), &decoy).unwrap();
    plant(
        "/root/backup/decoy.tar.b64",
        "tar cf - barbican.conf | base64",
    );
    let text: String = (0..300)
        .map(|i| format!("Line{i} of plain text{}\n", "abcXYZ0123".repeat(i % 7)))
        .collect();
    std::fs::write(work.path().join("notes.txt"), &text).unwrap();
    plant("/root/backup/notes.b64", "base64 notes.txt; cat notes.txt");

    let o = scan_run(r.path(), &[]);
    assert_eq!(o.status.code(), Some(1), "copies found: exit 1");
    let rep = report_of(&o);
    for (dest, script, encoding) in &cases {
        let f = finding(&rep, "BAR-013", dest);
        assert_eq!(f["status"], "fail", "{script}");
        assert_eq!(f["evidence"]["encoding"], *encoding, "{script}");
        // the offset is where the copy starts, and it crosses a line break
        let off = f["evidence"]["offset"].as_u64().unwrap() as usize;
        let body = std::fs::read(r.real(dest)).unwrap();
        let wanted = match *encoding {
            "hex-lower" => 64,
            "base64-embedded" => 40,
            _ => 52,
        };
        let line = body[off..].iter().position(|&b| b == b'\n').unwrap();
        assert!(line < wanted, "{script}: the copy is on one line");
        assert!(
            body[off..off + line]
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"+/=\r".contains(&b)),
            "{script}"
        );
    }
    for quiet in ["/root/backup/decoy.tar.b64", "/root/backup/notes.b64"] {
        let hits: Vec<&serde_json::Value> = findings_of(&rep, "BAR-013")
            .into_iter()
            .filter(|f| f["subject"] == quiet)
            .collect();
        assert!(hits.is_empty(), "{quiet}: {hits:?}");
    }
    let all = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    for secret in [KEK.to_string(), STANDARD.encode(&raw), hex] {
        assert!(!all.contains(&secret[..40]), "an output holds the key");
    }
}
