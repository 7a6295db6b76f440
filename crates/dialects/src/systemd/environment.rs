//! What a unit's environment is: `Environment=` values, `EnvironmentFile=` contents, the
//! order in which they override each other, and the `OS_<GROUP>__<OPTION>` names
//! oslo.config reads from it.

use std::io;
use std::path::{Path, PathBuf};

use super::syntax::{
    glob_match, is_ws, parse_unit_file, sd_utf8, simplify_abs_path, split_quoted_words,
};
use super::units::Scanner;
use super::{Assignment, Unit, Via};

impl Scanner<'_> {
    /// Sets `unit.env` and `unit.env_files` from the unit's files in the order systemd loads
    /// them (fragment, then drop-ins): `Environment=` and `EnvironmentFile=` directives,
    /// then the environment files' contents. Problems and unreadable files go to `unit`.
    pub(super) fn evaluate_environment(&mut self, files: &[(PathBuf, Vec<u8>)], unit: &mut Unit) {
        let mut env: Vec<Assignment> = Vec::new();
        let mut env_files: Vec<(PathBuf, bool, PathBuf, usize)> = Vec::new();
        for (path, text) in files {
            for d in parse_unit_file(text, path, &mut unit.problems) {
                let at = format!("{}:{}", path.display(), d.line);
                if d.value.contains('%') {
                    unit.problems.push(format!(
                        "{}: {}= contains '%' specifiers; kept literal here, systemd expands \
                         them (%% -> %, %i -> instance, unknown ones drop the word)",
                        at, d.key
                    ));
                }
                match d.key.as_str() {
                    "Environment" => {
                        // See: systemd.exec(5) Environment=: "If the empty string is assigned
                        // to this option, the list of environment variables is reset".
                        if d.value.is_empty() {
                            env.clear();
                            continue;
                        }
                        let p = parse_environment_value_detailed(&d.value);
                        for (name, value) in p.pairs {
                            set_env(
                                &mut env,
                                Assignment {
                                    name,
                                    value,
                                    file: path.clone(),
                                    line: d.line,
                                    via: Via::Environment,
                                },
                            );
                        }
                        for bad in p.ignored {
                            unit.problems.push(format!("{}: {}", at, bad));
                        }
                        if let Some(err) = p.error {
                            unit.problems.push(format!(
                                "{}: Environment= {}; systemd ignores the rest of this line \
                                 (assignments before it still apply)",
                                at, err
                            ));
                        }
                    }
                    "EnvironmentFile" => {
                        if d.value.is_empty() {
                            env_files.clear();
                            continue;
                        }
                        // See: src/core/load-fragment.c config_parse_unit_env_file(): the
                        // whole value is one path, optionally prefixed with "-", no quoting;
                        // path_simplify_and_warn(PATH_CHECK_ABSOLUTE) drops relative or
                        // non-normalized ("..") paths.
                        let (optional, raw) = match d.value.strip_prefix('-') {
                            Some(rest) => (true, rest),
                            None => (false, d.value.as_str()),
                        };
                        match simplify_abs_path(raw) {
                            Ok(p) => env_files.push((p, optional, path.clone(), d.line)),
                            Err(why) => unit.problems.push(format!(
                                "{}: EnvironmentFile={} {}; systemd ignores this directive",
                                at, d.value, why
                            )),
                        }
                    }
                    _ => {}
                }
            }
        }

        // See: systemd.exec(5) EnvironmentFile=: "Settings from these files override settings
        // made with Environment=", files read in the order specified. The merge keeps the
        // position of a variable's first occurrence. See: src/basic/env-util.c env_append().
        for (pattern, optional, ufile, uline) in &env_files {
            for envfile in
                self.expand_env_file(pattern, *optional, ufile, *uline, &mut unit.problems)
            {
                let data = match self.fs.read(&envfile) {
                    Ok(d) => d,
                    Err(e) if e.kind() == io::ErrorKind::NotFound && *optional => continue,
                    Err(e) => {
                        // Missing and required is a fact (the unit does not start);
                        // anything else leaves the environment unknown.
                        if e.kind() != io::ErrorKind::NotFound {
                            unit.unreadable.push((
                                envfile.clone(),
                                format!("cannot read the EnvironmentFile: {e}"),
                            ));
                        }
                        let effect = if *optional {
                            "optional, systemd would skip it if it cannot read it either; the auditor could not check it"
                        } else if e.kind() == io::ErrorKind::NotFound {
                            "required and missing: systemd refuses to start the unit"
                        } else {
                            "required: the auditor could not read it"
                        };
                        unit.problems.push(format!(
                            "{}:{}: EnvironmentFile {}: {} ({})",
                            ufile.display(),
                            uline,
                            envfile.display(),
                            e,
                            effect
                        ));
                        continue;
                    }
                };
                let parsed = parse_env_file_bytes(&data);
                if let Some(err) = &parsed.error {
                    unit.unreadable.push((
                        envfile.clone(),
                        format!("cannot parse the EnvironmentFile: {err}"),
                    ));
                    let effect = if *optional {
                        "systemd skips the whole file"
                    } else {
                        "systemd fails to start the unit"
                    };
                    unit.problems
                        .push(format!("{}: {}; {}", envfile.display(), err, effect));
                    continue;
                }
                for (line, msg) in parsed.notes {
                    unit.problems
                        .push(format!("{}:{}: {}", envfile.display(), line, msg));
                }
                for (name, value, line) in parsed.pairs {
                    set_env(
                        &mut env,
                        Assignment {
                            name,
                            value,
                            file: envfile.clone(),
                            line,
                            via: Via::EnvironmentFile(envfile.clone()),
                        },
                    );
                }
            }
        }
        unit.env = env;
        unit.env_files = env_files;
    }

    /// Expands an `EnvironmentFile=` path that may be a glob.
    // See: systemd.exec(5) EnvironmentFile=: "an absolute filename or wildcard expression";
    // src/core/execute.c exec_context_load_environment() uses safe_glob(): no match is
    // ENOENT (fatal unless "-"), results sorted, wildcards do not match a leading '.'.
    fn expand_env_file(
        &mut self,
        pattern: &Path,
        optional: bool,
        ufile: &Path,
        uline: usize,
        problems: &mut Vec<String>,
    ) -> Vec<PathBuf> {
        let s = pattern.to_string_lossy();
        if !s.contains(['*', '?', '[']) {
            return vec![pattern.to_path_buf()];
        }
        let (parent, last) = match (
            pattern.parent(),
            pattern.file_name().and_then(|n| n.to_str()),
        ) {
            (Some(p), Some(l)) => (p.to_path_buf(), l.to_string()),
            _ => return Vec::new(),
        };
        if parent.to_string_lossy().contains(['*', '?', '[']) {
            problems.push(format!(
                "{}:{}: EnvironmentFile={}: wildcards in directory components are not expanded \
                 by the auditor; files it matches are not audited",
                ufile.display(),
                uline,
                pattern.display()
            ));
            return Vec::new();
        }
        let found: Vec<PathBuf> = self
            .listing(&parent)
            .iter()
            .filter(|n| glob_match(last.as_bytes(), n.as_bytes()))
            .map(|n| parent.join(n))
            .collect();
        if found.is_empty() && !optional {
            problems.push(format!(
                "{}:{}: EnvironmentFile={} matches no file (required: systemd refuses to start \
                 the unit)",
                ufile.display(),
                uline,
                pattern.display()
            ));
        }
        found
    }
}

