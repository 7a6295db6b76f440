//! `%(name)s` interpolation: a port of `configparser.BasicInterpolation._interpolate_some`,
//! applied lazily on `get` as `NicerConfigParser` does, plus [`PasteFile::get`].

use super::{Entry, PasteError, PasteFile, Section};

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
    pub(super) fn some(
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
pub(super) fn interpolate<'l>(
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
