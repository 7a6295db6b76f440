//! The scan against the shared benchmark fixture: `make_tree.sh DIR 0.05`
//! (with a FIFO in the tree) plants copies of a KEK and decoys and lists them
//! in `DIR.manifest.tsv`. Every planted copy must be found where the manifest
//! says, with its encoding, and no decoy may be reported as the KEK.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use barbican_audit::scan::{scan, Encoding, Needle, ScanOptions, ScanReport};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;

fn make_tree_script() -> PathBuf {
    let candidates = [
        std::env::var_os("MAKE_TREE").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/make_tree.sh")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/make_tree.sh")),
        Some(PathBuf::from("/work/shared/bench/make_tree.sh")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .expect("make_tree.sh not found: set MAKE_TREE=/path/to/make_tree.sh")
}

struct Row {
    id: String,
    path: String,
    encoding: String,
    offset: Option<u64>,
    kind: String,
}

fn manifest(path: &Path) -> (String, Vec<Row>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut kek = None;
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("# kek_b64\t") {
            kek = Some(v.to_string());
            continue;
        }
        if line.starts_with('#') || line.starts_with("id\t") {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        rows.push(Row {
            id: f[0].into(),
            path: f[1].into(),
            encoding: f[2].into(),
            offset: f[3].parse().ok(),
            kind: f[7].into(),
        });
    }
    (kek.expect("manifest without kek_b64"), rows)
}

/// Fails if any output holds the key in any form.
fn assert_no_secret(r: &ScanReport, raw: &[u8; 32]) {
    let text = format!("{r:?}");
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    for s in [
        STANDARD_NO_PAD.encode(raw),
        URL_SAFE_NO_PAD.encode(raw),
        hex.to_uppercase(),
        hex,
    ] {
        assert!(!text.contains(&s), "scan output contains key material");
    }
    assert!(!text.as_bytes().windows(32).any(|w| w == raw));
}

fn scan_with_timeout(needle: &Needle, opts: ScanOptions) -> ScanReport {
    let n = needle.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(scan(&[n], &opts, &|_| {}));
    });
    rx.recv_timeout(Duration::from_secs(300))
        .expect("scan did not finish (FIFO opened?)")
}

type Key = (String, Option<String>, Encoding, u64, bool);

#[test]
fn every_planted_copy_is_found_and_no_decoy() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    let st = Command::new("bash")
        .arg(make_tree_script())
        .arg(&tree)
        .arg("0.05")
        .env("MAKE_FIFO", "1")
        .status()
        .unwrap();
    assert!(st.success(), "make_tree.sh failed");
    let (kek, rows) = manifest(&tmp.path().join("tree.manifest.tsv"));
    let needle = Needle::from_base64(&kek).unwrap();
    let b64 = if STANDARD.encode(needle.raw).contains(['+', '/']) {
        Encoding::Base64Std
    } else {
        Encoding::Base64
    };
    assert!(
        rows.iter().any(|r| r.kind == "fifo"),
        "the tree should hold a FIFO"
    );

    let opts = ScanOptions {
        roots: vec![tree.clone()],
        threads: 2,
        ..ScanOptions::default()
    };
    let r = scan_with_timeout(&needle, opts.clone());
    assert_no_secret(&r, &needle.raw);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(
        r.skipped >= 7,
        "6 symlinks and a FIFO are skipped, got {}",
        r.skipped
    );

    // the archives hold a copy of etc/barbican/barbican.conf (P01)
    let p01 = rows.iter().find(|r| r.id == "P01").unwrap().offset.unwrap();
    let mut want: BTreeSet<Key> = BTreeSet::new();
    for row in rows.iter().filter(|r| r.kind == "plant") {
        let (member, offset, decompressed) = match row.encoding.as_str() {
            "b64-in-gzip" => (Some("etc/barbican/barbican.conf".to_string()), p01, true),
            _ if row.path.ends_with(".tar") => {
                (Some("etc/barbican/barbican.conf".to_string()), p01, false)
            }
            _ => (None, row.offset.unwrap(), false),
        };
        let enc = match row.encoding.as_str() {
            "b64" | "b64-in-gzip" => b64,
            "hex-lower" => Encoding::HexLower,
            "hex-upper" => Encoding::HexUpper,
            "raw" => Encoding::Raw,
            other => panic!("{}: unknown manifest encoding {other}", row.id),
        };
        want.insert((row.path.clone(), member, enc, offset, decompressed));
    }
    let rel = |p: &Path| {
        p.strip_prefix(&tree)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let got: BTreeSet<Key> = r
        .hits
        .iter()
        .filter(|h| h.fingerprint == needle.fingerprint)
        .map(|h| {
            (
                rel(&h.path),
                h.member.clone(),
                h.encoding,
                h.offset,
                h.decompressed,
            )
        })
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
    assert_eq!(
        want.len(),
        rows.iter().filter(|r| r.kind == "plant").count()
    );

    // decoys: never the KEK; a `kek = <Fernet-shaped>` decoy is the
    // lower-severity finding with the fingerprint of its own value
    for d in rows.iter().filter(|r| r.kind == "decoy") {
        let at: Vec<_> = r.hits.iter().filter(|h| rel(&h.path) == d.path).collect();
        assert!(
            at.iter().all(|h| h.fingerprint != needle.fingerprint),
            "decoy {} reported as the KEK",
            d.id
        );
        if let Some(off) = d.offset {
            assert!(
                at.iter()
                    .any(|h| h.encoding == Encoding::KekAssignment && h.offset == off),
                "decoy {}: kek assignment not reported",
                d.id
            );
        }
    }
    assert!(r
        .hits
        .iter()
        .all(|h| (h.encoding == Encoding::KekAssignment) != (h.fingerprint == needle.fingerprint)));

    // the config file itself is the caller's to report: excluded, it is not read
    let conf = tree.join("etc/barbican/barbican.conf");
    let r2 = scan_with_timeout(
        &needle,
        ScanOptions {
            exclude_paths: vec![conf.clone()],
            ..opts
        },
    );
    assert_no_secret(&r2, &needle.raw);
    assert!(r2.hits.iter().all(|h| h.path != conf));
    assert_eq!(r2.hits.len() + 1, r.hits.len());
    assert_eq!(r2.files + 1, r.files);
}
