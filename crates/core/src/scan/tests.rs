//! Engine tests through the public API, on temporary trees.

use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;

use super::*;

/// A key whose raw form holds a newline and whose std and url forms differ.
fn key() -> [u8; 32] {
    let mut k: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(89).wrapping_add(201));
    k[0] = 0xfb; // '+' or '-' / '/' or '_' in base64
    k[1] = 0xef;
    k[9] = b'\n';
    k
}

fn needle() -> Needle {
    Needle::from_raw(key())
}

fn hex(k: &[u8]) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every form of the key that must never appear in any output.
fn secret_forms() -> Vec<String> {
    let k = key();
    vec![
        STANDARD_NO_PAD.encode(k),
        URL_SAFE_NO_PAD.encode(k),
        hex(&k),
        hex(&k).to_uppercase(),
        String::from_utf8_lossy(&k).into_owned(),
        format!("{:?}", k),
        format!("{:x?}", k),
    ]
}

fn assert_no_secret(report: &ScanReport) {
    let text = format!("{report:?}\n{report:#?}");
    for s in secret_forms() {
        assert!(!text.contains(&s), "output contains key material");
    }
    for h in &report.hits {
        assert!(h.fingerprint.starts_with("sha256:") && h.fingerprint.len() == 19);
    }
}

fn opts(root: &Path) -> ScanOptions {
    ScanOptions {
        roots: vec![root.to_path_buf()],
        threads: 2,
        ..ScanOptions::default()
    }
}

fn run(o: &ScanOptions) -> ScanReport {
    let r = scan(&[needle()], o, &|_| {});
    assert_no_secret(&r);
    r
}

fn run_root(root: &Path) -> ScanReport {
    run(&opts(root))
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn conf() -> Vec<u8> {
    format!(
        "[simple_crypto_plugin]\nkek = '{}'\n",
        STANDARD.encode(key())
    )
    .into_bytes()
}

fn write(root: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, data).unwrap();
    p
}

#[test]
fn every_encoding_in_plain_files() {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    let forms: Vec<(&str, Vec<u8>, Encoding)> = vec![
        ("raw.bin", k.to_vec(), Encoding::Raw),
        (
            "std.txt",
            STANDARD.encode(k).into_bytes(),
            Encoding::Base64Std,
        ),
        (
            "stdnp.txt",
            STANDARD_NO_PAD.encode(k).into_bytes(),
            Encoding::Base64StdNoPad,
        ),
        (
            "url.txt",
            URL_SAFE.encode(k).into_bytes(),
            Encoding::Base64Url,
        ),
        (
            "urlnp.txt",
            URL_SAFE_NO_PAD.encode(k).into_bytes(),
            Encoding::Base64UrlNoPad,
        ),
        ("hex.txt", hex(&k).into_bytes(), Encoding::HexLower),
        (
            "HEX.txt",
            hex(&k).to_uppercase().into_bytes(),
            Encoding::HexUpper,
        ),
    ];
    for (name, body, _) in &forms {
        let mut data = b"prefix: ".to_vec();
        data.extend_from_slice(body);
        data.extend_from_slice(b"\nsuffix\n");
        write(d.path(), name, &data);
    }
    let r = run_root(d.path());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.hits.len(), forms.len(), "{:?}", r.hits);
    for (name, _, enc) in &forms {
        let h = r
            .hits
            .iter()
            .find(|h| h.path == d.path().join(name))
            .expect(name);
        assert_eq!(
            (h.encoding, h.offset, h.member.as_deref()),
            (*enc, 8, None),
            "{name}"
        );
        assert_eq!(h.fingerprint, needle().fingerprint);
        assert!(!h.decompressed);
    }
    assert_eq!(r.files, forms.len() as u64);
}

#[test]
fn needle_identical_in_both_alphabets_reports_base64() {
    let d = tempfile::tempdir().unwrap();
    let k = [0x10u8; 32]; // "EBAQ…" has no '+' '/' '-' '_'
    assert_eq!(STANDARD.encode(k), URL_SAFE.encode(k));
    write(
        d.path(),
        "a",
        format!("x {} y", STANDARD.encode(k)).as_bytes(),
    );
    let r = scan(&[Needle::from_raw(k)], &opts(d.path()), &|_| {});
    assert_eq!(r.hits.len(), 1);
    assert_eq!(r.hits[0].encoding, Encoding::Base64);
}

