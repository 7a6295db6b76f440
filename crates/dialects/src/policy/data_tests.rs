//! The cases of the repository's `tests/data/policy/` (format: its README.md). The same files
//! are run through the real oslo.policy by `tests/confirm/policy_confirm.py`, so what is checked
//! here is what the library was seen to do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/policy")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One `key NAME: value` line of files.expected.
struct Expect {
    key: String,
    name: Option<String>,
    value: String,
}

/// files.expected: the cases in file order.
fn read_expected() -> Vec<(String, Vec<Expect>)> {
    let text = String::from_utf8(read(&data_dir().join("files.expected")))
        .unwrap_or_else(|e| panic!("files.expected: {e}"));
    let mut cases: Vec<(String, Vec<Expect>)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            cases.push((name.to_string(), Vec::new()));
            continue;
        }
        let (head, value) = match line.split_once(": ") {
            Some(hv) => hv,
            None => match line.strip_suffix(':') {
                Some(head) => (head, ""),
                None => panic!("files.expected:{}: no `key: value`: {line:?}", n + 1),
            },
        };
        let (key, name) = match head.split_once(' ') {
            Some((k, name)) => (k, Some(name.to_string())),
            None => (head, None),
        };
        let Some((_, expects)) = cases.last_mut() else {
            panic!("files.expected:{}: a key before the first [case]", n + 1);
        };
        expects.push(Expect {
            key: key.to_string(),
            name,
            value: value.to_string(),
        });
    }
    cases
}

/// A case's policy files in load order: (path relative to the case, content).
fn case_files(name: &str) -> Vec<(String, Vec<u8>)> {
    let files = data_dir().join("files");
    let dir = files.join(name);
    if dir.is_dir() {
        let mut out = vec![("policy.yaml".to_string(), read(&dir.join("policy.yaml")))];
        let mut d: Vec<String> = match std::fs::read_dir(dir.join("policy.d")) {
            Ok(rd) => rd
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("{name}/policy.d: {e}")),
            Err(_) => Vec::new(),
        };
        d.sort();
        for f in d {
            let rel = format!("policy.d/{f}");
            out.push((rel.clone(), read(&dir.join(&rel))));
        }
        return out;
    }
    let found: Vec<String> = ["yaml", "json"]
        .iter()
        .map(|ext| format!("{name}.{ext}"))
        .filter(|f| files.join(f).is_file())
        .collect();
    assert_eq!(
        found.len(),
        1,
        "case {name}: want one file, found {found:?}"
    );
    found
        .into_iter()
        .map(|f| {
            let content = read(&files.join(&f));
            (f, content)
        })
        .collect()
}

/// Every mismatch between the model and the case's expectations.
fn check_case(name: &str, expects: &[Expect]) -> Vec<String> {
    let files = case_files(name);
    let mut parsed = Vec::new();
    let mut error = None;
    for (rel, content) in &files {
        match parse_bytes(content) {
            Ok(f) => parsed.push(f),
            Err(e) => {
                error = Some((rel.clone(), e));
                break;
            }
        }
    }
    let merged = merge(&parsed);
    let texts: BTreeMap<String, String> = merged
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let model = if error.is_some() {
        "load-error"
    } else {
        match role_verdict(&texts, "creator", &["member"], Some(DEFAULT_RULE_NAME)) {
            Verdict::Granted => "granted",
            Verdict::Denied => "denied",
            Verdict::Depends => "depends",
            Verdict::Error => "enforce-error",
        }
    };
    let want_model = expects
        .iter()
        .find(|e| e.key == "model")
        .or_else(|| expects.iter().find(|e| e.key == "verdict"));
    let mut bad = Vec::new();
    match want_model {
        Some(w) if w.value == model => {}
        Some(w) => bad.push(format!("model says {model}, expected {}", w.value)),
        None => bad.push("no verdict".to_string()),
    }
    // The rule as loaded: its text, the file that set it, its line.
    let rule = |n: &Option<String>| {
        let n = n.as_deref().unwrap_or_default();
        merged.get(n).map(|(text, i, line)| {
            let r = parsed[*i].rules.iter().find(|r| r.name == n);
            (text, &files[*i].0, *line, r.and_then(|r| r.note.as_deref()))
        })
    };
    let no_error = |what: &str| match &error {
        Some((f, e)) => format!("{what}: {f} failed to load: {e}"),
        None => format!("{what}: no such rule"),
    };
    for e in expects {
        let v = e.value.as_str();
        match e.key.as_str() {
            // Checked above, or by policy_confirm.py only.
            "verdict" | "model" | "raises" => {}
            "rules" if error.is_none() && merged.len().to_string() == v => {}
            "rules" => bad.push(format!("{} rules, expected {v}", merged.len())),
            "rule" => match rule(&e.name) {
                Some((text, ..)) if parse_rule(text).to_string() == v => {}
                Some((text, ..)) => {
                    bad.push(format!("rule {text:?} reads as {}", parse_rule(text)))
                }
                None => bad.push(no_error("rule")),
            },
            "text" => match rule(&e.name) {
                Some((text, ..)) if text == v => {}
                Some((text, ..)) => bad.push(format!("text {text:?}, expected {v:?}")),
                None => bad.push(no_error("text")),
            },
            "line" => match rule(&e.name) {
                Some((_, file, line, _)) => {
                    let got = if files.len() > 1 {
                        format!("{file}:{line}")
                    } else {
                        line.to_string()
                    };
                    if got != v {
                        bad.push(format!("line {got}, expected {v}"));
                    }
                }
                None => bad.push(no_error("line")),
            },
            "note" => match rule(&e.name) {
                Some((.., None)) if v == "-" => {}
                Some((.., Some(note))) if v != "-" && note.contains(v) => {}
                Some((.., note)) => bad.push(format!("note {note:?}, expected {v:?}")),
                None => bad.push(no_error("note")),
            },
            "names" => {
                let got = parsed.first().map(|f| {
                    f.rules
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                });
                if got.as_deref() != Some(v) {
                    bad.push(format!("names {got:?}, expected {v:?}"));
                }
            }
            "message" => match &error {
                Some((_, err)) if err.message.contains(v) => {}
                other => bad.push(format!("error {other:?} does not say {v:?}")),
            },
            "error-line" => match &error {
                Some((_, err)) if err.line.map(|l| l.to_string()).as_deref() == Some(v) => {}
                other => bad.push(format!("error {other:?} is not at line {v}")),
            },
            other => bad.push(format!("unknown key {other:?}")),
        }
    }
    bad
}

