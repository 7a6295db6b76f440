//! systemd's unit-file syntax (systemd.syntax(7)): physical and logical lines, comments,
//! sections, continuations; the quoting and C escapes of `Environment=` values; and the path
//! and wildcard rules of `EnvironmentFile=`.

use std::path::{Component, Path, PathBuf};

/// One `Environment=`/`EnvironmentFile=` directive of the `[Service]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Directive {
    pub(super) key: String,
    pub(super) value: String,
    pub(super) line: usize,
}

/// systemd's whitespace set. See: src/basic/string-util.h WHITESPACE.
pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn trim_ws(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ws(b)).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// Splits into physical lines like systemd's read_line(): "\n", "\r", "\0" and the pairs
/// "\r\n"/"\n\r" (each optionally followed by "\0") end a line.
// See: src/basic/fileio.c read_line_full() comment listing the accepted EOL markers.
fn physical_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if c == b'\n' || c == b'\r' || c == 0 {
            lines.push(&data[start..i]);
            i += 1;
            if c != 0 {
                let other = if c == b'\n' { b'\r' } else { b'\n' };
                if data.get(i) == Some(&other) {
                    i += 1;
                }
                if data.get(i) == Some(&0) {
                    i += 1;
                }
            }
            start = i;
        } else {
            i += 1;
        }
    }
    if start < data.len() {
        lines.push(&data[start..]);
    }
    lines
}

/// Parses one unit file / drop-in and returns the `[Service]` `Environment=` and
/// `EnvironmentFile=` directives in order. Syntax problems go to `problems`.
// See: systemd.syntax(7) and src/shared/conf-parser.c config_parse()/parse_line():
// - a line ending in an unescaped backslash is joined with the next, the backslash becoming
//   a space; comment lines inside such a continuation are skipped;
// - a comment line is never itself continued (verified: a "# ... \" line does not swallow
//   the next directive);
// - a pending continuation at EOF is still parsed (verified);
// - sections and keys are case-sensitive; whitespace around '=' is stripped;
// - a UTF-8 BOM at the very start is skipped.
pub(super) fn parse_unit_file(
    data: &[u8],
    path: &Path,
    problems: &mut Vec<String>,
) -> Vec<Directive> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    let mut continuation: Option<(Vec<u8>, usize)> = None;
    let lines = physical_lines(data);
    let mut handle = |logical: &[u8],
                      line: usize,
                      section: &mut Option<String>,
                      out: &mut Vec<Directive>| {
        let l = trim_ws(logical);
        if l.is_empty() || l[0] == b'#' || l[0] == b';' {
            return;
        }
        let text = match std::str::from_utf8(l) {
            Ok(t) => t,
            Err(_) => {
                // See: src/shared/conf-parser.c parse_line(): "String is not UTF-8 clean";
                // on systemd 252 the unit then fails to load (verified). Keep going so that
                // the rest of the file is still audited.
                problems.push(format!(
                    "{}:{}: line is not valid UTF-8; systemd fails to load this unit",
                    path.display(),
                    line
                ));
                return;
            }
        };
        if let Some(rest) = text.strip_prefix('[') {
            match rest.strip_suffix(']') {
                Some(name) => *section = Some(name.to_string()),
                None => {
                    // The line is not quoted: it may be a pasted secret.
                    problems.push(format!(
                            "{}:{}: invalid section header (a '[' line without ']'; not shown); systemd fails to load this unit",
                            path.display(),
                            line,
                        ));
                    *section = None;
                }
            }
            return;
        }
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (trim_ws_str(k), trim_ws_str(v)),
            None => return, // systemd: "Missing '=', ignoring line."
        };
        if section.as_deref() == Some("Service")
            && (key == "Environment" || key == "EnvironmentFile")
        {
            out.push(Directive {
                key: key.to_string(),
                value: value.to_string(),
                line,
            });
        }
    };
    for (idx, raw) in lines.iter().enumerate() {
        let line = idx + 1;
        let (mut logical, start) = match continuation.take() {
            Some((mut acc, start)) => {
                let first = raw.iter().copied().find(|&b| !is_ws(b));
                if matches!(first, Some(b'#') | Some(b';')) {
                    continuation = Some((acc, start));
                    continue;
                }
                acc.extend_from_slice(raw);
                (acc, start)
            }
            None => {
                let first = raw.iter().copied().find(|&b| !is_ws(b));
                if matches!(first, Some(b'#') | Some(b';')) {
                    continue;
                }
                (raw.to_vec(), line)
            }
        };
        // Only the newly read physical line needs scanning: the previous part ended in a
        // backslash that became a space, which leaves the escape state "not escaped". This
        // keeps long continuation chains linear.
        let mut escaped = false;
        for &b in *raw {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            }
        }
        if escaped {
            if let Some(last) = logical.last_mut() {
                *last = b' ';
            }
            continuation = Some((logical, start));
            continue;
        }
        handle(&logical, start, &mut section, &mut out);
    }
    if let Some((logical, start)) = continuation.take() {
        handle(&logical, start, &mut section, &mut out);
    }
    out
}

