//! What a message may quote of a configuration value: the one rule every
//! reader and probe asks before it puts a value into a finding, an error or
//! evidence.
//!
//! The rule: a value may be quoted only when its option is *known* (in the
//! registry, [`super::options`]), *not secret*, and the value holds no URL
//! userinfo once [`strip_userinfo`] has removed it. Secret means any of:
//! oslo.config's `secret=True` (generated from the real libraries, see
//! `docs` in the README and `src/barbican/secret-options.txt`), a name on
//! [`super::options::SECRET_NAMES`], or a name that merely *looks* secret
//! ([`looks_secret`]: password, secret, token, key, pin, passphrase,
//! credential, ...). The last is deliberately broad: an option some library
//! forgot to mark `secret=True` (oslo.messaging's
//! `[oslo_messaging_kafka] ssl_client_key_password` is one) is still never
//! shown.
//!
//! Raw lines are never quoted anywhere: a parse error says file, line and
//! problem, because the line may be a password the parser could not place.
use super::options;

/// Placeholder written where a value is withheld.
pub const WITHHELD: &str = "(value not shown)";

/// Whether an option name looks like it holds a secret. Broad on purpose;
/// a path (`*_file`, `*_path`, `*_dir`) or a size/time about a secret is not
/// one.
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let tokens: Vec<&str> = n
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let Some(last) = tokens.last() else {
        return false;
    };
    // Names about a secret rather than holding one.
    const ABOUT: &[&str] = &[
        "file",
        "path",
        "dir",
        "directory",
        "length",
        "len",
        "size",
        "bits",
        "type",
        "time",
        "timeout",
        "ttl",
        "algorithm",
        "format",
        "strategy",
        "roles",
        "required",
        "enabled",
        "label",
        "labels",
        "mechanism",
        "name",
        "debug",
        "trace",
    ];
    if ABOUT.contains(last) || last.ends_with("file") {
        return false;
    }
    const INSIDE: &[&str] = &[
        "pass",
        "pwd",
        "secret",
        "token",
        "credential",
        "kek",
        "login",
        "private",
        "cred",
        "auth_key",
        "apikey",
    ];
    const WHOLE: &[&str] = &["pin", "key", "psk", "otp", "passcode"];
    tokens.iter().any(|t| {
        INSIDE.iter().any(|w| t.contains(w))
            || WHOLE.contains(t)
            || (t.ends_with("key") && t.len() > 3)
    }) || INSIDE.iter().any(|w| n.contains(w))
}

/// Whether any URL in `s` carries userinfo (`scheme://user:pass@host`), or
/// `s` holds an `@` we cannot place (conservative: `user:pass@host` without
/// a scheme is userinfo too).
pub fn has_userinfo(s: &str) -> bool {
    s.contains('@')
}

/// Removes userinfo from every `scheme://...@host` in `s` (each host of a
/// comma-separated list too, as in `rabbit://u:p@h1,u:p@h2/`), writing `***@`
/// in its place so the reader still sees that credentials were there.
pub fn strip_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        let after = &rest[i + 3..];
        let end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        if authority.contains('@') {
            let parts: Vec<String> = authority
                .split(',')
                .map(|p| match p.rfind('@') {
                    Some(at) => format!("***@{}", &p[at + 1..]),
                    None => p.to_string(),
                })
                .collect();
            out.push_str(&parts.join(","));
        } else {
            out.push_str(authority);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// A URL as every message and evidence field prints it: userinfo stripped;
/// withheld entirely if an `@` remains that we cannot place.
pub fn url(s: &str) -> String {
    // Only the first line: an indented line under an option (a password,
    // typically) joins its value, so continuation lines are never shown.
    let first = s.split('\n').next().unwrap_or("");
    let mut v = strip_userinfo(first);
    if has_userinfo(&v.replace("***@", "")) {
        return WITHHELD.to_string();
    }
    if first.len() < s.len() {
        v.push_str(" (continuation lines not shown)");
    }
    v
}

/// Whether `[group] key` holds a secret (registry flag, known secret name,
/// or a secret-looking name).
pub fn is_secret(group: &str, key: &str) -> bool {
    options::is_secret(group, key)
}

/// The value a message may show for `[group] key`, or `None`: shown only
/// when the option is known (`known` is true; callers pass whether their
/// registry, static or run-time, has it), not secret, and holds no
/// userinfo after stripping.
pub fn quotable_known(group: &str, key: &str, known: bool, value: &str) -> Option<String> {
    if !known || is_secret(group, key) {
        return None;
    }
    let v = url(value);
    (v != WITHHELD).then_some(v)
}

/// [`quotable_known`] against the static registry.
pub fn quotable(group: &str, key: &str, value: &str) -> Option<String> {
    quotable_known(group, key, options::find(group, key).is_some(), value)
}

/// The value, or [`WITHHELD`].
pub fn shown(group: &str, key: &str, value: &str) -> String {
    quotable(group, key, value).unwrap_or_else(|| WITHHELD.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names() {
        for n in [
            "password",
            "ssl_client_key_password",
            "ssl_key_password",
            "approle_secret_id",
            "root_token_id",
            "memcache_secret_key",
            "kek",
            "login",
            "application_credential_secret",
            "passcode",
            "admin_token",
            "pin",
            "client_secret",
            "ApiKey",
            "sasl_password",
        ] {
            assert!(looks_secret(n), "{n}");
        }
        for n in [
            "auth_url",
            "keyfile",
            "certfile",
            "ssl_key_file",
            "ssl_ca_crt_file",
            "insecure",
            "username",
            "approle_role_id",
            "token_cache_time",
            "memcache_security_strategy",
            "vault_url",
            "use_ssl",
            "cafile",
            "mkek_label",
            "hmac_key_type",
            "connection_debug",
        ] {
            assert!(!looks_secret(n), "{n}");
        }
    }

    #[test]
    fn userinfo_stripped_from_every_url() {
        assert_eq!(
            strip_userinfo("http://admin:pw@host:5000/v3"),
            "http://***@host:5000/v3"
        );
        assert_eq!(
            strip_userinfo("rabbit://u:p@h1:5672,v:q@h2:5672/vh"),
            "rabbit://***@h1:5672,***@h2:5672/vh"
        );
        assert_eq!(
            strip_userinfo("a http://x@y b https://z/q@r"),
            "a http://***@y b https://z/q@r"
        );
        assert_eq!(strip_userinfo("https://host:5000"), "https://host:5000");
        assert_eq!(
            url("http://u:p@k:5000\nSECRETLINE"),
            "http://***@k:5000 (continuation lines not shown)"
        );
    }

    #[test]
    fn quote_rule() {
        assert_eq!(
            quotable(
                "keystone_authtoken",
                "www_authenticate_uri",
                "http://a:b@h:5000"
            )
            .as_deref(),
            Some("http://***@h:5000")
        );
        assert_eq!(
            quotable("keystone_authtoken", "memcache_secret_key", "x"),
            None
        );
        assert_eq!(quotable("keystone_authtoken", "no_such_option", "x"), None);
        assert_eq!(quotable("keystone_authtoken", "insecure", "pw@host"), None);
        assert_eq!(
            quotable("keystone_authtoken", "insecure", "maybe").as_deref(),
            Some("maybe")
        );
    }
}
