//! PasteDeploy ini parsing and `/v1` pipeline resolution, matching PasteDeploy 3.0.1 on
//! Python 3.11 (Debian bookworm, as used by Barbican 15.0.1).
//!
//! Two layers, both ports of the real code rather than approximations:
//! * [`parse`]: `configparser.ConfigParser._read` as `paste.deploy.loadwsgi.ConfigLoader`
//!   configures it (strict, `optionxform = str`, delimiters `=`/`:`, whole-line comments `#`/`;`,
//!   empty lines kept inside values, `BasicInterpolation` applied lazily on `get`).
//! * [`served_v1_chains`]: `ConfigLoader.get_context` (section lookup, `use`, `set`/`get`,
//!   `filter-with`, `pipeline`, `filter-app`), plus `paste.urlmap` routing decided per Host class.
//!
//! Nothing here imports Python code, so the few facts PasteDeploy only learns at import time
//! (entry-point tables of eggs, whether a module exists) come from small built-in tables of the
//! Debian packages (Paste 3.5.2, keystonemiddleware 10.1.0); unknown eggs are assumed to exist.
//! Every loop is bounded by the input size or by an explicit budget; recursion is depth-bounded.
//!
//! Sources cited below as `loadwsgi.py`, `urlmap.py`, `configparser.py` are
//! `paste/deploy/loadwsgi.py` of Debian 12's python3-pastedeploy, `paste/urlmap.py` of its
//! python3-paste and `configparser.py` of the Python 3.11 standard library.

// Nested `if let` kept instead of let-chains so the file builds on editions before 2024.
#![allow(clippy::collapsible_if)]

use std::collections::{HashMap, HashSet};
use std::fmt;

// ---------------------------------------------------------------------------------------------
// Public data types
// ---------------------------------------------------------------------------------------------

/// One parsed paste ini file. Sections keep file order; keys keep case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PasteFile {
    /// Sections other than `[DEFAULT]`, in file order.
    pub sections: Vec<Section>,
    /// `[DEFAULT]` (all `[DEFAULT]` headers of the file merged, as configparser does).
    pub defaults: Vec<Entry>,
}

/// One `[section]` with its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// e.g. "filter:authtoken", exactly as written between the brackets (not stripped).
    pub name: String,
    /// 1-based line of the header.
    pub line: usize,
    /// Entries in file order.
    pub entries: Vec<Entry>,
}

/// One `key = value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key, case kept.
    pub key: String,
    /// Raw value: continuation lines joined with `\n`, no quote stripping, no interpolation.
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
}

/// A parse or interpolation error. `kind` is the Python exception class configparser raises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasteError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// "DuplicateOptionError", "DuplicateSectionError", "MissingSectionHeaderError",
    /// "ParsingError", "InterpolationSyntaxError", "InterpolationMissingOptionError",
    /// "InterpolationDepthError"; "AuditLimit" for this module's own size bounds.
    pub kind: &'static str,
}

impl fmt::Display for PasteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for PasteError {}

/// A resolved chain serving some /v1 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The urlmap key as written ("/v1", "domain foo /v1", "/"); "not_found_app" when the urlmap's
    /// not-found app gets the request; "*" when `main` is not a urlmap; nested urlmaps join
    /// their keys with " >> ".
    pub url_key: String,
    /// Middleware, outermost first.
    pub elements: Vec<Element>,
    /// The terminal app, e.g. "app:apiapp" (or an absolute name such as "egg:Paste#static").
    pub app: String,
    /// Section names followed, in resolution order, for evidence.
    pub via: Vec<String>,
    /// What the urlmap key points at, e.g. "pipeline:barbican-api-keystone".
    pub entry: String,
    /// The terminal app's factory, canonical `module:attr` (or `egg:dist#name`).
    pub app_factory: String,
    /// Line of the urlmap key (0 when not applicable).
    pub key_line: usize,
}

/// One middleware of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// "filter:authtoken" (the section the pipeline named); an inline absolute name such as
    /// "egg:Paste#cgitb" is its own section.
    pub section: String,
    /// "authtoken".
    pub name: String,
    /// What the factory is, judged by factory and not by name.
    pub factory: Factory,
    /// Line of the section header (for inline names: the line naming it).
    pub line: usize,
    /// The factory as resolved, canonical `module:attr` or `egg:dist#name`.
    pub factory_ref: String,
    /// `local_conf` PasteDeploy hands to the factory (interpolated, `use` merged).
    pub local_conf: Vec<(String, String)>,
    /// `global_conf` PasteDeploy hands to the factory (paste `[DEFAULT]` incl. here/__file__).
    pub global_conf: Vec<(String, String)>,
}

/// Middleware kinds the checks care about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Factory {
    /// keystonemiddleware.auth_token.
    AuthToken,
    /// barbican UnauthenticatedContextMiddleware: anonymous admin.
    UnauthenticatedContext,
    /// barbican ContextMiddleware.
    Context,
    /// The factory string.
    Other(String),
}

/// Why the served chains could not be resolved (PasteDeploy would fail to load).
#[allow(missing_docs)] // variant fields: the line, and the message PasteDeploy's failure maps to
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// No section for a name (LookupError in PasteDeploy).
    MissingSection {
        line: Option<usize>,
        message: String,
    },
    /// Two sections match a name (LookupError "Ambiguous section names").
    Ambiguous {
        line: Option<usize>,
        message: String,
    },
    /// A reference loop (RecursionError in PasteDeploy).
    Cycle {
        line: Option<usize>,
        message: String,
    },
    /// Bounds of this auditor exceeded (nesting depth, work budget, Host classes).
    TooComplex {
        line: Option<usize>,
        message: String,
    },
    /// Something we deliberately do not follow (`config:` another file, unknown composite).
    Unsupported {
        line: Option<usize>,
        message: String,
    },
    /// `%(` interpolation failure while loading.
    Interpolation(PasteError),
    /// Anything else PasteDeploy or urlmap rejects; `python` names the exception it raises.
    Invalid {
        line: Option<usize>,
        message: String,
        python: &'static str,
    },
}

impl ResolveError {
    /// Line of the problem, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ResolveError::MissingSection { line, .. }
            | ResolveError::Ambiguous { line, .. }
            | ResolveError::Cycle { line, .. }
            | ResolveError::TooComplex { line, .. }
            | ResolveError::Unsupported { line, .. }
            | ResolveError::Invalid { line, .. } => *line,
            ResolveError::Interpolation(e) => Some(e.line),
        }
    }

    /// What is wrong.
    pub fn message(&self) -> String {
        match self {
            ResolveError::MissingSection { message, .. }
            | ResolveError::Ambiguous { message, .. }
            | ResolveError::Cycle { message, .. }
            | ResolveError::TooComplex { message, .. }
            | ResolveError::Unsupported { message, .. }
            | ResolveError::Invalid { message, .. } => message.clone(),
            ResolveError::Interpolation(e) => e.message.clone(),
        }
    }

    /// The exception the real library raises for this condition ("none" when it would not fail:
    /// our own bounds and the things we refuse to follow).
    pub fn python_exception(&self) -> &'static str {
        match self {
            ResolveError::MissingSection { .. } | ResolveError::Ambiguous { .. } => "LookupError",
            ResolveError::Cycle { .. } => "RecursionError",
            ResolveError::TooComplex { .. } | ResolveError::Unsupported { .. } => "none",
            ResolveError::Interpolation(e) => e.kind,
            ResolveError::Invalid { python, .. } => python,
        }
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line() {
            Some(l) => write!(f, "line {}: {}", l, self.message()),
            None => write!(f, "{}", self.message()),
        }
    }
}

impl std::error::Error for ResolveError {}

// ---------------------------------------------------------------------------------------------
// Python string helpers
// ---------------------------------------------------------------------------------------------

/// `str.isspace()` / regex `\s` of Python 3.11 (they agree; checked over all code points).
/// Differs from `char::is_whitespace`: U+001C..U+001F are whitespace for Python.
fn py_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{1f}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(py_space)
}

/// `str.split()` without arguments.
fn py_split(s: &str) -> Vec<&str> {
    s.split(py_space).filter(|p| !p.is_empty()).collect()
}

/// Lines as Python's text-mode file iteration yields them (universal newlines: `\n`, `\r\n`
/// and a lone `\r` end a line; `\x0b`, `\x0c`, `\x1c`, U+0085, U+2028 do NOT, unlike
/// `str.splitlines`). See: io.TextIOWrapper newline=None, used by `open(filename)` in
/// loadwsgi.py `ConfigLoader.__init__`.
struct PyLines<'a> {
    rest: &'a str,
}