#[test]
fn match_across_the_chunk_boundary() {
    let d = tempfile::tempdir().unwrap();
    let chunk = 4096;
    let enc = hex(&key());
    // straddling the first window end (chunk + overlap) and the second
    let mut expect = Vec::new();
    for (i, at) in [chunk - 10, chunk + 40, 2 * chunk + 60, 3 * chunk - 1]
        .iter()
        .enumerate()
    {
        let mut data = vec![b'z'; 4 * chunk];
        data[*at..*at + 64].copy_from_slice(enc.as_bytes());
        write(d.path(), &format!("f{i}"), &data);
        expect.push((d.path().join(format!("f{i}")), *at as u64));
    }
    let r = run(&ScanOptions {
        chunk_size: chunk,
        ..opts(d.path())
    });
    let got: Vec<(PathBuf, u64)> = r.hits.iter().map(|h| (h.path.clone(), h.offset)).collect();
    assert_eq!(got, expect);
}

#[test]
fn gzip_tar_and_tar_gz_with_member_names() {
    let d = tempfile::tempdir().unwrap();
    let c = conf();
    let off = 30u64; // "[simple_crypto_plugin]\nkek = '" is 30 bytes
    write(d.path(), "barbican.conf.gz", &gz(&c));
    let t = tar_of(&[
        ("etc/barbican/policy.yaml", b"# nothing\n"),
        ("etc/barbican/barbican.conf", &c),
    ]);
    write(d.path(), "etc.tar", &t);
    write(d.path(), "etc.tar.gz", &gz(&t));
    // a tar.gz inside a tar
    let outer = tar_of(&[("README", b"backup set\n"), ("backup.tar.gz", &gz(&t))]);
    write(d.path(), "set.tar", &outer);
    let r = run_root(d.path());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let got: Vec<(String, Option<&str>, u64, bool)> = r
        .hits
        .iter()
        .map(|h| {
            assert_eq!(h.encoding, Encoding::Base64Std);
            (
                h.path.file_name().unwrap().to_string_lossy().into_owned(),
                h.member.as_deref(),
                h.offset,
                h.decompressed,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("barbican.conf.gz".into(), None, off, true),
            (
                "etc.tar".into(),
                Some("etc/barbican/barbican.conf"),
                off,
                false
            ),
            (
                "etc.tar.gz".into(),
                Some("etc/barbican/barbican.conf"),
                off,
                true
            ),
            (
                "set.tar".into(),
                Some("backup.tar.gz!etc/barbican/barbican.conf"),
                off,
                true
            ),
        ]
    );
}

/// `levels` nested tar.gz layers around a barbican.conf.
fn nested(levels: usize) -> Vec<u8> {
    let mut data = tar_of(&[("etc/barbican/barbican.conf", &conf())]);
    for i in 1..levels {
        data = tar_of(&[(&format!("level{i}.tar.gz"), &gz(&data))]);
    }
    gz(&data)
}

#[test]
fn ten_nested_archives_are_an_error_not_a_hang() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "deep.tar.gz", &nested(10));
    write(d.path(), "plain.conf", &conf());
    let r = run_root(d.path());
    assert_eq!(r.hits.len(), 1, "{:?}", r.hits);
    assert!(r.hits[0].path.ends_with("plain.conf"));
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    let e = &r.errors[0];
    assert_eq!(e.kind, ScanErrorKind::TooDeep);
    assert!(e.path.ends_with("deep.tar.gz"));
    // 8 layers: gzip+tar four times; the gzip of level6.tar.gz would be the ninth
    assert_eq!(
        e.member.as_deref(),
        Some("level9.tar.gz!level8.tar.gz!level7.tar.gz!level6.tar.gz")
    );

    // with room for all 20 layers the copy is found, with the whole chain
    let r = run(&ScanOptions {
        max_archive_depth: 20,
        ..opts(d.path())
    });
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let h = r
        .hits
        .iter()
        .find(|h| h.path.ends_with("deep.tar.gz"))
        .unwrap();
    let chain: Vec<String> = (1..10).rev().map(|i| format!("level{i}.tar.gz")).collect();
    assert_eq!(
        h.member.as_deref(),
        Some(format!("{}!etc/barbican/barbican.conf", chain.join("!")).as_str())
    );
}

