//! `promtool check metrics` on a text, for every test that emits metrics.
#![allow(dead_code, clippy::unwrap_used)] // test helper

use std::io::Write;
use std::process::{Command, Stdio};

/// promtool's exit status and everything it printed.
pub fn check(text: &str) -> (i32, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Asserts promtool accepts the text without a word.
pub fn assert_clean(text: &str) {
    let (code, said) = check(text);
    assert!(code == 0 && said.is_empty(), "promtool: {said}\n{text}");
}
