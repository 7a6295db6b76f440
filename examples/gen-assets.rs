//! Writes what the .deb and .rpm ship besides the binary and the files in
//! packaging/ and systemd/: the man pages (`barbican-audit(1)` and one per
//! subcommand, `barbican-audit-audit(1)`, `barbican-audit-checks-list(1)`,
//! ...), the bash, zsh and fish completions, the report's JSON Schema, and
//! the systemd units staged one directory per unit name (`units/audit`,
//! `units/agent`, `units/collector`) for cargo-deb's `unit-scripts`.
//!
//!     cargo run --example gen-assets -- target/assets
//!
//! `.ci/run` runs it before `cargo deb` and `cargo generate-rpm`, whose
//! asset lists name `target/assets/...`.
//!
//! Why an example and not build.rs or a hidden subcommand: build.rs runs
//! before the crate is compiled, so it cannot use the clap definitions in
//! src/cli.rs without copying them (and the copies would drift from
//! --help). A hidden subcommand would put clap_mangen and clap_complete
//! into the shipped binary and show up in the very completions it writes.
//! An example links the library, reads `Cli` through clap's
//! `CommandFactory`, and keeps both generators dev-dependencies.
#![allow(clippy::disallowed_macros)] // a command-line tool: stderr is its output

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use barbican_audit::cli::Cli;
use clap::CommandFactory;
use clap_complete::Shell;

#[path = "../packaging/completions.rs"]
mod completions;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: gen-assets OUT_DIR");
        return ExitCode::from(2);
    };
    match run(&out) {
        Ok(n) => {
            eprintln!("gen-assets: {n} files in {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-assets: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(out: &Path) -> std::io::Result<usize> {
    let man_dir = out.join("man");
    let comp_dir = out.join("completions");
    let units_dir = out.join("units");
    // Start from empty directories: a page for a removed subcommand must not linger.
    for d in [&man_dir, &comp_dir, &units_dir] {
        match std::fs::remove_dir_all(d) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::fs::create_dir_all(d)?;
    }
    let mut n = 0;

    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    n += man_pages(&cmd, &man_dir)?;

    for (shell, name) in [
        (Shell::Bash, "barbican-audit"),
        (Shell::Zsh, "_barbican-audit"),
        (Shell::Fish, "barbican-audit.fish"),
    ] {
        std::fs::write(comp_dir.join(name), completions::script(shell))?;
        n += 1;
    }

    let systemd = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    for (group, files) in [
        (
            "audit",
            &["barbican-audit.service", "barbican-audit.timer"][..],
        ),
        (
            "agent",
            &["barbican-audit-agent.service", "barbican-audit-agent.timer"][..],
        ),
        ("collector", &["barbican-audit-collector.service"][..]),
    ] {
        let d = units_dir.join(group);
        std::fs::create_dir_all(&d)?;
        for f in files {
            std::fs::copy(systemd.join(f), d.join(f))?;
            n += 1;
        }
    }

    std::fs::write(
        out.join("report.schema.json"),
        barbican_audit_core::report::schema::schema_text(),
    )?;
    Ok(n + 1)
}

/// One page per command, recursively (`checks` and `checks list` both get
/// one), gzip -9n as Debian policy wants (no name, no time stamp: the
/// same sources give the same bytes).
fn man_pages(cmd: &clap::Command, dir: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        n += man_pages(sub, dir)?;
    }
    let man = clap_mangen::Man::new(cmd.clone()).manual("barbican-audit manual");
    let mut roff = Vec::new();
    man.render(&mut roff)?;
    let file = std::fs::File::create(dir.join(format!("{}.gz", man.get_filename())))?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(file, flate2::Compression::best());
    gz.write_all(&roff)?;
    gz.finish()?.sync_all()?;
    Ok(n + 1)
}
