//! Check definitions: parse (serde, unknown keys refused), validate into a
//! checked model collecting every problem with file:line, then hand the
//! engine a [`Catalog`] that cannot hold an invalid check.
//!
//! A check whose probe does not exist is refused by validation, so it can
//! neither run nor appear as `pass`.
pub mod explain;
pub mod raw;
mod refs;

use barbican_audit_support::{hex, is_valid_id, shell_quote, PACKS};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::Fatal;
use crate::probe::{self, ProbeSpec};
use crate::report::Severity;
use raw::RawCheck;
pub use refs::LAYOUTS;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_checks.rs"));
}

/// A condition from `applies-if` (evaluated by the probes' facts).
pub use crate::probe::conditions::Condition;

/// Message templates per status.
#[derive(Debug, Clone, Default)]
pub struct Messages {
    /// For `pass`.
    pub pass: Option<String>,
    /// For `fail`.
    pub fail: Option<String>,
    /// For `error`.
    pub error: Option<String>,
    /// For `na`.
    pub na: Option<String>,
}

/// A validated check.
#[derive(Debug, Clone)]
pub struct Check {
    /// Stable ID.
    pub id: String,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// References.
    pub references: Vec<String>,
    /// Rationale text.
    pub rationale: String,
    /// Remediation template.
    pub remediation: String,
    /// Remediation templates per deployment layout (see [`LAYOUTS`]).
    pub remediation_by_layout: BTreeMap<String, String>,
    /// Conditions for the check to apply.
    pub applies_if: Vec<Condition>,
    /// Message templates.
    pub message: Messages,
    /// The probe and its validated parameters.
    pub probe: ProbeSpec,
    /// The probe table as TOML (`[probe.file-metadata]` and its keys), for `checks explain`.
    pub probe_toml: String,
    /// The file it came from (`BAR-001.toml`).
    pub file: String,
}

impl Check {
    /// The remediation template for a deployment layout: its
    /// `[remediation-by-layout]` entry (where that layout's tool keeps the
    /// setting, so the fix survives the next deployment run), else the
    /// generic `remediation`. Choosing by the report's `host.layout` is the
    /// engine's job; the text is filled like `remediation`.
    pub fn remediation_for(&self, layout: crate::layout::Layout) -> &str {
        self.remediation_by_layout
            .get(layout.as_str())
            .map(String::as_str)
            .unwrap_or(&self.remediation)
    }
}

/// A problem in a check definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File path as shown to the user.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// A validated set of checks, sorted by ID.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The checks.
    pub checks: Vec<Check>,
    /// SHA-256 of the canonical catalog: for each file in name order,
    /// `name NUL length NUL bytes`, hashed together. The embedded catalog and
    /// a directory holding the same files hash alike.
    pub sha256: String,
    /// `embedded` or the directory it was loaded from.
    pub source: String,
}

impl Catalog {
    /// The catalog compiled into the binary.
    pub fn embedded() -> Result<Catalog, Vec<Diagnostic>> {
        let files: Vec<(String, String, String)> = embedded::EMBEDDED
            .iter()
            .map(|(pack, n, t)| (n.to_string(), format!("checks/{pack}/{n}"), t.to_string()))
            .collect();
        Catalog::from_files(files, "embedded")
    }

    /// Loads every `*.toml` of a directory. I/O problems are fatal; definition
    /// problems come back all at once.
    pub fn load_dir(dir: &Path) -> Result<Result<Catalog, Vec<Diagnostic>>, Fatal> {
        let mut paths = Vec::new();
        collect_toml(dir, 0, &mut paths)?;
        let mut files = Vec::new();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // A FIFO or a link to /dev/zero among the checks must not hang
            // the run or exhaust memory: regular files only, capped.
            let bytes = crate::userfile::read_user_file(&path, MAX_CHECK_FILE).map_err(|e| {
                Fatal::CheckDir {
                    path: path.clone(),
                    source: e.into_io(),
                }
            })?;
            let shown = path.display().to_string();
            match String::from_utf8(bytes) {
                Ok(text) => files.push((name, shown, text)),
                Err(_) => {
                    return Ok(Err(vec![Diagnostic {
                        file: shown,
                        line: None,
                        message: "not valid UTF-8".into(),
                    }]));
                }
            }
        }
        files.sort();
        Ok(Catalog::from_files(files, &dir.display().to_string()))
    }

    /// Validates (file name, shown path, text) triples.
    fn from_files(
        files: Vec<(String, String, String)>,
        source: &str,
    ) -> Result<Catalog, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let mut checks: Vec<Check> = Vec::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        if files.is_empty() {
            diags.push(Diagnostic {
                file: source.to_string(),
                line: None,
                message: "no check files (*.toml)".into(),
            });
        }
        let mut hasher = Sha256::new();
        for (name, shown, text) in &files {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.len().to_string().as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            if let Some((check, id_line)) = validate_file(name, shown, text, &mut diags) {
                if let Some(first) = seen.get(&check.id) {
                    diags.push(Diagnostic {
                        file: shown.clone(),
                        line: Some(id_line),
                        message: format!("duplicate check ID {} (also in {first})", check.id),
                    });
                } else {
                    seen.insert(check.id.clone(), shown.clone());
                    checks.push(check);
                }
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        checks.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Catalog {
            checks,
            sha256: hex(&hasher.finalize()),
            source: source.to_string(),
        })
    }

    /// A check by ID.
    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// The largest check definition read (the shipped ones are a few KiB).
