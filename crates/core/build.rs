//! Embeds every pack of `checks/` (`checks/barbican/*.toml`,
//! `checks/consumers/*.toml`, ...) into the binary: the catalog is data, but
//! the binary must carry a default catalog so a bare `barbican-audit audit`
//! works. The generated file is a slice of (pack, file name, contents)
//! triples, sorted by pack then name.
// Cargo reads build-script directives from stdout: println! is the protocol here.
#![allow(clippy::disallowed_macros)]
use std::{env, fs, path::Path};

fn main() {
    // The catalog is at the top of the workspace, beside the crates.
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let checks = Path::new(&manifest).join("../../checks");
    println!("cargo:rerun-if-changed={}", checks.display());
    let mut packs: Vec<String> = fs::read_dir(&checks)
        .expect("checks/ must exist")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    packs.sort();
    let mut out = String::from("pub(crate) static EMBEDDED: &[(&str, &str, &str)] = &[\n");
    for pack in &packs {
        let dir = checks.join(pack);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut names: Vec<String> = fs::read_dir(&dir)
            .expect("a pack directory is readable")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        names.sort();
        for n in &names {
            let abs = fs::canonicalize(dir.join(n)).expect("canonical path");
            println!("cargo:rerun-if-changed={}", abs.display());
            out.push_str(&format!(
                "    ({pack:?}, {n:?}, include_str!({:?})),\n",
                abs.display().to_string()
            ));
        }
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_checks.rs");
    fs::write(dest, out).expect("write embedded_checks.rs");
}
