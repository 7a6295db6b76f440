//! The served API: the paste file Barbican loads, the chains that serve
//! `/v1`, and the effective keystonemiddleware options.
//!
//! keystonemiddleware reads its options from the paste `[DEFAULT]` and the
//! authtoken filter's own section first, then from barbican.conf
//! `[keystone_authtoken]` (keystoneauth plugin options such as `auth_url`
//! from the `auth_section` group when one is named).
//! See: keystonemiddleware 10.1.0 `auth_token/__init__.py` `filter_factory`
//! (`conf = global_conf.copy(); conf.update(local_conf)`), `_common/config.py`
//! `Config.get`; barbican.md §2.3.
use std::path::{Path, PathBuf};

use super::config::{Config, Source};
use super::paste::{self, Chain, Factory, PasteError, PasteFile, ResolveError};
use super::EffectiveFiles;
use crate::host::Host;

/// The paste file as Barbican would load it.
#[derive(Debug, Clone)]
pub struct Api {
    /// In-root path of the paste file.
    pub path: PathBuf,
    /// Parsed file, or why it cannot be read/parsed.
    pub parsed: Result<PasteFile, ApiError>,
    /// The chains serving `/v1` (only when parsed).
    pub chains: Option<Result<Vec<Chain>, ResolveError>>,
}

/// Why the paste file could not be used.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// I/O error reading it.
    Read(String),
    /// Not UTF-8.
    Encoding,
    /// configparser would refuse it.
    Parse(PasteError),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Read(e) => write!(f, "cannot read: {e}"),
            ApiError::Encoding => write!(f, "not valid UTF-8 (configparser would refuse it)"),
            ApiError::Parse(e) => write!(f, "line {}: {} ({})", e.line, e.message, e.kind),
        }
    }
}

impl Api {
    /// Loads the paste file of the effective file set, if there is one.
    pub fn load(host: &Host, files: &EffectiveFiles) -> Option<Api> {
        let f = files.files.iter().find(|f| f.role == "paste")?;
        let parsed = match host.read(&f.path) {
            Err(e) => Err(ApiError::Read(e.to_string())),
            Ok(bytes) => match String::from_utf8(bytes) {
                Err(_) => Err(ApiError::Encoding),
                Ok(text) => paste::parse(&text).map_err(ApiError::Parse),
            },
        };
        let here = here_of(&f.path);
        let chains = parsed
            .as_ref()
            .ok()
            .map(|p| paste::served_v1_chains_at(p, "main", &here, &f.path.to_string_lossy()));
        Some(Api {
            path: f.path.clone(),
            parsed,
            chains,
        })
    }

    /// `check_loads` for BAR-012.
    pub fn loads(&self) -> Result<(), String> {
        let p = self.parsed.as_ref().map_err(|e| e.to_string())?;
        paste::check_loads(
            p,
            "main",
            &here_of(&self.path),
            &self.path.to_string_lossy(),
        )
        .map_err(|e| match e.line() {
            Some(l) => format!("line {l}: {}", e.message()),
            None => e.message(),
        })
    }
}

/// PasteDeploy's `%(here)s`: the paste file's directory.
fn here_of(path: &Path) -> String {
    path.parent()
        .unwrap_or(Path::new("/"))
        .to_string_lossy()
        .into_owned()
}

/// One effective authtoken option with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOpt {
    /// The option's name as written (`auth_uri` where that deprecated name
    /// set `www_authenticate_uri`).
    pub name: String,
    /// The value (interpolated).
    pub value: String,
    /// Where it came from (`paste [filter:authtoken] at file`, or a barbican.conf source).
    pub source: String,
}

/// keystonemiddleware's view of one option for the authtoken filter of a
/// chain (or barbican.conf alone when no chain has authtoken).
pub fn authtoken_opt(
    cfg: &Config,
    api: Option<&Api>,
    element: Option<&paste::Element>,
    key: &str,
) -> Option<AuthOpt> {
    if let (Some(el), Some(api)) = (element, api) {
        if let Some((_, v)) = el.local_conf.iter().rev().find(|(k, _)| k == key) {
            return Some(AuthOpt {
                name: key.to_string(),
                value: v.clone(),
                source: format!("paste [{}] in {}", el.section, api.path.display()),
            });
        }
        if let Some((_, v)) = el.global_conf.iter().rev().find(|(k, _)| k == key) {
            return Some(AuthOpt {
                name: key.to_string(),
                value: v.clone(),
                source: format!("paste [DEFAULT] in {}", api.path.display()),
            });
        }
    }
    // keystoneauth plugin options live in the auth_section group when one is named.
    const PLUGIN_OPTS: &[&str] = &[
        "auth_url",
        "auth_type",
        "username",
        "password",
        "project_name",
    ];
    let mut groups = vec!["keystone_authtoken".to_string()];
    if PLUGIN_OPTS.contains(&key) {
        if let Some(sec) = cfg.effective("keystone_authtoken", "auth_section") {
            groups.insert(0, super::oslo::normalize_group(sec.raw.trim()));
        }
    }
    for g in groups {
        if let Some(e) = cfg.effective(&g, key) {
            let value = cfg.substitute(&e.raw, &g, 0).unwrap_or(e.raw.clone());
            // Named as written (a deprecated name stays itself).
            let name = &e.name;
            let source = match &e.source {
                Source::File { .. } | Source::Env { .. } => format!("[{g}] {name} at {}", e.source),
                Source::Default => "code default".to_string(),
            };
            return Some(AuthOpt {
                name: name.clone(),
                value,
                source,
            });
        }
    }
    None
}

/// The authtoken elements of the served chains (deduplicated by section).
pub fn authtoken_elements(api: &Api) -> Vec<&paste::Element> {
    let mut out: Vec<&paste::Element> = Vec::new();
    if let Some(Ok(chains)) = &api.chains {
        for c in chains {
            for e in &c.elements {
                if e.factory == Factory::AuthToken && !out.iter().any(|x| x.section == e.section) {
                    out.push(e);
                }
            }
        }
    }
    out
}