impl<'a> Iterator for PyLines<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let bytes = self.rest.as_bytes();
        match bytes.iter().position(|b| *b == b'\n' || *b == b'\r') {
            None => {
                let line = self.rest;
                self.rest = "";
                Some(line)
            }
            Some(i) => {
                let line = &self.rest[..i];
                let skip = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                self.rest = &self.rest[i + skip..];
                Some(line)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parser: port of configparser.RawConfigParser._read (Python 3.11)
// ---------------------------------------------------------------------------------------------

/// Parse a paste ini file as `NicerConfigParser` (a strict `ConfigParser`) reads it.
///
/// Errors are raised as Python raises them: duplicate section/key and a missing section header
/// stop at once; lines that are neither a header nor `key = value` are collected and reported
/// (first line) only at the end of the file, so a later duplicate error wins over them.
pub fn parse(text: &str) -> Result<PasteFile, PasteError> {
    let mut file = PasteFile::default();
    // Names and keys are slices of `text`: the duplicate checks allocate nothing.
    let mut section_index: HashMap<&str, usize> = HashMap::new();
    // elements_added for options: (None = DEFAULT | Some(section index), key).
    let mut keys_seen: HashSet<(Option<usize>, &str)> = HashSet::new();
    let mut items: usize = 0;
    // cursect: None before any header; Some(None) = DEFAULT; Some(Some(i)) = section i.
    let mut cur: Option<Option<usize>> = None;
    // optname, only when truthy (non-empty): index of the entry in the current target.
    let mut opt: Option<usize> = None;
    let mut indent_level: usize = 0;
    let mut deferred: Option<(usize, usize)> = None; // (first bad line, count)

    for (idx, line) in (PyLines { rest: text }).enumerate() {
        let lineno = idx + 1;
        let value = py_strip(line);
        // Whole-line comments: `line.strip().startswith(prefix)`, so indented comments count,
        // even in the middle of a continued value (they are skipped, the value goes on).
        // No inline comments (inline_comment_prefixes=None).
        // See: configparser.py:1050 (_read, "strip full line comments").
        if value.starts_with('#') || value.starts_with(';') {
            continue;
        }
        if value.is_empty() {
            // empty_lines_in_values=True: an empty line is kept in the current value (as an
            // empty piece; trailing ones vanish in the final rstrip) and does NOT end it.
            // See: configparser.py:1059 (_read, `if self._empty_lines_in_values:`).
            if let (Some(t), Some(o)) = (cur, opt) {
                let entries = entries_mut(&mut file, t);
                if let Some(e) = entries.get_mut(o) {
                    e.value.push('\n');
                }
            }
            continue;
        }
        // Indentation counted in code points of Python whitespace (NONSPACECRE = r"\S").
        let cur_indent = line.chars().take_while(|c| py_space(*c)).count();
        if let (Some(t), Some(o)) = (cur, opt) {
            if cur_indent > indent_level {
                // Continuation; checked BEFORE the header test, so an indented "[x]" or
                // "k = v" under a value is part of that value. See: configparser.py:1071.
                let entries = entries_mut(&mut file, t);
                if let Some(e) = entries.get_mut(o) {
                    e.value.push('\n');
                    e.value.push_str(value);
                }
                continue;
            }
        }
        indent_level = cur_indent;
        if let Some(name) = section_header(value) {
            // `sectname == self.default_section` is case-sensitive: "[default]" is a normal
            // section. Repeated [DEFAULT] headers merge (never added to elements_added).
            if name == "DEFAULT" {
                cur = Some(None);
            } else if section_index.contains_key(name) {
                return Err(PasteError {
                    line: lineno,
                    message: format!("section '{}' already exists (duplicate section)", name),
                    kind: "DuplicateSectionError",
                });
            } else {
                items += 1;
                if items > MAX_ITEMS {
                    return Err(too_many(lineno));
                }
                section_index.insert(name, file.sections.len());
                cur = Some(Some(file.sections.len()));
                file.sections.push(Section {
                    name: name.to_string(),
                    line: lineno,
                    entries: Vec::new(),
                });
            }
            opt = None;
            continue;
        }
        let target = match cur {
            None => {
                return Err(PasteError {
                    line: lineno,
                    message: "file contains no section headers (value before the first section)"
                        .into(),
                    kind: "MissingSectionHeaderError",
                });
            }
            Some(t) => t,
        };
        // OPTCRE: lazy option, so the FIRST '=' or ':' splits; key rstripped, value stripped.
        // See: configparser.py:579 (_OPT_TMPL).
        match value.find(['=', ':']) {
            None => {
                // Non-fatal: recorded, parsing goes on, optname is NOT reset.
                let d = deferred.get_or_insert((lineno, 0));
                d.1 += 1;
            }
            Some(i) => {
                let key = py_rstrip(&value[..i]);
                let val = py_strip(&value[i + 1..]);
                if key.is_empty() {
                    // `_handle_error` then goes on storing the option under '' (so a second
                    // empty key is a DuplicateOptionError); '' is falsy, so no continuation.
                    let d = deferred.get_or_insert((lineno, 0));
                    d.1 += 1;
                }
                items += 1;
                if items > MAX_ITEMS {
                    return Err(too_many(lineno));
                }
                if !keys_seen.insert((target, key)) {
                    let sname = match target {
                        None => "DEFAULT".to_string(),
                        Some(s) => file
                            .sections
                            .get(s)
                            .map(|x| x.name.clone())
                            .unwrap_or_default(),
                    };
                    return Err(PasteError {
                        line: lineno,
                        message: format!(
                            "option '{}' in section '{}' already exists (duplicate key)",
                            key, sname
                        ),
                        kind: "DuplicateOptionError",
                    });
                }
                if key.is_empty() {
                    opt = None;
                } else {
                    let entries = entries_mut(&mut file, target);
                    entries.push(Entry {
                        key: key.to_string(),
                        value: val.to_string(),
                        line: lineno,
                    });
                    opt = Some(entries.len() - 1);
                }
            }
        }
    }
    // `'\n'.join(val).rstrip()`. See: configparser.py:1134 (_join_multiline_values).
    for e in file
        .defaults
        .iter_mut()
        .chain(file.sections.iter_mut().flat_map(|s| s.entries.iter_mut()))
    {
        let keep = py_rstrip(&e.value).len();
        e.value.truncate(keep);
    }
    if let Some((line, count)) = deferred {
        return Err(PasteError {
            line,
            message: format!(
                "source contains parsing errors: {} line(s) neither a [section] nor key = value (first shown)",
                count
            ),
            kind: "ParsingError",
        });
    }
    Ok(file)
}

/// Sections plus keys accepted by [`parse`]. Not a Python limit: it caps memory (an owned
/// Section/Entry costs ~250 bytes, so a 100 MB file of one-line sections would need GBs);
/// real paste files have well under a thousand. Worst case at the limit: ~60 MB.
pub const MAX_ITEMS: usize = 200_000;

fn too_many(line: usize) -> PasteError {
    PasteError {
        line,
        message: format!(
            "more than {} sections and keys: refused by the auditor's size limit",
            MAX_ITEMS
        ),
        kind: "AuditLimit",
    }
}

fn entries_mut(file: &mut PasteFile, target: Option<usize>) -> &mut Vec<Entry> {
    match target {
        None => &mut file.defaults,
        Some(i) => match file.sections.get_mut(i) {
            Some(s) => &mut s.entries,
            // Unreachable (indices come from pushes); fall back to DEFAULT rather than panic.
            None => &mut file.defaults,
        },
    }
}

/// SECTCRE `\[(?P<header>.+)\]` with `match` (See: configparser.py:574): starts with '[', header runs greedily to the LAST
/// ']' (at least one char), anything after it is ignored ("[a] junk" is section "a").
fn section_header(value: &str) -> Option<&str> {
    if !value.starts_with('[') {
        return None;
    }
    let j = value.rfind(']')?;
    if j >= 2 {
        Some(&value[1..j])
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Interpolation: port of configparser.BasicInterpolation._interpolate_some
// ---------------------------------------------------------------------------------------------

/// How a paste error quotes a structural value (a `use`, a factory spec, a
/// section or urlmap name): its first line only, at most 100 characters. A
/// continuation line is where a secret pasted under the line ends up (an
/// indented password joins the value above it), so it is never shown.
fn q(s: &str) -> String {
    let first = s.split('\n').next().unwrap_or("");
    let short: String = first.chars().take(100).collect();
    let mut out = format!("{short:?}");
    if short.len() < first.len() {
        out.push_str(" (cut)");
    }
    if first.len() < s.len() {
        out.push_str(" (continuation lines not shown)");
    }
    out
}

/// configparser.MAX_INTERPOLATION_DEPTH.
const MAX_INTERPOLATION_DEPTH: usize = 10;
/// Our bounds (Python has none): output size and loop steps of one interpolation.
const MAX_INTERPOLATED_LEN: usize = 16 << 20;
const MAX_INTERPOLATION_STEPS: usize = 1_000_000;

struct Interp<'r, 'l> {
    lookup: &'r dyn Fn(&str) -> Option<&'l str>,
    steps: usize,
}

fn interp_err(
    kind: &'static str,
    line: usize,
    section: &str,
    option: &str,
    msg: String,
) -> PasteError {
    PasteError {
        line,
        message: format!("[{}] {}: {}", section, option, msg),
        kind,
    }
}

impl<'r, 'l> Interp<'r, 'l> {
    fn some(
        &mut self,
        accum: &mut String,
        rest: &str,
        depth: usize,
        at: (usize, &str, &str),
    ) -> Result<(), PasteError> {
        let (line, section, option) = at;
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(interp_err(
                "InterpolationDepthError",
                line,
                section,
                option,
                "recursion limit exceeded in value substitution".into(),
            ));
        }
        let mut rest = rest;
        while !rest.is_empty() {
            self.steps += 1;
            if self.steps > MAX_INTERPOLATION_STEPS || accum.len() > MAX_INTERPOLATED_LEN {
                return Err(interp_err(
                    "InterpolationDepthError",
                    line,
                    section,
                    option,
                    "interpolation too large for this auditor".into(),
                ));
            }
            match rest.find('%') {
                None => {
                    accum.push_str(rest);
                    return Ok(());
                }
                Some(p) => {
                    accum.push_str(&rest[..p]);
                    rest = &rest[p..];
                }
            }
            // `c = rest[1:2]`
            match rest[1..].chars().next() {
                Some('%') => {
                    accum.push('%');
                    rest = &rest[2..];
                }
                Some('(') => {
                    // _KEYCRE.match: %\(([^)]+)\)s — name up to the FIRST ')', non-empty,
                    // then a literal 's'. See: configparser.py:392, :407 (_interpolate_some).
                    let after = &rest[2..];
                    let name = match after.find(')') {
                        Some(j) if j > 0 && after[j + 1..].starts_with('s') => {
                            let n = &after[..j];
                            rest = &after[j + 2..];
                            n
                        }
                        _ => {
                            return Err(interp_err(
                                "InterpolationSyntaxError",
                                line,
                                section,
                                option,
                                // Never quote the value: it may be a password.
                                "bad interpolation variable reference (a '%(' without ')s'; the value is not shown; write '%%' for a literal percent)".to_string(),
                            ));
                        }
                    };
                    let v = match (self.lookup)(name) {
                        Some(v) => v,
                        None => {
                            return Err(interp_err(
                                "InterpolationMissingOptionError",
                                line,
                                section,
                                option,
                                // The name comes from inside the value (a password
                                // `ab%(cd)sef`): never quoted.
                                "a '%(name)s' reference names no known option (nor here/__file__); the value is not shown; write '%%' for a literal percent".to_string(),
                            ));
                        }
                    };
                    // Referenced values are interpolated again, one level deeper.
                    if v.contains('%') {
                        self.some(accum, v, depth + 1, at)?;
                    } else {
                        accum.push_str(v);
                    }
                }
                _ => {
                    return Err(interp_err(
                        "InterpolationSyntaxError",
                        line,
                        section,
                        option,
                        // Never quote what follows: it is part of the value.
                        "'%' must be followed by '%' or '(' (the value is not shown; write '%%' for a literal percent)".to_string(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// BasicInterpolation.before_get with the ChainMap (section, defaults) configparser builds.
fn interpolate<'l>(
    raw: &str,
    at: (usize, &str, &str),
    lookup: &dyn Fn(&str) -> Option<&'l str>,
) -> Result<String, PasteError> {
    let mut out = String::new();
    let mut it = Interp { lookup, steps: 0 };
    it.some(&mut out, raw, 1, at)?;
    Ok(out)
}

/// configparser's ChainMap(section, defaults) lookup; defaults hold here/__file__ unless the
/// file's [DEFAULT] overrides them.
fn lookup_in<'s>(
    sec: Option<&'s Section>,
    defaults: &'s [Entry],
    here: &'s str,
    file: &'s str,
    name: &str,
) -> Option<(&'s str, usize)> {
    if let Some(e) = sec.and_then(|s| s.entries.iter().find(|e| e.key == name)) {
        return Some((e.value.as_str(), e.line));
    }
    if let Some(e) = defaults.iter().find(|e| e.key == name) {
        return Some((e.value.as_str(), e.line));
    }
    match name {
        "here" => Some((here, 0)),
        "__file__" => Some((file, 0)),
        _ => None,
    }
}

impl PasteFile {
    /// The section with exactly this name (`[DEFAULT]` is not a section: see `defaults`).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Value with configparser BasicInterpolation as NicerConfigParser applies it: `%(here)s`
    /// and `%(__file__)s` from `here` (directory of the file) and `file`, keys of the same
    /// section and `[DEFAULT]` (a `[DEFAULT] here = …` in the file overrides `here`); `%%` → `%`.
    /// Like `ConfigParser.get`, a key missing from the section is looked up in `[DEFAULT]`
    /// (and here/__file__). `section` "DEFAULT" reads `[DEFAULT]`. A bad `%(` or unknown name is
    /// an Err with the line of the key.
    pub fn get(
        &self,
        section: &str,
        key: &str,
        here: &str,
        file: &str,
    ) -> Option<Result<String, PasteError>> {
        let sec = if section == "DEFAULT" {
            None
        } else {
            Some(self.section(section)?)
        };
        let (raw, line) = lookup_in(sec, &self.defaults, here, file, key)?;
        let lookup = |name: &str| lookup_in(sec, &self.defaults, here, file, name).map(|(v, _)| v);
        Some(interpolate(raw, (line, section, key), &lookup))
    }
}

// ---------------------------------------------------------------------------------------------
// Resolver: port of loadwsgi.ConfigLoader.get_context and friends
// ---------------------------------------------------------------------------------------------

/// Nesting bound (sections followed inside one another). Python's limit is its recursion limit.
const MAX_DEPTH: usize = 32;
/// Work units (contexts, conf entries copied, urlmap entries ranked) for one call.
const WORK_BUDGET: usize = 5_000_000;
/// Distinct Host classes (from `domain …` urlmap keys) evaluated.
const MAX_HOSTS: usize = 256;

/// Ordered dict with lines (Python dicts keep insertion order; `d[k] = v` keeps the position).
#[derive(Debug, Clone, Default)]
struct Conf {
    items: Vec<(String, String, usize)>,
    index: HashMap<String, usize>,
}

impl Conf {
    fn get(&self, k: &str) -> Option<&str> {
        self.index
            .get(k)
            .and_then(|i| self.items.get(*i))
            .map(|x| x.1.as_str())
    }
    fn contains(&self, k: &str) -> bool {
        self.index.contains_key(k)
    }
    fn set(&mut self, k: &str, v: String, line: usize) {
        match self.index.get(k) {
            Some(&i) => {
                if let Some(slot) = self.items.get_mut(i) {
                    slot.1 = v;
                    slot.2 = line;
                }
            }
            None => {
                self.index.insert(k.to_string(), self.items.len());
                self.items.push((k.to_string(), v, line));
            }
        }
    }
    fn remove(&mut self, k: &str) -> Option<(String, usize)> {
        let i = self.index.remove(k)?;
        if i >= self.items.len() {
            return None;
        }
        let (_, v, line) = self.items.remove(i);
        for (j, it) in self.items.iter().enumerate().skip(i) {
            self.index.insert(it.0.clone(), j);
        }
        Some((v, line))
    }
    fn update(&mut self, other: &Conf) {
        for (k, v, l) in &other.items {
            self.set(k, v.clone(), *l);
        }
    }
    fn len(&self) -> usize {
        self.items.len()
    }
    fn pairs(&self) -> Vec<(String, String)> {
        self.items
            .iter()
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ty {
    App,
    Filter,
}

/// What a context would call.
#[derive(Debug, Clone)]
enum Obj {
    /// `paste.*_factory = module:attr` (entry-point syntax), or a known egg's entry target.
    Entry { module: String, attrs: Vec<String> },
    /// An egg entry point we have no table for.
    Egg { dist: String, name: String },
}

impl Obj {
    /// Canonical reference: `module:attr.attr` or `egg:dist#name`.
    fn reference(&self) -> String {
        match self {
            Obj::Entry { module, attrs } if attrs.is_empty() => module.clone(),
            Obj::Entry { module, attrs } => format!("{}:{}", module, attrs.join(".")),
            Obj::Egg { dist, name } => format!("egg:{}#{}", dist, name),
        }
    }
    /// Full dotted path, so `keystonemiddleware:auth_token.filter_factory` and
    /// `keystonemiddleware.auth_token:filter_factory` (the same object) compare equal.
    fn dotted(&self) -> Option<String> {
        match self {
            Obj::Entry { module, attrs } => {
                let mut s = module.clone();
                for a in attrs {
                    s.push('.');
                    s.push_str(a);
                }
                Some(s)
            }
            Obj::Egg { .. } => None,
        }
    }
    fn is_urlmap(&self) -> bool {
        self.dotted().as_deref() == Some("paste.urlmap.urlmap_factory")
    }
    fn factory(&self) -> Factory {
        match self.dotted().as_deref() {
            Some("keystonemiddleware.auth_token.filter_factory") => Factory::AuthToken,
            Some("barbican.api.middleware.context.UnauthenticatedContextMiddleware.factory") => {
                Factory::UnauthenticatedContext
            }
            Some("barbican.api.middleware.context.ContextMiddleware.factory") => Factory::Context,
            _ => Factory::Other(self.reference()),
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    /// protocol None = "decide from the section prefix later" (FuncLoader); Some("?") = an egg
    /// we have no entry-point table for (assumed fine).
    Object {
        obj: Obj,
        protocol: Option<String>,
    },
    Pipeline {
        filters: Vec<Ctx>,
        app: Box<Ctx>,
    },
    FilterApp {
        filter: Box<Ctx>,
        next: Box<Ctx>,
    },
    FilterWith {
        filter: Box<Ctx>,
        next: Box<Ctx>,
    },
}

#[derive(Debug, Clone)]
struct Ctx {
    kind: Kind,
    local: Conf,
    global: Conf,
    /// Section (or absolute name) this context stands for, and its line.
    label: String,
    line: usize,
    /// Sections followed to build it (this one first, then `use` targets).
    sections: Vec<String>,
    /// `label` is a section name (else an absolute name such as "egg:Paste#cgitb").
    from_section: bool,
}

#[derive(Debug, Clone)]
enum Terminal {
    App {
        label: String,
        factory: String,
    },
    UrlMap {
        label: String,
        local: Conf,
        global: Conf,
        line: usize,
    },
}

#[derive(Debug, Clone)]
struct Flat {
    elements: Vec<Element>,
    terminal: Terminal,
    via: Vec<String>,
    label: String,
}

fn invalid(line: Option<usize>, python: &'static str, message: String) -> ResolveError {
    ResolveError::Invalid {
        line,
        message,
        python,
    }
}

struct Resolver<'a> {
    f: &'a PasteFile,
    here: &'a str,
    path: &'a str,
    /// (prefix before the first ':', stripped rest) -> section indices, in file order.
    by_prefix: HashMap<(&'a str, &'a str), Vec<usize>>,
    /// key -> entry index, built on first use of a section (most are never visited).
    sect_maps: HashMap<usize, HashMap<&'a str, usize>>,
    def_map: HashMap<&'a str, usize>,
    defaults: Option<Conf>,
    work: usize,
    stack: Vec<(Ty, usize)>,
}

impl<'a> Resolver<'a> {
    fn new(f: &'a PasteFile, here: &'a str, path: &'a str) -> Self {
        let mut by_prefix: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (i, s) in f.sections.iter().enumerate() {
            if let Some((p, rest)) = s.name.split_once(':') {
                by_prefix.entry((p, py_strip(rest))).or_default().push(i);
            }
        }
        let sect_maps = HashMap::new();
        let def_map = f
            .defaults
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key.as_str(), i))
            .collect();
        Resolver {
            f,
            here,
            path,
            by_prefix,
            sect_maps,
            def_map,
            defaults: None,
            work: 0,
            stack: Vec::new(),
        }
    }

    fn charge(&mut self, units: usize, line: Option<usize>) -> Result<(), ResolveError> {
        self.work = self.work.saturating_add(units);
        if self.work > WORK_BUDGET {
            return Err(ResolveError::TooComplex {
                line,
                message: "paste file too complex to resolve within the audit's work budget".into(),
            });
        }
        Ok(())
    }

    /// Raw value of `name` as configparser's ChainMap(section, defaults) sees it.
    fn raw(&self, sidx: Option<usize>, name: &str) -> Option<&'a str> {
        let f: &'a PasteFile = self.f;
        if let Some(s) = sidx.and_then(|i| f.sections.get(i)) {
            let found = match sidx.and_then(|i| self.sect_maps.get(&i)) {
                Some(m) => m.get(name).and_then(|j| s.entries.get(*j)),
                None => s.entries.iter().find(|e| e.key == name),
            };
            if let Some(e) = found {
                return Some(e.value.as_str());
            }
        }
        if let Some(e) = self.def_map.get(name).and_then(|j| f.defaults.get(*j)) {
            return Some(e.value.as_str());
        }
        match name {
            "here" => Some(self.here),
            "__file__" => Some(self.path),
            _ => None,
        }
    }

    /// `parser.get(section, option)`.
    fn interp(
        &self,
        sidx: Option<usize>,
        option: &str,
        raw: &str,
        line: usize,
    ) -> Result<String, ResolveError> {
        let sname = match sidx.and_then(|i| self.f.sections.get(i)) {
            Some(s) => s.name.as_str(),
            None => "DEFAULT",
        };
        let lookup = |n: &str| self.raw(sidx, n);
        interpolate(raw, (line, sname, option), &lookup).map_err(ResolveError::Interpolation)
    }

    /// NicerConfigParser.defaults() (See: loadwsgi.py:56): every [DEFAULT] value interpolated, `or val` falling back
    /// to the raw value when the result is empty. Keys: here, __file__, then the file's.
    /// Any error here fails EVERY get_context (Python recomputes it each time).
    fn defaults(&mut self) -> Result<Conf, ResolveError> {
        if let Some(d) = &self.defaults {
            return Ok(d.clone());
        }
        let mut raw = Conf::default();
        raw.set("here", self.here.to_string(), 0);
        raw.set("__file__", self.path.to_string(), 0);
        for e in &self.f.defaults {
            raw.set(&e.key, e.value.clone(), e.line);
        }
        self.charge(raw.len(), None)?;
        let mut out = Conf::default();
        for (k, v, l) in &raw.items {
            let got = self.interp(None, k, v, *l)?;
            out.set(k, if got.is_empty() { v.clone() } else { got }, *l);
        }
        self.defaults = Some(out.clone());
        Ok(out)
    }

    /// ConfigLoader.find_config_section. Prefix groups are tried in order; inside a group the
    /// first prefix with a match wins (so [app:x] + [application:x] is NOT ambiguous), matches
    /// from several groups are ambiguous. The name part is stripped, the prefix is not; case
    /// matters. Bare [app]/[composite] never match: loadcontext always passes name='main',
    /// and `_find_sections` only accepts a bare section when name is None.
    /// See: loadwsgi.py:283 (loadcontext), :580 (find_config_section), :618-:626 (_find_sections).
    fn find_section(&self, ty: Ty, name: &str, line: Option<usize>) -> Result<usize, ResolveError> {
        let groups: &[&[&str]] = match ty {
            Ty::App => &[
                &["app", "application"],
                &["composite", "composit"],
                &["pipeline"],
                &["filter-app"],
            ],
            Ty::Filter => &[&["filter"]],
        };
        let mut possible: Vec<usize> = Vec::new();
        for group in groups {
            for prefix in group.iter() {
                if let Some(found) = self.by_prefix.get(&(*prefix, name)) {
                    possible.extend(found.iter().copied());
                    break;
                }
            }
        }
        let prefixes: Vec<String> = groups
            .iter()
            .flat_map(|g| g.iter())
            .map(|p| format!("'{}'", p))
            .collect();
        match possible.len() {
            0 => Err(ResolveError::MissingSection {
                line,
                message: format!(
                    "no section {} (prefixed by {})",
                    q(name),
                    prefixes.join(" or ")
                ),
            }),
            1 => Ok(possible[0]),
            _ => {
                let names: Vec<String> = possible
                    .iter()
                    .filter_map(|i| self.f.sections.get(*i))
                    .map(|s| format!("[{}] (line {})", s.name, s.line))
                    .collect();
                Err(ResolveError::Ambiguous {
                    line,
                    message: format!(
                        "ambiguous section names for {}: {}",
                        q(name),
                        names.join(", ")
                    ),
                })
            }
        }
    }

    fn get_context(
        &mut self,
        ty: Ty,
        name: &str,
        global_in: Option<&Conf>,
        ref_line: Option<usize>,
        depth: usize,
    ) -> Result<Ctx, ResolveError> {
        self.charge(1, ref_line)?;
        if depth > MAX_DEPTH {
            return Err(ResolveError::TooComplex {
                line: ref_line,
                message: format!(
                    "sections nested deeper than {} while resolving {}",
                    MAX_DEPTH,
                    q(name)
                ),
            });
        }
        // `_absolute_re = ^[a-zA-Z]+:` (See: loadwsgi.py:372, :402): such names go to loadcontext (egg:, call:, config:, or
        // an unknown scheme such as "filter:" — so `use = filter:x` is an error, not a reuse).
        if is_absolute(name) {
            return self.absolute_ctx(ty, name, global_in, ref_line);
        }
        let sidx = self.find_section(ty, name, ref_line)?;
        if self.stack.contains(&(ty, sidx)) {
            let path: Vec<String> = self
                .stack
                .iter()
                .chain(std::iter::once(&(ty, sidx)))
                .filter_map(|(_, i)| self.f.sections.get(*i))
                .map(|s| s.name.clone())
                .collect();
            return Err(ResolveError::Cycle {
                line: ref_line,
                message: format!("reference cycle: {}", path.join(" -> ")),
            });
        }
        self.stack.push((ty, sidx));
        let r = self.section_ctx(ty, sidx, global_in, depth);
        self.stack.pop();
        r
    }

    /// loadcontext for an absolute name: `uri#name`, scheme lower-cased.
    fn absolute_ctx(
        &mut self,
        ty: Ty,
        name: &str,
        global_in: Option<&Conf>,
        line: Option<usize>,
    ) -> Result<Ctx, ResolveError> {
        let (uri, sub) = match name.split_once('#') {
            Some((u, s)) => (u, s),
            None => (name, "main"),
        };
        let (scheme, path) = uri.split_once(':').unwrap_or((uri, ""));
        let scheme = scheme.to_ascii_lowercase();
        let (obj, protocol) = match scheme.as_str() {
            "config" => {
                return Err(ResolveError::Unsupported {
                    line,
                    message: format!(
                        "{} loads another paste file; not followed (audit that file separately)",
                        q(name)
                    ),
                });
            }
            "egg" => egg_entry(ty, path, sub).map_err(|m| invalid(line, "LookupError", m))?,
            "call" => {
                // FuncLoader + paste.deploy.util.lookup_object: `spec.split(':')` must give
                // exactly two parts, and the target is ONE getattr (no dotted attributes).
                // Its protocol stays None until `use` sets it from the section prefix, so an
                // inline call: in a pipeline fails at create(). See: loadwsgi.py:690, util.py:68.
                let parts: Vec<&str> = path.split(':').collect();
                if parts.len() < 2 {
                    return Err(invalid(
                        line,
                        "LookupError",
                        format!("{}: configuration not in format module:function", q(name)),
                    ));
                }
                if parts.len() > 2 {
                    return Err(invalid(
                        line,
                        "ValueError",
                        format!("{}: more than one ':' in call: spec", q(name)),
                    ));
                }
                if parts[1].contains('.') {
                    return Err(invalid(
                        line,
                        "AttributeError",
                        format!(
                            "{}: call: looks the target up as one attribute, dotted names fail",
                            q(name)
                        ),
                    ));
                }
                (
                    Obj::Entry {
                        module: parts[0].to_string(),
                        attrs: vec![parts[1].to_string()],
                    },
                    None,
                )
            }
            _ => {
                return Err(invalid(
                    line,
                    "LookupError",
                    format!("URI scheme not known: {} (in {})", q(&scheme), q(name)),
                ));
            }
        };
        Ok(Ctx {
            kind: Kind::Object { obj, protocol },
            local: Conf::default(),
            // EggLoader/FuncLoader use `global_conf or {}` (not merged with [DEFAULT]).
            global: global_in.cloned().unwrap_or_default(),
            label: name.to_string(),
            line: line.unwrap_or(0),
            sections: Vec::new(),
            from_section: false,
        })
    }

    fn section_ctx(
        &mut self,
        ty: Ty,
        sidx: usize,
        global_in: Option<&Conf>,
        depth: usize,
    ) -> Result<Ctx, ResolveError> {
        let f: &'a PasteFile = self.f;
        let sec = match f.sections.get(sidx) {
            Some(s) => s,
            None => {
                return Err(invalid(
                    None,
                    "LookupError",
                    "internal: section index".into(),
                ));
            }
        };
        let hline = Some(sec.line);
        let defaults = self.defaults()?;
        let mut global = defaults.clone();
        if let Some(g) = global_in {
            global.update(g);
        }
        self.charge(global.len() + sec.entries.len() + f.defaults.len(), hline)?;
        let mut local = Conf::default();
        let mut additions = Conf::default();
        let mut gets: Vec<(String, String, usize)> = Vec::new();
        // parser.options(section): the section's keys, then [DEFAULT]'s (here, __file__, file
        // keys) not already there; `set `/`get ` prefixes first. See: loadwsgi.py:418-:433.
        let mut options: Vec<(&str, &str, usize)> = sec
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        self.sect_maps.entry(sidx).or_insert_with(|| {
            sec.entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.key.as_str(), i))
                .collect()
        });
        let in_sec = self.sect_maps.get(&sidx);
        for (k, v, l) in &defaults.items {
            if in_sec.is_some_and(|m| m.contains_key(k.as_str())) {
                continue;
            }
            // raw [DEFAULT] value (interpolated below in this section's context)
            let raw = self.raw(None, k).unwrap_or(v.as_str());
            options.push((k.as_str(), raw, *l));
        }
        for (k, raw, l) in options {
            if let Some(rest) = k.strip_prefix("set ") {
                let v = self.interp(Some(sidx), k, raw, l)?;
                additions.set(py_strip(rest), v.clone(), l);
                global.set(py_strip(rest), v, l);
            } else if let Some(rest) = k.strip_prefix("get ") {
                let v = self.interp(Some(sidx), k, raw, l)?;
                gets.push((py_strip(rest).to_string(), v, l));
            } else if defaults.contains(k) {
                // "It's a global option (?), so skip it": a section key that also exists in
                // [DEFAULT] never reaches local_conf; the factory sees [DEFAULT]'s value.
                // See: loadwsgi.py:428.
                continue;
            } else {
                let v = self.interp(Some(sidx), k, raw, l)?;
                local.set(k, v, l);
            }
        }
        for (lv, gv, l) in gets {
            match global.get(&gv) {
                Some(v) => {
                    let v = v.to_string();
                    local.set(&lv, v, l);
                }
                None => {
                    return Err(invalid(
                        Some(l),
                        "KeyError",
                        format!(
                            "`get {}` names {}, which is not a global option",
                            lv,
                            q(&gv)
                        ),
                    ));
                }
            }
        }
        // See: loadwsgi.py:434 (filter-with popped for APP and FILTER, so pipelines too).
        let filter_with = local.remove("filter-with");
        // `require` checks installed distributions; we cannot, so it is only dropped.
        let _ = local.remove("require");
        let name = sec.name.as_str();
        // See: loadwsgi.py:442-:475; filter-app/pipeline by section prefix, then `use`.
        let mut ctx = if name.starts_with("filter-app:") {
            let (next, nline) = local.remove("next").ok_or_else(|| {
                invalid(
                    hline,
                    "LookupError",
                    format!("the [{}] section is missing a 'next' setting", name),
                )
            })?;
            let next_ctx =
                self.get_context(Ty::App, &next, Some(&global), Some(nline), depth + 1)?;
            let filter = if local.contains("use") {
                self.context_from_use(Ty::Filter, local.clone(), &global, &additions, sidx, depth)?
            } else {
                self.explicit(Ty::Filter, local.clone(), &global, sidx)?
            };
            Ctx {
                kind: Kind::FilterApp {
                    filter: Box::new(filter),
                    next: Box::new(next_ctx),
                },
                local,
                global: global.clone(),
                label: name.to_string(),
                line: sec.line,
                // the filter context below already names this section
                sections: Vec::new(),
                from_section: true,
            }
        } else if name.starts_with("pipeline:") {
            let (p, pline) = local.remove("pipeline").ok_or_else(|| {
                invalid(
                    hline,
                    "LookupError",
                    format!("the [{}] section is missing a 'pipeline' setting", name),
                )
            })?;
            if local.len() > 0 {
                let extra: Vec<String> = local.items.iter().map(|x| x.0.clone()).collect();
                return Err(invalid(
                    hline,
                    "LookupError",
                    format!(
                        "the [{}] pipeline section has extra (disallowed) settings: {}",
                        name,
                        extra.join(", ")
                    ),
                ));
            }
            let names = py_split(&p);
            let (last, firsts) = match names.split_last() {
                Some(x) => x,
                None => {
                    return Err(invalid(
                        Some(pline),
                        "IndexError",
                        format!("[{}]: empty pipeline", name),
                    ));
                }
            };
            let app = self.get_context(Ty::App, last, Some(&global), Some(pline), depth + 1)?;
            let mut filters = Vec::with_capacity(firsts.len());
            for n in firsts {
                filters.push(self.get_context(
                    Ty::Filter,
                    n,
                    Some(&global),
                    Some(pline),
                    depth + 1,
                )?);
            }
            Ctx {
                kind: Kind::Pipeline {
                    filters,
                    app: Box::new(app),
                },
                local,
                global: global.clone(),
                label: name.to_string(),
                line: sec.line,
                sections: vec![name.to_string()],
                from_section: true,
            }
        } else if local.contains("use") {
            self.context_from_use(ty, local, &global, &additions, sidx, depth)?
        } else {
            self.explicit(ty, local, &global, sidx)?
        };
        if let Some((fw, fline)) = filter_with {
            let filter =
                self.get_context(Ty::Filter, &fw, Some(&global), Some(fline), depth + 1)?;
            let label = ctx.label.clone();
            let line = ctx.line;
            let local = ctx.local.clone();
            ctx = Ctx {
                kind: Kind::FilterWith {
                    filter: Box::new(filter),
                    next: Box::new(ctx),
                },
                local,
                global,
                label,
                line,
                sections: Vec::new(),
                from_section: true,
            };
        }
        Ok(ctx)
    }

    /// `_context_from_use`: resolve the target, then this section's keys override its
    /// local_conf; the context now stands for THIS section (so `[filter:kstoken] use =
    /// egg:keystonemiddleware#auth_token` is element "kstoken").
    fn context_from_use(
        &mut self,
        ty: Ty,
        mut local: Conf,
        global: &Conf,
        additions: &Conf,
        sidx: usize,
        depth: usize,
    ) -> Result<Ctx, ResolveError> {
        let f: &'a PasteFile = self.f;
        let sec = match f.sections.get(sidx) {
            Some(s) => s,
            None => {
                return Err(invalid(
                    None,
                    "LookupError",
                    "internal: section index".into(),
                ));
            }
        };
        let (use_, uline) = match local.remove("use") {
            Some(x) => x,
            None => {
                return Err(invalid(
                    Some(sec.line),
                    "LookupError",
                    "internal: no use".into(),
                ));
            }
        };
        let mut ctx = self.get_context(ty, &use_, Some(global), Some(uline), depth + 1)?;
        ctx.global.update(additions);
        ctx.local.update(&local);
        if let Some(file) = global.get("__file__") {
            let file = file.to_string();
            ctx.global.set("__file__", file, 0);
        }
        if let Kind::Object { protocol, .. } = &mut ctx.kind {
            if protocol.is_none() {
                // Protocol from the section type. See: loadwsgi.py:497-:508 (_context_from_use).
                let prefix = sec.name.split(':').next().unwrap_or("");
                *protocol = Some(match prefix {
                    "application" | "app" => "paste.app_factory".to_string(),
                    "composit" | "composite" => "paste.composit_factory".to_string(),
                    other => format!("paste.{}_factory", other),
                });
            }
        }
        let mut sections = vec![sec.name.clone()];
        sections.append(&mut ctx.sections);
        ctx.sections = sections;
        ctx.label = sec.name.clone();
        ctx.line = sec.line;
        ctx.from_section = true;
        Ok(ctx)
    }

    /// `_context_from_explicit`. App protocols are three separate groups (two given = error);
    /// the filter protocols are ONE group, so with both keys the first wins silently.
    /// See: loadwsgi.py:512 (_context_from_explicit), :117/:148 (egg_protocols).
    fn explicit(
        &mut self,
        ty: Ty,
        mut local: Conf,
        global: &Conf,
        sidx: usize,
    ) -> Result<Ctx, ResolveError> {
        let f: &'a PasteFile = self.f;
        let sec = match f.sections.get(sidx) {
            Some(s) => s,
            None => {
                return Err(invalid(
                    None,
                    "LookupError",
                    "internal: section index".into(),
                ));
            }
        };
        let found: Vec<&str> = match ty {
            Ty::App => [
                "paste.app_factory",
                "paste.composite_factory",
                "paste.composit_factory",
            ]
            .into_iter()
            .filter(|p| local.contains(p))
            .collect(),
            Ty::Filter => ["paste.filter_factory", "paste.filter_app_factory"]
                .into_iter()
                .find(|p| local.contains(p))
                .into_iter()
                .collect(),
        };
        if found.len() > 1 {
            return Err(invalid(
                Some(sec.line),
                "LookupError",
                format!(
                    "multiple protocols given in section [{}]: {}",
                    sec.name,
                    found.join(", ")
                ),
            ));
        }
        let protocol = match found.first() {
            Some(p) => *p,
            None => {
                return Err(invalid(
                    Some(sec.line),
                    "LookupError",
                    format!("no loader given in section [{}]", sec.name),
                ));
            }
        };
        let (value, vline) = match local.remove(protocol) {
            Some(x) => x,
            None => {
                return Err(invalid(
                    Some(sec.line),
                    "LookupError",
                    "internal: protocol".into(),
                ));
            }
        };
        let obj = parse_entry_point(&value).ok_or_else(|| {
            invalid(
                Some(vline),
                "AttributeError",
                format!(
                    "{} = {} is not valid entry-point syntax (module:attr)",
                    protocol,
                    q(&value)
                ),
            )
        })?;
        Ok(Ctx {
            kind: Kind::Object {
                obj,
                protocol: Some(protocol.to_string()),
            },
            local,
            global: global.clone(),
            label: sec.name.clone(),
            line: sec.line,
            sections: vec![sec.name.clone()],
            from_section: true,
        })
    }

    // ---- flattening: what `create()` would build, outermost filter first ----

    fn flatten_filter(
        &self,
        ctx: &Ctx,
        out: &mut Vec<Element>,
        via: &mut Vec<String>,
    ) -> Result<(), ResolveError> {
        via.extend(ctx.sections.iter().cloned());
        match &ctx.kind {
            Kind::Object { obj, protocol } => {
                match protocol.as_deref() {
                    Some("paste.filter_factory") | Some("paste.filter_app_factory") | Some("?") => {
                    }
                    other => {
                        return Err(invalid(
                            Some(ctx.line),
                            "AssertionError",
                            format!(
                                "{}: filter protocol {} cannot be invoked",
                                ctx.label,
                                other.map(q).unwrap_or_else(|| "None".to_string())
                            ),
                        ));
                    }
                }
                out.push(element(ctx, obj));
                Ok(())
            }
            // filter-with on a filter: `composed(app) = filter(filtered(app))`.
            Kind::FilterWith { filter, next } => {
                self.flatten_filter(filter, out, via)?;
                self.flatten_filter(next, out, via)
            }
            Kind::Pipeline { .. } | Kind::FilterApp { .. } => Err(invalid(
                Some(ctx.line),
                "LookupError",
                format!("{} is not a filter", ctx.label),
            )),
        }
    }

    fn flatten_app(&self, ctx: &Ctx) -> Result<Flat, ResolveError> {
        let mut elements = Vec::new();
        let mut via = Vec::new();
        let terminal = self.flatten_app_into(ctx, &mut elements, &mut via)?;
        Ok(Flat {
            elements,
            terminal,
            via,
            label: ctx.label.clone(),
        })
    }

    fn flatten_app_into(
        &self,
        ctx: &Ctx,
        out: &mut Vec<Element>,
        via: &mut Vec<String>,
    ) -> Result<Terminal, ResolveError> {
        via.extend(ctx.sections.iter().cloned());
        match &ctx.kind {
            Kind::Object { obj, protocol } => {
                let composite = matches!(
                    protocol.as_deref(),
                    Some("paste.composite_factory") | Some("paste.composit_factory")
                );
                let app = matches!(protocol.as_deref(), Some("paste.app_factory") | Some("?"));
                if composite && obj.is_urlmap() {
                    Ok(Terminal::UrlMap {
                        label: ctx.label.clone(),
                        local: ctx.local.clone(),
                        global: ctx.global.clone(),
                        line: ctx.line,
                    })
                } else if composite {
                    Err(ResolveError::Unsupported {
                        line: Some(ctx.line),
                        message: format!(
                            "{}: composite factory {} is not paste.urlmap; which app serves /v1 is unknown",
                            ctx.label,
                            obj.reference()
                        ),
                    })
                } else if app && obj.is_urlmap() {
                    Err(invalid(
                        Some(ctx.line),
                        "TypeError",
                        format!("{}: urlmap_factory invoked as an app_factory", ctx.label),
                    ))
                } else if app {
                    Ok(Terminal::App {
                        label: ctx.label.clone(),
                        factory: obj.reference(),
                    })
                } else {
                    Err(invalid(
                        Some(ctx.line),
                        "AssertionError",
                        format!(
                            "{}: application protocol {} unknown",
                            ctx.label,
                            protocol
                                .as_deref()
                                .map(q)
                                .unwrap_or_else(|| "None".to_string())
                        ),
                    ))
                }
            }
            Kind::Pipeline { filters, app } => {
                for fc in filters {
                    self.flatten_filter(fc, out, via)?;
                }
                self.flatten_app_into(app, out, via)
            }
            Kind::FilterApp { filter, next } | Kind::FilterWith { filter, next } => {
                self.flatten_filter(filter, out, via)?;
                self.flatten_app_into(next, out, via)
            }
        }
    }
}

fn element(ctx: &Ctx, obj: &Obj) -> Element {
    let name = match ctx.label.split_once(':') {
        Some((_, n)) if ctx.from_section => py_strip(n).to_string(),
        _ => ctx.label.clone(),
    };
    Element {
        section: ctx.label.clone(),
        name,
        factory: obj.factory(),
        line: ctx.line,
        factory_ref: obj.reference(),
        local_conf: ctx.local.pairs(),
        global_conf: ctx.global.pairs(),
    }
}

fn is_absolute(name: &str) -> bool {
    let letters = name.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
    letters > 0 && name.as_bytes().get(letters) == Some(&b':')
}

/// importlib.metadata.EntryPoint.pattern:
/// `(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$`; `load()` then
/// getattr's the non-empty '.'-separated attr parts. `\w` approximated by alphanumeric or '_'.
fn parse_entry_point(v: &str) -> Option<Obj> {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let mlen: usize = v.chars().take_while(|c| word(*c)).map(char::len_utf8).sum();
    if mlen == 0 {
        return None;
    }
    let module = &v[..mlen];
    let mut rest = v[mlen..].trim_start_matches(py_space);
    let mut attrs = Vec::new();
    if let Some(r) = rest.strip_prefix(':') {
        let r = r.trim_start_matches(py_space);
        let alen: usize = r.chars().take_while(|c| word(*c)).map(char::len_utf8).sum();
        if alen == 0 {
            return None;
        }
        attrs = r[..alen]
            .split('.')
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string())
            .collect();
        rest = r[alen..].trim_start_matches(py_space);
    }
    if rest.starts_with('[') {
        let t = py_rstrip(rest);
        if !(t.len() >= 2 && t.ends_with(']') && !t.contains('\n')) {
            return None;
        }
    } else if !rest.is_empty() {
        return None;
    }
    Some(Obj::Entry {
        module: module.to_string(),
        attrs,
    })
}

/// `importlib.metadata` name normalisation: runs of `-_.` equal, case-insensitive.
fn normalize_dist(d: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in d.chars() {
        if c == '-' || c == '_' || c == '.' {
            sep = true;
        } else {
            if sep {
                out.push('_');
                sep = false;
            }
            out.extend(c.to_lowercase());
        }
    }
    if sep {
        out.push('_');
    }
    out
}

/// Entry points of the eggs Barbican paste files use, from the Debian packages'
/// entry_points.txt (Paste 3.5.2, keystonemiddleware 10.1.0). EggLoader looks the name up in
/// the object type's protocols only, so e.g. `egg:Paste#urlmap` as a FILTER is a LookupError.
/// See: loadwsgi.py:652 (find_egg_entry_point).
fn egg_entry(ty: Ty, dist: &str, name: &str) -> Result<(Obj, Option<String>), String> {
    const PASTE_APP: &[(&str, &str)] = &[
        ("cgi", "paste.cgiapp:make_cgi_application"),
        ("pkg_resources", "paste.urlparser:make_pkg_resources"),
        ("proxy", "paste.proxy:make_proxy"),
        ("static", "paste.urlparser:make_static"),
        ("test", "paste.debug.debugapp:make_test_app"),
        ("test_slow", "paste.debug.debugapp:make_slow_app"),
        ("transparent_proxy", "paste.proxy:make_transparent_proxy"),
        ("urlparser", "paste.urlparser:make_url_parser"),
        (
            "watch_threads",
            "paste.debug.watchthreads:make_watch_threads",
        ),
    ];
    const PASTE_COMPOSITE: &[(&str, &str)] = &[
        ("cascade", "paste.cascade:make_cascade"),
        ("urlmap", "paste.urlmap:urlmap_factory"),
    ];
    const PASTE_FILTER_APP: &[(&str, &str)] = &[
        ("auth_basic", "paste.auth.basic:make_basic"),
        ("auth_cookie", "paste.auth.cookie:make_auth_cookie"),
        ("auth_digest", "paste.auth.digest:make_digest"),
        ("auth_form", "paste.auth.form:make_form"),
        ("auth_tkt", "paste.auth.auth_tkt:make_auth_tkt_middleware"),
        ("cgitb", "paste.cgitb_catcher:make_cgitb_middleware"),
        ("config", "paste.config:make_config_filter"),
        ("cowbell", "paste.cowbell:make_cowbell"),
        (
            "error_catcher",
            "paste.exceptions.errormiddleware:make_error_middleware",
        ),
        ("errordocument", "paste.errordocument:make_errordocument"),
        (
            "evalerror",
            "paste.evalexception.middleware:make_eval_exception",
        ),
        ("flup_session", "paste.flup_session:make_session_middleware"),
        ("grantip", "paste.auth.grantip:make_grantip"),
        ("gzip", "paste.gzipper:make_gzip_middleware"),
        ("httpexceptions", "paste.httpexceptions:make_middleware"),
        ("lint", "paste.lint:make_middleware"),
        ("openid", "paste.auth.open_id:make_open_id_middleware"),
        ("paste_session", "paste.session:make_session_middleware"),
        ("pony", "paste.pony:make_pony"),
        ("printdebug", "paste.debug.prints:PrintDebugMiddleware"),
        ("profile", "paste.debug.profile:make_profile_middleware"),
        ("recursive", "paste.recursive:make_recursive_middleware"),
        ("registry", "paste.registry:make_registry_manager"),
        ("translogger", "paste.translogger:make_filter"),
        (
            "wdg_validate",
            "paste.debug.wdg_validate:make_wdg_validate_middleware",
        ),
    ];
    const KSM_FILTER: &[(&str, &str)] = &[
        ("audit", "keystonemiddleware.audit:filter_factory"),
        ("auth_token", "keystonemiddleware.auth_token:filter_factory"),
        ("ec2_token", "keystonemiddleware.ec2_token:filter_factory"),
        (
            "oauth2_token",
            "keystonemiddleware.oauth2_token:filter_factory",
        ),
        ("s3_token", "keystonemiddleware.s3_token:filter_factory"),
    ];
    let tables: &[(&str, &[(&str, &str)])] = match (normalize_dist(dist).as_str(), ty) {
        ("paste", Ty::App) => &[
            ("paste.app_factory", PASTE_APP),
            ("paste.composite_factory", PASTE_COMPOSITE),
        ],
        ("paste", Ty::Filter) => &[("paste.filter_app_factory", PASTE_FILTER_APP)],
        ("keystonemiddleware", Ty::App) => &[],
        ("keystonemiddleware", Ty::Filter) => &[("paste.filter_factory", KSM_FILTER)],
        _ => {
            return Ok((
                Obj::Egg {
                    dist: dist.to_string(),
                    name: name.to_string(),
                },
                Some("?".to_string()),
            ));
        }
    };
    for (protocol, table) in tables {
        if let Some((_, target)) = table.iter().find(|(n, _)| *n == name) {
            if let Some(obj) = parse_entry_point(target) {
                return Ok((obj, Some(protocol.to_string())));
            }
        }
    }
    Err(format!(
        "entry point {} not found in egg {} for this object type",
        q(name),
        q(dist)
    ))
}

// ---------------------------------------------------------------------------------------------
// urlmap
// ---------------------------------------------------------------------------------------------

/// (not_found_app name and line, entries in URLMap order).
type UrlMapEntries = (Option<(String, usize)>, Vec<UEntry>);

#[derive(Debug, Clone)]
struct UEntry {
    key: String,
    line: usize,
    app: String,
    domain: Option<String>,
    url: String,
    pos: usize,
}

/// `parse_path_expression` + `URLMap.normalize_url`. Err = (exception, message).
/// See: urlmap.py:35, :125.
fn parse_url_key(key: &str) -> Result<(Option<String>, String), (&'static str, String)> {
    let parts = py_split(key);
    let (mut domain, mut port, mut path): (Option<&str>, Option<&str>, Option<&str>) =
        (None, None, None);
    let mut i = 0;
    while i < parts.len() {
        match parts[i] {
            "domain" => {
                let d = parts.get(i + 1).ok_or((
                    "ValueError",
                    "'domain' must be followed with a domain name".to_string(),
                ))?;
                if domain.is_some() {
                    return Err(("ValueError", "'domain' given twice".into()));
                }
                domain = Some(d);
                i += 2;
            }
            "port" => {
                let p = parts.get(i + 1).ok_or((
                    "ValueError",
                    "'port' must be followed with a port number".to_string(),
                ))?;
                if port.is_some() {
                    return Err(("ValueError", "'port' given twice".into()));
                }
                port = Some(p);
                i += 2;
            }
            p => {
                if path.is_some() {
                    return Err((
                        "ValueError",
                        format!("more than one path given in {}", q(key)),
                    ));
                }
                path = Some(p);
                i += 1;
            }
        }
    }
    let mut s = String::new();
    if let Some(d) = domain {
        s = format!("http://{}", d);
    }
    if let Some(p) = port {
        if domain.is_none() {
            return Err((
                "ValueError",
                "if you give a port, you must also give a domain".into(),
            ));
        }
        s.push(':');
        s.push_str(p);
    }
    if let Some(p) = path {
        if !s.is_empty() {
            s.push('/');
        }
        s.push_str(p);
    }
    // normalize_url(url, trim=True)
    let scheme_len = if s.starts_with("http://") {
        Some(7)
    } else if s.starts_with("https://") {
        Some(8)
    } else {
        None
    };
    if !(s.is_empty() || s.starts_with('/') || scheme_len.is_some()) {
        return Err((
            "AssertionError",
            format!(
                "urlmap key {}: URL fragments must start with / or http://",
                q(key)
            ),
        ));
    }
    let (dom, url) = match scheme_len {
        Some(n) => {
            let rest = &s[n..];
            match rest.split_once('/') {
                Some((d, u)) => (Some(d.to_string()), format!("/{}", u)),
                None => (Some(rest.to_string()), String::new()),
            }
        }
        None => (None, s.clone()),
    };
    Ok((
        dom,
        collapse_slashes(&url).trim_end_matches('/').to_string(),
    ))
}

/// `re.sub('//+', '/', url)`.
fn collapse_slashes(u: &str) -> String {
    let mut out = String::with_capacity(u.len());
    let mut prev_slash = false;
    for c in u.chars() {
        if c == '/' && prev_slash {
            continue;
        }
        prev_slash = c == '/';
        out.push(c);
    }
    out
}

/// PATH_INFO `x` is matched by key url `a`: `x == a or x.startswith(a + '/')`.
fn anc_or_eq(a: &str, x: &str) -> bool {
    x == a || (x.len() > a.len() && x.starts_with(a) && x.as_bytes().get(a.len()) == Some(&b'/'))
}

/// One class of Host header (lower-cased, split at the first ':'): `host` None = matches no
/// domain key; `port` None = a port no key names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Host {
    host: Option<String>,
    port: Option<String>,
}

impl Host {
    /// `if domain and domain != host and domain != host+':'+port: continue`, host lower-cased.
    /// See: urlmap.py:198-:212.
    fn accepts(&self, domain: &Option<String>) -> bool {
        match (domain, &self.host) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(d), Some(h)) => {
                d == h
                    || self.port.as_ref().is_some_and(|p| {
                        d.len() == h.len() + 1 + p.len() && *d == format!("{}:{}", h, p)
                    })
            }
        }
    }
}

/// The request paths still in play below one urlmap: `base` and everything under it, minus the
/// subtrees in `excl` (already taken by entries matched earlier), in this map's coordinates.
#[derive(Debug, Clone)]
struct Target {
    base: String,
    excl: Vec<String>,
}

/// `URLMap.sort_apps`: domain keys first (by domain), no-domain keys sort as domain '\xff',
/// then longest url first (length in code points). See: urlmap.py:148.
fn sort_key(e: &UEntry) -> (String, std::cmp::Reverse<usize>, String) {
    (
        e.domain.clone().unwrap_or_else(|| "\u{ff}".to_string()),
        std::cmp::Reverse(e.url.chars().count()),
        e.url.clone(),
    )
}

struct Served {
    order: Vec<usize>,
    chain: Chain,
}

impl<'a> Resolver<'a> {
    /// `urlmap_factory`: not_found_app from local_conf, else global_conf; every other key is a
    /// path expression; a later key normalising to the same (domain, url) replaces an earlier
    /// one (`/v1/` after `/v1` wins). See: urlmap.py:21 (urlmap_factory), :163 (__setitem__).
    fn urlmap_entries(
        &mut self,
        local: &Conf,
        global: &Conf,
        line: usize,
    ) -> Result<UrlMapEntries, ResolveError> {
        self.charge(local.len(), Some(line))?;
        let mut local = local.clone();
        let nf = match local.remove("not_found_app") {
            Some(x) => Some(x),
            None => global.get("not_found_app").map(|v| (v.to_string(), line)),
        }
        .filter(|(v, _)| !v.is_empty());
        let mut slots: Vec<Option<UEntry>> = Vec::new();
        let mut at: HashMap<(Option<String>, String), usize> = HashMap::new();
        for (pos, (k, v, l)) in local.items.iter().enumerate() {
            let (domain, url) = parse_url_key(k).map_err(|(py, m)| invalid(Some(*l), py, m))?;
            // `if dom_url in self: del self[dom_url]`, then append. See: urlmap.py:171.
            if let Some(old) = at.insert((domain.clone(), url.clone()), slots.len()) {
                if let Some(slot) = slots.get_mut(old) {
                    *slot = None;
                }
            }
            slots.push(Some(UEntry {
                key: k.clone(),
                line: *l,
                app: v.clone(),
                domain,
                url,
                pos,
            }));
        }
        let mut entries: Vec<UEntry> = slots.into_iter().flatten().collect();
        entries.sort_by_key(sort_key);
        Ok((nf, entries))
    }

    #[allow(clippy::too_many_arguments)]
    fn serve(
        &mut self,
        flat: &Flat,
        key: &str,
        order: &[usize],
        key_line: usize,
        entry: &str,
        prefix: &[Element],
        prefix_via: &[String],
        target: &Target,
        host: &Host,
        maps: &mut Vec<String>,
        depth: usize,
        out: &mut Vec<Served>,
    ) -> Result<(), ResolveError> {
        self.charge(1 + flat.elements.len(), Some(key_line))?;
        if depth > MAX_DEPTH {
            return Err(ResolveError::TooComplex {
                line: Some(key_line),
                message: format!("urlmaps nested deeper than {}", MAX_DEPTH),
            });
        }
        let mut elements: Vec<Element> = prefix.to_vec();
        elements.extend(flat.elements.iter().cloned());
        let mut via: Vec<String> = prefix_via.to_vec();
        via.extend(flat.via.iter().cloned());
        match &flat.terminal {
            Terminal::App { label, factory } => {
                out.push(Served {
                    order: order.to_vec(),
                    chain: Chain {
                        url_key: if key.is_empty() {
                            "*".into()
                        } else {
                            key.to_string()
                        },
                        elements,
                        app: label.clone(),
                        via,
                        entry: if entry.is_empty() {
                            flat.label.clone()
                        } else {
                            entry.to_string()
                        },
                        app_factory: factory.clone(),
                        key_line,
                    },
                });
                Ok(())
            }
            Terminal::UrlMap {
                label,
                local,
                global,
                line,
            } => {
                if maps.contains(label) {
                    return Err(ResolveError::Cycle {
                        line: Some(*line),
                        message: format!(
                            "urlmap {} reached again through its own entries ({})",
                            label,
                            maps.join(" -> ")
                        ),
                    });
                }
                let (nf, all) = self.urlmap_entries(local, global, *line)?;
                let ordered: Vec<&UEntry> =
                    all.iter().filter(|e| host.accepts(&e.domain)).collect();
                self.charge(ordered.len(), Some(*line))?;
                maps.push(label.clone());
                let mut jobs: Vec<(String, usize, String, Target, usize)> = Vec::new();
                for (i, e) in ordered.iter().enumerate() {
                    let u = e.url.as_str();
                    // Region of /v1 this key could take: all of it (key at or above base) or
                    // its own subtree (key below base).
                    let r = if anc_or_eq(u, &target.base) {
                        target.base.clone()
                    } else if anc_or_eq(&target.base, u) {
                        e.url.clone()
                    } else {
                        continue;
                    };
                    // A region is a subtree: only a key matching its root first can take all of
                    // it; smaller earlier keys never cover the root itself.
                    self.charge(i + target.excl.len(), Some(e.line))?;
                    let covered = ordered[..i].iter().any(|x| anc_or_eq(&x.url, &r))
                        || target.excl.iter().any(|x| anc_or_eq(x, &r));
                    if covered {
                        continue;
                    }
                    let excl: Vec<String> = ordered[..i]
                        .iter()
                        .map(|x| x.url.as_str())
                        .chain(target.excl.iter().map(|x| x.as_str()))
                        .filter(|x| *x != r && anc_or_eq(&r, x))
                        .map(|x| x[u.len()..].to_string())
                        .collect();
                    jobs.push((
                        e.key.clone(),
                        e.line,
                        e.app.clone(),
                        Target {
                            base: r[u.len()..].to_string(),
                            excl,
                        },
                        e.pos,
                    ));
                }
                let base_taken = ordered.iter().any(|x| anc_or_eq(&x.url, &target.base))
                    || target.excl.iter().any(|x| anc_or_eq(x, &target.base));
                if !base_taken {
                    if let Some((nfname, nfline)) = nf {
                        let mut excl = target.excl.clone();
                        excl.extend(
                            ordered
                                .iter()
                                .filter(|x| anc_or_eq(&target.base, &x.url))
                                .map(|x| x.url.clone()),
                        );
                        jobs.push((
                            "not_found_app".to_string(),
                            nfline,
                            nfname,
                            Target {
                                base: target.base.clone(),
                                excl,
                            },
                            usize::MAX,
                        ));
                    }
                }
                for (k, l, app, t, pos) in jobs {
                    let ctx = self.get_context(Ty::App, &app, Some(global), Some(l), depth + 1)?;
                    let sub = self.flatten_app(&ctx)?;
                    let full_key = if key.is_empty() {
                        k.clone()
                    } else {
                        format!("{} >> {}", key, k)
                    };
                    let mut ord = order.to_vec();
                    ord.push(pos);
                    let ent = if entry.is_empty() {
                        sub.label.clone()
                    } else {
                        entry.to_string()
                    };
                    self.serve(
                        &sub,
                        &full_key,
                        &ord,
                        l,
                        &ent,
                        &elements,
                        &via,
                        &t,
                        host,
                        maps,
                        depth + 1,
                        out,
                    )?;
                }
                maps.pop();
                Ok(())
            }
        }
    }

    /// Host classes worth trying: one per reachable `domain` key anywhere in the file (option
    /// names of every section; unused ones only cost time) plus "no domain matches".
    fn hosts(&self) -> Result<Vec<Host>, ResolveError> {
        let mut seen: HashSet<Host> = HashSet::new();
        let mut out = vec![Host {
            host: None,
            port: None,
        }];
        let keys = self
            .f
            .defaults
            .iter()
            .chain(self.f.sections.iter().flat_map(|s| s.entries.iter()));
        for e in keys {
            let k = e
                .key
                .strip_prefix("get ")
                .map(py_strip)
                .unwrap_or(e.key.as_str());
            if !(k.contains("domain") || k.contains("://")) {
                continue;
            }
            if let Ok((Some(d), _)) = parse_url_key(k) {
                // The Host header is lower-cased before comparing; a key with capitals never
                // matches. (ASCII rule; Python's str.lower is close to Rust's for the rest.)
                if d.to_lowercase() != d {
                    continue;
                }
                let h = match d.split_once(':') {
                    Some((h, p)) => Host {
                        host: Some(h.to_string()),
                        port: Some(p.to_string()),
                    },
                    None => Host {
                        host: Some(d.clone()),
                        port: None,
                    },
                };
                if seen.insert(h.clone()) {
                    out.push(h);
                    if out.len() > MAX_HOSTS {
                        return Err(ResolveError::TooComplex {
                            line: Some(e.line),
                            message: format!("more than {} distinct urlmap domains", MAX_HOSTS),
                        });
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Barbican's hard-coded paste file (barbican.api.app.get_api_wsgi_script).
pub const STOCK_PASTE_PATH: &str = "/etc/barbican/barbican-api-paste.ini";
/// Its directory, `%(here)s`.
pub const STOCK_PASTE_DIR: &str = "/etc/barbican";

/// Resolve section `name` (normally "main") of a file at Barbican's stock path
/// (`%(here)s` = /etc/barbican). See [`served_v1_chains_at`].
pub fn served_v1_chains(file: &PasteFile, name: &str) -> Result<Vec<Chain>, ResolveError> {
    served_v1_chains_at(file, name, STOCK_PASTE_DIR, STOCK_PASTE_PATH)
}

/// Resolve section `name`: if it is a urlmap composite, every entry that can serve some request
/// under /v1 for some Host header (host-keyed keys included; `/v1` itself, any longer key below
/// it such as `/v1/secrets`, and where no key covers `/v1` the longest shorter prefix such as
/// `/`, or else `not_found_app`); if it is not a urlmap, it serves /v1 itself (url_key "*").
/// Entries that serve nothing under /v1 are not resolved, so their errors do not show here
/// (see [`check_loads`]). Chains come in urlmap key order.
pub fn served_v1_chains_at(
    file: &PasteFile,
    name: &str,
    here: &str,
    path: &str,
) -> Result<Vec<Chain>, ResolveError> {
    let mut r = Resolver::new(file, here, path);
    let top = r.get_context(Ty::App, name, None, None, 0)?;
    let flat = r.flatten_app(&top)?;
    let hosts = r.hosts()?;
    let mut served: Vec<Served> = Vec::new();
    let target = Target {
        base: "/v1".into(),
        excl: Vec::new(),
    };
    for h in &hosts {
        let mut maps = Vec::new();
        r.serve(
            &flat,
            "",
            &[],
            0,
            "",
            &[],
            &[],
            &target,
            h,
            &mut maps,
            0,
            &mut served,
        )?;
    }
    served.sort_by(|a, b| a.order.cmp(&b.order));
    let mut seen: HashSet<String> = HashSet::new();
    Ok(served
        .into_iter()
        .filter(|s| seen.insert(s.chain.url_key.clone()))
        .map(|s| s.chain)
        .collect())
}

/// What `loadapp` would trip on (BAR-012, paste part): resolves `name` and, through urlmaps,
/// every entry and not_found_app, as `urlmap_factory` loads them all. Factories are not
/// imported, `require` is not checked, `config:` is reported as Unsupported.
pub fn check_loads(
    file: &PasteFile,
    name: &str,
    here: &str,
    path: &str,
) -> Result<(), ResolveError> {
    let mut r = Resolver::new(file, here, path);
    let top = r.get_context(Ty::App, name, None, None, 0)?;
    let mut maps = Vec::new();
    r.load_all(&top, &mut maps, 0)
}

impl<'a> Resolver<'a> {
    fn load_all(
        &mut self,
        ctx: &Ctx,
        maps: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), ResolveError> {
        if depth > MAX_DEPTH {
            return Err(ResolveError::TooComplex {
                line: Some(ctx.line),
                message: format!("urlmaps nested deeper than {}", MAX_DEPTH),
            });
        }
        let flat = self.flatten_app(ctx)?;
        if let Terminal::UrlMap {
            label,
            local,
            global,
            line,
        } = &flat.terminal
        {
            if maps.contains(label) {
                return Err(ResolveError::Cycle {
                    line: Some(*line),
                    message: format!("urlmap {} loads itself", label),
                });
            }
            // urlmap_factory order: not_found_app, then every key in local_conf order (also keys
            // a later duplicate replaces: their apps are loaded before the replacement).
            let (nf, _) = self.urlmap_entries(local, global, *line)?;
            maps.push(label.clone());
            let mut names: Vec<(String, usize)> = nf.into_iter().collect();
            names.extend(
                local
                    .items
                    .iter()
                    .filter(|x| x.0 != "not_found_app")
                    .map(|x| (x.1.clone(), x.2)),
            );
            for (n, l) in names {
                let sub = self.get_context(Ty::App, &n, Some(global), Some(l), depth + 1)?;
                self.load_all(&sub, maps, depth + 1)?;
            }
            maps.pop();
        }
        Ok(())
    }
}

/// e.g. "/v1 -> pipeline:barbican-api-keystone [cors, http_proxy_to_wsgi,
/// authtoken(keystonemiddleware.auth_token), context, microversion] -> app:apiapp".
/// Factories that decide BAR-004 are always named; other factories are shown when the name
/// could mislead (a non-keystone filter called "authtoken").
pub fn describe(chain: &Chain) -> String {
    let elems: Vec<String> = chain
        .elements
        .iter()
        .map(|e| match &e.factory {
            Factory::AuthToken => format!("{}(keystonemiddleware.auth_token)", e.name),
            Factory::UnauthenticatedContext => {
                format!("{}(UnauthenticatedContextMiddleware)", e.name)
            }
            Factory::Context if e.name == "context" => e.name.clone(),
            Factory::Context => format!("{}(ContextMiddleware)", e.name),
            Factory::Other(f) => {
                let n = e.name.to_ascii_lowercase();
                if n.contains("auth") || n.contains("context") || n.contains("token") {
                    format!("{}({})", e.name, f)
                } else {
                    e.name.clone()
                }
            }
        })
        .collect();
    format!(
        "{} -> {} [{}] -> {}",
        chain.url_key,
        chain.entry,
        elems.join(", "),
        chain.app
    )
}

// ---------------------------------------------------------------------------------------------
// Tests. Every FIX_x / EXP_x pair is also run through the real PasteDeploy by confirm.py
// (`/usr/bin/python3 confirm.py`), which extracts these raw-string consts from this file and
// prints OK or the difference. EXP format: sorted chain lines
// `<url_key> => [<factory refs>] -> <app factory>` or `ERROR <Python exception>[ line N]`,
// then `GET [section] key => value|NONE|ERROR <exception>` lines (queries run in order).
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: &str = "/etc/barbican";
    const FILE: &str = "/etc/barbican/barbican-api-paste.ini";

    fn esc(s: &str) -> String {
        s.replace('\\', "\\\\").replace('\n', "\\n")
    }

    fn canon_chain(c: &Chain) -> String {
        let refs: Vec<&str> = c.elements.iter().map(|e| e.factory_ref.as_str()).collect();
        format!("{} => [{}] -> {}", c.url_key, refs.join(" "), c.app_factory)
    }

    /// The canonical summary confirm.py also computes with the real library.
    fn canon(text: &str, exp: &str) -> String {
        let mut out: Vec<String> = Vec::new();
        match parse(text) {
            Err(e) => out.push(format!("ERROR {} line {}", e.kind, e.line)),
            Ok(f) => {
                let mut lines: Vec<String> = match served_v1_chains_at(&f, "main", HERE, FILE) {
                    Ok(ch) => ch.iter().map(canon_chain).collect(),
                    Err(e) => vec![format!("ERROR {}", e.python_exception())],
                };
                lines.sort();
                out.extend(lines);
                for q in exp.lines().filter(|l| l.starts_with("GET [")) {
                    let q = q.split(" => ").next().unwrap_or("");
                    let rest = &q[5..];
                    let (sec, key) = rest.split_once("] ").unwrap_or((rest, ""));
                    let ans = match f.get(sec, key, HERE, FILE) {
                        None => "NONE".to_string(),
                        Some(Ok(v)) => esc(&v),
                        Some(Err(e)) => format!("ERROR {}", e.kind),
                    };
                    out.push(format!("GET [{}] {} => {}", sec, key, ans));
                }
            }
        }
        out.join("\n")
    }

    fn check(text: &str, exp: &str) {
        let want: Vec<&str> = exp
            .lines()
            .map(|l| l.trim_end())
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(canon(text, exp), want.join("\n"));
    }

    fn chains(text: &str) -> Vec<Chain> {
        let f = parse(text).expect("fixture parses");
        served_v1_chains_at(&f, "main", HERE, FILE).expect("fixture resolves")
    }

    fn kinds(c: &Chain) -> Vec<Factory> {
        c.elements.iter().map(|e| e.factory.clone()).collect()
    }

    fn other(s: &str) -> Factory {
        Factory::Other(s.to_string())
    }

    // ---- the stock Debian file (barbican-api 15.0.1, /etc/barbican/barbican-api-paste.ini) ----

    const FIX_STOCK: &str = r#"[composite:main]
use = egg:Paste#urlmap
/: barbican_version
/healthcheck: healthcheck
/v1: barbican-api-keystone

# Use this pipeline for Barbican API - versions no authentication
[pipeline:barbican_version]
pipeline = cors http_proxy_to_wsgi microversion versionapp

# Use this pipeline for Barbican API - DEFAULT no authentication
[pipeline:barbican_api]
pipeline = cors http_proxy_to_wsgi unauthenticated-context microversion apiapp

#Use this pipeline to activate a repoze.profile middleware and HTTP port,
#  to provide profiling information for the REST API processing.
[pipeline:barbican-profile]
pipeline = cors http_proxy_to_wsgi unauthenticated-context microversion egg:Paste#cgitb egg:Paste#httpexceptions profile apiapp

#Use this pipeline for keystone auth
[pipeline:barbican-api-keystone]
pipeline = cors http_proxy_to_wsgi authtoken context microversion apiapp

#Use this pipeline for keystone auth with audit feature
[pipeline:barbican-api-keystone-audit]
pipeline = http_proxy_to_wsgi authtoken context microversion audit apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:versionapp]
paste.app_factory = barbican.api.app:create_version_app

[filter:simple]
paste.filter_factory = barbican.api.middleware.simple:SimpleFilter.factory

[filter:unauthenticated-context]
paste.filter_factory = barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory

[filter:microversion]
paste.filter_factory = barbican.api.middleware.microversion:MicroversionMiddleware.factory

[filter:audit]
paste.filter_factory = keystonemiddleware.audit:filter_factory
audit_map_file = /etc/barbican/api_audit_map.conf

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:profile]
use = egg:repoze.profile
log_filename = myapp.profile
cachegrind_filename = cachegrind.out.myapp
discard_first_request = true
path = /__profile__
flush_at_shutdown = true
unwind = false

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = barbican

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory

[app:healthcheck]
paste.app_factory = oslo_middleware:Healthcheck.app_factory
backends = disable_by_file
disable_by_file_path = /etc/barbican/healthcheck_disable
"#;
    const EXP_STOCK: &str = r#"
/v1 => [oslo_middleware.cors:filter_factory oslo_middleware:HTTPProxyToWSGI.factory keystonemiddleware.auth_token:filter_factory barbican.api.middleware.context:ContextMiddleware.factory barbican.api.middleware.microversion:MicroversionMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn stock_debian_file_serves_v1_with_authtoken_only() {
        check(FIX_STOCK, EXP_STOCK);
        let ch = chains(FIX_STOCK);
        assert_eq!(ch.len(), 1);
        assert_eq!(
            describe(&ch[0]),
            "/v1 -> pipeline:barbican-api-keystone [cors, http_proxy_to_wsgi, \
             authtoken(keystonemiddleware.auth_token), context, microversion] -> app:apiapp"
        );
        assert_eq!(
            kinds(&ch[0]),
            vec![
                other("oslo_middleware.cors:filter_factory"),
                other("oslo_middleware:HTTPProxyToWSGI.factory"),
                Factory::AuthToken,
                Factory::Context,
                other("barbican.api.middleware.microversion:MicroversionMiddleware.factory"),
            ]
        );
        assert_eq!(ch[0].key_line, 5);
        assert_eq!(ch[0].elements[2].section, "filter:authtoken");
        assert_eq!(ch[0].elements[2].line, 50);
        assert_eq!(
            ch[0].via,
            vec![
                "composite:main",
                "pipeline:barbican-api-keystone",
                "filter:cors",
                "filter:http_proxy_to_wsgi",
                "filter:authtoken",
                "filter:context",
                "filter:microversion",
                "app:apiapp"
            ]
        );
        // cors keeps its own local_conf; [DEFAULT] (here/__file__) is the global_conf.
        assert_eq!(
            ch[0].elements[0].local_conf,
            vec![("oslo_config_project".to_string(), "barbican".to_string())]
        );
        assert!(ch[0].elements[0]
            .global_conf
            .contains(&("here".to_string(), HERE.to_string())));
    }

    #[test]
    fn stock_debian_barbican_api_is_unauthenticated_but_unserved() {
        let f = parse(FIX_STOCK).expect("parses");
        let ch = served_v1_chains(&f, "barbican_api").expect("resolves");
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].url_key, "*");
        assert!(kinds(&ch[0]).contains(&Factory::UnauthenticatedContext));
        assert!(!kinds(&ch[0]).contains(&Factory::AuthToken));
        // ... and `main` never reaches it.
        let served = served_v1_chains(&f, "main").expect("resolves");
        assert!(served.iter().all(|c| c.entry != "pipeline:barbican_api"));
        // barbican-profile names egg:repoze.profile (unknown egg: assumed present).
        let prof = served_v1_chains(&f, "barbican-profile").expect("resolves");
        assert_eq!(
            prof[0]
                .elements
                .iter()
                .map(|e| e.factory_ref.as_str())
                .collect::<Vec<_>>()[4..7],
            [
                "paste.cgitb_catcher:make_cgitb_middleware",
                "paste.httpexceptions:make_middleware",
                "egg:repoze.profile#main"
            ]
        );
        assert_eq!(check_loads(&f, "main", HERE, FILE), Ok(()));
    }

    const FIX_V1_UNAUTH: &str = r#"[composite:main]
use = egg:Paste#urlmap
/: barbican_version
/v1: barbican_api

[pipeline:barbican_version]
pipeline = cors versionapp

[pipeline:barbican_api]
pipeline = cors http_proxy_to_wsgi unauthenticated-context microversion apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:versionapp]
paste.app_factory = barbican.api.app:create_version_app

[filter:unauthenticated-context]
paste.filter_factory = barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory

[filter:microversion]
paste.filter_factory = barbican.api.middleware.microversion:MicroversionMiddleware.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = barbican

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
"#;
    const EXP_V1_UNAUTH: &str = r#"
/v1 => [oslo_middleware.cors:filter_factory oslo_middleware:HTTPProxyToWSGI.factory barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory barbican.api.middleware.microversion:MicroversionMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn v1_mapped_to_barbican_api_is_unauthenticated() {
        check(FIX_V1_UNAUTH, EXP_V1_UNAUTH);
        let ch = chains(FIX_V1_UNAUTH);
        assert_eq!(
            describe(&ch[0]),
            "/v1 -> pipeline:barbican_api [cors, http_proxy_to_wsgi, \
             unauthenticated-context(UnauthenticatedContextMiddleware), microversion] -> app:apiapp"
        );
    }

    // Host-keyed keys: domain keys sort before plain ones (by domain string), so the plain
    // `domain api.example.com /v1` beats `… port 8443 /` even on port 8443 ('api.example.com' <
    // 'api.example.com:8443'), a capitalised domain never matches (Host is lower-cased), and
    // `domain admin.example.com port 8443 /` takes /v1 for that host:port.
    const FIX_HOST_KEYED: &str = r#"[composite:main]
use = egg:Paste#urlmap
/: barbican_version
/v1: barbican-api-keystone
domain api.example.com /v1: barbican_api
domain API.example.org /v1: barbican_api
domain api.example.com port 8443 /: barbican_api
domain admin.example.com port 8443 /: barbican_api

[pipeline:barbican_version]
pipeline = versionapp

[pipeline:barbican-api-keystone]
pipeline = authtoken context apiapp

[pipeline:barbican_api]
pipeline = unauthenticated-context apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:versionapp]
paste.app_factory = barbican.api.app:create_version_app

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory

[filter:unauthenticated-context]
paste.filter_factory = barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory
"#;
    const EXP_HOST_KEYED: &str = r#"
/v1 => [keystonemiddleware.auth_token:filter_factory barbican.api.middleware.context:ContextMiddleware.factory] -> barbican.api.app:create_main_app
domain admin.example.com port 8443 / => [barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory] -> barbican.api.app:create_main_app
domain api.example.com /v1 => [barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn host_keyed_v1_entries_are_served_too() {
        check(FIX_HOST_KEYED, EXP_HOST_KEYED);
        let ch = chains(FIX_HOST_KEYED);
        assert_eq!(ch.len(), 3);
        assert_eq!(ch[0].url_key, "/v1");
        assert_eq!(ch[1].url_key, "domain api.example.com /v1");
        assert_eq!(ch[1].key_line, 5);
    }

    const FIX_LONGER_KEY: &str = r#"[composite:main]
use = egg:Paste#urlmap
/: barbican_version
/v1: barbican-api-keystone
/v1/secrets: barbican_api
/v1//secrets/deep/: barbican-api-keystone
/v1x: barbican_api

[pipeline:barbican_version]
pipeline = versionapp

[pipeline:barbican-api-keystone]
pipeline = authtoken context apiapp

[pipeline:barbican_api]
pipeline = unauthenticated-context apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:versionapp]
paste.app_factory = barbican.api.app:create_version_app

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory

[filter:unauthenticated-context]
paste.filter_factory = barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory
"#;
    const EXP_LONGER_KEY: &str = r#"
/v1 => [keystonemiddleware.auth_token:filter_factory barbican.api.middleware.context:ContextMiddleware.factory] -> barbican.api.app:create_main_app
/v1//secrets/deep/ => [keystonemiddleware.auth_token:filter_factory barbican.api.middleware.context:ContextMiddleware.factory] -> barbican.api.app:create_main_app
/v1/secrets => [barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn longer_key_below_v1_is_served() {
        check(FIX_LONGER_KEY, EXP_LONGER_KEY);
        let keys: Vec<String> = chains(FIX_LONGER_KEY)
            .into_iter()
            .map(|c| c.url_key)
            .collect();
        assert_eq!(keys, vec!["/v1", "/v1/secrets", "/v1//secrets/deep/"]);
    }

    const FIX_ROOT_ONLY: &str = r#"[composite:main]
use = egg:Paste#urlmap
/: barbican_api
/healthcheck: healthcheck
/v10: barbican-api-keystone
/v: barbican-api-keystone

[pipeline:barbican-api-keystone]
pipeline = authtoken apiapp

[pipeline:barbican_api]
pipeline = unauthenticated-context apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:healthcheck]
paste.app_factory = oslo_middleware:Healthcheck.app_factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:unauthenticated-context]
paste.filter_factory = barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory
"#;
    const EXP_ROOT_ONLY: &str = r#"
/ => [barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn no_v1_key_root_serves_it() {
        check(FIX_ROOT_ONLY, EXP_ROOT_ONLY);
    }

    const FIX_RENAMED_AUTHTOKEN: &str = r#"[pipeline:main]
pipeline = kstoken ks2 context apiapp

[filter:kstoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:ks2]
use = egg:keystonemiddleware#auth_token
delay_auth_decision = false

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_RENAMED_AUTHTOKEN: &str = r#"
* => [keystonemiddleware.auth_token:filter_factory keystonemiddleware.auth_token:filter_factory barbican.api.middleware.context:ContextMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn renamed_authtoken_filter_counts_as_authtoken() {
        check(FIX_RENAMED_AUTHTOKEN, EXP_RENAMED_AUTHTOKEN);
        let ch = chains(FIX_RENAMED_AUTHTOKEN);
        assert_eq!(kinds(&ch[0])[..2], [Factory::AuthToken, Factory::AuthToken]);
        assert_eq!(ch[0].elements[0].name, "kstoken");
        assert_eq!(ch[0].elements[1].name, "ks2");
        assert_eq!(
            ch[0].elements[1].local_conf,
            vec![("delay_auth_decision".to_string(), "false".to_string())]
        );
        assert_eq!(
            describe(&ch[0]),
            "* -> pipeline:main [kstoken(keystonemiddleware.auth_token), ks2(keystonemiddleware.auth_token), context] -> app:apiapp"
        );
    }

    const FIX_FAKE_AUTHTOKEN: &str = r#"[pipeline:main]
pipeline = authtoken context apiapp

[filter:authtoken]
paste.filter_factory = barbican.api.middleware.simple:SimpleFilter.factory

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_FAKE_AUTHTOKEN: &str = r#"
* => [barbican.api.middleware.simple:SimpleFilter.factory barbican.api.middleware.context:ContextMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn filter_named_authtoken_with_other_factory_is_not_authtoken() {
        check(FIX_FAKE_AUTHTOKEN, EXP_FAKE_AUTHTOKEN);
        let ch = chains(FIX_FAKE_AUTHTOKEN);
        assert_eq!(
            kinds(&ch[0])[0],
            other("barbican.api.middleware.simple:SimpleFilter.factory")
        );
        assert!(describe(&ch[0])
            .contains("authtoken(barbican.api.middleware.simple:SimpleFilter.factory)"));
    }

    const FIX_FILTER_APP: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: authed

[filter-app:authed]
use = egg:keystonemiddleware#auth_token
next = withctx

[filter-app:withctx]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory
next = apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_FILTER_APP: &str = r#"
/v1 => [keystonemiddleware.auth_token:filter_factory barbican.api.middleware.context:ContextMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn filter_app_wraps_next() {
        check(FIX_FILTER_APP, EXP_FILTER_APP);
        let ch = chains(FIX_FILTER_APP);
        assert_eq!(kinds(&ch[0]), vec![Factory::AuthToken, Factory::Context]);
        assert_eq!(ch[0].elements[0].section, "filter-app:authed");
        assert_eq!(
            ch[0].via,
            vec![
                "composite:main",
                "filter-app:authed",
                "filter-app:withctx",
                "app:apiapp"
            ]
        );
    }

    // filter-with on an app and on a filter: app(filter-with=context), context(filter-with=
    // authtoken) gives authtoken(context(app)).
    const FIX_FILTER_WITH: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: api

[pipeline:api]
pipeline = cors apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
filter-with = context

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory
filter-with = authtoken

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
"#;
    const EXP_FILTER_WITH: &str = r#"
/v1 => [oslo_middleware.cors:filter_factory keystonemiddleware.auth_token:filter_factory barbican.api.middleware.context:ContextMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn filter_with_on_app_and_filter() {
        check(FIX_FILTER_WITH, EXP_FILTER_WITH);
        let ch = chains(FIX_FILTER_WITH);
        assert_eq!(kinds(&ch[0])[1..], [Factory::AuthToken, Factory::Context]);
        assert_eq!(ch[0].app, "app:apiapp");
    }

    const FIX_NESTED_PIPELINES: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: barbican_api

[pipeline:barbican_api]
pipeline = cors barbican-api-keystone

[pipeline:barbican-api-keystone]
pipeline = http_proxy_to_wsgi authtoken inner

[pipeline:inner]
pipeline = context microversion withsimple

[filter-app:withsimple]
paste.filter_factory = barbican.api.middleware.simple:SimpleFilter.factory
next = apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory

[filter:microversion]
paste.filter_factory = barbican.api.middleware.microversion:MicroversionMiddleware.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
"#;
    const EXP_NESTED_PIPELINES: &str = r#"
/v1 => [oslo_middleware.cors:filter_factory oslo_middleware:HTTPProxyToWSGI.factory keystonemiddleware.auth_token:filter_factory barbican.api.middleware.context:ContextMiddleware.factory barbican.api.middleware.microversion:MicroversionMiddleware.factory barbican.api.middleware.simple:SimpleFilter.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn nested_pipelines_flatten_outermost_first() {
        check(FIX_NESTED_PIPELINES, EXP_NESTED_PIPELINES);
        let ch = chains(FIX_NESTED_PIPELINES);
        assert_eq!(ch[0].entry, "pipeline:barbican_api");
        let names: Vec<&str> = ch[0].elements.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "cors",
                "http_proxy_to_wsgi",
                "authtoken",
                "context",
                "microversion",
                "withsimple"
            ]
        );
    }

    const FIX_USE_CYCLE: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: a

[app:a]
use = b

[app:b]
use = c

[app:c]
use = a
"#;
    const EXP_USE_CYCLE: &str = r#"
ERROR RecursionError
"#;

    #[test]
    fn use_cycle_is_a_cycle_error() {
        check(FIX_USE_CYCLE, EXP_USE_CYCLE);
        let f = parse(FIX_USE_CYCLE).expect("parses");
        match served_v1_chains(&f, "main") {
            Err(ResolveError::Cycle { line, message }) => {
                assert_eq!(line, Some(12));
                assert!(
                    message.contains("app:a -> app:b -> app:c -> app:a"),
                    "{}",
                    message
                );
            }
            other => panic!("{:?}", other),
        }
    }

    const FIX_PIPELINE_CYCLE: &str = r#"[pipeline:main]
pipeline = cors inner

[pipeline:inner]
pipeline = cors main

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
"#;
    const EXP_PIPELINE_CYCLE: &str = r#"
ERROR RecursionError
"#;

    #[test]
    fn pipeline_cycle_is_a_cycle_error() {
        check(FIX_PIPELINE_CYCLE, EXP_PIPELINE_CYCLE);
    }

    // A urlmap entry leading back to the urlmap itself.
    const FIX_URLMAP_CYCLE: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: main
"#;
    const EXP_URLMAP_CYCLE: &str = r#"
ERROR RecursionError
"#;

    #[test]
    fn urlmap_cycle_is_a_cycle_error() {
        check(FIX_URLMAP_CYCLE, EXP_URLMAP_CYCLE);
    }

    const FIX_DUP_KEY: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: api

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
auth_url = https://keystone.example.com/v3
auth_url = http://keystone.example.com/v3
"#;
    const EXP_DUP_KEY: &str = r#"
ERROR DuplicateOptionError line 8
"#;

    #[test]
    fn duplicate_key_is_an_error_with_line() {
        check(FIX_DUP_KEY, EXP_DUP_KEY);
        let e = parse(FIX_DUP_KEY).expect_err("duplicate");
        assert_eq!(
            e.to_string(),
            "line 8: option 'auth_url' in section 'filter:authtoken' already exists (duplicate key)"
        );
    }

    const FIX_DUP_SECTION: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: api

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:authtoken]
paste.filter_factory = barbican.api.middleware.simple:SimpleFilter.factory
"#;
    const EXP_DUP_SECTION: &str = r#"
ERROR DuplicateSectionError line 8
"#;

    #[test]
    fn duplicate_section_is_an_error_with_line() {
        check(FIX_DUP_SECTION, EXP_DUP_SECTION);
    }

    // [DEFAULT] may repeat (merged), but a key repeated across the repeats is a duplicate.
    const FIX_DUP_DEFAULT_KEY: &str = r#"[DEFAULT]
insecure = false

[pipeline:main]
pipeline = apiapp

[DEFAULT]
insecure = true

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_DUP_DEFAULT_KEY: &str = r#"
ERROR DuplicateOptionError line 8
"#;

    #[test]
    fn duplicate_default_key_across_repeated_default_headers() {
        check(FIX_DUP_DEFAULT_KEY, EXP_DUP_DEFAULT_KEY);
    }

    const FIX_INTERP: &str = r#"[DEFAULT]
base = %(here)s/conf
pct = 100%%

[pipeline:main]
pipeline = authtoken apiapp

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
policy = %(base)s/policy.yaml
whoami = %(__file__)s
ratio = %(pct)s done
Auth_Url = https://upper
auth_url = https://lower

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:unused]
paste.app_factory = barbican.api.app:create_main_app
bad = 5%
missing = %(nope)s
badref = %(base)
selfref = x%(selfref)s
"#;
    const EXP_INTERP: &str = r#"
* => [keystonemiddleware.auth_token:filter_factory] -> barbican.api.app:create_main_app
GET [filter:authtoken] policy => /etc/barbican/conf/policy.yaml
GET [filter:authtoken] whoami => /etc/barbican/barbican-api-paste.ini
GET [filter:authtoken] ratio => 100% done
GET [filter:authtoken] Auth_Url => https://upper
GET [filter:authtoken] auth_url => https://lower
GET [filter:authtoken] base => /etc/barbican/conf
GET [filter:authtoken] here => /etc/barbican
GET [DEFAULT] pct => 100%
GET [app:unused] bad => ERROR InterpolationSyntaxError
GET [app:unused] missing => ERROR InterpolationMissingOptionError
GET [app:unused] badref => ERROR InterpolationSyntaxError
GET [app:unused] selfref => ERROR InterpolationDepthError
GET [app:unused] absent => NONE
GET [app:nosuch] bad => NONE
"#;

    #[test]
    fn here_interpolation_and_bad_percent() {
        check(FIX_INTERP, EXP_INTERP);
        let f = parse(FIX_INTERP).expect("parses");
        let e = f
            .get("app:unused", "bad", HERE, FILE)
            .expect("present")
            .expect_err("bad %");
        assert_eq!(e.line, 21);
        let ch = chains(FIX_INTERP);
        // Keys keep case; local_conf holds the interpolated values.
        let lc = &ch[0].elements[0].local_conf;
        assert!(lc.contains(&(
            "policy".to_string(),
            "/etc/barbican/conf/policy.yaml".to_string()
        )));
        assert!(lc.contains(&("Auth_Url".to_string(), "https://upper".to_string())));
    }

    // A bad `%` in a section on the served path makes loading fail.
    const FIX_BAD_INTERP_SERVED: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: api

[pipeline:api]
pipeline = authtoken apiapp

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
password = s3cr%t

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_BAD_INTERP_SERVED: &str = r#"
ERROR InterpolationSyntaxError
GET [filter:authtoken] password => ERROR InterpolationSyntaxError
"#;

    #[test]
    fn bad_interpolation_on_served_path_fails_resolution() {
        check(FIX_BAD_INTERP_SERVED, EXP_BAD_INTERP_SERVED);
        let f = parse(FIX_BAD_INTERP_SERVED).expect("parses");
        let e = served_v1_chains(&f, "main").expect_err("bad %");
        assert_eq!(e.line(), Some(10));
        assert_eq!(
            check_loads(&f, "main", HERE, FILE).map_err(|e| e.line()),
            Err(Some(10))
        );
    }

    const FIX_CONTINUATION: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: api

[pipeline:api]
pipeline = cors http_proxy_to_wsgi
    # an indented comment inside the value is skipped
    authtoken

    context microversion apiapp
; a comment
  # an indented comment
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
auth_url = https://a
  insecure = true
	[notasection]
www_authenticate_uri = "https://quoted" # not a comment

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory

[filter:microversion]
paste.filter_factory = barbican.api.middleware.microversion:MicroversionMiddleware.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_CONTINUATION: &str = r#"
/v1 => [oslo_middleware.cors:filter_factory oslo_middleware:HTTPProxyToWSGI.factory keystonemiddleware.auth_token:filter_factory barbican.api.middleware.context:ContextMiddleware.factory barbican.api.middleware.microversion:MicroversionMiddleware.factory] -> barbican.api.app:create_main_app
GET [pipeline:api] pipeline => cors http_proxy_to_wsgi\nauthtoken\n\ncontext microversion apiapp
GET [filter:authtoken] auth_url => https://a\ninsecure = true\n[notasection]
GET [filter:authtoken] insecure => NONE
GET [filter:authtoken] www_authenticate_uri => "https://quoted" # not a comment
"#;

    #[test]
    fn continuation_lines_comments_blank_lines() {
        check(FIX_CONTINUATION, EXP_CONTINUATION);
        let f = parse(FIX_CONTINUATION).expect("parses");
        assert!(f.section("notasection").is_none());
        let s = f.section("pipeline:api").expect("section");
        assert_eq!(s.entries[0].line, 6);
    }

    // `key:` with the value on the next line starts with "\n": the name "\napi" matches no
    // section (names are compared stripped on the section side only).
    const FIX_EMPTY_FIRST_LINE: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1:
  api

[app:api]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_EMPTY_FIRST_LINE: &str = r#"
ERROR LookupError
GET [composite:main] /v1 => \napi
"#;

    #[test]
    fn value_starting_on_continuation_line_keeps_leading_newline() {
        check(FIX_EMPTY_FIRST_LINE, EXP_EMPTY_FIRST_LINE);
    }

    const FIX_NOT_FOUND_APP: &str = r#"[composite:main]
use = egg:Paste#urlmap
not_found_app = barbican_api
/healthcheck: healthcheck
/v1/secrets: barbican-api-keystone

[pipeline:barbican-api-keystone]
pipeline = authtoken apiapp

[pipeline:barbican_api]
pipeline = unauthenticated-context apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:healthcheck]
paste.app_factory = oslo_middleware:Healthcheck.app_factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:unauthenticated-context]
paste.filter_factory = barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory
"#;
    const EXP_NOT_FOUND_APP: &str = r#"
/v1/secrets => [keystonemiddleware.auth_token:filter_factory] -> barbican.api.app:create_main_app
not_found_app => [barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn not_found_app_serves_uncovered_v1() {
        check(FIX_NOT_FOUND_APP, EXP_NOT_FOUND_APP);
    }

    // A key in [DEFAULT] is "global": the composite's own `/v1` never reaches local_conf, so
    // `/` serves /v1. (loadwsgi.py get_context: `if option in defaults: continue`.)
    const FIX_DEFAULT_HIDES_KEY: &str = r#"[DEFAULT]
/v1 = ignored

[composite:main]
use = egg:Paste#urlmap
/: barbican_api
/v1: barbican-api-keystone

[pipeline:barbican-api-keystone]
pipeline = authtoken apiapp

[pipeline:barbican_api]
pipeline = unauthenticated-context apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:unauthenticated-context]
paste.filter_factory = barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory
"#;
    const EXP_DEFAULT_HIDES_KEY: &str = r#"
/ => [barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn default_key_hides_section_key() {
        check(FIX_DEFAULT_HIDES_KEY, EXP_DEFAULT_HIDES_KEY);
    }

    // Likewise `pipeline` in [DEFAULT] hides every pipeline's own `pipeline` key.
    const FIX_DEFAULT_PIPELINE: &str = r#"[DEFAULT]
pipeline = x

[pipeline:main]
pipeline = apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_DEFAULT_PIPELINE: &str = r#"
ERROR LookupError
"#;

    #[test]
    fn default_pipeline_key_breaks_pipelines() {
        check(FIX_DEFAULT_PIPELINE, EXP_DEFAULT_PIPELINE);
    }

    // Expectation changed after running the real library: `use = filter:x` is NOT a section
    // reuse; "filter:" matches _absolute_re and is an unknown URI scheme (LookupError).
    const FIX_USE_FILTER_PREFIX: &str = r#"[pipeline:main]
pipeline = kst apiapp

[filter:kst]
use = filter:authtoken

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_USE_FILTER_PREFIX: &str = r#"
ERROR LookupError
"#;

    #[test]
    fn use_with_section_prefix_is_an_unknown_uri_scheme() {
        check(FIX_USE_FILTER_PREFIX, EXP_USE_FILTER_PREFIX);
        let f = parse(FIX_USE_FILTER_PREFIX).expect("parses");
        let e = served_v1_chains(&f, "main").expect_err("scheme");
        assert_eq!(e.line(), Some(5));
        assert!(e.message().contains("URI scheme not known"), "{}", e);
    }

    const FIX_AMBIGUOUS: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: api

[pipeline:api]
pipeline = apiapp

[app:api]
paste.app_factory = barbican.api.app:create_main_app

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_AMBIGUOUS: &str = r#"
ERROR LookupError
"#;

    #[test]
    fn ambiguous_section_names() {
        check(FIX_AMBIGUOUS, EXP_AMBIGUOUS);
        let f = parse(FIX_AMBIGUOUS).expect("parses");
        match served_v1_chains(&f, "main") {
            Err(ResolveError::Ambiguous {
                line: Some(3),
                message,
            }) => {
                assert!(
                    message.contains("[app:api] (line 8), [pipeline:api] (line 5)"),
                    "{}",
                    message
                )
            }
            other => panic!("{:?}", other),
        }
    }

    // [app:x] and [application:x] are one prefix group: the first prefix wins, no ambiguity.
    const FIX_APP_APPLICATION: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: apiapp

[application:apiapp]
paste.app_factory = barbican.api.app:create_version_app

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_APP_APPLICATION: &str = r#"
/v1 => [] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn app_prefix_beats_application_prefix() {
        check(FIX_APP_APPLICATION, EXP_APP_APPLICATION);
    }

    const FIX_MISSING_SECTION: &str = r#"[composite:main]
use = egg:Paste#urlmap
/: barbican_version
/v1: nothere

[app:barbican_version]
paste.app_factory = barbican.api.app:create_version_app
"#;
    const EXP_MISSING_SECTION: &str = r#"
ERROR LookupError
"#;

    #[test]
    fn missing_section_reports_referencing_line() {
        check(FIX_MISSING_SECTION, EXP_MISSING_SECTION);
        let f = parse(FIX_MISSING_SECTION).expect("parses");
        let e = served_v1_chains(&f, "main").expect_err("missing");
        assert!(
            matches!(e, ResolveError::MissingSection { line: Some(4), .. }),
            "{:?}",
            e
        );
    }

    // Bare [app] is not `main`: loadcontext always passes name="main", and _find_sections only
    // accepts a bare section when name is None. Expectation changed after running the real
    // library: the brief (and barbican.md §3.2) said bare [app]/[composite] match `main`.
    const FIX_BARE_APP: &str = r#"[app]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_BARE_APP: &str = r#"
ERROR LookupError
"#;

    #[test]
    fn bare_app_section_is_not_main() {
        check(FIX_BARE_APP, EXP_BARE_APP);
    }

    const FIX_NESTED_URLMAP: &str = r#"[composite:main]
use = egg:Paste#urlmap
/: inner
/healthcheck: healthcheck

[composite:inner]
use = egg:Paste#urlmap
/v1: barbican-api-keystone
/v2: apiapp
/: apiapp

[pipeline:barbican-api-keystone]
pipeline = authtoken apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:healthcheck]
paste.app_factory = oslo_middleware:Healthcheck.app_factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
"#;
    const EXP_NESTED_URLMAP: &str = r#"
/ >> /v1 => [keystonemiddleware.auth_token:filter_factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn nested_urlmap_routes_remaining_path() {
        check(FIX_NESTED_URLMAP, EXP_NESTED_URLMAP);
        assert_eq!(chains(FIX_NESTED_URLMAP)[0].entry, "composite:inner");
    }

    // Outer keys matched first are excluded from what the inner urlmap can still see: the inner
    // `/v1/secrets` never gets a request (the outer one takes them), the inner host key does.
    const FIX_NESTED_URLMAP_EXCL: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1/secrets: barbican-api-keystone
/: inner

[composite:inner]
use = egg:Paste#urlmap
/v1/secrets: barbican_api
/v1: barbican-api-keystone
domain api.example.com /v1/orders: barbican_api

[pipeline:barbican-api-keystone]
pipeline = authtoken apiapp

[pipeline:barbican_api]
pipeline = unauthenticated-context apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:unauthenticated-context]
paste.filter_factory = barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory
"#;
    const EXP_NESTED_URLMAP_EXCL: &str = r#"
/ >> /v1 => [keystonemiddleware.auth_token:filter_factory] -> barbican.api.app:create_main_app
/ >> domain api.example.com /v1/orders => [barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory] -> barbican.api.app:create_main_app
/v1/secrets => [keystonemiddleware.auth_token:filter_factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn nested_urlmap_sees_only_what_outer_keys_leave() {
        check(FIX_NESTED_URLMAP_EXCL, EXP_NESTED_URLMAP_EXCL);
    }

    const FIX_DUP_NORMALIZED: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: barbican-api-keystone
/v1/: apiapp

[pipeline:barbican-api-keystone]
pipeline = authtoken apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
"#;
    const EXP_DUP_NORMALIZED: &str = r#"
/v1/ => [] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn later_key_normalising_to_same_url_replaces_earlier() {
        check(FIX_DUP_NORMALIZED, EXP_DUP_NORMALIZED);
    }

    const FIX_MISSING_HEADER: &str = r#"# comment

use = egg:Paste#urlmap
[composite:main]
"#;
    const EXP_MISSING_HEADER: &str = r#"
ERROR MissingSectionHeaderError line 3
"#;

    #[test]
    fn value_before_any_section_is_missing_section_header() {
        check(FIX_MISSING_HEADER, EXP_MISSING_HEADER);
    }

    const FIX_PARSE_ERROR: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1 barbican_api
"#;
    const EXP_PARSE_ERROR: &str = r#"
ERROR ParsingError line 3
"#;

    #[test]
    fn line_without_delimiter_is_parsing_error() {
        check(FIX_PARSE_ERROR, EXP_PARSE_ERROR);
    }

    // The ParsingError is raised only at the end, so a later duplicate wins.
    const FIX_PARSE_ERROR_THEN_DUP: &str = r#"[a]
garbage
[a]
"#;
    const EXP_PARSE_ERROR_THEN_DUP: &str = r#"
ERROR DuplicateSectionError line 3
"#;

    #[test]
    fn parsing_error_is_deferred_behind_duplicate() {
        check(FIX_PARSE_ERROR_THEN_DUP, EXP_PARSE_ERROR_THEN_DUP);
    }

    const FIX_INLINE_EGG: &str = r#"[pipeline:main]
pipeline = egg:Paste#httpexceptions authtoken apiapp

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_INLINE_EGG: &str = r#"
* => [paste.httpexceptions:make_middleware keystonemiddleware.auth_token:filter_factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn inline_egg_in_pipeline_is_other_factory() {
        check(FIX_INLINE_EGG, EXP_INLINE_EGG);
        let ch = chains(FIX_INLINE_EGG);
        assert_eq!(ch[0].elements[0].section, "egg:Paste#httpexceptions");
        assert_eq!(
            ch[0].elements[0].factory,
            other("paste.httpexceptions:make_middleware")
        );
        assert_eq!(ch[0].elements[0].line, 2);
    }

    const FIX_INLINE_EGG_AUTHTOKEN: &str = r#"[pipeline:main]
pipeline = egg:keystonemiddleware#auth_token apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_INLINE_EGG_AUTHTOKEN: &str = r#"
* => [keystonemiddleware.auth_token:filter_factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn inline_keystonemiddleware_egg_is_authtoken() {
        check(FIX_INLINE_EGG_AUTHTOKEN, EXP_INLINE_EGG_AUTHTOKEN);
        assert_eq!(
            kinds(&chains(FIX_INLINE_EGG_AUTHTOKEN)[0]),
            vec![Factory::AuthToken]
        );
    }

    const FIX_EGG_WRONG_TYPE: &str = r#"[pipeline:main]
pipeline = egg:Paste#urlmap apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_EGG_WRONG_TYPE: &str = r#"
ERROR LookupError
"#;

    #[test]
    fn egg_entry_point_of_wrong_type_is_lookup_error() {
        check(FIX_EGG_WRONG_TYPE, EXP_EGG_WRONG_TYPE);
    }

    const FIX_GET_USE: &str = r#"[DEFAULT]
ksm = egg:keystonemiddleware#auth_token

[pipeline:main]
pipeline = tokencheck apiapp

[filter:tokencheck]
get use = ksm
set service_token_roles_required = true

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_GET_USE: &str = r#"
* => [keystonemiddleware.auth_token:filter_factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn get_and_set_keys() {
        check(FIX_GET_USE, EXP_GET_USE);
        let ch = chains(FIX_GET_USE);
        assert!(ch[0].elements[0].global_conf.contains(&(
            "service_token_roles_required".to_string(),
            "true".to_string()
        )));
    }

    // An inline `call:` has no protocol (only `use` sets one from the section prefix), so
    // create() asserts. Expectation changed after running the real library: a first probe with
    // `call:oslo_middleware:RequestId.factory` failed earlier, with AttributeError, because
    // lookup_object does ONE getattr for the dotted target.
    const FIX_INLINE_CALL: &str = r#"[pipeline:main]
pipeline = call:keystonemiddleware.auth_token:filter_factory apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_INLINE_CALL: &str = r#"
ERROR AssertionError
"#;

    #[test]
    fn inline_call_in_pipeline_cannot_be_invoked() {
        check(FIX_INLINE_CALL, EXP_INLINE_CALL);
    }

    const FIX_USE_CALL: &str = r#"[composite:main]
use = call:paste.urlmap:urlmap_factory
/v1: api

[pipeline:api]
pipeline = kst apiapp

[filter:kst]
use = call:keystonemiddleware.auth_token:filter_factory

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_USE_CALL: &str = r#"
/v1 => [keystonemiddleware.auth_token:filter_factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn use_call_urlmap_and_filter() {
        check(FIX_USE_CALL, EXP_USE_CALL);
        assert_eq!(kinds(&chains(FIX_USE_CALL)[0]), vec![Factory::AuthToken]);
    }

    // Section names: the part after "prefix:" is compared stripped; the prefix is case-sensitive.
    const FIX_SECTION_STRIP: &str = r#"[pipeline:main]
pipeline = authtoken apiapp

[filter: authtoken ]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[App:apiapp]
paste.app_factory = barbican.api.app:create_version_app

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app
"#;
    const EXP_SECTION_STRIP: &str = r#"
* => [keystonemiddleware.auth_token:filter_factory] -> barbican.api.app:create_main_app
"#;

    #[test]
    fn section_name_part_is_stripped_prefix_is_case_sensitive() {
        check(FIX_SECTION_STRIP, EXP_SECTION_STRIP);
        let ch = chains(FIX_SECTION_STRIP);
        assert_eq!(ch[0].elements[0].section, "filter: authtoken ");
        assert_eq!(ch[0].elements[0].name, "authtoken");
    }

    // Keys of the same name but different case are distinct (optionxform = str).
    const FIX_KEY_CASE: &str = r#"[composite:main]
use = egg:Paste#urlmap
/v1: api
/V1: other

[app:api]
paste.app_factory = barbican.api.app:create_main_app

[app:other]
paste.app_factory = barbican.api.app:create_version_app
"#;
    const EXP_KEY_CASE: &str = r#"
/v1 => [] -> barbican.api.app:create_main_app
GET [composite:main] /V1 => other
"#;

    #[test]
    fn keys_keep_case() {
        check(FIX_KEY_CASE, EXP_KEY_CASE);
    }

    // ---- Rust-only tests (no Python counterpart or not expressible as a fixture) ----

    #[test]
    fn bom_is_not_stripped() {
        // open() decodes with utf-8, not utf-8-sig: the BOM is part of the first line.
        let text = format!("\u{feff}{}", FIX_APP_APPLICATION);
        let e = parse(&text).expect_err("bom");
        assert_eq!((e.kind, e.line), ("MissingSectionHeaderError", 1));
    }

    #[test]
    fn universal_newlines_only() {
        let f = parse("[a]\rx=1\r\n  2\ry=3\x0c4\u{2028}5").expect("parses");
        let s = f.section("a").expect("a");
        assert_eq!(s.entries[0].value, "1\n2");
        assert_eq!(s.entries[1].value, "3\x0c4\u{2028}5");
        assert_eq!(s.entries[1].line, 4);
        // U+001C is whitespace for Python, so it indents a continuation line.
        let f = parse("[a]\nx=1\n\u{1c}2\n").expect("parses");
        assert_eq!(f.sections[0].entries[0].value, "1\n2");
    }

    #[test]
    fn header_and_delimiter_details() {
        let f =
            parse("[a] junk\nx: a=b\ny = c:d\n[b]]\n[DEFAULT]\nz=1\n[default]\n").expect("parses");
        let names: Vec<&str> = f.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["a", "b]", "default"]);
        assert_eq!(f.sections[0].entries[0].value, "a=b");
        assert_eq!(f.sections[0].entries[1].value, "c:d");
        assert_eq!(f.defaults[0].key, "z");
        assert_eq!(
            parse("[a]\n[]\n").map_err(|e| (e.kind, e.line)),
            Err(("ParsingError", 2))
        );
        assert_eq!(
            parse("[a]\n= v\n: w\n").map_err(|e| (e.kind, e.line)),
            Err(("DuplicateOptionError", 3))
        );
        assert_eq!(parse("").map(|f| f.sections.len()), Ok(0));
    }

    #[test]
    fn default_here_override_and_percent_in_here() {
        let f = parse("[DEFAULT]\nhere = /x\n[a]\nk = %(here)s/y\n").expect("parses");
        assert_eq!(f.get("a", "k", HERE, FILE), Some(Ok("/x/y".to_string())));
        // here itself is interpolated when referenced: a '%' in the directory breaks loading.
        let f = parse(FIX_RENAMED_AUTHTOKEN).expect("parses");
        let e = served_v1_chains_at(&f, "main", "/tmp/100%", "/tmp/100%/p.ini").expect_err("%");
        assert_eq!(e.python_exception(), "InterpolationSyntaxError");
    }

    #[test]
    fn config_uri_is_reported_not_followed() {
        let f = parse("[composite:main]\nuse = egg:Paste#urlmap\n/v1 = config:other.ini#api\n")
            .expect("parses");
        let e = served_v1_chains(&f, "main").expect_err("config:");
        assert!(
            matches!(e, ResolveError::Unsupported { line: Some(3), .. }),
            "{:?}",
            e
        );
    }

    #[test]
    fn unknown_composite_is_unsupported() {
        let f = parse("[composite:main]\nuse = egg:Paste#cascade\napp1 = a\n").expect("parses");
        assert!(matches!(
            served_v1_chains(&f, "main"),
            Err(ResolveError::Unsupported { .. })
        ));
    }

    #[test]
    fn check_loads_sees_unserved_broken_entries() {
        let text = "[composite:main]\nuse = egg:Paste#urlmap\n/v1 = api\n/other = nothere\n\
                    [app:api]\npaste.app_factory = barbican.api.app:create_main_app\n";
        let f = parse(text).expect("parses");
        assert_eq!(served_v1_chains(&f, "main").map(|c| c.len()), Ok(1));
        let e = check_loads(&f, "main", HERE, FILE).expect_err("nothere");
        assert_eq!(e.line(), Some(4));
        let bad_key = "[composite:main]\nuse = egg:Paste#urlmap\nv1 = api\n[app:api]\npaste.app_factory = a:b\n";
        let f = parse(bad_key).expect("parses");
        let e = check_loads(&f, "main", HERE, FILE).expect_err("assert");
        assert_eq!(e.python_exception(), "AssertionError");
    }

    #[test]
    fn entry_point_syntax() {
        let ok = |s: &str| parse_entry_point(s).map(|o| o.reference());
        assert_eq!(
            ok("keystonemiddleware.auth_token : filter_factory."),
            Some("keystonemiddleware.auth_token:filter_factory".into())
        );
        assert_eq!(ok("a.b:c [extra]"), Some("a.b:c".into()));
        assert_eq!(ok("a.b"), Some("a.b".into()));
        assert_eq!(ok("a.b:"), None);
        assert_eq!(ok("a b"), None);
        // Same object, other spelling: judged by the full dotted path.
        assert_eq!(
            parse_entry_point("keystonemiddleware:auth_token.filter_factory").map(|o| o.factory()),
            Some(Factory::AuthToken)
        );
    }

    #[test]
    fn deep_use_chain_is_bounded() {
        let mut text = String::from(
            "[pipeline:main]\npipeline = f0 apiapp\n[app:apiapp]\npaste.app_factory = a:b\n",
        );
        for i in 0..200 {
            text.push_str(&format!("[filter:f{}]\nuse = f{}\n", i, i + 1));
        }
        let f = parse(&text).expect("parses");
        assert!(matches!(
            served_v1_chains(&f, "main"),
            Err(ResolveError::TooComplex { .. })
        ));
    }

    #[test]
    fn exponential_urlmap_fanout_is_bounded() {
        // Each level maps /v1 and / to the next level: 2^40 paths without a budget.
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&format!(
                "[composite:m{i}]\nuse = egg:Paste#urlmap\n/v1 = p{i}\n/v1/x = p{i}\n/v1/x/y = p{i}\n\
                 [pipeline:p{i}]\npipeline = f m{n}\n",
                i = i,
                n = i + 1
            ));
        }
        text.push_str(
            "[composite:m40]\nuse = egg:Paste#urlmap\n/ = a\n[app:a]\npaste.app_factory = a:b\n",
        );
        text.push_str("[filter:f]\npaste.filter_factory = a:b\n[pipeline:main]\npipeline = m0\n");
        let f = parse(&text).expect("parses");
        assert!(served_v1_chains(&f, "m0").is_err());
    }

    #[test]
    fn interpolation_blowup_is_bounded() {
        let mut text = String::from(
            "[a]\nv0 = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
        );
        for i in 1..10 {
            let r = format!("%(v{})s", i - 1);
            text.push_str(&format!("v{} = {}\n", i, r.repeat(40)));
        }
        let f = parse(&text).expect("parses");
        assert!(matches!(f.get("a", "v9", HERE, FILE), Some(Err(_))));
    }

    #[test]
    fn garbage_input_never_panics() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet: &[&str] = &[
            "[",
            "]",
            "=",
            ":",
            "%",
            "(",
            ")s",
            "\n",
            "\r",
            " ",
            "\t",
            "#",
            ";",
            "pipeline",
            "use",
            "main",
            "composite:",
            "app:",
            "filter:",
            "pipeline:",
            "filter-app:",
            "egg:Paste#urlmap",
            "/v1",
            "/",
            "domain",
            "port",
            "next",
            "filter-with",
            "x",
            "\u{1c}",
            "\u{feff}",
            "get ",
            "set ",
            "\u{3000}",
        ];
        for _ in 0..3000 {
            let mut s = String::new();
            for _ in 0..60 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            if let Ok(f) = parse(&s) {
                let _ = served_v1_chains(&f, "main");
                let _ = check_loads(&f, "main", HERE, FILE);
                for sec in &f.sections {
                    for e in &sec.entries {
                        let _ = f.get(&sec.name, &e.key, HERE, FILE);
                    }
                }
            }
        }
        // Raw bytes made valid UTF-8 by the caller.
        let bytes: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse(&text);
    }

    #[test]
    fn large_input_is_linear() {
        let mut text = String::with_capacity(8 << 20);
        text.push_str(FIX_STOCK);
        let mut i = 0;
        while text.len() < (8 << 20) {
            text.push_str(&format!(
                "[filter:pad{}]\npaste.filter_factory = a:b\nk = v\n  {}\n\n  continued\n",
                i,
                "x".repeat(200)
            ));
            i += 1;
        }
        let f = parse(&text).expect("parses");
        assert_eq!(served_v1_chains(&f, "main").map(|c| c.len()), Ok(1));
    }

    #[test]
    #[ignore] // ~100 MB inputs; run with `cargo test --release -- --ignored` (a few seconds)
    fn hundred_megabytes() {
        // One 100 MB value (continuation lines), then ~100 MB of distinct sections.
        let mut text = String::from("[a]\nk = v\n");
        while text.len() < 100 << 20 {
            text.push_str("  cont %(here)s\n");
        }
        let f = parse(&text).expect("parses");
        // The expansion exceeds our 16 MiB interpolation cap: an error, not a hang.
        assert!(matches!(f.get("a", "k", HERE, FILE), Some(Err(_))));
        let mut many = String::with_capacity(110 << 20);
        let mut i = 0u64;
        while many.len() < 100 << 20 {
            many.push_str(&format!("[s{}]\nk=v\n", i));
            i += 1;
        }
        // ~14 M items: refused at the size limit, not parsed into GBs of structs.
        assert_eq!(
            parse(&many).map_err(|e| (e.kind, e.line)),
            Err(("AuditLimit", MAX_ITEMS + 1))
        );
    }
}