pub const MAX_CHECK_FILE: u64 = 1 << 20;

/// Every `*.toml` under `dir` (sub-directories too, so both `checks/` and
/// `checks/barbican/` work), at most 4 levels deep.
fn collect_toml(dir: &Path, depth: usize, out: &mut Vec<std::path::PathBuf>) -> Result<(), Fatal> {
    let io = |source| Fatal::CheckDir {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let ft = entry.file_type().map_err(io)?;
        if ft.is_dir() && depth < 4 {
            collect_toml(&path, depth + 1, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// The pack a check file is in (`checks/consumers/KMC-001.toml` ->
/// (`consumers`, `KMC`)), when its directory is one of [`PACKS`]; a file
/// elsewhere may hold any pack's ID.
fn pack_of(shown: &str) -> Option<(&'static str, &'static str)> {
    let dir = Path::new(shown).parent()?.file_name()?.to_str()?;
    PACKS.iter().copied().find(|(d, _)| *d == dir)
}

/// What a check ID looks like, for the lint message.
fn id_rule() -> String {
    let prefixes: Vec<String> = PACKS
        .iter()
        .map(|(dir, p)| format!("{p}- in checks/{dir}"))
        .collect();
    format!("expected {} and three digits", prefixes.join(", "))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn validate_file(
    name: &str,
    shown: &str,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<(Check, usize)> {
    let at = |span: std::ops::Range<usize>| Some(line_of(text, span.start));
    let raw: RawCheck = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            diags.push(Diagnostic {
                file: shown.to_string(),
                line: e.span().map(|s| line_of(text, s.start)),
                message: e.message().trim().to_string(),
            });
            return None;
        }
    };
    let before = diags.len();
    let mut problem = |span: std::ops::Range<usize>, message: String| {
        diags.push(Diagnostic {
            file: shown.to_string(),
            line: at(span),
            message,
        });
    };
    let id = raw.id.get_ref().clone();
    let pack = pack_of(shown);
    if !is_valid_id(&id) {
        problem(
            raw.id.span(),
            format!("malformed check ID {id:?}: {}", id_rule()),
        );
    } else if let Some((dir, prefix)) = pack.filter(|(_, p)| !id.starts_with(p)) {
        problem(
            raw.id.span(),
            format!(
                "check ID {id} is not in pack {dir}: its checks are {prefix}- and three digits"
            ),
        );
    } else if name != format!("{id}.toml") {
        problem(
            raw.id.span(),
            format!("check ID {id} does not match file name {name} (expected {id}.toml)"),
        );
    }
    if raw.title.get_ref().trim().is_empty() {
        problem(raw.title.span(), "empty title".into());
    }
    let severity = Severity::parse(raw.severity.get_ref());
    if severity.is_none() {
        problem(
            raw.severity.span(),
            format!(
                "bad severity {:?}: expected info, low, medium, high or critical",
                raw.severity.get_ref()
            ),
        );
    }
    if raw.references.get_ref().is_empty()
        || raw.references.get_ref().iter().any(|r| r.trim().is_empty())
    {
        problem(
            raw.references.span(),
            "references must list at least one non-empty reference".into(),
        );
    }
    if raw.rationale.get_ref().trim().is_empty() {
        problem(raw.rationale.span(), "empty rationale".into());
    }
    if raw.remediation.get_ref().trim().is_empty() {
        problem(raw.remediation.span(), "empty remediation".into());
    }
    for r in raw.references.get_ref() {
        if let Err(e) = refs::check_reference(r) {
            problem(raw.references.span(), e);
        }
    }
    for t in [&raw.rationale, &raw.remediation] {
        if let Err(e) = refs::check_text(t.get_ref()) {
            problem(t.span(), e);
        }
    }
    let by_layout = raw.remediation_by_layout.as_ref();
    for (layout, t) in by_layout.iter().flat_map(|m| m.get_ref()) {
        if let Err(e) = refs::check_layout(layout, t.get_ref()) {
            problem(t.span(), e);
        }
    }
    let mut applies_if = Vec::new();
    if let Some(a) = &raw.applies_if {
        for c in a.get_ref() {
            match Condition::from_name(c) {
                Some(cond) => applies_if.push(cond),
                None => problem(
                    a.span(),
                    format!(
                        "unknown applies-if condition {c:?} (known: {})",
                        Condition::ALL
                            .iter()
                            .map(|c| c.0)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            }
        }
    }
    let probes = &raw.probe;
    let mut spec = None;
    if probes.len() != 1 {
        let span = probes
            .values()
            .nth(1)
            .map(|p| p.span())
            .unwrap_or(raw.id.span());
        problem(
            span,
            format!(
                "exactly one [probe.<kind>] table expected, found {}",
                probes.len()
            ),
        );
    }
    if let Some((kind, params)) = probes.iter().next() {
        match probe::validate(kind, params.get_ref().clone()) {
            Ok(s) => spec = Some(s),
            Err(e) => problem(params.span(), format!("[probe.{kind}]: {e}")),
        }
    }
    let msg = raw.message.get_ref();
    let mut templates: Vec<&toml::Spanned<String>> = Vec::new();
    templates.extend(msg.pass.iter());
    templates.extend(msg.fail.iter());
    templates.extend(msg.error.iter());
    templates.extend(msg.na.iter());
    for t in &templates {
        if let Err(e) = refs::check_text(t.get_ref()) {
            problem(t.span(), e);
        }
    }
    if let Some(s) = &spec {
        let vars: Vec<&str> = s.vars().iter().map(|v| v.name).collect();
        for t in templates
            .iter()
            .copied()
            .chain(std::iter::once(&raw.remediation))
            .chain(by_layout.iter().flat_map(|m| m.get_ref().values()))
        {
            match placeholders(t.get_ref()) {
                Ok(names) => {
                    for n in names {
                        if !vars.contains(&n.as_str())
                            && !ENGINE_VARS.contains(&n.as_str())
                            && !HOST_VARS.contains(&n.as_str())
                        {
                            problem(
                                t.span(),
                                format!(
                                    "unknown placeholder {{{n}}} (this probe provides: {})",
                                    vars.join(", ")
                                ),
                            );
                        }
                    }
                }
                Err(e) => problem(t.span(), e),
            }
        }
    }
    if diags.len() != before {
        return None;
    }
    let id_line = line_of(text, raw.id.span().start);
    Some((
        Check {
            id,
            title: raw.title.into_inner(),
            severity: severity?,
            references: raw.references.into_inner(),
            rationale: raw.rationale.into_inner(),
            remediation: raw.remediation.into_inner(),
            remediation_by_layout: by_layout
                .iter()
                .flat_map(|m| m.get_ref())
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
            applies_if,
            message: Messages {
                pass: msg.pass.as_ref().map(|s| s.get_ref().clone()),
                fail: msg.fail.as_ref().map(|s| s.get_ref().clone()),
                error: msg.error.as_ref().map(|s| s.get_ref().clone()),
                na: msg.na.as_ref().map(|s| s.get_ref().clone()),
            },
            probe: spec?,
            probe_toml: probes
                .iter()
                .map(|(kind, params)| {
                    let body = toml::to_string(params.get_ref()).unwrap_or_default();
                    format!("[probe.{kind}]\n{body}")
                })
                .collect(),
            file: name.to_string(),
        },
        id_line,
    ))
}

/// Placeholders every template may use whatever the probe.
pub const ENGINE_VARS: &[&str] = &["subject", "detail"];

/// Placeholders the engine fills from the audited root, not the probe:
/// `container`, the container a target is (kolla's `barbican_worker`),
/// else Barbican's API container, for fixes run inside it.
pub const HOST_VARS: &[&str] = &["container"];

/// The `{name}` placeholders of a template; `{{` and `}}` are literal braces.
pub fn placeholders(t: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) if ch.is_ascii_alphanumeric() || ch == '_' => name.push(ch),
                        _ => return Err(format!("malformed placeholder in template {t:?}")),
                    }
                }
                out.push(name);
            }
            '}' => return Err(format!("unmatched '}}' in template {t:?}")),
            _ => {}
        }
    }
    Ok(out)
}