#[test]
fn zip_bomb_is_refused_and_the_scan_goes_on() {
    let d = tempfile::tempdir().unwrap();
    // 64 MiB of zeros compress about 1000:1
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        e.write_all(&zeros).unwrap();
    }
    e.write_all(&conf()).unwrap();
    let bomb = e.finish().unwrap();
    write(d.path(), "bomb.gz", &bomb);
    write(d.path(), "bomb.tar", &tar_of(&[("inner/bomb.gz", &bomb)]));
    write(d.path(), "ok.conf", &conf());
    let r = run_root(d.path());
    assert_eq!(r.hits.len(), 1);
    assert!(r.hits[0].path.ends_with("ok.conf"));
    assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
    for e in &r.errors {
        assert_eq!(e.kind, ScanErrorKind::DecompressionLimit, "{e:?}");
        assert!(e.message.contains("ratio"), "{}", e.message);
    }
    assert_eq!(r.errors[1].member.as_deref(), Some("inner/bomb.gz"));

    // the size cap, with the ratio out of the way
    let r = run(&ScanOptions {
        max_ratio: 1 << 20,
        max_decompressed_bytes: 8 << 20,
        ..opts(d.path())
    });
    assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
    assert!(r
        .errors
        .iter()
        .all(|e| e.message.contains("exceeds the limit of 8388608 bytes")));
}

#[test]
fn truncated_gzip_and_tar_are_errors_with_earlier_hits_kept() {
    let d = tempfile::tempdir().unwrap();
    let mut text = conf();
    text.extend((0..200_000u32).flat_map(|i| format!("line {i}\n").into_bytes()));
    let z = gz(&text);
    write(d.path(), "cut.gz", &z[..z.len() / 2]);
    let t = tar_of(&[("a.conf", &conf()), ("b.bin", &vec![7u8; 100_000])]);
    write(d.path(), "cut.tar", &t[..20_000]);
    write(
        d.path(),
        "garbage.gz",
        b"\x1f\x8b\x08\x00 this is not deflate data at all, just text",
    );
    let r = run_root(d.path());
    let paths: Vec<&str> = r
        .hits
        .iter()
        .map(|h| h.path.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["cut.gz", "cut.tar"]);
    let errs: Vec<(&str, ScanErrorKind)> = r
        .errors
        .iter()
        .map(|e| (e.path.file_name().unwrap().to_str().unwrap(), e.kind))
        .collect();
    assert_eq!(
        errs,
        vec![
            ("cut.gz", ScanErrorKind::Corrupt),
            ("cut.tar", ScanErrorKind::Corrupt),
            ("garbage.gz", ScanErrorKind::Corrupt)
        ],
        "{:?}",
        r.errors
    );
}

#[test]
fn fifo_and_socket_are_skipped_without_hanging() {
    let d = tempfile::tempdir().unwrap();
    nix::unistd::mkfifo(
        &d.path().join("worker.fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(d.path().join("api.sock")).unwrap();
    write(d.path(), "a.conf", &conf());
    let root = d.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(scan(&[needle()], &opts(&root), &|_| {}));
    });
    let r = rx.recv_timeout(Duration::from_secs(30)).expect("scan hung");
    assert_no_secret(&r);
    assert_eq!(r.hits.len(), 1);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.skipped, 2);
    assert_eq!(r.files, 1);
}

