//! The oslo.config ini dialect, line for line.
//!
//! Why not `rust-ini`: oslo.config's parser (`oslo_config/iniparser.py`) has
//! rules rust-ini cannot express and we need line numbers for every value
//! (evidence must say which file and line set an option):
//! * a line starting with space or tab continues the previous value (joined
//!   with `\n`), and an indented line after a blank line is a parse error;
//! * exactly one pair of matching quotes is stripped, no escapes;
//! * no inline comments (`kek = abc # x` is the value `abc # x`);
//! * the separator is the first of `=` or `:`;
//! * duplicate keys are all kept (single-valued options take the last,
//!   MultiStr options take all), repeated sections merge;
//! * `[DEFAULT]` is case-exact, other group names are lowercased, keys are
//!   case-sensitive.
//!
//! See: oslo.config 9.0.0 `iniparser.py` `BaseParser.parse`, `_split_key_value`,
//! `_get_section`; `cfg.py` `ConfigParser.assignment`, `_normalize_group_name`.

/// One assignment as oslo.config records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// Group name after oslo's normalisation (`DEFAULT`, or lowercased).
    pub group: String,
    /// The key exactly as written (keys are case-sensitive).
    pub key: String,
    /// The value after quote stripping, continuation lines joined with `\n`.
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
}

/// A parse error oslo.config would raise (`ConfigFileParseError`): the
/// service refuses to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What oslo.config would say.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A parsed file: every assignment in file order. oslo.config stops at the
/// first error and loads nothing from the file; we keep what came before the
/// error so other checks can still say something, and report the error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct File {
    /// Assignments in file order.
    pub values: Vec<Value>,
    /// The first error, if the file would not load.
    pub error: Option<ParseError>,
}

impl File {
    /// Values of `group`/`key` in file order.
    pub fn get_all(&self, group: &str, key: &str) -> Vec<&Value> {
        self.values
            .iter()
            .filter(|v| v.group == group && v.key == key)
            .collect()
    }
}

/// oslo.config's group name normalisation: `DEFAULT` stays, everything else
/// is lowercased (`[default]` is a group named `default`, not DEFAULT).
pub fn normalize_group(name: &str) -> String {
    if name == "DEFAULT" {
        name.to_string()
    } else {
        name.to_lowercase()
    }
}

/// Parses file bytes. Invalid UTF-8 is an error, as Python's `open()` in a
/// UTF-8 locale would raise while reading.
pub fn parse_bytes(bytes: &[u8]) -> File {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            let mut f = parse(std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""));
            f.error = f.error.or(Some(ParseError {
                line,
                message: "file is not valid UTF-8".to_string(),
            }));
            f
        }
    }
}