/// Fills `{name}` placeholders; values whose name `quote` accepts are
/// shell-quoted (remediation is meant to be pasted into a shell).
pub fn fill(t: &str, vars: &BTreeMap<String, String>, quote: impl Fn(&str) -> bool) -> String {
    let mut out = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut name = String::new();
                for ch in chars.by_ref() {
                    if ch == '}' {
                        break;
                    }
                    name.push(ch);
                }
                let v = vars.get(&name).map(String::as_str).unwrap_or("");
                if quote(&name) {
                    out.push_str(&shell_quote(v));
                } else {
                    out.push_str(v);
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_keeps_control_characters_on_one_line() {
        assert_eq!(shell_quote("/etc/a b"), "'/etc/a b'");
        assert_eq!(shell_quote("/x\n'y\x1b"), "$'/x\\n\\'y\\x1b'");
        let out = std::process::Command::new("bash")
            .args([
                "-c",
                &format!("printf %s {}", shell_quote("a\nb'\\c\x1b\u{85}")),
            ])
            .output()
            .expect("bash");
        assert_eq!(out.stdout, "a\nb'\\c\x1b\u{85}".as_bytes());
    }

    #[test]
    fn embedded_catalog_is_valid() {
        let c = Catalog::embedded().unwrap_or_else(|d| panic!("{d:?}"));
        let ids: Vec<&str> = c.checks.iter().map(|c| c.id.as_str()).collect();
        // Every file of every pack under checks/ is embedded and valid, in ID
        // order. The IDs themselves are the contract, kept by the catalog
        // snapshot (tests/snapshots/checks__catalog.snap), so a new check
        // edits no list here.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../checks");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flat_map(|pack| std::fs::read_dir(pack.unwrap().path()).unwrap())
            .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|n| n.strip_suffix(".toml").map(str::to_string))
            .collect();
        files.sort();
        assert_eq!(ids, files);
        assert_eq!(c.sha256.len(), 64);
    }

    #[test]
    fn a_pack_holds_only_its_own_ids() {
        let kmc = embedded::EMBEDDED
            .iter()
            .find(|(_, n, _)| *n == "KMC-001.toml")
            .map(|(_, _, t)| t.to_string())
            .expect("KMC-001 is embedded");
        let file = |shown: &str| vec![("KMC-001.toml".to_string(), shown.to_string(), kmc.clone())];
        assert!(Catalog::from_files(file("checks/consumers/KMC-001.toml"), "t").is_ok());
        // Outside a pack directory (a test's temporary dir) any pack's ID is fine.
        assert!(Catalog::from_files(file("/tmp/x/KMC-001.toml"), "t").is_ok());
        let d = Catalog::from_files(file("checks/barbican/KMC-001.toml"), "t").unwrap_err();
        assert!(
            d[0].message
                .contains("not in pack barbican: its checks are BAR- and three digits"),
            "{d:?}"
        );
        let bad = kmc.replace("id = \"KMC-001\"", "id = \"KMS-001\"");
        let d = Catalog::from_files(
            vec![(
                "KMS-001.toml".into(),
                "checks/consumers/KMS-001.toml".into(),
                bad,
            )],
            "t",
        )
        .unwrap_err();
        assert!(
            d[0].message
                .contains("expected BAR- in checks/barbican, KMC- in checks/consumers"),
            "{d:?}"
        );
    }

    #[test]
    fn placeholder_parsing() {
        assert_eq!(
            placeholders("chmod {mode_max} {path}").unwrap(),
            ["mode_max", "path"]
        );
        assert_eq!(
            placeholders("literal {{braces}}").unwrap(),
            Vec::<String>::new()
        );
        assert!(placeholders("bad {pa th}").is_err());
        assert!(placeholders("bad }").is_err());
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(
            shell_quote("/etc/barbican/barbican.conf"),
            "/etc/barbican/barbican.conf"
        );
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("/tmp/it's"), "'/tmp/it'\\''s'");
        assert_eq!(shell_quote("$(reboot)"), "'$(reboot)'");
    }
}