#[test]
fn symlinks_out_of_scope_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret/barbican.conf", &conf());
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "etc/placeholder",
        b"nothing here, but long enough to be read\n",
    );
    symlink(
        outside.path().join("secret"),
        d.path().join("etc/linked-dir"),
    )
    .unwrap();
    symlink(
        outside.path().join("secret/barbican.conf"),
        d.path().join("etc/linked.conf"),
    )
    .unwrap();
    symlink("loop", d.path().join("etc/loop")).unwrap();
    let r = run_root(d.path());
    assert!(r.hits.is_empty(), "{:?}", r.hits);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.skipped, 3);
    // a link inside the scope: the target is scanned once, where it lives
    write(d.path(), "etc/real.conf", &conf());
    symlink("real.conf", d.path().join("etc/alias.conf")).unwrap();
    let r = run_root(d.path());
    assert_eq!(r.hits.len(), 1);
    assert!(r.hits[0].path.ends_with("etc/real.conf"));
}

#[test]
fn invalid_utf8_path_is_reported_as_found() {
    let d = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.conf");
    let dir = d.path().join(std::ffi::OsStr::from_bytes(b"d\xfe"));
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join(name), conf()).unwrap();
    let r = run_root(d.path());
    assert_eq!(r.hits.len(), 1);
    assert_eq!(r.hits[0].path, dir.join(name));
    // a member name that is not UTF-8 is shown lossily
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.as_ustar_mut().unwrap().name[..6].copy_from_slice(b"x\xffy.cf");
    h.set_size(conf().len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, &conf()[..]).unwrap();
    write(d.path(), "odd.tar", &b.into_inner().unwrap());
    let r = run_root(d.path());
    let h = r.hits.iter().find(|h| h.path.ends_with("odd.tar")).unwrap();
    assert_eq!(h.member.as_deref(), Some("x\u{fffd}y.cf"));
}

#[test]
fn vanished_file_is_a_counted_error() {
    let d = tempfile::tempdir().unwrap();
    let job = walk::Job {
        path: d.path().join("gone.conf"),
        dev: None,
        meta: None,
    };
    match walk::open(&job) {
        walk::Opened::Failed(e) => {
            assert_eq!(e.kind, ScanErrorKind::Vanished);
            assert!(e.message.contains("vanished"), "{}", e.message);
        }
        _ => panic!("expected an error"),
    }
    // a root that does not exist
    let r = run_root(&d.path().join("nope"));
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].kind, ScanErrorKind::Vanished);
}

#[test]
fn excluded_paths_globs_and_pseudo_filesystems_are_not_read() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write(d.path(), "etc/barbican/barbican.conf", &conf());
    write(d.path(), "etc/barbican/barbican.conf.bak", &conf());
    write(d.path(), "var/cache/x/copy.conf", &conf());
    write(d.path(), "home/u/notes.swp", &conf());
    for p in walk::PSEUDO_DIRS {
        write(d.path(), &format!("{p}/copy.conf"), &conf());
    }
    write(d.path(), "srv/proc/kept.conf", &conf()); // only <root>/proc is pruned
    let o = ScanOptions {
        exclude_paths: vec![cfg.clone(), d.path().join("var/cache/./")],
        exclude_globs: vec!["**/*.swp".into()],
        ..opts(d.path())
    };
    let r = run(&o);
    let got: Vec<PathBuf> = r
        .hits
        .iter()
        .map(|h| h.path.strip_prefix(d.path()).unwrap().to_path_buf())
        .collect();
    assert_eq!(
        got,
        vec![
            PathBuf::from("etc/barbican/barbican.conf.bak"),
            PathBuf::from("srv/proc/kept.conf")
        ]
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // a bad glob is reported and ignored
    let r = run(&ScanOptions {
        exclude_globs: vec!["a[".into()],
        ..opts(d.path())
    });
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].kind, ScanErrorKind::Config);
}

#[test]
fn kek_assignment_of_an_unknown_key_is_reported_with_its_fingerprint() {
    let d = tempfile::tempdir().unwrap();
    let other = [0x5au8; 32];
    write(
        d.path(),
        "old.conf",
        format!(
            "[simple_crypto_plugin]\nkek = '{}'\n",
            URL_SAFE.encode(other)
        )
        .as_bytes(),
    );
    write(d.path(), "cur.conf", &conf());
    let r = run_root(d.path());
    assert_eq!(r.hits.len(), 2, "{:?}", r.hits);
    assert_eq!(r.hits[0].encoding, Encoding::Base64Std); // cur.conf: the needle, once
    assert_eq!(r.hits[1].encoding, Encoding::KekAssignment);
    assert_eq!(r.hits[1].fingerprint, fingerprint(&other));
    assert_eq!(r.hits[1].offset, 30);
}

