//! The ini dialect: a port of `configparser.RawConfigParser._read` (Python 3.11) as
//! `paste.deploy.loadwsgi.ConfigLoader` configures it (strict, `optionxform = str`,
//! delimiters `=`/`:`, whole-line comments `#`/`;`, empty lines kept inside values).

use std::collections::{HashMap, HashSet};

use super::{py_rstrip, py_strip, Entry, PasteError, PasteFile, Section};
use crate::pytext::is_py_space;

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
        let cur_indent = line.chars().take_while(|c| is_py_space(*c)).count();
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
