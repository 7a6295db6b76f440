//! The resolver: a port of `loadwsgi.ConfigLoader.get_context` and friends (section lookup,
//! `use`, `set`/`get`, `filter-with`, `pipeline`, `filter-app`) into contexts, which
//! `flatten` turns into chains.

use std::collections::HashMap;

use super::entry_point::{egg_entry, parse_entry_point, Obj};
use super::interpolate::interpolate;
use super::{py_split, py_strip, q, PasteFile, ResolveError};

/// Nesting bound (sections followed inside one another). Python's limit is its recursion limit.
pub(super) const MAX_DEPTH: usize = 32;
/// Work units (contexts, conf entries copied, urlmap entries ranked) for one call.
const WORK_BUDGET: usize = 5_000_000;

/// Ordered dict with lines (Python dicts keep insertion order; `d[k] = v` keeps the position).
#[derive(Debug, Clone, Default)]
pub(super) struct Conf {
    pub(super) items: Vec<(String, String, usize)>,
    index: HashMap<String, usize>,
}

impl Conf {
    pub(super) fn get(&self, k: &str) -> Option<&str> {
        self.index
            .get(k)
            .and_then(|i| self.items.get(*i))
            .map(|x| x.1.as_str())
    }
    pub(super) fn contains(&self, k: &str) -> bool {
        self.index.contains_key(k)
    }
    pub(super) fn set(&mut self, k: &str, v: String, line: usize) {
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
    pub(super) fn remove(&mut self, k: &str) -> Option<(String, usize)> {
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
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }
    pub(super) fn pairs(&self) -> Vec<(String, String)> {
        self.items
            .iter()
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Ty {
    App,
    Filter,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
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
pub(super) struct Ctx {
    pub(super) kind: Kind,
    pub(super) local: Conf,
    pub(super) global: Conf,
    /// Section (or absolute name) this context stands for, and its line.
    pub(super) label: String,
    pub(super) line: usize,
    /// Sections followed to build it (this one first, then `use` targets).
    pub(super) sections: Vec<String>,
    /// `label` is a section name (else an absolute name such as "egg:Paste#cgitb").
    pub(super) from_section: bool,
}

pub(super) fn invalid(line: Option<usize>, python: &'static str, message: String) -> ResolveError {
    ResolveError::Invalid {
        line,
        message,
        python,
    }
}

pub(super) struct Resolver<'a> {
    pub(super) f: &'a PasteFile,
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
    pub(super) fn new(f: &'a PasteFile, here: &'a str, path: &'a str) -> Self {
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

    pub(super) fn charge(&mut self, units: usize, line: Option<usize>) -> Result<(), ResolveError> {
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
    pub(super) fn raw(&self, sidx: Option<usize>, name: &str) -> Option<&'a str> {
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
    pub(super) fn defaults(&mut self) -> Result<Conf, ResolveError> {
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

    pub(super) fn get_context(
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
    pub(super) fn explicit(
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
}

fn is_absolute(name: &str) -> bool {
    let letters = name.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
    letters > 0 && name.as_bytes().get(letters) == Some(&b':')
}