#[test]
fn hits_per_file_are_capped() {
    let d = tempfile::tempdir().unwrap();
    let mut data = Vec::new();
    for _ in 0..50 {
        data.extend_from_slice(&key());
        data.extend_from_slice(b"\n");
    }
    write(d.path(), "many", &data);
    let r = run(&ScanOptions {
        max_hits_per_file: 10,
        ..opts(d.path())
    });
    assert_eq!(r.hits.len(), 10);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].kind, ScanErrorKind::TooManyMatches);
    assert!(
        r.errors[0].message.contains("40 further"),
        "{}",
        r.errors[0].message
    );
}

#[test]
fn small_files_are_counted_not_read_and_progress_is_reported() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "tiny", b"short");
    write(d.path(), "a.conf", &conf());
    let calls = AtomicU64::new(0);
    let last = std::sync::Mutex::new(Progress::default());
    let r = scan(&[needle()], &opts(d.path()), &|p| {
        calls.fetch_add(1, Ordering::Relaxed);
        *last.lock().unwrap() = p;
    });
    assert_eq!((r.files, r.bytes), (2, conf().len() as u64));
    assert!(calls.load(Ordering::Relaxed) >= 1);
    assert_eq!(
        *last.lock().unwrap(),
        Progress {
            files: 2,
            bytes: r.bytes
        }
    );
}

#[test]
fn hits_are_sorted_and_threads_do_not_change_the_result() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..200 {
        let mut data = vec![b'#'; 1000 + i * 37];
        data.extend_from_slice(hex(&key()).as_bytes());
        data.extend_from_slice(&conf());
        write(d.path(), &format!("d{}/f{i}.txt", i % 7), &data);
    }
    let one = run(&ScanOptions {
        threads: 1,
        ..opts(d.path())
    });
    let four = run(&ScanOptions {
        threads: 4,
        ..opts(d.path())
    });
    assert_eq!(one, four);
    assert_eq!(one.hits.len(), 400);
    let mut sorted = one.hits.clone();
    sorted.sort_by(|a, b| (&a.path, &a.member, a.offset).cmp(&(&b.path, &b.member, b.offset)));
    assert_eq!(one.hits, sorted);
}

#[test]
fn key_material_in_a_member_name_is_redacted() {
    let d = tempfile::tempdir().unwrap();
    let name = format!("keys/{}.conf", URL_SAFE_NO_PAD.encode(key()));
    write(d.path(), "odd.tar", &tar_of(&[(name.as_str(), &conf())]));
    let r = run_root(d.path()); // asserts that no output holds the key
    assert_eq!(r.hits.len(), 1);
    assert_eq!(r.hits[0].member.as_deref(), Some("keys/<redacted>.conf"));
}

#[test]
fn overlapping_roots_report_a_copy_once() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "etc/a.conf", &conf());
    let r = run(&ScanOptions {
        roots: vec![d.path().to_path_buf(), d.path().join("etc")],
        ..opts(d.path())
    });
    assert_eq!(r.hits.len(), 1);
}

#[test]
fn one_file_system_stays_off_other_mounts() {
    // /dev (devtmpfs) and /dev/shm (tmpfs) are different filesystems on Linux
    let dev = |p: &str| {
        fs::metadata(p)
            .map(|m| std::os::unix::fs::MetadataExt::dev(&m))
            .ok()
    };
    if dev("/dev").is_none() || dev("/dev") == dev("/dev/shm") {
        return;
    }
    let Ok(d) = tempfile::tempdir_in("/dev/shm") else {
        return;
    };
    write(d.path(), "copy.conf", &conf());
    // scanning /dev stays on devtmpfs and never reaches the copy
    let r = run(&ScanOptions {
        roots: vec![PathBuf::from("/dev")],
        one_file_system: true,
        ..opts(d.path())
    });
    assert!(
        r.hits.iter().all(|h| !h.path.starts_with(d.path())),
        "{:?}",
        r.hits
    );
    // the copy is there for a scan rooted on its own filesystem
    let r = run_root(d.path());
    assert_eq!(r.hits.len(), 1);
}