#[test]
fn files_match_expected_verdicts() {
    let cases = read_expected();
    let mut names: Vec<&str> = cases.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    let mut on_disk: Vec<String> = std::fs::read_dir(data_dir().join("files"))
        .unwrap_or_else(|e| panic!("tests/data/policy/files: {e}"))
        .map(|e| {
            let e = e.unwrap_or_else(|e| panic!("tests/data/policy/files: {e}"));
            let f = e.file_name().to_string_lossy().into_owned();
            match (e.path().is_dir(), f.rsplit_once('.')) {
                (false, Some((stem, _))) => stem.to_string(),
                _ => f,
            }
        })
        .collect();
    on_disk.sort_unstable();
    assert_eq!(
        names, on_disk,
        "files/ and files.expected must list the same cases"
    );
    assert!(cases.len() > 100, "{} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, expects)| {
            let bad = check_case(name, expects);
            (!bad.is_empty()).then(|| format!("{name}: {}", bad.join("; ")))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A rules.tsv field: ASCII with `\\`, `\t`, `\n`, `\xNN` and `\uNNNN` escapes.
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut it = field.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let hex = |it: &mut std::str::Chars<'_>, n: usize| {
            let h: String = it.take(n).collect();
            u32::from_str_radix(&h, 16)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or_else(|| panic!("rules.tsv: bad escape in {field:?}"))
        };
        match it.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('x') => out.push(hex(&mut it, 2)),
            Some('u') => out.push(hex(&mut it, 4)),
            other => panic!("rules.tsv: unknown escape \\{other:?} in {field:?}"),
        }
    }
    out
}

/// The Python class oslo.policy's `_parser.parse_rule` returns for this check.
fn class(c: &Check) -> &'static str {
    match c {
        Check::Always => "TrueCheck",
        Check::Never => "FalseCheck",
        Check::Role(_) => "RoleCheck",
        Check::Rule(_) => "RuleCheck",
        Check::Generic(..) => "GenericCheck",
        Check::And(_) => "AndCheck",
        Check::Or(_) => "OrCheck",
        Check::Not(_) => "NotCheck",
        Check::Invalid(_) => "str",
    }
}

#[test]
fn rules_tsv_matches_oslo_parse_rule() {
    let text = String::from_utf8(read(&data_dir().join("rules.tsv")))
        .unwrap_or_else(|e| panic!("rules.tsv: {e}"));
    let mut failures = Vec::new();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [rule, want_class, want_str] = fields[..] else {
            panic!("rules.tsv:{}: want rule<TAB>class<TAB>str: {line:?}", i + 1);
        };
        let rule = unescape(rule);
        let c = parse_rule(&rule);
        if (class(&c), c.to_string().as_str()) != (want_class, want_str) {
            failures.push(format!(
                "rules.tsv:{}: {rule:?} -> {} {c}, expected {want_class} {want_str}",
                i + 1,
                class(&c)
            ));
        }
        n += 1;
    }
    assert!(n > 20, "{n} rules");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
