//! Policy files as oslo.policy loads them (`policy.parse_file_contents`, `Rules.load`): the
//! document (JSON first, then YAML) to rules, and the merge of files in load order.

use std::collections::BTreeMap;

use super::json::{parse_json, JsonErr};
use super::rule::{parse_atom, parse_rule, try_parse_rule, Check};
use super::yaml::parse_yaml;
use super::{PolicyError, PolicyFile, Rule};

/// Effective file rules: `files` in load order (`policy_file` first, then each `policy_dirs`
/// file in sorted order: sorting is the caller's job). Later files override rule by rule.
/// Value: (rule text, index in `files` of the file that set it, line).
pub fn merge(files: &[PolicyFile]) -> BTreeMap<String, (String, usize, usize)> {
    let mut out = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        for r in &f.rules {
            out.insert(r.name.clone(), (r.rule.clone(), i, r.line));
        }
    }
    out
}

/// Python-side values, enough to decide what oslo.policy does with them. Collections refer to
/// other values by index (YAML aliases can share and even contain themselves).
#[derive(Debug, Clone)]
pub(super) enum Val {
    Null,
    Bool(bool),
    /// int; payload: non-zero
    Int(bool),
    /// float; payload: non-zero (NaN counts as non-zero, as in Python)
    Float(bool),
    Str(String),
    /// bytes (`!!binary`): length, and whether any byte is non-zero
    Bytes {
        len: usize,
        nonzero: bool,
    },
    /// datetime.date / datetime.datetime (always truthy)
    Time,
    List(Vec<usize>),
    /// (key, value, key line); keys are hashable values; str keys de-duplicated, last value wins
    Dict(Vec<(usize, usize, usize)>),
    Set(Vec<usize>),
    /// Placeholder while a YAML node is being constructed.
    Pending,
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Null | Val::Pending => false,
            Val::Bool(b) | Val::Int(b) | Val::Float(b) => *b,
            Val::Bytes { len, .. } => *len > 0,
            Val::Str(s) => !s.is_empty(),
            Val::Time => true,
            Val::List(v) | Val::Set(v) => !v.is_empty(),
            Val::Dict(v) => !v.is_empty(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "NoneType",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float",
            Val::Str(_) => "str",
            Val::Bytes { .. } => "bytes",
            Val::Time => "datetime",
            Val::List(_) => "list",
            Val::Dict(_) => "dict",
            Val::Set(_) => "set",
            Val::Pending => "object",
        }
    }
}

/// A parsed document: values plus the root index (None: no document, i.e. `None`).
pub(super) struct Doc {
    pub(super) vals: Vec<Val>,
    pub(super) root: Option<usize>,
}

/// Parse a policy file's bytes: invalid UTF-8 is an error (oslo.policy reads the file in text
/// mode, UTF-8 under Debian's Python, and raises UnicodeDecodeError).
pub fn parse_bytes(data: &[u8]) -> Result<PolicyFile, PolicyError> {
    match std::str::from_utf8(data) {
        Ok(s) => parse(s),
        Err(e) => {
            let at = e.valid_up_to();
            let line = 1 + data[..at].iter().filter(|&&b| b == b'\n').count();
            Err(PolicyError::new(
                Some(line),
                "file is not valid UTF-8 (UnicodeDecodeError)",
            ))
        }
    }
}

/// Parse a policy file as oslo.policy does: `json.loads`, else `yaml.safe_load`; `parsed or {}`;
/// every value through `_parser.parse_rule`.
pub fn parse(text: &str) -> Result<PolicyFile, PolicyError> {
    // Python reads the file with universal newlines: \r\n and \r become \n.
    let text: std::borrow::Cow<'_, str> = if text.contains('\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let doc = match parse_json(&text) {
        Ok(doc) => doc,
        Err(JsonErr::Fatal(e)) => return Err(e),
        Err(JsonErr::Syntax) => parse_yaml(&text)?,
    };
    rules_from_doc(&doc)
}