/// A scan with the cache at `cache`, as if started `ahead` after now (so
/// that files written by the test are not "racy").
fn run_cached(root: &Path, cache: &Path, ahead: Duration) -> ScanReport {
    let o = ScanOptions {
        cache: Some(cache.to_path_buf()),
        ..opts(root)
    };
    let r = scan_at(
        &[needle()],
        &o,
        &|_| {},
        std::time::SystemTime::now() + ahead,
    );
    assert_no_secret(&r);
    r
}

#[test]
fn cache_skips_unchanged_clean_files_and_rereads_changed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let cache = dir.path().join("scan-cache");
    let clean = write(&root, "var/log/clean.log", &b"nothing here\n".repeat(5000));
    write(
        &root,
        "var/log/other.gz",
        &gz(&b"still nothing\n".repeat(5000)),
    );
    write(&root, "home/a/.bash_history", &conf());
    let backup = gz(&tar_of(&[("etc/barbican/barbican.conf", &conf())]));
    write(&root, "var/backups/etc.tar.gz", &backup);
    let later = Duration::from_secs(5);

    let first = run_cached(&root, &cache, later);
    assert_eq!(first.files, 4);
    assert_eq!(first.unchanged_files, 0);
    assert_eq!(first.hits.len(), 2);
    assert!(first
        .hits
        .iter()
        .any(|h| h.decompressed && h.member.is_some()));
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    let bytes_all = first.bytes;

    // unchanged: nothing is read, the copy is reported from the cache
    let second = run_cached(&root, &cache, later);
    assert_eq!(second.hits, first.hits);
    assert_eq!((second.files, second.unchanged_files), (4, 4));
    assert_eq!((second.bytes, second.unchanged_bytes), (0, bytes_all));

    // the same size, the old mtime put back: ctime still moved, so it is read
    let mtime = fs::metadata(&clean).unwrap().modified().unwrap();
    let mut body = b"nothing here\n".repeat(5000);
    let k = STANDARD.encode(key());
    body[100..100 + k.len()].copy_from_slice(k.as_bytes());
    fs::write(&clean, &body).unwrap();
    fs::File::options()
        .write(true)
        .open(&clean)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let third = run_cached(&root, &cache, later);
    assert_eq!(third.unchanged_files, 3, "the others are still known");
    assert_eq!(third.hits.len(), 3);
    assert!(
        third
            .hits
            .iter()
            .any(|h| h.path == clean && h.offset == 100),
        "the copy written into a cached file is found: {:?}",
        third.hits
    );

    // another KEK: nothing in the cache applies
    let o = ScanOptions {
        cache: Some(cache.clone()),
        ..opts(&root)
    };
    let other = scan_at(
        &[Needle::from_raw([7; 32])],
        &o,
        &|_| {},
        std::time::SystemTime::now() + later,
    );
    assert_eq!(other.unchanged_files, 0);
}

#[test]
fn cache_never_remembers_fresh_or_failed_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let cache = dir.path().join("scan-cache");
    write(&root, "fresh.txt", &b"x".repeat(4096));
    let text: Vec<u8> = (0..100_000u32)
        .flat_map(|i| (i * 7919).to_le_bytes())
        .collect();
    let whole = gz(&text);
    write(&root, "truncated.gz", &whole[..whole.len() / 2]);
    // started now: fresh.txt was written within the racy margin
    let r = run_cached(&root, &cache, Duration::ZERO);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    let r = run_cached(&root, &cache, Duration::ZERO);
    assert_eq!(r.unchanged_files, 0);
    // later: the clean file is remembered, the truncated gzip never is
    run_cached(&root, &cache, Duration::from_secs(5));
    let r = run_cached(&root, &cache, Duration::from_secs(5));
    assert_eq!(r.unchanged_files, 1);
    assert_eq!(
        r.errors.len(),
        1,
        "the truncated gzip is read and reported again"
    );
}

