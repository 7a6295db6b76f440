//! `paste.urlmap`: path expressions, `URLMap` ordering and routing per Host class, deciding
//! which entries serve some request under `/v1`; and loading every entry as
//! `urlmap_factory` does.

use std::collections::{HashMap, HashSet};

use super::flatten::{Flat, Terminal};
use super::resolve::{invalid, Conf, Ctx, Resolver, Ty, MAX_DEPTH};
use super::{py_split, py_strip, q, Chain, Element, ResolveError};

/// Distinct Host classes (from `domain …` urlmap keys) evaluated.
const MAX_HOSTS: usize = 256;

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
pub(super) struct Host {
    host: Option<String>,
    port: Option<String>,
}

impl Host {
    /// `if domain and domain != host and domain != host+':'+port: continue`, host lower-cased.
    /// See: urlmap.py:198-:212.
    pub(super) fn accepts(&self, domain: &Option<String>) -> bool {
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
pub(super) struct Target {
    pub(super) base: String,
    pub(super) excl: Vec<String>,
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

pub(super) struct Served {
    pub(super) order: Vec<usize>,
    pub(super) chain: Chain,
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
    pub(super) fn serve(
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
    pub(super) fn hosts(&self) -> Result<Vec<Host>, ResolveError> {
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

impl<'a> Resolver<'a> {
    pub(super) fn load_all(
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