fn trim_ws_str(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r')
}

/// The words of an `Environment=` value, split like `extract_first_word(...,
/// EXTRACT_CUNESCAPE|EXTRACT_UNQUOTE)`: whitespace separates words, single and double quotes
/// (which may open mid-word) group them, C escapes are processed in and out of quotes. The
/// second value is the syntax error (unbalanced quote, bad escape) at which systemd stops and
/// ignores the rest of the line; the words before it still count.
// See: src/basic/extract-word.c; systemd.syntax(7) "QUOTING"; the verified cases are listed
// on `environment::parse_environment_value_detailed`.
pub(super) fn split_quoted_words(v: &str) -> (Vec<Vec<u8>>, Option<String>) {
    let mut words = Vec::new();
    let b = v.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            return (words, None);
        }
        let mut word: Vec<u8> = Vec::new();
        let mut quote: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            if c == b'\\' {
                match cunescape_one(&b[i + 1..]) {
                    Some((bytes, used)) => {
                        word.extend_from_slice(&bytes);
                        i += 1 + used;
                    }
                    None => {
                        // The sequence is part of the value (maybe a secret): not quoted.
                        return (
                            words,
                            Some(
                                "invalid escape sequence (a backslash systemd does not accept; the value is not shown)"
                                    .to_string(),
                            ),
                        );
                    }
                }
                continue;
            }
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => word.push(c),
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None if is_ws(c) => break,
                None => word.push(c),
            }
            i += 1;
        }
        if quote.is_some() {
            return (words, Some("unbalanced quoting".to_string()));
        }
        words.push(word);
    }
}

/// One C-style escape after a backslash: returns the bytes it stands for and how many input
/// bytes it used, `None` if systemd rejects it.
// See: src/basic/escape.c cunescape_one() and systemd.syntax(7) Table 1. \x and octal give a
// raw byte ("eight_bit"), \u/\U a UTF-8 encoded code point; NUL is never allowed; \U checks
// unichar_is_valid(), \u does not (a surrogate then fails the later UTF-8 check).
fn cunescape_one(p: &[u8]) -> Option<(Vec<u8>, usize)> {
    let c = *p.first()?;
    let simple = match c {
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        b'\\' => Some(b'\\'),
        b'"' => Some(b'"'),
        b'\'' => Some(b'\''),
        b's' => Some(b' '),
        _ => None,
    };
    if let Some(s) = simple {
        return Some((vec![s], 1));
    }
    let hex = |n: usize| -> Option<u32> {
        let digits = p.get(1..1 + n)?;
        let mut v: u32 = 0;
        for &d in digits {
            v = (v << 4) | (d as char).to_digit(16)?;
        }
        Some(v)
    };
    match c {
        b'x' => {
            let v = hex(2)?;
            if v == 0 {
                return None;
            }
            Some((vec![v as u8], 3))
        }
        b'u' => {
            let v = hex(4)?;
            if v == 0 {
                return None;
            }
            Some((encode_utf8_raw(v), 5))
        }
        b'U' => {
            let v = hex(8)?;
            if v == 0 || !unichar_is_valid(v) {
                return None;
            }
            Some((encode_utf8_raw(v), 9))
        }
        b'0'..=b'7' => {
            let digits = p.get(0..3)?;
            let mut v: u32 = 0;
            for &d in digits {
                if !(b'0'..=b'7').contains(&d) {
                    return None;
                }
                v = (v << 3) | u32::from(d - b'0');
            }
            if v == 0 || v > 255 {
                return None;
            }
            Some((vec![v as u8], 3))
        }
        _ => None,
    }
}

