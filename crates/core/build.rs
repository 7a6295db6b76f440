//! Embeds `checks/barbican/*.toml` into the binary: the catalog is data, but the
//! binary must carry a default catalog so a bare `barbican-audit audit` works.
//! The generated file is a sorted slice of (file name, contents) pairs.
// Cargo reads build-script directives from stdout: println! is the protocol here.
#![allow(clippy::disallowed_macros)]
use std::{env, fs, path::Path};

fn main() {
    // The catalog is at the top of the workspace, beside the crates.
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let checks = Path::new(&manifest).join("../../checks/barbican");
    let dir = checks.as_path();
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("checks/barbican must exist")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    let mut out = String::from("pub(crate) static EMBEDDED: &[(&str, &str)] = &[\n");
    for n in &names {
        let abs = fs::canonicalize(dir.join(n)).expect("canonical path");
        println!("cargo:rerun-if-changed={}", abs.display());
        out.push_str(&format!(
            "    ({n:?}, include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_checks.rs");
    fs::write(dest, out).expect("write embedded_checks.rs");
}
