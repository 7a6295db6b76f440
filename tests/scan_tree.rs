//! The scan against the project's own test tree (tests/common/tree.rs, at
//! scale 0.05, with a FIFO): every planted copy is found where the manifest
//! says (path, archive member, encoding, offset, decompressed), each decoy
//! is reported only as the other key it is, near misses not at all, and
//! nothing else is reported.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

#[path = "common/tree.rs"]
mod tree;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use barbican_audit_core::scan::{scan, Encoding, Needle, ScanOptions, ScanReport};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;

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

/// path, member, encoding, offset, decompressed, fingerprint
type Key = (String, Option<String>, String, u64, bool, String);

fn rel(tree: &Path, p: &Path) -> String {
    p.strip_prefix(tree).unwrap().to_string_lossy().into_owned()
}

fn hits(r: &ScanReport, tree: &Path) -> BTreeSet<Key> {
    r.hits
        .iter()
        .map(|h| {
            (
                rel(tree, &h.path),
                h.member.clone(),
                h.encoding.as_str().to_string(),
                h.offset,
                h.decompressed,
                h.fingerprint.clone(),
            )
        })
        .collect()
}

#[test]
fn every_planted_copy_is_found_and_no_decoy() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    let m = tree::make_tree_with(
        &tree,
        &tree::Options {
            fifo: true,
            ..tree::Options::new(0.05)
        },
    )
    .unwrap();
    let needle = Needle::from_raw(tree::default_kek());
    assert_eq!(needle.fingerprint, m.kek_fingerprint);
    assert_eq!(m.stats.fifos, 1, "the tree should hold a FIFO");

    // The tree holds every encoding the scan knows (the fixture key's two
    // base64 alphabets differ, so "base64" cannot occur).
    let planted: BTreeSet<&str> = m.rows.iter().map(|r| r.encoding.as_str()).collect();
    for e in Encoding::ALL {
        assert!(
            e == Encoding::Base64 || planted.contains(e.as_str()),
            "no plant in encoding {e}"
        );
    }
    for (what, n) in [
        ("gzip", m.rows.iter().filter(|r| r.decompressed).count()),
        (
            "archive member",
            m.rows.iter().filter(|r| r.member.is_some()).count(),
        ),
        (
            "nested archive",
            m.rows
                .iter()
                .filter(|r| r.member.as_deref().is_some_and(|s| s.contains('!')))
                .count(),
        ),
        (
            "decoy",
            m.rows
                .iter()
                .filter(|r| r.kind == tree::Kind::Decoy)
                .count(),
        ),
        (
            "near miss",
            m.rows
                .iter()
                .filter(|r| r.kind == tree::Kind::NearMiss)
                .count(),
        ),
    ] {
        assert!(n >= 2, "only {n} {what} rows");
    }

    let opts = ScanOptions {
        roots: vec![tree.clone()],
        threads: 2,
        ..ScanOptions::default()
    };
    let r = scan_with_timeout(&needle, opts.clone());
    assert_no_secret(&r, &needle.raw);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.files, m.stats.files, "every regular file is examined");
    assert_eq!(
        r.skipped,
        m.stats.symlinks + m.stats.fifos,
        "symlinks and the FIFO are skipped"
    );

    let want: BTreeSet<Key> = m
        .rows
        .iter()
        .filter(|r| r.expected())
        .map(|r| {
            (
                r.path.clone(),
                r.member.clone(),
                r.encoding.clone(),
                r.offset,
                r.decompressed,
                r.fingerprint.clone(),
            )
        })
        .collect();
    let got = hits(&r, &tree);
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );

    // near misses: nothing at all in their files
    for n in m.rows.iter().filter(|r| r.kind == tree::Kind::NearMiss) {
        assert!(
            got.iter().all(|k| k.0 != n.path),
            "{} ({}): reported",
            n.id,
            n.note
        );
    }
    // a finding is the KEK exactly when it is not a `kek =` of another key
    assert!(r
        .hits
        .iter()
        .all(|h| (h.encoding == Encoding::KekAssignment) != (h.fingerprint == needle.fingerprint)));
    // a copy in every top-level directory of the tree, and each found
    let tops: BTreeSet<String> = std::fs::read_dir(&tree)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let found_tops: BTreeSet<String> = r
        .hits
        .iter()
        .filter(|h| h.fingerprint == needle.fingerprint)
        .map(|h| rel(&tree, &h.path).split('/').next().unwrap().to_string())
        .collect();
    assert!(tops.len() >= 11, "{tops:?}");
    assert_eq!(
        m.top_dirs()
            .into_iter()
            .map(String::from)
            .collect::<BTreeSet<_>>(),
        tops
    );
    assert_eq!(found_tops, tops);

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

#[test]
fn the_tree_is_the_same_every_time_and_says_what_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let kek = tree::default_kek();
    let a = tree::make_tree(&tmp.path().join("a"), 0.01, &kek).unwrap();
    let b = tree::make_tree(&tmp.path().join("b"), 0.01, &kek).unwrap();
    assert_eq!(a.stats.content_digest, b.stats.content_digest);
    assert_eq!(a.stats.layout_digest, b.stats.layout_digest);
    assert_eq!(a.rows, b.rows);
    // directory-heavy, many small files, many .gz (the benchmark's shape)
    let s = &a.stats;
    assert!(s.files >= 300 && s.dirs >= 150, "{s:?}");
    assert!(s.gz_files * 5 >= s.files, "{s:?}");
    assert_eq!(s.symlinks, 8);
    // only into an empty directory
    let e = tree::make_tree(&tmp.path().join("a"), 0.01, &kek).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    // another key: other bytes where the key is, the same rows otherwise
    let other = [7u8; 32];
    let c = tree::make_tree(&tmp.path().join("c"), 0.01, &other).unwrap();
    assert_ne!(c.stats.content_digest, a.stats.content_digest);
    assert_eq!(c.kek_fingerprint, tree::fingerprint(&other));
    assert_eq!(c.rows.len(), a.rows.len());
    // [7; 32] has the same standard and urlsafe base64 ("BwcH..."): one name
    assert!(c
        .rows
        .iter()
        .all(|r| !r.encoding.starts_with("base64-std") && !r.encoding.starts_with("base64-url")));
    // the manifest file: a header, one line per row and per link, no key
    let tsv = a.to_tsv();
    let body: Vec<&str> = tsv.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(body.len(), 1 + a.rows.len() + a.links.len());
    assert!(body.iter().all(|l| l.split('\t').count() == 10), "{body:?}");
    let hex: String = kek.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!tsv.contains(&STANDARD_NO_PAD.encode(kek)) && !tsv.contains(&hex));
}
