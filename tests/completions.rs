//! The bash completion the packages ship, generated from the clap
//! definitions by the code examples/gen-assets.rs uses
//! (packaging/completions.rs), sourced in a real bash and asked what
//! `barbican-audit audit --f<TAB>` completes to.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

use std::process::Command;

use clap_complete::Shell;

#[path = "../packaging/completions.rs"]
mod completions;

/// Sources the generated script, finds the function it registered for
/// `barbican-audit` (`complete -p`), calls it with COMP_WORDS/COMP_CWORD
/// set as readline would for `line`, and returns COMPREPLY.
fn complete(line_words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("barbican-audit");
    std::fs::write(&script, completions::script(Shell::Bash)).unwrap();

    let words: Vec<String> = line_words.iter().map(|w| format!("'{w}'")).collect();
    let cword = line_words.len() - 1;
    let prev = if cword > 0 { line_words[cword - 1] } else { "" };
    let cur = line_words[cword];
    let bash = format!(
        r#"set -u
source "$1"
spec=$(complete -p barbican-audit) || {{ echo "no completion registered" >&2; exit 3; }}
fn=$(printf '%s\n' "$spec" | sed -n 's/.*-F \([^ ]*\).*/\1/p')
[ -n "$fn" ] || {{ echo "no -F function in: $spec" >&2; exit 3; }}
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
COMP_TYPE=9
COMPREPLY=()
"$fn" barbican-audit '{cur}' '{prev}'
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        words = words.join(" ")
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &bash, "bash"])
        .arg(&script)
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn audit_dash_dash_f_completes_the_f_options() {
    let got = complete(&["barbican-audit", "audit", "--f"]);
    assert!(got.contains(&"--format".to_string()), "{got:?}");
    assert!(got.contains(&"--fail-on".to_string()), "{got:?}");
    assert!(
        got.iter().all(|w| w.starts_with("--f")),
        "only --f... words: {got:?}"
    );
}

#[test]
fn subcommands_and_values_complete() {
    let got = complete(&["barbican-audit", "a"]);
    assert!(got.contains(&"audit".to_string()), "{got:?}");
    assert!(got.contains(&"agent".to_string()), "{got:?}");
    let got = complete(&["barbican-audit", "audit", "--format", ""]);
    assert_eq!(got, ["text", "json"], "{got:?}");
}
