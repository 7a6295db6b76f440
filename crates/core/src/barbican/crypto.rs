//! The secret backend model: is `simple_crypto` in effect, and which KEKs
//! does it use? See barbican.md §4.1 (plugin selection) and §4.2 (KEKs).
use super::config::{Config, Source};
use super::kek::Kek;
use super::oslo::parse_bool;

/// Whether simple_crypto wraps project keys, and why we think so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCrypto {
    /// In effect.
    pub in_effect: bool,
    /// Explanation for evidence (`[crypto] enabled_crypto_plugins default simple_crypto`).
    pub why: String,
}

fn names(cfg: &Config, group: &str, key: &str, default: &str) -> (Vec<String>, String) {
    let eff = cfg.effective_multi(group, key);
    if eff.is_empty() {
        return (
            vec![default.to_string()],
            format!("[{group}] {key} = {default} (default)"),
        );
    }
    let vals: Vec<String> = eff.iter().map(|e| e.raw.trim().to_string()).collect();
    let at: Vec<String> = eff.iter().map(|e| e.source.to_string()).collect();
    // Shown by the one display rule: first line only (an indented secret
    // under the option joins its value), no userinfo.
    let shown: Vec<String> = vals.iter().map(|v| super::redact::url(v)).collect();
    (
        vals.clone(),
        format!("[{group}] {key} = {} ({})", shown.join(", "), at.join(", ")),
    )
}

/// `[secretstore] enable_multiple_secret_stores`: then the enabled_* lists
/// are ignored and `[secretstore:<suffix>]` sections name the plugins.
pub fn multiple_stores(cfg: &Config) -> bool {
    cfg.effective("secretstore", "enable_multiple_secret_stores")
        .and_then(|e| parse_bool(&e.raw))
        .unwrap_or(false)
}

/// `keys` assignments of every `[secretstore:<suffix>]` section, with their file.
fn store_sections<'a>(
    cfg: &'a Config,
    keys: &[&str],
) -> Vec<(&'a super::oslo::Value, &'a std::path::Path)> {
    let mut out = Vec::new();
    for f in &cfg.files {
        let Ok(p) = &f.parsed else { continue };
        for v in &p.values {
            if v.group.starts_with("secretstore:") && keys.contains(&v.key.as_str()) {
                out.push((v, f.path.as_path()));
            }
        }
    }
    out
}

/// Every enabled secret store and crypto plugin, by plugin name, sorted.
pub fn enabled_plugins(cfg: &Config) -> Vec<String> {
    let mut out: Vec<String> = if multiple_stores(cfg) {
        store_sections(cfg, &["secret_store_plugin", "crypto_plugin"])
            .into_iter()
            .map(|(v, _)| v.value.trim().to_string())
            .collect()
    } else {
        let (mut stores, _) = names(
            cfg,
            "secretstore",
            "enabled_secretstore_plugins",
            "store_crypto",
        );
        stores.extend(names(cfg, "crypto", "enabled_crypto_plugins", "simple_crypto").0);
        stores
    };
    out.sort();
    out.dedup();
    out
}

/// Decides whether store_crypto + simple_crypto is in use.
/// See: barbican 15.0.1 `plugin/interface/secret_store.py`, `plugin/crypto/manager.py`,
/// `plugin/util/multiple_backends.py`: with `enable_multiple_secret_stores`
/// the enabled_* lists are ignored and `[secretstore:<suffix>]` sections decide.
pub fn simple_crypto(cfg: &Config) -> SimpleCrypto {
    if multiple_stores(cfg) {
        let users: Vec<String> = store_sections(cfg, &["crypto_plugin"])
            .into_iter()
            .filter(|(v, _)| v.value.trim() == "simple_crypto")
            .map(|(v, path)| {
                format!(
                    "[{}] crypto_plugin = simple_crypto ({}:{})",
                    v.group,
                    path.display(),
                    v.line
                )
            })
            .collect();
        return SimpleCrypto {
            in_effect: !users.is_empty(),
            why: if users.is_empty() {
                "multiple secret stores enabled; no [secretstore:*] uses simple_crypto".into()
            } else {
                format!("multiple secret stores: {}", users.join("; "))
            },
        };
    }
    let (stores, stores_why) = names(
        cfg,
        "secretstore",
        "enabled_secretstore_plugins",
        "store_crypto",
    );
    let (cryptos, cryptos_why) = names(cfg, "crypto", "enabled_crypto_plugins", "simple_crypto");
    let in_effect =
        stores.iter().any(|s| s == "store_crypto") && cryptos.iter().any(|c| c == "simple_crypto");
    SimpleCrypto {
        in_effect,
        why: format!("{stores_why}; {cryptos_why}"),
    }
}

