//! Builds the project's test tree (tests/common/tree.rs) for benchmarks:
//!
//! ```text
//! cargo run --release --example make_tree -- OUT [SCALE] [--fifo] [--force]
//! ```
//!
//! SCALE defaults to 1 (about 840 MB in 18,300 files, 6,000 of them .gz). Writes the tree to
//! OUT (absent or empty; `--force` first removes a tree this program made,
//! one with `OUT.manifest.tsv` beside it), the manifest to `OUT.manifest.tsv`
//! and the fixture KEK, base64, to `OUT.kek` (mode 0600: benchmarks give it
//! to ripgrep). Exit status 2 on bad arguments, 1 if the tree cannot be made.
// A program of its own: its output is its CLI view, not the library's.
#![allow(clippy::disallowed_macros)]

#[path = "../tests/common/tree.rs"]
mod tree;

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;

fn usage(why: &str) -> ExitCode {
    eprintln!("make_tree: {why}\nusage: make_tree OUT [SCALE] [--fifo] [--force]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut pos: Vec<String> = Vec::new();
    let (mut fifo, mut force) = (false, false);
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--fifo" => fifo = true,
            "--force" => force = true,
            s if s.starts_with("--") => return usage(&format!("unknown option {s}")),
            _ => pos.push(a),
        }
    }
    let (out, scale) = match pos.as_slice() {
        [o] => (PathBuf::from(o), 1.0),
        [o, s] => match s.parse::<f64>() {
            Ok(v) if v > 0.0 && v.is_finite() => (PathBuf::from(o), v),
            _ => return usage(&format!("SCALE must be a positive number, got {s:?}")),
        },
        _ => return usage("expected OUT and an optional SCALE"),
    };
    match run(&out, scale, fifo, force) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make_tree: {}: {e}", out.display());
            ExitCode::from(1)
        }
    }
}

fn beside(out: &Path, ext: &str) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

fn run(out: &Path, scale: f64, fifo: bool, force: bool) -> std::io::Result<()> {
    let manifest_path = beside(out, ".manifest.tsv");
    let kek_path = beside(out, ".kek");
    if force && manifest_path.is_file() && out.is_dir() {
        std::fs::remove_dir_all(out)?;
    }
    let started = std::time::Instant::now();
    let opts = tree::Options {
        fifo,
        ..tree::Options::new(scale)
    };
    let m = tree::make_tree_with(out, &opts)?;
    std::fs::write(&manifest_path, m.to_tsv())?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&kek_path)?;
    writeln!(
        f,
        "{}",
        base64::engine::general_purpose::STANDARD.encode(opts.kek)
    )?;
    let s = &m.stats;
    println!(
        "make_tree: {} scale {scale}: {} files ({} .gz), {} bytes, {} dirs, {} symlinks, {} rows; digest {} ({:.1} s)",
        out.display(),
        s.files,
        s.gz_files,
        s.bytes,
        s.dirs,
        s.symlinks,
        m.rows.len(),
        s.content_digest,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