/// UTF-8 encoding without validity checks (surrogates included), like utf8_encode_unichar().
fn encode_utf8_raw(cp: u32) -> Vec<u8> {
    if cp < 0x80 {
        vec![cp as u8]
    } else if cp < 0x800 {
        vec![0xc0 | (cp >> 6) as u8, 0x80 | (cp & 0x3f) as u8]
    } else if cp < 0x10000 {
        vec![
            0xe0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]
    } else {
        vec![
            0xf0 | ((cp >> 18) & 0x07) as u8,
            0x80 | ((cp >> 12) & 0x3f) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]
    }
}

// See: src/basic/utf8.c unichar_is_valid(): no surrogates, no U+FDD0..U+FDEF, no U+xFFFE/xFFFF.
fn unichar_is_valid(c: u32) -> bool {
    c < 0x110000
        && (c & 0xffff_f800) != 0xd800
        && !(0xfdd0..=0xfdef).contains(&c)
        && (c & 0xfffe) != 0xfffe
}

/// systemd's utf8_is_valid(): well-formed UTF-8 whose code points pass unichar_is_valid().
pub(super) fn sd_utf8(bytes: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(bytes).ok()?;
    if s.chars().all(|c| unichar_is_valid(c as u32)) {
        Some(s)
    } else {
        None
    }
}

/// See: src/basic/path-util.c path_simplify_and_warn(PATH_CHECK_ABSOLUTE): absolute, "//"
/// and "/./" collapsed, ".." refused (not normalized).
pub(super) fn simplify_abs_path(raw: &str) -> Result<PathBuf, &'static str> {
    if !raw.starts_with('/') {
        return Err("is not an absolute path");
    }
    let mut out = PathBuf::from("/");
    for comp in Path::new(raw).components() {
        match comp {
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => return Err("contains '..' (not normalized)"),
            Component::Normal(n) => out.push(n),
            Component::Prefix(_) => return Err("is not a valid path"),
        }
    }
    Ok(out)
}