fn set_env(env: &mut Vec<Assignment>, a: Assignment) {
    // See: src/basic/env-util.c strv_env_replace_consume(): a later setting of the same name
    // replaces the earlier one in place (verified: `DUP=1 OTHER=x` then `DUP=2` dumps DUP
    // before OTHER).
    match env.iter_mut().find(|x| x.name == a.name) {
        Some(slot) => *slot = a,
        None => env.push(a),
    }
}

/// Detailed result of parsing one `Environment=` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvValueParse {
    /// Valid assignments in order (a later duplicate is also listed; it wins).
    pub pairs: Vec<(String, String)>,
    /// Words systemd ignores with "Invalid environment assignment" (bad name, no '=',
    /// invalid UTF-8 after unescaping), as messages.
    pub ignored: Vec<String>,
    /// Syntax error (unbalanced quote, bad escape): systemd stops at that word and ignores the
    /// rest of the line; `pairs` holds what came before.
    pub error: Option<String>,
}

/// Parses the value of one `Environment=` line into (name, value) pairs (systemd quoting rules).
///
/// Errors on what systemd would log: unbalanced quotes or an unknown/invalid escape (systemd
/// then ignores the rest of the line) and assignments it ignores (invalid name, missing '=').
/// Use [`parse_environment_value_detailed`] for the partial result systemd actually applies.
pub fn parse_environment_value(v: &str) -> Result<Vec<(String, String)>, String> {
    let p = parse_environment_value_detailed(v);
    if let Some(e) = p.error {
        return Err(e);
    }
    if let Some(first) = p.ignored.into_iter().next() {
        return Err(first);
    }
    Ok(p.pairs)
}