#[test]
fn damaged_or_foreign_cache_is_a_warning_and_a_full_scan() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let cache = dir.path().join("scan-cache");
    write(&root, "a.txt", &b"z".repeat(4096));
    let later = Duration::from_secs(5);
    run_cached(&root, &cache, later);
    let mut data = fs::read(&cache).unwrap();
    let n = data.len();
    data[n - 1] ^= 1;
    fs::write(&cache, &data).unwrap();
    let r = run_cached(&root, &cache, later);
    assert_eq!((r.unchanged_files, r.files), (0, 1));
    assert!(r.warnings[0].contains("not used"), "{:?}", r.warnings);
    assert!(
        r.errors.is_empty(),
        "a cache problem does not make the scan incomplete"
    );
    // the damaged file was replaced by a good one
    assert_eq!(run_cached(&root, &cache, later).unchanged_files, 1);
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o666)).unwrap();
    let r = run_cached(&root, &cache, later);
    assert_eq!(r.unchanged_files, 0);
    assert!(r.warnings[0].contains("chmod 0600"), "{:?}", r.warnings);
    // a cache in a directory that does not exist: warned, scan complete
    let r = run_cached(&root, &dir.path().join("no/such/dir/cache"), later);
    assert!(
        r.warnings.iter().any(|w| w.contains("not written")),
        "{:?}",
        r.warnings
    );
    assert_eq!(r.files, 1);
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut liblzma::read::XzEncoder::new(data, 6), &mut out).unwrap();
    out
}

fn zst(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

fn bz2(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = bzip2::read::BzEncoder::new(data, bzip2::Compression::best());
    std::io::Read::read_to_end(&mut e, &mut out).unwrap();
    out
}

type Compress = fn(&[u8]) -> Vec<u8>;
const CODECS: [(&str, Compress); 3] = [("xz", xz), ("zst", zst), ("bz2", bz2)];

#[test]
fn xz_zstd_and_bzip2_layers_are_scanned() {
    let d = tempfile::tempdir().unwrap();
    let mut text = b"[DEFAULT]\ndebug = true\n".repeat(100);
    let at = text.len() as u64 + "[simple_crypto_plugin]\nkek = '".len() as u64;
    text.extend(conf());
    for (ext, c) in CODECS {
        write(d.path(), &format!("barbican.conf.{ext}"), &c(&text));
        let t = tar_of(&[
            ("README", b"nothing"),
            ("etc/barbican/barbican.conf", &text),
        ]);
        write(d.path(), &format!("etc-backup.tar.{ext}"), &c(&t));
        // two concatenated streams, the copy in the second
        let mut two = c(b"first stream, nothing in it\n");
        two.extend(c(&conf()));
        write(d.path(), &format!("two.{ext}"), &two);
    }
    let r = run_root(d.path());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let mut seen: Vec<(String, Option<String>, u64, bool)> = r
        .hits
        .iter()
        .map(|h| {
            let name = h.path.file_name().unwrap().to_str().unwrap().to_string();
            (name, h.member.clone(), h.offset, h.decompressed)
        })
        .collect();
    seen.sort();
    let mut want = Vec::new();
    for (ext, _) in CODECS {
        let conf_at = "[simple_crypto_plugin]\nkek = '".len() as u64;
        want.push((format!("barbican.conf.{ext}"), None, at, true));
        want.push((
            format!("etc-backup.tar.{ext}"),
            Some("etc/barbican/barbican.conf".to_string()),
            at,
            true,
        ));
        want.push((
            format!("two.{ext}"),
            None,
            "first stream, nothing in it\n".len() as u64 + conf_at,
            true,
        ));
    }
    want.sort();
    assert_eq!(seen, want);
}

#[test]
fn xz_zstd_and_bzip2_bombs_and_truncations_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 4 << 20];
    // 2.6 MB: bzip2 decodes whole 900 kB blocks, so the cut must fall
    // after the first one for the copy in it to be found
    let mut text = conf();
    text.extend((0..250_000u32).flat_map(|i| format!("line {i}\n").into_bytes()));
    for (ext, c) in CODECS {
        write(d.path(), &format!("bomb.{ext}"), &c(&zeros));
        let z = c(&text);
        write(d.path(), &format!("cut.{ext}"), &z[..z.len() / 2]);
    }
    write(d.path(), "plain.conf", &conf());
    let r = run_root(d.path());
    let mut errs: Vec<(String, ScanErrorKind)> = r
        .errors
        .iter()
        .map(|e| {
            (
                e.path.file_name().unwrap().to_str().unwrap().to_string(),
                e.kind,
            )
        })
        .collect();
    errs.sort();
    let mut want = Vec::new();
    for (ext, _) in CODECS {
        want.push((format!("bomb.{ext}"), ScanErrorKind::DecompressionLimit));
        want.push((format!("cut.{ext}"), ScanErrorKind::Corrupt));
    }
    want.sort();
    assert_eq!(errs, want, "{:?}", r.errors);
    // the copy before the cut is still found, and the scan went on
    let mut hit: Vec<&str> = r
        .hits
        .iter()
        .map(|h| h.path.file_name().unwrap().to_str().unwrap())
        .collect();
    hit.sort();
    assert_eq!(hit, ["cut.bz2", "cut.xz", "cut.zst", "plain.conf"]);
}

