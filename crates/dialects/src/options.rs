//! The options Barbican's processes register, with type, default and secret
//! flag, generated from the real libraries by `tools/gen-options.py`
//! (Debian bookworm barbican 15.0.1 and its oslo libraries).
//!
//! oslo.config only resolves `$name` against *registered* options (an
//! unregistered key written in a file is not substitutable), types values
//! by the option (booleans, MultiStr) and hides `secret=True` values; this
//! table lets the auditor do the same without Python.
use std::sync::OnceLock;

static TSV: &str = include_str!("options.tsv");
/// Every option any installed oslo.config registry or keystoneauth plugin
/// marks `secret=True` (`tools/gen-options.py --secrets`).
static SECRETS_TSV: &str = include_str!("secret-options.tsv");

/// How oslo.config types an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// StrOpt (and URI, host address...).
    Str,
    /// BoolOpt.
    Bool,
    /// IntOpt / Port.
    Int,
    /// FloatOpt.
    Float,
    /// ListOpt (comma split, last value wins).
    List,
    /// MultiStrOpt (every value of every file).
    Multi,
    /// DictOpt.
    Dict,
    /// Anything else.
    Other,
}

/// One registered option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// Group (`DEFAULT` or lowercase).
    pub group: String,
    /// Option name (dest).
    pub name: String,
    /// Type.
    pub kind: Kind,
    /// `secret=True`: never shown.
    pub secret: bool,
    /// Default as text (empty for None; never stored for secret options).
    pub default: String,
    /// Deprecated names as (group, name).
    pub deprecated: Vec<(String, String)>,
}

/// Every registered option.
pub fn all() -> &'static [Opt] {
    static OPTS: OnceLock<Vec<Opt>> = OnceLock::new();
    OPTS.get_or_init(|| {
        TSV.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let kind = match *f.get(2)? {
                    "str" => Kind::Str,
                    "bool" => Kind::Bool,
                    "int" => Kind::Int,
                    "float" => Kind::Float,
                    "list" => Kind::List,
                    "multi" => Kind::Multi,
                    "dict" => Kind::Dict,
                    _ => Kind::Other,
                };
                let deprecated = f
                    .get(5)
                    .map(|d| {
                        d.split(',')
                            .filter_map(|x| x.split_once('.'))
                            .map(|(g, n)| (g.to_string(), n.to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                Some(Opt {
                    group: f.first()?.to_string(),
                    name: f.get(1)?.to_string(),
                    kind,
                    secret: *f.get(3)? == "1",
                    default: f.get(4).map(|d| d.to_string()).unwrap_or_default(),
                    deprecated,
                })
            })
            .collect()
    })
}

/// A registered option by group and name.
pub fn find(group: &str, name: &str) -> Option<&'static Opt> {
    all().iter().find(|o| o.group == group && o.name == name)
}

/// An option of keystoneauth plugin `plugin` (`password`, `v3password`,
/// `v3applicationcredential`, ...), as keystonemiddleware registers it at
/// run time into the group it reads the plugin from. `None` for an unknown
/// plugin or option. See: keystonemiddleware 10.1.0
/// `auth_token/__init__.py` `_create_auth_plugin`.
pub fn find_plugin_opt(plugin: &str, name: &str) -> Option<&'static Opt> {
    find(&format!("@plugin:{}", plugin.trim()), name)
}

/// Names of every option that some registry marks `secret=True`, in any
/// group (group-blind on purpose: an `auth_section` group can be named
/// anything, and the same name is secret wherever it appears).
pub fn secret_option_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut v: Vec<&'static str> = SECRETS_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.split('\t').nth(2))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    })
}

/// Option names that hold secrets whatever the registry says (keystoneauth
/// plugin options are registered at runtime, and some plugins marked their
/// credentials secret only in later releases).
pub const SECRET_NAMES: &[&str] = &[
    "password",
    "kek",
    "login",
    "root_token_id",
    "approle_secret_id",
    "nss_password",
    "memcache_secret_key",
    "transport_url",
    "connection",
    "sql_connection",
    "admin_password",
    "admin_token",
    "secret",
];

/// Whether a value of this option must never be shown: `secret=True` in
/// the registry or in any registry of `secret-options.tsv`, a name on
/// [`SECRET_NAMES`], or a name that looks secret
/// ([`super::redact::looks_secret`]), known option or not.
pub fn is_secret(group: &str, name: &str) -> bool {
    let opt = find(group, name);
    SECRET_NAMES.contains(&name)
        || opt.is_some_and(|o| o.secret)
        || secret_option_names().contains(&name)
        // The name rule: for every unknown option, and for known string
        // options (a boolean, number or plugin list is not a credential:
        // `[cors] allow_credentials`, `enabled_secretstore_plugins`).
        || (super::redact::looks_secret(name)
            && opt.is_none_or(|o| matches!(o.kind, Kind::Str | Kind::Other)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_has_the_options_the_checks_need() {
        assert_eq!(
            find("simple_crypto_plugin", "kek").map(|o| o.secret),
            Some(true)
        );
        assert_eq!(
            find("simple_crypto_plugin", "kek").map(|o| o.default.as_str()),
            Some("")
        );
        assert_eq!(
            find("keystone_authtoken", "insecure").map(|o| o.kind),
            Some(Kind::Bool)
        );
        assert_eq!(
            find("crypto", "enabled_crypto_plugins").map(|o| o.kind),
            Some(Kind::Multi)
        );
        assert_eq!(
            find("DEFAULT", "host_href").map(|o| o.default.as_str()),
            Some("http://localhost:9311")
        );
        assert!(is_secret("p11_crypto_plugin", "login"));
        assert!(!is_secret("vault_plugin", "vault_url"));
        assert!(all().len() > 200);
        // Marked secret by a library, or only by its name.
        assert!(is_secret("cache", "backend_argument"));
        assert!(is_secret("svc", "application_credential_secret"));
        assert!(is_secret("oslo_messaging_kafka", "ssl_client_key_password"));
        assert!(is_secret("vault_plugin", "approle_secret_id"));
        assert!(is_secret("keystone_authtoken", "code"));
        assert!(is_secret("no_such_group", "db_password"));
        assert!(!is_secret("cors", "allow_credentials"));
        assert!(!is_secret("secretstore", "enabled_secretstore_plugins"));
        assert_eq!(
            find_plugin_opt("password", "password").map(|o| (o.kind, o.secret)),
            Some((Kind::Str, true))
        );
        assert!(find_plugin_opt("v3applicationcredential", "password").is_none());
    }
}