/// Splits like `extract_first_word(..., EXTRACT_CUNESCAPE|EXTRACT_UNQUOTE)` (see
/// `syntax::split_quoted_words`) and validates each word like `env_assignment_is_valid()`.
// See: src/core/load-fragment.c config_parse_environ(); src/basic/extract-word.c;
// systemd.syntax(7) "QUOTING". Verified on systemd 252:
//   "A=b c" 'D=e f'        -> A="b c", D="e f"
//   MID="x y"z             -> MID="x yz"   (quotes may open mid-word, as in a shell)
//   '\t' inside '...'      -> TAB          (escapes are processed in single quotes too)
//   \q, \0, \x4, \777, \x00, \u0000, \U00110000, \Ud800, unbalanced quote -> syntax error
//   \xc3\xa9 / \303\251    -> "é"          (\x and octal insert raw bytes)
//   \x80, \ud800           -> invalid UTF-8 -> that word ignored, line continues
//   1BAD=x, -X=z, NOEQ, =v, ""           -> word ignored, line continues
//   control characters (\x01, \n) are accepted in values despite systemd.exec(5)'s wording.
pub fn parse_environment_value_detailed(v: &str) -> EnvValueParse {
    let (words, error) = split_quoted_words(v);
    let mut res = EnvValueParse {
        error,
        ..EnvValueParse::default()
    };
    for word in words {
        match env_assignment(&word) {
            Some(pair) => res.pairs.push(pair),
            // The word may be a secret pasted without a name: never quoted.
            None => res.ignored.push(
                "invalid environment assignment (no NAME= before the value; the word is not shown), systemd ignores it"
                    .to_string(),
            ),
        }
    }
    res
}

/// See: src/basic/env-util.c env_name_is_valid(): non-empty, not starting with a digit,
/// only ASCII letters, digits and '_'.
fn env_name_is_valid(name: &str) -> bool {
    !name.is_empty()
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// See: src/basic/env-util.c env_assignment_is_valid().
fn env_assignment(word: &[u8]) -> Option<(String, String)> {
    let s = sd_utf8(word)?;
    let (name, value) = s.split_once('=')?;
    if !env_name_is_valid(name) {
        return None;
    }
    Some((name.to_string(), value.to_string()))
}

/// Detailed result of parsing an environment file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvFileParse {
    /// (name, value, line of the name) for every assignment systemd keeps, in file order; a
    /// later duplicate is listed too and wins.
    pub pairs: Vec<(String, String, usize)>,
    /// (line, message) for assignments systemd drops (invalid names such as `export FOO`)
    /// and version-dependent readings.
    pub notes: Vec<(usize, String)>,
    /// The file as a whole is rejected by systemd (invalid UTF-8 in a key or value, NUL byte).
    pub error: Option<String>,
}

/// Parses an EnvironmentFile.
///
/// Returns (name, value, 1-based line) for every assignment systemd would export, in file
/// order (for duplicates the last one wins). `export KEY=VAL` lines are **not** exported by
/// systemd (the key "export KEY" is not a valid name and is dropped), so they are not
/// returned; see [`parse_environment_file_detailed`] for the dropped lines.
pub fn parse_environment_file(text: &str) -> Vec<(String, String, usize)> {
    parse_env_file_bytes(text.as_bytes()).pairs
}