#[test]
fn xz_stream_asking_for_a_huge_dictionary_is_refused() {
    // an ordinary .xz whose LZMA2 dictionary size is patched to 1 GiB (the
    // block header's CRC32 recomputed): the decoder would allocate it
    let mut x = xz(&conf());
    let hsize = (usize::from(x[12]) + 1) * 4;
    assert_eq!(x[13] & 0xc3, 0, "one filter, no sizes in the header");
    assert_eq!(&x[14..16], &[0x21, 0x01], "LZMA2 with one property byte");
    x[16] = 36; // 2^30 bytes
    let mut crc = flate2::Crc::new();
    crc.update(&x[12..12 + hsize - 4]);
    x[12 + hsize - 4..12 + hsize].copy_from_slice(&crc.sum().to_le_bytes());
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "huge-dict.xz", &x);
    let r = run_root(d.path());
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].kind, ScanErrorKind::DecompressionLimit);
    assert!(
        r.errors[0].message.contains("needs more memory"),
        "{}",
        r.errors[0].message
    );
}

#[test]
fn wrapped_base64_inside_gzip_and_tar() {
    let d = tempfile::tempdir().unwrap();
    // barbican.conf base64'd and wrapped at 76 columns, as GNU base64 does
    let b64 = STANDARD.encode(conf());
    let mut text = Vec::new();
    for line in b64.as_bytes().chunks(76) {
        text.extend_from_slice(line);
        text.push(b'\n');
    }
    // the key's text starts at byte 30 of the config (a whole 3-byte
    // group), so its first character that depends on it alone is at 40,
    // and the copy crosses the line break at 76
    let off = 40u64;
    write(d.path(), "conf.b64", &text);
    write(d.path(), "conf.b64.gz", &gz(&text));
    let t = tar_of(&[("README", b"backup set\n"), ("secrets/conf.b64", &text)]);
    write(d.path(), "secrets.tar", &t);
    write(d.path(), "secrets.tar.gz", &gz(&t));
    let r = run_root(d.path());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let got: Vec<(String, Option<&str>, Encoding, u64, bool)> = r
        .hits
        .iter()
        .map(|h| {
            (
                h.path.file_name().unwrap().to_string_lossy().into_owned(),
                h.member.as_deref(),
                h.encoding,
                h.offset,
                h.decompressed,
            )
        })
        .collect();
    let member = Some("secrets/conf.b64");
    assert_eq!(
        got,
        vec![
            ("conf.b64".into(), None, Encoding::Base64Double, off, false),
            (
                "conf.b64.gz".into(),
                None,
                Encoding::Base64Double,
                off,
                true
            ),
            (
                "secrets.tar".into(),
                member,
                Encoding::Base64Double,
                off,
                false
            ),
            (
                "secrets.tar.gz".into(),
                member,
                Encoding::Base64Double,
                off,
                true
            ),
        ]
    );
}