fn rules_from_doc(doc: &Doc) -> Result<PolicyFile, PolicyError> {
    let root = match doc.root {
        None => return Ok(PolicyFile::default()),
        Some(r) => r,
    };
    let rv = val(&doc.vals, root);
    if !rv.truthy() {
        return Ok(PolicyFile::default()); // `parsed or {}`
    }
    let entries = match rv {
        Val::Dict(e) => e,
        other => {
            return Err(PolicyError::new(
                Some(1),
                format!(
                    "top level is a {}, not a mapping: oslo.policy fails ('{}' object has no \
                     attribute 'items')",
                    other.type_name(),
                    other.type_name()
                ),
            ));
        }
    };
    let mut rules = Vec::new();
    for &(k, v, line) in entries {
        // Rules.load parses every value, whatever its key.
        let name = match val(&doc.vals, k) {
            Val::Str(s) => s.clone(),
            other => format!("<{} key>", other.type_name()),
        };
        let (rule, note) = rule_text(&doc.vals, v)
            .map_err(|m| PolicyError::new(Some(line), format!("rule {:?}: {}", name, m)))?;
        if !matches!(val(&doc.vals, k), Val::Str(_)) {
            continue; // legal, but no rule or enforcement can reach a non-string key
        }
        if let Err(e) = try_parse_rule(&rule) {
            return Err(PolicyError::new(
                Some(line),
                format!("rule {:?}: {}", name, e),
            ));
        }
        rules.push(Rule {
            name,
            rule,
            line,
            note,
        });
    }
    Ok(PolicyFile { rules })
}

fn val(vals: &[Val], i: usize) -> &Val {
    vals.get(i).unwrap_or(&Val::Null)
}

/// What `_parser.parse_rule(value)` makes of a value, as policy-language text.
/// Err: the TypeError oslo.policy raises (the file then fails to load).
fn rule_text(vals: &[Val], v: usize) -> Result<(String, Option<String>), String> {
    let value = val(vals, v);
    if let Val::Str(s) = value {
        return Ok((s.clone(), None));
    }
    if !value.truthy() {
        return Ok((
            String::new(),
            Some(format!(
                "value is a falsy {} ({}): oslo.policy's _parse_list_rule makes it always-allow",
                value.type_name(),
                match value {
                    Val::Null => "null/empty",
                    _ => "empty or zero",
                }
            )),
        ));
    }
    if let Val::Bytes { nonzero: false, .. } = value {
        // Iterating bytes gives ints; zeros are skipped as falsy: nothing left, FalseCheck.
        return Ok((
            "!".to_string(),
            Some(
                "value is bytes of zeros (legacy list syntax): oslo.policy reads it as `!`".into(),
            ),
        ));
    }
    let elems: Vec<usize> = match value {
        Val::List(v) | Val::Set(v) => v.clone(),
        Val::Dict(e) => e.iter().map(|&(k, _, _)| k).collect(),
        other => {
            return Err(format!(
                "value is a {}: oslo.policy fails to load the file (TypeError: '{}' object is not \
                 iterable)",
                other.type_name(),
                other.type_name()
            ));
        }
    };
    // `_parse_list_rule`: outer list joined by "or", inner lists by "and".
    let mut or_list = Vec::new();
    let mut lossy = false;
    for e in elems {
        let inner = val(vals, e);
        if !inner.truthy() {
            continue;
        }
        let atoms: Vec<Check> = match inner {
            Val::Str(s) => vec![legacy_atom(s, &mut lossy)],
            Val::List(v) | Val::Set(v) => v.iter().map(|&x| atom_of(vals, x, &mut lossy)).collect(),
            Val::Dict(en) => en
                .iter()
                .map(|&(k, _, _)| atom_of(vals, k, &mut lossy))
                .collect(),
            // iterating bytes gives ints: FalseCheck each
            Val::Bytes { len, .. } => vec![Check::Never; *len],
            other => {
                return Err(format!(
                    "legacy list rule holds a {}: oslo.policy fails to load the file (TypeError: \
                     '{}' object is not iterable)",
                    other.type_name(),
                    other.type_name()
                ));
            }
        };
        or_list.push(if atoms.len() == 1 {
            atoms.into_iter().next().unwrap_or(Check::Never)
        } else {
            Check::And(atoms)
        });
    }
    let check = match or_list.len() {
        0 => Check::Never,
        1 => or_list.into_iter().next().unwrap_or(Check::Never),
        _ => Check::Or(or_list),
    };
    let mut note = format!(
        "value is a {} (legacy list-of-lists rule syntax), read as {}",
        value.type_name(),
        check
    );
    if lossy {
        note.push_str(
            "; a check that the policy language cannot spell (spaces, parentheses, quotes) was \
             replaced by `!`",
        );
    }
    Ok((check.to_string(), Some(note)))
}

fn atom_of(vals: &[Val], i: usize, lossy: &mut bool) -> Check {
    match val(vals, i) {
        Val::Str(s) => legacy_atom(s, lossy),
        _ => Check::Never, // `rule.split` fails on a non-string: FalseCheck
    }
}

/// `_parse_check(s)` for a legacy-list element, kept only if its text form parses back to it.
fn legacy_atom(s: &str, lossy: &mut bool) -> Check {
    let c = parse_atom(s);
    if parse_rule(&c.to_string()) == c {
        c
    } else {
        *lossy = true;
        Check::Never
    }
}