/// [`parse_environment_file`] with dropped lines and whole-file errors.
pub fn parse_environment_file_detailed(data: &[u8]) -> EnvFileParse {
    parse_env_file_bytes(data)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EnvState {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    SingleQuote,
    DoubleQuote,
    DoubleQuoteEscape,
    Comment,
    CommentEscape,
}

// See: src/basic/env-file.c parse_env_file_internal() (state machine reproduced here) and
// load_env_file_push(); src/core/execute.c exec_context_load_environment() then drops invalid
// names via strv_env_clean_with_callback(). Verified with libsystemd-shared-252.so:
//   "export FOO=bar"            -> dropped ("export FOO" is not a valid name)
//   "  KEY = value with  spaces  " -> KEY="value with  spaces"
//   Q1="a \"b\" \$x \n"         -> a "b" $x \n   (only \" \\ \` \$ and \<newline> unescape)
//   Q2='sq \n x'                -> verbatim
//   U=a\ b\\c\qd                -> "a b\cqd"     (unquoted: backslash keeps next char)
//   MIX=x"y z"w                 -> x"y z"w       (quotes after the first char are literal)
//   TRAIL="q" junk              -> qjunk
//   invalid UTF-8 in a key or value, or a NUL byte -> the whole file is rejected.
// systemd < 254 also continued a comment ending in a backslash onto the next line; newer
// versions do not (src/basic/env-file.c COMMENT_ESCAPE, "since v254"). The newer reading is
// used because it reports more variables; such lines get a note.
fn parse_env_file_bytes(data: &[u8]) -> EnvFileParse {
    let mut res = EnvFileParse::default();
    if let Some(pos) = data.iter().position(|&b| b == 0) {
        // See: src/basic/fileio.c read_full_file(): embedded NUL -> EBADMSG (verified: -74).
        res.error = Some(format!("NUL byte at offset {}", pos));
        return res;
    }
    let mut state = EnvState::PreKey;
    let mut key: Vec<u8> = Vec::new();
    let mut value: Vec<u8> = Vec::new();
    let mut last_key_ws: Option<usize> = None;
    let mut last_value_ws: Option<usize> = None;
    let mut line = 1usize;
    let mut key_line = 1usize;
    let mut comment_continued = false;
    let mut raw: Vec<(Vec<u8>, Vec<u8>, usize)> = Vec::new();

    let finish = |key: &mut Vec<u8>,
                  value: &mut Vec<u8>,
                  last_key_ws: Option<usize>,
                  key_line: usize,
                  raw: &mut Vec<(Vec<u8>, Vec<u8>, usize)>| {
        if let Some(k) = last_key_ws {
            key.truncate(k);
        }
        raw.push((std::mem::take(key), std::mem::take(value), key_line));
    };

    for &c in data {
        let newline = c == b'\n' || c == b'\r';
        match state {
            EnvState::PreKey => {
                if c == b'#' || c == b';' {
                    state = EnvState::Comment;
                    comment_continued = false;
                } else if !is_ws(c) {
                    state = EnvState::Key;
                    last_key_ws = None;
                    key_line = line;
                    if comment_continued {
                        res.notes.push((
                            line,
                            "follows a comment ending in a backslash: systemd >= 254 reads this \
                             line, systemd < 254 treats it as part of the comment"
                                .to_string(),
                        ));
                    }
                    comment_continued = false;
                    key.push(c);
                } else if c == b'\n' {
                    // systemd < 254 swallowed only the line right after the comment.
                    comment_continued = false;
                }
            }
            EnvState::Key => {
                if newline {
                    // A line without '=' is ignored. See: systemd.exec(5) EnvironmentFile=.
                    state = EnvState::PreKey;
                    key.clear();
                } else if c == b'=' {
                    state = EnvState::PreValue;
                    last_value_ws = None;
                } else {
                    push_tracking_ws(&mut key, &mut last_key_ws, c);
                }
            }
            EnvState::PreValue => {
                if newline {
                    state = EnvState::PreKey;
                    finish(&mut key, &mut value, last_key_ws, key_line, &mut raw);
                } else if c == b'\'' {
                    state = EnvState::SingleQuote;
                } else if c == b'"' {
                    state = EnvState::DoubleQuote;
                } else if c == b'\\' {
                    state = EnvState::ValueEscape;
                } else if !is_ws(c) {
                    state = EnvState::Value;
                    value.push(c);
                }
            }
            EnvState::Value => {
                if newline {
                    state = EnvState::PreKey;
                    if let Some(v) = last_value_ws {
                        value.truncate(v);
                    }
                    finish(&mut key, &mut value, last_key_ws, key_line, &mut raw);
                } else if c == b'\\' {
                    state = EnvState::ValueEscape;
                    last_value_ws = None;
                } else {
                    push_tracking_ws(&mut value, &mut last_value_ws, c);
                }
            }
            EnvState::ValueEscape => {
                state = EnvState::Value;
                if !newline {
                    value.push(c);
                }
            }
            EnvState::SingleQuote => {
                if c == b'\'' {
                    state = EnvState::PreValue;
                } else {
                    value.push(c);
                }
            }
            EnvState::DoubleQuote => {
                if c == b'"' {
                    state = EnvState::PreValue;
                } else if c == b'\\' {
                    state = EnvState::DoubleQuoteEscape;
                } else {
                    value.push(c);
                }
            }
            EnvState::DoubleQuoteEscape => {
                state = EnvState::DoubleQuote;
                // See: src/basic/string-util.h SHELL_NEED_ESCAPE "\"\\`$".
                if b"\"\\`$".contains(&c) {
                    value.push(c);
                } else if c != b'\n' {
                    value.push(b'\\');
                    value.push(c);
                }
            }
            EnvState::Comment => {
                if c == b'\\' {
                    state = EnvState::CommentEscape;
                } else if newline {
                    state = EnvState::PreKey;
                }
            }
            EnvState::CommentEscape => {
                if newline {
                    state = EnvState::PreKey;
                    comment_continued = true;
                } else {
                    state = EnvState::Comment;
                }
            }
        }
        if c == b'\n' {
            line += 1;
        }
    }
    match state {
        EnvState::PreValue
        | EnvState::Value
        | EnvState::ValueEscape
        | EnvState::SingleQuote
        | EnvState::DoubleQuote
        | EnvState::DoubleQuoteEscape => {
            if let (EnvState::Value, Some(v)) = (state, last_value_ws) {
                value.truncate(v);
            }
            finish(&mut key, &mut value, last_key_ws, key_line, &mut raw);
        }
        _ => {}
    }

    for (k, v, l) in raw {
        // See: src/basic/env-file.c check_utf8ness_and_warn(): an invalid key or value
        // fails the whole load_env_file() call (verified: -EINVAL, nothing exported).
        let (ks, vs) = match (sd_utf8(&k), sd_utf8(&v)) {
            (Some(ks), Some(vs)) => (ks, vs),
            _ => {
                res.pairs.clear();
                res.error = Some(format!("line {}: invalid UTF-8 in key or value", l));
                return res;
            }
        };
        if env_name_is_valid(ks) {
            res.pairs.push((ks.to_string(), vs.to_string(), l));
        } else {
            let hint = if ks.starts_with("export") && ks.len() > 6 && is_ws(ks.as_bytes()[6]) {
                " (systemd does not understand the shell 'export' prefix)"
            } else {
                ""
            };
            res.notes.push((
                l,
                // The "name" may be a secret pasted onto a line: never quoted.
                format!(
                    "not a valid variable name (not shown); systemd ignores this assignment{}",
                    hint
                ),
            ));
        }
    }
    res
}

/// Appends `c` to a key or value, keeping `trailing_ws` at the start of its trailing run of
/// whitespace (`None` when it ends in another byte), so that the run can be cut off where
/// the key or value ends, as parse_env_file_internal() does with `last_key_whitespace` and
/// `last_value_whitespace`.
fn push_tracking_ws(buf: &mut Vec<u8>, trailing_ws: &mut Option<usize>, c: u8) {
    if !is_ws(c) {
        *trailing_ws = None;
    } else if trailing_ws.is_none() {
        *trailing_ws = Some(buf.len());
    }
    buf.push(c);
}

/// `OS_SIMPLE_CRYPTO_PLUGIN__KEK` -> Some(("simple_crypto_plugin", "kek")); `OS_DEFAULT__X` -> ("DEFAULT", "x"); others None.
///
/// oslo.config builds the name as `'OS_{}__{}'.format(group.upper(), dest.upper())` with a
/// missing group written `DEFAULT`, and looks it up in `os.environ` case-sensitively, so only
/// names consisting of `[A-Z0-9_]` can ever be read. Option names with dashes are looked up by
/// their `dest` (dashes become underscores), so `auth-url` is `..__AUTH_URL` and is returned
/// as `auth_url`. The split is at the first `__` (group names do not contain `__`). The group
/// is returned lowercased (oslo group names are lowercase by convention; the mapping itself
/// is not invertible for mixed-case groups), except `DEFAULT`.
// See: oslo.config's oslo_config/sources/_environment.py get_name(), and cfg.py
// ConfigOpts._do_get() which passes the option's dest. Verified with Debian 12's
// python3-oslo.config (oslo.config 9.0.0): OS_SIMPLE_CRYPTO_PLUGIN__KEK, OS_DEFAULT__TRANSPORT_URL and
// OS_KEYSTONE_AUTHTOKEN__AUTH_URL (opt 'auth-url') are read; OS_VAULT_PLUGIN__root_token_id
// is not.
pub fn oslo_env_option(var: &str) -> Option<(String, String)> {
    let rest = var.strip_prefix("OS_")?;
    if !rest
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let (group, option) = rest.split_once("__")?;
    if group.is_empty() || option.is_empty() {
        return None;
    }
    let group = if group == "DEFAULT" {
        "DEFAULT".to_string()
    } else {
        group.to_ascii_lowercase()
    };
    Some((group, option.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::super::barbican_units;
    use super::super::syntax::glob_match;
    use super::super::test_util::{api_unit, env_of, pairs, unit};
    use super::*;
    use crate::fs::testing::MemFs;

    #[test]
    fn empty_environment_in_later_dropin_resets_earlier_assignments() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-worker.service",
                "[Service]\nEnvironment=A=1 B=2\n",
            )
            .file(
                "/etc/systemd/system/barbican-worker.service.d/10-kek.conf",
                "[Service]\nEnvironment=OS_SIMPLE_CRYPTO_PLUGIN__KEK=secret\n",
            )
            .file(
                "/etc/systemd/system/barbican-worker.service.d/20-reset.conf",
                "[Service]\nEnvironment=\nEnvironment=C=3\n",
            );
        let units = barbican_units(&fs);
        let u = unit(&units, "barbican-worker.service");
        assert_eq!(env_of(u), pairs(&[("C", "3")]));
        assert_eq!(
            u.env[0].file,
            PathBuf::from("/etc/systemd/system/barbican-worker.service.d/20-reset.conf")
        );
        assert_eq!(u.env[0].line, 3);
        assert_eq!(u.dropins.len(), 2);
    }

    #[test]
    fn optional_missing_environment_file_is_not_a_problem() {
        let u = &api_unit("[Service]\nEnvironmentFile=-/etc/barbican/env\nEnvironment=A=1\n");
        assert_eq!(
            u.env_files,
            vec![(
                PathBuf::from("/etc/barbican/env"),
                true,
                PathBuf::from("/lib/systemd/system/barbican-api.service"),
                2
            )]
        );
        assert!(u.problems.is_empty(), "{:?}", u.problems);
        assert_eq!(env_of(u), pairs(&[("A", "1")]));
    }

    #[test]
    fn required_missing_environment_file_is_a_problem() {
        let u = &api_unit("[Service]\nEnvironmentFile=/etc/barbican/env\n");
        assert_eq!(u.env_files.len(), 1);
        assert!(!u.env_files[0].1);
        assert_eq!(u.problems.len(), 1, "{:?}", u.problems);
        assert!(
            u.problems[0].contains("/lib/systemd/system/barbican-api.service:2"),
            "{}",
            u.problems[0]
        );
        assert!(
            u.problems[0].contains("refuses to start"),
            "{}",
            u.problems[0]
        );
    }

    #[test]
    fn optional_but_unreadable_environment_file_is_reported() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironmentFile=-/etc/barbican/env\n",
            )
            .denied("/etc/barbican/env");
        let u = &barbican_units(&fs)[0];
        assert_eq!(u.problems.len(), 1, "{:?}", u.problems);
        assert!(u.problems[0].contains("could not check"));
    }

    #[test]
    fn environment_file_overrides_environment_in_place_and_records_its_location() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=A=1 OS_P11_CRYPTO_PLUGIN__LOGIN=unit B=2\nEnvironmentFile=/etc/barbican/env\n",
            )
            .file("/etc/barbican/env", "# secrets\nOS_P11_CRYPTO_PLUGIN__LOGIN=pin1234\nC=3\n");
        let u = &barbican_units(&fs)[0];
        assert_eq!(
            env_of(u),
            pairs(&[
                ("A", "1"),
                ("OS_P11_CRYPTO_PLUGIN__LOGIN", "pin1234"),
                ("B", "2"),
                ("C", "3")
            ])
        );
        let login = &u.env[1];
        assert_eq!(login.file, PathBuf::from("/etc/barbican/env"));
        assert_eq!(login.line, 2);
        assert_eq!(
            login.via,
            Via::EnvironmentFile(PathBuf::from("/etc/barbican/env"))
        );
        // An empty EnvironmentFile= resets the list.
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironmentFile=/etc/barbican/env\n",
            )
            .file(
                "/etc/systemd/system/barbican-api.service.d/x.conf",
                "[Service]\nEnvironmentFile=\n",
            )
            .file("/etc/barbican/env", "K=v\n");
        let u = &barbican_units(&fs)[0];
        assert!(
            u.env_files.is_empty() && u.env.is_empty() && u.problems.is_empty(),
            "{:?}",
            u
        );
    }

    #[test]
    fn environment_file_glob_and_bad_paths() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironmentFile=/etc/barbican/env.d/*.env\nEnvironmentFile=-relative/env\nEnvironmentFile=/etc/../etc/x\nEnvironmentFile=/etc/none/*.env\n",
            )
            .file("/etc/barbican/env.d/b.env", "B=2\n")
            .file("/etc/barbican/env.d/a.env", "A=1\nB=1\n")
            .file("/etc/barbican/env.d/.hidden.env", "H=1\n")
            .file("/etc/barbican/env.d/c.txt", "C=1\n");
        let u = &barbican_units(&fs)[0];
        assert_eq!(env_of(u), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(u.env_files.len(), 2);
        assert_eq!(u.problems.len(), 3, "{:?}", u.problems);
        assert!(glob_match(b"[a-c]?.env", b"b1.env"));
        assert!(!glob_match(b"[!a-c]*", b"b1.env"));
        assert!(glob_match(b"x\\*", b"x*"));
    }

    #[test]
    fn export_prefix_in_environment_file_is_dropped_like_systemd() {
        // Verified with load_env_file() of libsystemd-shared-252: "export FOO=bar" yields the
        // assignment "export FOO=bar", which strv_env_clean() drops as an invalid name.
        let text = "export FOO=bar\nexport\tBAZ=1\nPLAIN=ok\n";
        assert_eq!(
            parse_environment_file(text),
            vec![("PLAIN".to_string(), "ok".to_string(), 3)]
        );
        let d = parse_environment_file_detailed(text.as_bytes());
        assert_eq!(d.notes.len(), 2);
        assert!(d.notes[0].1.contains("export"));
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironmentFile=/etc/default/barbican\n",
            )
            .file(
                "/etc/default/barbican",
                "export OS_SIMPLE_CRYPTO_PLUGIN__KEK=abc\n",
            );
        let u = &barbican_units(&fs)[0];
        assert!(u.env.is_empty());
        assert_eq!(u.problems.len(), 1);
        assert!(
            u.problems[0].starts_with("/etc/default/barbican:1: not a valid variable name")
                && u.problems[0].contains("'export' prefix")
                && !u.problems[0].contains("OS_SIMPLE"),
            "{}",
            u.problems[0]
        );
    }

    #[test]
    fn environment_file_quoting_matches_systemd_252() {
        // Same input as the libsystemd-shared-252 check (misc.env).
        let text = "# c\n; c2\n  KEY = value with  spaces  \nQ1=\"a \\\"b\\\" \\$x \\n\"\nQ2='sq \\n x'\nU=a\\ b\\\\c\\qd\nCONT=abc\\\ndef\nML=\"line1\nline2\"\nNOEQ\nEMPTY=\nDUP=1\nDUP=2\n1BAD=x\nA-B=y\nMIX=x\"y z\"w\nTRAIL=\"q\" junk\n";
        let got: Vec<(String, String)> = parse_environment_file(text)
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect();
        assert_eq!(
            got,
            pairs(&[
                ("KEY", "value with  spaces"),
                ("Q1", "a \"b\" $x \\n"),
                ("Q2", "sq \\n x"),
                ("U", "a b\\cqd"),
                ("CONT", "abcdef"),
                ("ML", "line1\nline2"),
                ("EMPTY", ""),
                ("DUP", "1"),
                ("DUP", "2"),
                ("MIX", "x\"y z\"w"),
                ("TRAIL", "qjunk"),
            ])
        );
        let lines: Vec<usize> = parse_environment_file(text).iter().map(|p| p.2).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7, 9, 12, 13, 14, 17, 18]);
        assert_eq!(parse_environment_file("A=1\r\nB=2\r\n").len(), 2);
        assert_eq!(
            parse_environment_file("LAST=noeol"),
            vec![("LAST".into(), "noeol".into(), 1)]
        );
        assert_eq!(
            parse_environment_file("UQ=\"unterminated\nX=1\n"),
            vec![("UQ".into(), "unterminated\nX=1\n".into(), 1)]
        );
        // A comment ending in a backslash: systemd >= 254 reads the next line (noted).
        let d = parse_environment_file_detailed(b"# c \\\nAFTER=1\n");
        assert_eq!(d.pairs, vec![("AFTER".into(), "1".into(), 2)]);
        assert_eq!(d.notes.len(), 1);
        // Whole-file rejections (verified: -EINVAL / -EBADMSG).
        assert!(parse_environment_file_detailed(b"A=\xff\xfe\nB=ok\n")
            .error
            .is_some());
        assert!(parse_environment_file_detailed(b"A=1\nB=x\0y\n")
            .error
            .is_some());
        // Invalid UTF-8 inside a comment is fine.
        assert_eq!(
            parse_environment_file_detailed(b"# \xff\nA=1\n")
                .pairs
                .len(),
            1
        );
    }

    #[test]
    fn oslo_env_option_maps_like_oslo_config() {
        for (var, group, option) in [
            (
                "OS_SIMPLE_CRYPTO_PLUGIN__KEK",
                "simple_crypto_plugin",
                "kek",
            ),
            ("OS_DEFAULT__X", "DEFAULT", "x"),
            ("OS_DEFAULT__TRANSPORT_URL", "DEFAULT", "transport_url"),
            (
                "OS_KEYSTONE_AUTHTOKEN__AUTH_URL",
                "keystone_authtoken",
                "auth_url",
            ),
            (
                "OS_VAULT_PLUGIN__ROOT_TOKEN_ID",
                "vault_plugin",
                "root_token_id",
            ),
            ("OS_A__B__C", "a", "b__c"),
        ] {
            assert_eq!(
                oslo_env_option(var),
                Some((group.to_string(), option.to_string())),
                "{var}"
            );
        }
        for none in [
            "OS_VAULT_PLUGIN__root_token_id",
            "os_default__x",
            "OS_DEFAULT_X",
            "OS___X",
            "OS_X__",
            "OS_",
            "",
            "PATH",
            "XOS_A__B",
            "OS_A-B__C",
        ] {
            assert_eq!(oslo_env_option(none), None, "{}", none);
        }
    }
}
