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
//!
//! The submodules follow those layers: `ini` (the parser), `interpolate` (`%(here)s` on
//! `get`), `resolve` (contexts), `flatten` (chains), `entry_point` (factories and egg tables)
//! and `urlmap` (routing). This file holds the public types and entry points. The fixtures
//! that this module's tests and the real-library confirmation both read are data files:
//! `tests/data/paste/` in the repository.

// Nested `if let` kept instead of let-chains so the file builds on editions before 2024.
#![allow(clippy::collapsible_if)]

mod entry_point;
mod flatten;
mod ini;
mod interpolate;
mod resolve;
mod urlmap;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fmt;

use crate::pytext::is_py_space;
pub use ini::{parse, MAX_ITEMS};
use resolve::{Resolver, Ty};
use urlmap::{Served, Target};

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

fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

/// `str.split()` without arguments.
fn py_split(s: &str) -> Vec<&str> {
    s.split(is_py_space).filter(|p| !p.is_empty()).collect()
}

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

// ---------------------------------------------------------------------------------------------
// Entry points: resolve `main`, then what serves /v1 or what loading trips on
// ---------------------------------------------------------------------------------------------

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