/// One KEK value with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekValue {
    /// The decoded key.
    pub kek: Kek,
    /// Origin.
    pub source: Source,
}

/// The KEK a raw `[simple_crypto_plugin] kek` value (from a file or an `OS_..._KEK`
/// variable) stands for: `$` references substituted as oslo.config does, then decoded. Every
/// check that names a KEK (BAR-006, 007, 011, 013) identifies it through this, so one key has
/// one fingerprint in a report: that of its decoded bytes ([`Kek::fingerprint`]).
pub fn decode_kek(cfg: &Config, raw: &str) -> Kek {
    Kek::parse(
        &cfg.substitute(raw, "simple_crypto_plugin", 0)
            .unwrap_or_else(|_| raw.to_string()),
    )
}

/// Every `[simple_crypto_plugin] kek` written in a config file (not the
/// environment), in parse order.
pub fn config_keks(cfg: &Config) -> Vec<KekValue> {
    cfg.get_multi("simple_crypto_plugin", "kek")
        .into_iter()
        .map(|(v, p)| KekValue {
            kek: decode_kek(cfg, &v.value),
            source: Source::File {
                path: p.to_path_buf(),
                line: v.line,
            },
        })
        .collect()
}

/// What the installed Barbican does with `kek`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KekSemantics {
    /// ≤ 19.x: StrOpt, the last value read wins; no kek → the published code default.
    Single,
    /// 20.x: MultiStrOpt, all values in order (first encrypts); no kek → the code default.
    MultiWithDefault,
    /// ≥ 21: MultiStrOpt with no default; no kek → simple_crypto cannot load.
    MultiNoDefault,
}

/// The semantics for a version string (`15.0.1`); unknown → ≤ 20 behaviour
/// with a single value, the conservative reading catalog.md asks for.
pub fn semantics(version: Option<&str>) -> KekSemantics {
    let major = version
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if m >= 21 => KekSemantics::MultiNoDefault,
        Some(20) => KekSemantics::MultiWithDefault,
        _ => KekSemantics::Single,
    }
}

/// The effective KEKs: `Ok(list)` (the first encrypts), with `None` source
/// for the code default; `Err` when none is set and Barbican has no default.
pub fn effective_keks(cfg: &Config, sem: KekSemantics) -> Result<Vec<KekValue>, String> {
    let values = cfg.effective_multi("simple_crypto_plugin", "kek");
    let decoded: Vec<KekValue> = values
        .into_iter()
        .map(|e| KekValue {
            kek: decode_kek(cfg, &e.raw),
            source: e.source,
        })
        .collect();
    if decoded.is_empty() {
        return match sem {
            KekSemantics::MultiNoDefault => Err("no [simple_crypto_plugin] kek is set and Barbican >= 21 has no default: simple_crypto cannot load (SimpleCrypto KEK is undefined)".into()),
            _ => Ok(vec![KekValue { kek: Kek::code_default(), source: Source::Default }]),
        };
    }
    Ok(match sem {
        // StrOpt: the last value read wins (env beats files: effective_multi already returned env only).
        KekSemantics::Single => decoded.into_iter().last().into_iter().collect(),
        _ => decoded,
    })
}