/// fnmatch(3)-style match of one path component: `*`, `?`, `[...]` (with `!`/`^` negation
/// and ranges), `\` escapes; a leading '.' must be matched literally (glob(3) default).
/// Greedy with a single backtrack point, so hostile patterns cost O(pattern * name).
pub(super) fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') {
        return false;
    }
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pat.len() {
            if pat[p] == b'*' {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            if let Some(used) = glob_one(pat, p, name[n]) {
                p += used;
                n += 1;
                continue;
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    while p < pat.len() && pat[p] == b'*' {
        p += 1;
    }
    p == pat.len()
}

/// Matches the single pattern element at `pat[p]` (not `*`) against `c`; returns how many
/// pattern bytes it used.
fn glob_one(pat: &[u8], p: usize, c: u8) -> Option<usize> {
    match pat[p] {
        b'?' => Some(1),
        b'[' => {
            let mut q = p + 1;
            let negate = matches!(pat.get(q), Some(b'!') | Some(b'^'));
            if negate {
                q += 1;
            }
            let mut matched = false;
            let mut first = true;
            while q < pat.len() {
                if pat[q] == b']' && !first {
                    return if matched != negate {
                        Some(q + 1 - p)
                    } else {
                        None
                    };
                }
                first = false;
                let lo = pat[q];
                if pat.get(q + 1) == Some(&b'-') && pat.get(q + 2).is_some_and(|&h| h != b']') {
                    let hi = pat[q + 2];
                    matched |= lo <= c && c <= hi;
                    q += 3;
                } else {
                    matched |= lo == c;
                    q += 1;
                }
            }
            // An unterminated '[' is a literal character.
            if c == b'[' {
                Some(1)
            } else {
                None
            }
        }
        b'\\' if p + 1 < pat.len() => {
            if pat[p + 1] == c {
                Some(2)
            } else {
                None
            }
        }
        lit => {
            if lit == c {
                Some(1)
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::barbican_units;
    use super::super::environment::{parse_environment_value, parse_environment_value_detailed};
    use super::super::test_util::{api_unit, env_of, pairs};
    use crate::fs::testing::MemFs;

    #[test]
    fn double_and_single_quoted_assignments_keep_spaces() {
        assert_eq!(
            parse_environment_value(r#""A=b c" 'D=e f'"#),
            Ok(pairs(&[("A", "b c"), ("D", "e f")]))
        );
        // Verified on systemd 252: quotes may open mid-word and escapes work in both quotes.
        assert_eq!(
            parse_environment_value(r#"MID="x y"z NEXT=1"#),
            Ok(pairs(&[("MID", "x yz"), ("NEXT", "1")]))
        );
        assert_eq!(
            parse_environment_value(r#"SQ='a\tb' Q="a\"b\\c""#),
            Ok(pairs(&[("SQ", "a\tb"), ("Q", "a\"b\\c")]))
        );
        assert_eq!(
            parse_environment_value(r#""VAR1=word1 word2" VAR2=word3 "VAR3=$word 5 6""#),
            Ok(pairs(&[
                ("VAR1", "word1 word2"),
                ("VAR2", "word3"),
                ("VAR3", "$word 5 6")
            ]))
        );
    }

    #[test]
    fn c_escapes_follow_systemd_252() {
        assert_eq!(
            parse_environment_value(
                r"ESC=a\x41\tb\\c\sd\u00e9 OCT=\101 U1=\xc3\xa9 U2=\303\251 BIG=\U0001F600"
            ),
            Ok(pairs(&[
                ("ESC", "aA\tb\\c dé"),
                ("OCT", "A"),
                ("U1", "é"),
                ("U2", "é"),
                ("BIG", "😀")
            ]))
        );
        for bad in [
            r"A=\q",
            r"A=\0 X=1",
            r"A=\x4",
            r"A=\777",
            r"A=\x00",
            r"A=\u0000",
            r"A=\U00110000",
            r"A=\Ud800",
            "A=b\\",
        ] {
            let d = parse_environment_value_detailed(bad);
            assert!(d.error.is_some(), "{} should be a syntax error", bad);
            assert!(d.pairs.is_empty());
        }
        // Raw invalid UTF-8 or a surrogate via \u only drops that word.
        let d = parse_environment_value_detailed(r"EIGHT=\x80 SUR=\ud800 E2=ok");
        assert_eq!(d.pairs, pairs(&[("E2", "ok")]));
        assert_eq!(d.ignored.len(), 2);
        assert_eq!(d.error, None);
        // Control characters are accepted (verified), '$' is literal.
        assert_eq!(
            parse_environment_value(r"CTRL=a\x01b D=$HOME"),
            Ok(pairs(&[("CTRL", "a\u{1}b"), ("D", "$HOME")]))
        );
    }

    #[test]
    fn syntax_error_keeps_assignments_before_it_and_invalid_names_are_skipped() {
        let d = parse_environment_value_detailed(r#"FIRST=1 B="x"y"z" "UNBAL=2 LATER=3"#);
        assert_eq!(d.pairs, pairs(&[("FIRST", "1"), ("B", "xyz")]));
        assert!(d.error.is_some());
        assert!(parse_environment_value(r#"FIRST=1 "UNBAL=2"#).is_err());
        let d = parse_environment_value_detailed(r#"1BAD=x GOOD=y -X=z NOEQ =v EMPTYV= """#);
        assert_eq!(d.pairs, pairs(&[("GOOD", "y"), ("EMPTYV", "")]));
        assert_eq!(d.ignored.len(), 5);
        assert!(parse_environment_value("1BAD=x GOOD=y").is_err());
        assert_eq!(parse_environment_value(""), Ok(vec![]));
        assert_eq!(parse_environment_value("  \t "), Ok(vec![]));
    }

    #[test]
    fn continuation_lines_are_joined_with_a_space() {
        let u = &api_unit(
            "[Service]\nEnvironment=CONT=one \\\n   two\nEnvironment=G=a\\\nH=1\nEnvironment=TRAILBS=a\\\\\nEnvironment=\"Q=x \\\n y\"\nEnvironment=LAST=1 \\",
        );
        // "two" alone is an invalid assignment (verified on systemd 252).
        assert_eq!(
            env_of(u),
            pairs(&[
                ("CONT", "one"),
                ("G", "a"),
                ("H", "1"),
                ("TRAILBS", "a\\"),
                ("Q", "x   y"),
                ("LAST", "1")
            ])
        );
        assert_eq!(u.env[0].line, 2);
        assert_eq!(u.env[2].line, 4);
        assert_eq!(u.problems.len(), 1, "{:?}", u.problems);
        assert!(
            // The word is never quoted (it may be a secret without a name).
            u.problems[0].contains(":2: invalid environment assignment (no NAME=")
                && !u.problems[0].contains("two"),
            "{}",
            u.problems[0]
        );
    }

    #[test]
    fn comments_are_ignored_also_inside_continuations() {
        let u = &api_unit(
            "# Environment=HASH=1\n; Environment=SEMI=1\n[Service]\n  # Environment=INDENTED=1\nEnvironment=C2=x\\\n# comment inside continuation\n; another\n  y\n# comment ending in backslash \\\nEnvironment=NOT_SWALLOWED=1\nEnvironment=A=1 #not-a-comment\n",
        );
        assert_eq!(
            env_of(u),
            pairs(&[("C2", "x"), ("NOT_SWALLOWED", "1"), ("A", "1")])
        );
        // "y" and "#not-a-comment" are invalid assignments systemd ignores.
        assert_eq!(u.problems.len(), 2, "{:?}", u.problems);
    }

    #[test]
    fn sections_and_keys_are_case_sensitive_and_only_service_counts() {
        let u = &api_unit(
            "Environment=OUTSIDE=1\n[Unit]\nEnvironment=INUNIT=1\n[service]\nEnvironment=LOWERSEC=1\n[Service]\nenvironment=LOWERKEY=1\n  Environment  =  SP=1  \nEnvironment = SPACED = v\n[Install]\nEnvironment=INSTALL=1\n",
        );
        assert_eq!(env_of(u), pairs(&[("SP", "1")]));
    }

    #[test]
    fn invalid_section_header_and_non_utf8_lines_are_reported_but_rest_is_audited() {
        let fs = MemFs::new().bytes(
            "/lib/systemd/system/barbican-api.service",
            b"\xef\xbb\xbf[Service]\nEnvironment=\xff\xfeBAD=1\nEnvironment=AFTER=1\n[Service\nEnvironment=NOSECTION=1\n",
        );
        let u = &barbican_units(&fs)[0];
        assert_eq!(env_of(u), pairs(&[("AFTER", "1")]));
        assert_eq!(u.problems.len(), 2, "{:?}", u.problems);
        assert!(u.problems[0].contains(":2: line is not valid UTF-8"));
        assert!(u.problems[1].contains(":4: invalid section header"));
    }
}
