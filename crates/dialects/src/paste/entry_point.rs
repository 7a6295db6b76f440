//! What a context would call: entry-point syntax (`module:attr`) and the entry points of the
//! eggs Barbican paste files use, without importing any Python code.

use super::resolve::Ty;
use super::{py_rstrip, q, Factory};
use crate::pytext::is_py_space;

/// What a context would call.
#[derive(Debug, Clone)]
pub(super) enum Obj {
    /// `paste.*_factory = module:attr` (entry-point syntax), or a known egg's entry target.
    Entry { module: String, attrs: Vec<String> },
    /// An egg entry point we have no table for.
    Egg { dist: String, name: String },
}

impl Obj {
    /// Canonical reference: `module:attr.attr` or `egg:dist#name`.
    pub(super) fn reference(&self) -> String {
        match self {
            Obj::Entry { module, attrs } if attrs.is_empty() => module.clone(),
            Obj::Entry { module, attrs } => format!("{}:{}", module, attrs.join(".")),
            Obj::Egg { dist, name } => format!("egg:{}#{}", dist, name),
        }
    }
    /// Full dotted path, so `keystonemiddleware:auth_token.filter_factory` and
    /// `keystonemiddleware.auth_token:filter_factory` (the same object) compare equal.
    pub(super) fn dotted(&self) -> Option<String> {
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
    pub(super) fn is_urlmap(&self) -> bool {
        self.dotted().as_deref() == Some("paste.urlmap.urlmap_factory")
    }
    pub(super) fn factory(&self) -> Factory {
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

/// importlib.metadata.EntryPoint.pattern:
/// `(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$`; `load()` then
/// getattr's the non-empty '.'-separated attr parts. `\w` approximated by alphanumeric or '_'.
pub(super) fn parse_entry_point(v: &str) -> Option<Obj> {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let mlen: usize = v.chars().take_while(|c| word(*c)).map(char::len_utf8).sum();
    if mlen == 0 {
        return None;
    }
    let module = &v[..mlen];
    let mut rest = v[mlen..].trim_start_matches(is_py_space);
    let mut attrs = Vec::new();
    if let Some(r) = rest.strip_prefix(':') {
        let r = r.trim_start_matches(is_py_space);
        let alen: usize = r.chars().take_while(|c| word(*c)).map(char::len_utf8).sum();
        if alen == 0 {
            return None;
        }
        attrs = r[..alen]
            .split('.')
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string())
            .collect();
        rest = r[alen..].trim_start_matches(is_py_space);
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
pub(super) fn egg_entry(ty: Ty, dist: &str, name: &str) -> Result<(Obj, Option<String>), String> {
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