/// Parses text exactly as oslo.config's `BaseParser.parse` does.
pub fn parse(text: &str) -> File {
    let mut out = File::default();
    let mut section: Option<String> = None;
    // The assignment being built: key, value lines, line number.
    let mut pending: Option<(String, Vec<String>, usize)> = None;

    for (idx, raw) in text.split('\n').enumerate() {
        let lineno = idx + 1;
        // Python's readlines() keeps "\r" only for "\r\n" files; rstrip() drops it.
        let line = raw.trim_end();
        if line.is_empty() {
            if let Some(p) = pending.take() {
                if let Err(e) = flush(&mut out, &section, p) {
                    out.error = Some(e);
                    return out;
                }
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match pending.as_mut() {
                Some((_, lines, _)) => lines.push(line.trim_start().to_string()),
                None => {
                    out.error = Some(ParseError {
                        line: lineno,
                        // Never quote the line: it may be a secret (a wrapped
                        // KEK, a password) that lost its key to a blank line.
                        message: "Unexpected continuation line (an indented line after a blank line; the line is not shown)".to_string(),
                    });
                    return out;
                }
            }
            continue;
        }
        if let Some(p) = pending.take() {
            if let Err(e) = flush(&mut out, &section, p) {
                out.error = Some(e);
                return out;
            }
        }
        if line.starts_with('[') {
            if !line.ends_with(']') {
                out.error = Some(ParseError {
                    line: lineno,
                    message: "Invalid section (must end with ])".to_string(),
                });
                return out;
            }
            if line.len() <= 2 {
                out.error = Some(ParseError {
                    line: lineno,
                    message: "Empty section name".to_string(),
                });
                return out;
            }
            section = Some(line[1..line.len() - 1].to_string());
        } else if line.starts_with(['#', ';']) {
            // whole-line comment
        } else {
            let colon = line.find(':');
            let equal = line.find('=');
            let (key, value) = match (colon, equal) {
                (None, None) => {
                    out.error = Some(ParseError {
                        line: lineno,
                        message: "No ':' or '=' found in assignment".to_string(),
                    });
                    return out;
                }
                (Some(c), Some(e)) if c < e => (&line[..c], &line[c + 1..]),
                (Some(c), None) => (&line[..c], &line[c + 1..]),
                (_, Some(e)) => (&line[..e], &line[e + 1..]),
            };
            let key = key.trim();
            if key.is_empty() {
                out.error = Some(ParseError {
                    line: lineno,
                    message: "Key cannot be empty".to_string(),
                });
                return out;
            }
            pending = Some((key.to_string(), vec![strip_quotes(value.trim())], lineno));
        }
    }
    if let Some(p) = pending.take() {
        if let Err(e) = flush(&mut out, &section, p) {
            out.error = Some(e);
        }
    }
    out
}

fn flush(
    out: &mut File,
    section: &Option<String>,
    (key, lines, line): (String, Vec<String>, usize),
) -> Result<(), ParseError> {
    match section {
        None => Err(ParseError {
            line,
            message: "Section must be started before assignment".to_string(),
        }),
        Some(s) => {
            out.values.push(Value {
                group: normalize_group(s),
                key,
                value: lines.join("\n"),
                line,
            });
            Ok(())
        }
    }
}

/// One matching pair of `"` or `'` is removed (`value[0] == value[-1]`).
/// See: oslo_config/iniparser.py `_split_key_value`.
fn strip_quotes(v: &str) -> String {
    let b = v.as_bytes();
    if !b.is_empty() && (b[0] == b'"' || b[0] == b'\'') && b[0] == b[b.len() - 1] {
        // A lone quote character is also "stripped" to the empty string in Python.
        if b.len() == 1 {
            return String::new();
        }
        return v[1..v.len() - 1].to_string();
    }
    v.to_string()
}

/// Interprets a value as oslo.config's `types.Boolean` would.
/// See: oslo_config/types.py `Boolean.__call__`.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Some(true),
        "false" | "0" | "off" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Value {
        let f = parse(text);
        assert!(f.error.is_none(), "{:?}", f.error);
        f.values.into_iter().next().unwrap()
    }

    #[test]
    fn quotes_stripped_once() {
        assert_eq!(one("[a]\nk = 'abc'").value, "abc");
        assert_eq!(one("[a]\nk = \"'abc'\"").value, "'abc'");
        assert_eq!(one("[a]\nk = 'abc\"").value, "'abc\"");
    }

    #[test]
    fn no_inline_comments() {
        assert_eq!(one("[a]\nkek = abc # x").value, "abc # x");
    }

    #[test]
    fn first_separator_wins() {
        let v = one("[a]\ncolon: value:with=x");
        assert_eq!(
            (v.key.as_str(), v.value.as_str()),
            ("colon", "value:with=x")
        );
        let v = one("[a]\nurl = http://x:5000");
        assert_eq!((v.key.as_str(), v.value.as_str()), ("url", "http://x:5000"));
    }

    #[test]
    fn continuation_joins_and_indented_comment_joins() {
        assert_eq!(one("[a]\nk = abc\n  def\n\t# c").value, "abc\ndef\n# c");
    }

    #[test]
    fn continuation_after_blank_line_is_error() {
        let f = parse("[a]\nk = abc\n\n  def\n");
        assert_eq!(f.error.as_ref().map(|e| e.line), Some(4));
        assert!(f.error.unwrap().message.contains("continuation"));
        assert_eq!(f.values.len(), 1);
    }

    #[test]
    fn assignment_before_section_is_error() {
        let f = parse("k = v\n[a]\n");
        assert_eq!(
            f.error.map(|e| (e.line, e.message)),
            Some((1, "Section must be started before assignment".into()))
        );
    }

    #[test]
    fn group_names_normalised_but_default_exact() {
        let f = parse("[default]\na = 1\n[DEFAULT]\nb = 2\n[Simple_Crypto_Plugin]\nkek = x\n[ DEFAULT ]\nc = 3\n");
        let groups: Vec<&str> = f.values.iter().map(|v| v.group.as_str()).collect();
        assert_eq!(
            groups,
            ["default", "DEFAULT", "simple_crypto_plugin", " default "]
        );
    }

    #[test]
    fn duplicate_keys_all_kept_with_lines() {
        let f = parse("[s]\nkek = one\nkek = two\n[s]\nkek = three\n");
        let v: Vec<(&str, usize)> = f
            .get_all("s", "kek")
            .into_iter()
            .map(|v| (v.value.as_str(), v.line))
            .collect();
        assert_eq!(v, [("one", 2), ("two", 3), ("three", 5)]);
    }

    #[test]
    fn bad_section_and_empty_key() {
        assert_eq!(parse("[abc\n").error.map(|e| e.line), Some(1));
        assert_eq!(parse("[]\n").error.map(|e| e.line), Some(1));
        assert_eq!(parse("[a]\n = v\n").error.map(|e| e.line), Some(2));
        assert_eq!(parse("[a]\njunk\n").error.map(|e| e.line), Some(2));
    }

    #[test]
    fn binary_garbage_is_an_error_not_a_panic() {
        let f = parse_bytes(b"[a]\nk = v\n\xff\xfe\x00garbage");
        assert_eq!(f.error.map(|e| e.line), Some(3));
    }

    #[test]
    fn booleans_as_oslo() {
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool(" off "), Some(false));
        assert_eq!(parse_bool("enabled"), None);
    }
}
