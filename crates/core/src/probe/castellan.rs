//! How nova, cinder and glance reach Barbican through castellan, per
//! installed program, judged on the files that program reads (see
//! [`crate::consumers`]): `[probe.castellan-tls]` (KMC-003),
//! `[probe.castellan-verify]` (KMC-004), `[probe.barbican-interface]`
//! (KMC-005, with Octavia's `[certificates] endpoint_type`),
//! `[probe.key-manager-credentials]` (KMC-006) and
//! `[probe.image-signatures]` (KMC-009, nova-compute).
//!
//! castellan 4.0.0 `castellan/key_manager/barbican_key_manager.py`:
//! `[barbican]` options at `:46-98`; the Session's `verify` is
//! `verify_ssl and verify_ssl_path or verify_ssl` (`:143-146`); the endpoint
//! is `barbican_endpoint`, else the catalog's `key-manager` endpoint for the
//! interface `barbican_endpoint_type` (`:224-238`); a context without
//! `get_auth_plugin()` (glance's) gets a Token at `[barbican] auth_endpoint`
//! (deprecated name `[key_manager] auth_url`, `:166-213`);
//! `send_service_user_token` loads `[barbican_service_user]`'s keystoneauth
//! plugin (`:214-221`). `[key_manager] token`/`password` are read only by
//! `castellan.common.utils.credential_factory`, which no consumer calls.
//! Every verdict here was confirmed with Debian's nova, cinder, glance,
//! octavia and castellan (tests/confirm/consumers_confirm.py,
//! tests/consumers_confirm.rs). `$` interpolation in these values is not
//! modelled: they are judged as written.
use std::path::Path;

use super::key_manager::{backend, consumer_reads, observation, resolve, Backend, PROGRAM_VARS};
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Reads, Var};
use crate::barbican::config::Config;
use crate::barbican::oslo::parse_bool;
use crate::consumers::{ProgramConfig, NOVA, OCTAVIA};
use crate::host::Host;
use crate::report::Status;

/// The class castellan builds for `barbican` (or its class path).
const BARBICAN_CLASS: &str = "castellan.key_manager.barbican_key_manager.BarbicanKeyManager";

/// `[barbican] auth_endpoint`'s code default (`barbican_key_manager.py:53`).
const AUTH_ENDPOINT_DEFAULT: &str = "http://localhost/identity/v3";

/// The variables every observation of these probes sets.
const VARS: [Var; 5] = [
    Var::SUBJECT,
    Var::DETAIL,
    PROGRAM_VARS[0],
    PROGRAM_VARS[1],
    PROGRAM_VARS[2],
];

/// An option's effective value and where it was set.
struct Setting {
    value: String,
    at: String,
}

/// The effective value of an option known by `names` (the name first, then
/// its deprecated names): newest file first, and within a file the names in
/// that order, as oslo.config's `_Namespace._get_file_value` looks them up.
fn setting(c: &Config, names: &[(&str, &str)]) -> Option<Setting> {
    for f in c.files.iter().rev() {
        let Ok(parsed) = &f.parsed else { continue };
        for (group, key) in names {
            if let Some(v) = parsed.get_all(group, key).pop() {
                return Some(Setting {
                    value: v.value.trim().to_string(),
                    at: format!("{}:{} ([{group}] {key})", f.path.display(), v.line),
                });
            }
        }
    }
    None
}

/// A set, non-empty value (oslo.config's `None` and `''` are both "not set"
/// for castellan's `if barbican_endpoint` and `verify_ssl_path` tests).
fn non_empty(c: &Config, names: &[(&str, &str)]) -> Option<Setting> {
    setting(c, names).filter(|s| !s.value.is_empty())
}

/// A URL as shown in a report: any `user:password@` is masked.
fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host_end = rest.find('/').unwrap_or(rest.len());
            match rest[..host_end].rfind('@') {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// The URL's scheme as `urllib.parse.urlsplit` lowercases it.
fn scheme(url: &str) -> Option<String> {
    let (s, _) = url.split_once(':')?;
    let mut chars = s.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    ok.then(|| s.to_ascii_lowercase())
}

/// The key manager castellan builds for a program, as far as these checks
/// care: Barbican is judged; anything else is `na` (another check's
/// matter) or `error` (it does not load, KMC-001).
fn unless_barbican(p: &ProgramConfig) -> Option<Observation> {
    let (value, at) =
        backend(&p.config).unwrap_or_else(|| ("barbican".to_string(), "code default".to_string()));
    let name = p.program.name;
    match resolve(&value) {
        Backend::Loads(class) if class == BARBICAN_CLASS => None,
        Backend::Loads(class) => Some(observation(
            p,
            Status::Na,
            format!("{name} uses {class} ({value} from {at}), not Barbican"),
        )),
        Backend::Conf => Some(observation(
            p,
            Status::Na,
            format!("{name} uses ConfKeyManager ({value} from {at}), not Barbican (see KMC-001)"),
        )),
        Backend::WouldNotLoad => Some(observation(
            p,
            Status::Error,
            format!(
                "{name}'s key manager would not load: {value:?} (from {at}) is neither a \
                 castellan driver name nor the class path of one (see KMC-001)"
            ),
        )),
    }
}

/// fail > error > pass; nothing judged: na (the README's `worst`).
fn worst(parts: &[(Status, String)]) -> Status {
    for s in [Status::Fail, Status::Error, Status::Pass] {
        if parts.iter().any(|(p, _)| *p == s) {
            return s;
        }
    }
    Status::Na
}

/// Whether castellan uses `[barbican] auth_endpoint` for this service: its
/// context has no `get_auth_plugin()` (glance, `glance/context.py:44`);
/// nova's and cinder's RequestContext hand castellan the caller's auth.
fn uses_auth_endpoint(p: &ProgramConfig) -> bool {
    p.service() == "glance"
}

// ---------------------------------------------------------------- KMC-003

/// `[barbican] barbican_endpoint` and `auth_endpoint` are https (KMC-003).
pub struct CastellanTls;

static CASTELLAN_TLS: Decl = Decl {
    name: "castellan-tls",
    doc: "per nova, cinder and glance program using Barbican, the scheme of [barbican] barbican_endpoint and (glance) auth_endpoint castellan connects to",
    vars: &VARS,
    fix_style: FixStyle::Prose,
    // with the users when a consumer program is installed (`consumer_reads`)
    inputs: &[Input::ConsumerConfig, Input::Users],
    parse: true,
    // Effective values: an unread file may hold them.
    gate: Gate::Replace,
    judged_bools: &[],
};

impl Probe for CastellanTls {
    fn decl(&self) -> &'static Decl {
        &CASTELLAN_TLS
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        consumer_reads(facts)
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        crate::consumers::key_manager_users(facts.consumers())
            .map(judge_tls)
            .collect::<Vec<_>>()
            .into()
    }
}

/// KMC-003 for one program.
pub fn judge_tls(p: &ProgramConfig) -> Observation {
    if let Some(o) = unless_barbican(p) {
        return o;
    }
    let c = &p.config;
    let mut parts: Vec<(Status, String)> = Vec::new();
    let endpoint = non_empty(c, &[("barbican", "barbican_endpoint")]);
    match &endpoint {
        Some(e) => {
            let https = scheme(&e.value).as_deref() == Some("https");
            parts.push((
                if https { Status::Pass } else { Status::Fail },
                format!(
                    "barbican_endpoint {} ({}) is {}",
                    shown(&e.value),
                    e.at,
                    if https { "https" } else { "not https" }
                ),
            ));
        }
        None => {
            let interface = setting(c, &[("barbican", "barbican_endpoint_type")])
                .map_or_else(|| "public".to_string(), |s| s.value);
            parts.push((
                Status::Na,
                format!(
                    "barbican_endpoint is not set: castellan takes Barbican's URL from the \
                     Keystone catalog (interface {interface:?}), whose scheme is not judged here"
                ),
            ));
        }
    }
    let auth_endpoint_used = uses_auth_endpoint(p);
    if auth_endpoint_used {
        let (url, at) = match setting(
            c,
            &[("barbican", "auth_endpoint"), ("key_manager", "auth_url")],
        ) {
            Some(s) => (s.value, s.at),
            None => (
                AUTH_ENDPOINT_DEFAULT.to_string(),
                "castellan's default".to_string(),
            ),
        };
        let https = scheme(&url).as_deref() == Some("https");
        parts.push((
            if https { Status::Pass } else { Status::Fail },
            format!(
                "{} sends its users' tokens to auth_endpoint {:?} ({at}), {}",
                p.service(),
                shown(&url),
                if https { "https" } else { "not https" }
            ),
        ));
    } else {
        parts.push((
            Status::Na,
            format!(
                "{} hands castellan the caller's auth plugin, so [barbican] auth_endpoint is not used",
                p.service()
            ),
        ));
    }
    let status = worst(&parts);
    let detail: Vec<&str> = parts.iter().map(|(_, d)| d.as_str()).collect();
    observation(
        p,
        status,
        format!("{}: {}", p.program.name, detail.join("; ")),
    )
    .ev(
        "barbican_endpoint",
        endpoint.map_or_else(|| "catalog".to_string(), |e| shown(&e.value)),
    )
    .ev("auth_endpoint_used", auth_endpoint_used)
}

// ---------------------------------------------------------------- KMC-004

/// castellan verifies Barbican's certificate (KMC-004).
pub struct CastellanVerify;

static CASTELLAN_VERIFY: Decl = Decl {
    name: "castellan-verify",
    doc: "per nova, cinder and glance program using Barbican, the verify castellan gives keystoneauth: [barbican] verify_ssl and verify_ssl_path (and whether that path exists)",
    vars: &VARS,
    fix_style: FixStyle::Prose,
    // with the users when a consumer program is installed (`consumer_reads`)
    inputs: &[Input::ConsumerConfig, Input::Users],
    parse: true,
    // Effective values: an unread file may hold them.
    gate: Gate::Replace,
    judged_bools: &[],
};

impl Probe for CastellanVerify {
    fn decl(&self) -> &'static Decl {
        &CASTELLAN_VERIFY
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        consumer_reads(facts)
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        crate::consumers::key_manager_users(facts.consumers())
            .map(|p| judge_verify(p, facts.host))
            .collect::<Vec<_>>()
            .into()
    }
}

/// KMC-004 for one program; `host` holds `verify_ssl_path`.
pub fn judge_verify(p: &ProgramConfig, host: &Host) -> Observation {
    if let Some(o) = unless_barbican(p) {
        return o;
    }
    let c = &p.config;
    let name = p.program.name;
    // castellan registers keystoneauth's session options in [barbican] and
    // never reads them (F9): say so rather than let them look like evidence.
    let ignored: Vec<String> = ["insecure", "cafile"]
        .iter()
        .filter_map(|k| setting(c, &[("barbican", k)]))
        .map(|s| format!("; {} is set but castellan never reads it", s.at))
        .collect();
    let ignored = ignored.concat();
    let verify = setting(c, &[("barbican", "verify_ssl")]);
    let on = match &verify {
        None => true,
        Some(v) => match parse_bool(&v.value) {
            Some(b) => b,
            None => {
                // The value is not quoted: it may be a pasted secret.
                return observation(
                    p,
                    Status::Error,
                    format!(
                        "{name}: {} is not a boolean oslo.config accepts (ConfigFileValueError \
                         when castellan reads it){ignored}",
                        v.at
                    ),
                );
            }
        },
    };
    let from = verify
        .as_ref()
        .map_or_else(|| "castellan's default".to_string(), |v| v.at.clone());
    if !on {
        return observation(
            p,
            Status::Fail,
            format!(
                "{name}: verify_ssl = false ({from}): castellan hands keystoneauth verify=False \
                 and Barbican's certificate is not checked (verify_ssl_path is then ignored){ignored}"
            ),
        )
        .ev("session_verify", false);
    }
    let Some(path) = non_empty(c, &[("barbican", "verify_ssl_path")]) else {
        return observation(
            p,
            Status::Pass,
            format!(
                "{name}: verify_ssl is true ({from}) and verify_ssl_path unset: Barbican's \
                 certificate is checked against the system CAs{ignored}"
            ),
        )
        .ev("session_verify", true);
    };
    let target = Path::new(&path.value);
    let (status, why) = if !target.is_absolute() {
        (
            Status::Error,
            "is a relative path: what it names depends on the program's working directory"
                .to_string(),
        )
    } else {
        match host.exists_checked(target) {
            Err(e) => (Status::Error, format!("cannot be checked: {e}")),
            Ok(false) => (
                Status::Fail,
                "does not exist: castellan passes it to requests as the CA bundle anyway"
                    .to_string(),
            ),
            Ok(true) => {
                let kind = host
                    .resolve(target)
                    .and_then(|r| host.lstat(&r.target))
                    .map(|m| m.is_file() || m.is_dir());
                match kind {
                    Ok(true) => (
                        Status::Pass,
                        "exists: Barbican's certificate is checked against it".to_string(),
                    ),
                    Ok(false) => (
                        Status::Fail,
                        "is neither a regular file nor a directory of CA certificates".to_string(),
                    ),
                    Err(e) => (Status::Error, format!("cannot be checked: {e}")),
                }
            }
        }
    };
    observation(
        p,
        status,
        format!(
            "{name}: verify_ssl is true ({from}); verify_ssl_path {} ({}) {why}{ignored}",
            path.value, path.at
        ),
    )
    .ev("session_verify", path.value.clone())
}

// ---------------------------------------------------------------- KMC-005

/// Barbican is reached through the internal endpoint (KMC-005).
pub struct BarbicanInterface;

static BARBICAN_INTERFACE: Decl = Decl {
    name: "barbican-interface",
    doc: "per nova, cinder and glance program using Barbican, the catalog interface castellan asks for ([barbican] barbican_endpoint_type); per octavia program with a Barbican cert manager, [certificates] endpoint_type",
    vars: &VARS,
    fix_style: FixStyle::Prose,
    // with the users when a consumer program is installed (`reads`)
    inputs: &[Input::ConsumerConfig, Input::Users],
    parse: true,
    // Effective values: an unread file may hold them.
    gate: Gate::Replace,
    judged_bools: &[],
};

impl Probe for BarbicanInterface {
    fn decl(&self) -> &'static Decl {
        &BARBICAN_INTERFACE
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        // Octavia counts here too, unlike the key manager users.
        let inputs: &'static [Input] = if facts.consumers().is_empty() {
            &[Input::ConsumerConfig]
        } else {
            &[Input::ConsumerConfig, Input::Users]
        };
        Reads {
            inputs,
            parse: true,
        }
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        let programs = facts.consumers();
        let mut out: Vec<Observation> = crate::consumers::key_manager_users(programs)
            .map(judge_interface)
            .collect();
        out.extend(crate::consumers::of_service(programs, &OCTAVIA).map(judge_octavia_interface));
        if out.is_empty() {
            // No applies-if can say "nova, cinder, glance or octavia".
            out.push(
                Observation::new(
                    "nova, cinder, glance, octavia",
                    Status::Na,
                    "none of nova, cinder, glance or octavia is installed: no program of theirs \
                     in dpkg status, no init script or uwsgi ini, no main config file",
                )
                .var("program", "")
                .var("service", "")
                .var("main_file", ""),
            );
        }
        out.into()
    }
}

/// KMC-005 for one nova, cinder or glance program.
pub fn judge_interface(p: &ProgramConfig) -> Observation {
    if let Some(o) = unless_barbican(p) {
        return o;
    }
    castellan_interface(p, "")
}

/// castellan's rule (F10): an explicit endpoint makes the type moot.
fn castellan_interface(p: &ProgramConfig, prefix: &str) -> Observation {
    let c = &p.config;
    let name = p.program.name;
    if let Some(e) = non_empty(c, &[("barbican", "barbican_endpoint")]) {
        return observation(
            p,
            Status::Na,
            format!(
                "{name}: {prefix}barbican_endpoint is set ({}): castellan connects there and does \
                 not ask the catalog, so barbican_endpoint_type does not apply",
                e.at
            ),
        );
    }
    let (value, at) = match setting(c, &[("barbican", "barbican_endpoint_type")]) {
        Some(s) => (s.value, s.at),
        None => ("public".to_string(), "castellan's default".to_string()),
    };
    let (status, why) = match value.as_str() {
        "public" => (
            Status::Fail,
            "Barbican is reached through its public endpoint, with the key traffic on the \
             public network",
        ),
        "internal" | "admin" => (Status::Pass, "Barbican is reached off the public network"),
        _ => (
            Status::Error,
            "not one of public, internal, admin: oslo.config raises ConfigFileValueError when \
             castellan reads it",
        ),
    };
    observation(
        p,
        status,
        format!("{name}: {prefix}barbican_endpoint_type {value:?} ({at}): {why}"),
    )
    .ev("interface", value)
}

/// KMC-005 for one octavia program: `[certificates] endpoint_type` with
/// `barbican_cert_manager` (`octavia/certificates/common/auth/barbican_acl.py`),
/// castellan's rule with `castellan_cert_manager`, na with the local one.
pub fn judge_octavia_interface(p: &ProgramConfig) -> Observation {
    let c = &p.config;
    let name = p.program.name;
    let (manager, at) = match setting(c, &[("certificates", "cert_manager")]) {
        Some(s) => (s.value, s.at),
        None => (
            "barbican_cert_manager".to_string(),
            "octavia's default".to_string(),
        ),
    };
    match manager.as_str() {
        "barbican_cert_manager" => {
            let (value, et_at) = match setting(c, &[("certificates", "endpoint_type")]) {
                Some(s) => (s.value, s.at),
                None => ("publicURL".to_string(), "octavia's default".to_string()),
            };
            let public = matches!(value.to_ascii_lowercase().as_str(), "public" | "publicurl");
            let (status, why) = if public {
                (
                    Status::Fail,
                    "Barbican is reached through its public endpoint, with the certificates and keys on the public network",
                )
            } else {
                (Status::Pass, "Barbican is reached off the public network")
            };
            observation(
                p,
                status,
                format!(
                    "{name}: cert_manager {manager} ({at}), [certificates] endpoint_type {value:?} \
                     ({et_at}): {why}"
                ),
            )
            .ev("interface", value)
        }
        "castellan_cert_manager" => match unless_barbican(p) {
            Some(o) => o,
            None => castellan_interface(p, "castellan_cert_manager: [barbican] "),
        },
        "local_cert_manager" => observation(
            p,
            Status::Na,
            format!(
                "{name}: cert_manager local_cert_manager ({at}) keeps certificates on local disk, \
                 not in Barbican (see KMC-010)"
            ),
        ),
        _ => observation(
            p,
            Status::Error,
            format!(
                "{name}: cert_manager {manager:?} ({at}) is not an octavia.cert_manager name \
                 (barbican_cert_manager, castellan_cert_manager, local_cert_manager): stevedore \
                 raises NoMatches (see KMC-010)"
            ),
        ),
    }
}

// ---------------------------------------------------------------- KMC-006

/// No static `[key_manager]` credentials; a service token that loads (KMC-006).
pub struct KeyManagerCredentials;

static KEY_MANAGER_CREDENTIALS: Decl = Decl {
    name: "key-manager-credentials",
    doc: "per nova, cinder and glance program, every [key_manager] token or password with a value in the files it reads (by fingerprint), and whether [barbican] send_service_user_token has a [barbican_service_user] plugin to load",
    vars: &VARS,
    fix_style: FixStyle::Prose,
    // with the users when a consumer program is installed (`consumer_reads`)
    inputs: &[Input::ConsumerConfig, Input::Users],
    parse: true,
    // A stored credential is a fact about a file that was read; a pass
    // claims an absence an unread file may contradict.
    gate: Gate::KeepFails,
    judged_bools: &[],
};

impl Probe for KeyManagerCredentials {
    fn decl(&self) -> &'static Decl {
        &KEY_MANAGER_CREDENTIALS
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        consumer_reads(facts)
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        crate::consumers::key_manager_users(facts.consumers())
            .map(judge_credentials)
            .collect::<Vec<_>>()
            .into()
    }
}

/// keystoneauth 5.0.0's `keystoneauth1.plugin` entry points (Debian
/// python3-keystoneauth1), each with the options its loader requires
/// (`MissingRequiredOptions` without them).
const AUTH_PLUGINS: &[(&str, &[&str])] = &[
    ("admin_token", &["endpoint", "token"]),
    ("http_basic", &[]),
    ("none", &[]),
    ("password", &["auth_url"]),
    ("token", &["auth_url", "token"]),
    ("v2password", &["auth_url"]),
    ("v2token", &["auth_url", "token"]),
    ("v3adfspassword", &["auth_url"]),
    ("v3applicationcredential", &["auth_url"]),
    ("v3fedkerb", &["auth_url"]),
    ("v3kerberos", &["auth_url"]),
    ("v3multifactor", &["auth_url"]),
    ("v3oauth1", &["auth_url"]),
    ("v3oidcaccesstoken", &["auth_url"]),
    ("v3oidcauthcode", &["auth_url"]),
    ("v3oidcclientcredentials", &["auth_url"]),
    ("v3oidcpassword", &["auth_url"]),
    ("v3password", &["auth_url"]),
    ("v3samlpassword", &["auth_url"]),
    ("v3token", &["auth_url", "token"]),
    ("v3tokenlessauth", &["auth_url"]),
    ("v3totp", &["auth_url"]),
];

/// One `[key_manager]` credential with a value.
struct Stored {
    key: String,
    at: String,
    fingerprint: String,
}

/// KMC-006 for one program.
pub fn judge_credentials(p: &ProgramConfig) -> Observation {
    let name = p.program.name;
    let mut stored: Vec<Stored> = Vec::new();
    for f in &p.config.files {
        let Ok(parsed) = &f.parsed else { continue };
        for v in &parsed.values {
            if v.group == "key_manager"
                && (v.key == "token" || v.key == "password")
                && !v.value.trim().is_empty()
            {
                stored.push(Stored {
                    key: v.key.clone(),
                    at: format!("{}:{}", f.path.display(), v.line),
                    fingerprint: crate::barbican::kek::fingerprint(v.value.as_bytes()),
                });
            }
        }
    }
    if !stored.is_empty() {
        let listed: Vec<String> = stored
            .iter()
            .map(|s| format!("[key_manager] {} {} at {}", s.key, s.fingerprint, s.at))
            .collect();
        let evidence: Vec<serde_json::Value> = stored
            .iter()
            .map(|s| serde_json::json!({"option": s.key, "at": s.at, "fingerprint": s.fingerprint}))
            .collect();
        return observation(
            p,
            Status::Fail,
            format!(
                "{name} reads a stored credential: {}; only castellan's credential_factory reads \
                 these, and nova, cinder and glance never call it: a secret on disk that nothing uses",
                listed.join(", ")
            ),
        )
        .ev("static_credentials", evidence);
    }
    if let Some(o) = unless_barbican(p) {
        if o.status == Status::Error {
            return o;
        }
        return observation(
            p,
            Status::Pass,
            format!(
                "{name}: no [key_manager] token or password with a value; {} so no service token \
                 is sent to Barbican",
                o.vars.get("detail").map_or("", String::as_str)
            ),
        );
    }
    let c = &p.config;
    let Some(sut) = setting(c, &[("barbican", "send_service_user_token")]) else {
        return observation(
            p,
            Status::Pass,
            format!(
                "{name}: no [key_manager] token or password with a value; send_service_user_token \
                 is off (castellan's default)"
            ),
        );
    };
    match parse_bool(&sut.value) {
        None => observation(
            p,
            Status::Error,
            format!(
                "{name}: {} is not a boolean oslo.config accepts (ConfigFileValueError when \
                 castellan reads it)",
                sut.at
            ),
        ),
        Some(false) => observation(
            p,
            Status::Pass,
            format!(
                "{name}: no [key_manager] token or password with a value; send_service_user_token \
                 is off ({})",
                sut.at
            ),
        ),
        Some(true) => service_user(p, &sut),
    }
}

/// `send_service_user_token = true`: keystoneauth's
/// `load_auth_from_conf_options(conf, 'barbican_service_user')`.
fn service_user(p: &ProgramConfig, sut: &Setting) -> Observation {
    let c = &p.config;
    let name = p.program.name;
    const G: &str = "barbican_service_user";
    let Some(plugin) = non_empty(c, &[(G, "auth_type"), (G, "auth_plugin")]) else {
        return observation(
            p,
            Status::Fail,
            format!(
                "{name}: send_service_user_token is on ({}) but [barbican_service_user] has no \
                 auth_type: keystoneauth loads no plugin and castellan sends the user's token alone",
                sut.at
            ),
        );
    };
    let Some((_, required)) = AUTH_PLUGINS.iter().find(|(n, _)| *n == plugin.value) else {
        return observation(
            p,
            Status::Fail,
            format!(
                "{name}: send_service_user_token is on ({}) but [barbican_service_user] auth_type \
                 {:?} ({}) is not a keystoneauth plugin: loading it raises NoMatchingPlugin",
                sut.at, plugin.value, plugin.at
            ),
        );
    };
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| non_empty(c, &[(G, k)]).is_none())
        .collect();
    if !missing.is_empty() {
        return observation(
            p,
            Status::Fail,
            format!(
                "{name}: send_service_user_token is on ({}) but [barbican_service_user] auth_type \
                 {} lacks {}: loading it raises MissingRequiredOptions",
                sut.at,
                plugin.value,
                missing.join(", ")
            ),
        );
    }
    observation(
        p,
        Status::Pass,
        format!(
            "{name}: no [key_manager] token or password with a value; send_service_user_token is \
             on ({}) with the {} plugin of [barbican_service_user] ({})",
            sut.at, plugin.value, plugin.at
        ),
    )
}

// ---------------------------------------------------------------- KMC-009

/// nova-compute verifies Glance image signatures (KMC-009).
pub struct ImageSignatures;

static IMAGE_SIGNATURES: Decl = Decl {
    name: "image-signatures",
    doc: "per nova-compute, [glance] verify_glance_signatures (nova verifies a signed image's signature with the key manager while downloading it)",
    vars: &VARS,
    fix_style: FixStyle::Prose,
    // with the users when a consumer program is installed (`consumer_reads`)
    inputs: &[Input::ConsumerConfig, Input::Users],
    parse: true,
    // An effective value: an unread file may hold it.
    gate: Gate::Replace,
    judged_bools: &[],
};

impl Probe for ImageSignatures {
    fn decl(&self) -> &'static Decl {
        &IMAGE_SIGNATURES
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        consumer_reads(facts)
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        // nova-compute downloads images (`nova/image/glance.py:484`);
        // nova-api does not, so it is not judged.
        let mut out: Vec<Observation> = crate::consumers::of_service(facts.consumers(), &NOVA)
            .filter(|p| p.program.name == "nova-compute")
            .map(judge_signatures)
            .collect();
        if out.is_empty() {
            out.push(
                Observation::new(
                    "nova-compute",
                    Status::Na,
                    "nova-compute is not installed: image signatures are verified where nova \
                     downloads images, on compute nodes",
                )
                .var("program", "nova-compute")
                .var("service", "nova")
                .var("main_file", NOVA.main),
            );
        }
        out.into()
    }
}

/// KMC-009 for one nova program.
pub fn judge_signatures(p: &ProgramConfig) -> Observation {
    let name = p.program.name;
    let Some(s) = setting(&p.config, &[("glance", "verify_glance_signatures")]) else {
        return observation(
            p,
            Status::Fail,
            format!(
                "{name}: [glance] verify_glance_signatures is unset (nova's default false): \
                 signed images are booted without checking their signature"
            ),
        );
    };
    match parse_bool(&s.value) {
        None => observation(
            p,
            Status::Error,
            format!(
                "{name}: {} is not a boolean oslo.config accepts (ConfigFileValueError when nova \
                 reads it)",
                s.at
            ),
        ),
        Some(true) => observation(
            p,
            Status::Pass,
            format!(
                "{name}: verify_glance_signatures is true ({}): signed images are verified",
                s.at
            ),
        ),
        Some(false) => observation(
            p,
            Status::Fail,
            format!(
                "{name}: verify_glance_signatures is false ({}): signed images are booted without \
                 checking their signature",
                s.at
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_as_urlsplit_reads_them() {
        assert_eq!(scheme("HTTPS://b.example:9311").as_deref(), Some("https"));
        assert_eq!(scheme("http://b.example").as_deref(), Some("http"));
        assert_eq!(scheme("/v3"), None);
        assert_eq!(scheme("b.example"), None);
    }

    #[test]
    fn userinfo_is_masked() {
        assert_eq!(
            shown("https://nova:s3cret@k.example/v3"),
            "https://***@k.example/v3"
        );
        assert_eq!(
            shown("https://k.example/v3?a=b@c"),
            "https://k.example/v3?a=b@c"
        );
    }

    #[test]
    fn worst_part_wins() {
        let p = |s: Status| (s, String::new());
        assert_eq!(worst(&[p(Status::Pass), p(Status::Fail)]), Status::Fail);
        assert_eq!(worst(&[p(Status::Error), p(Status::Pass)]), Status::Error);
        assert_eq!(worst(&[p(Status::Na), p(Status::Na)]), Status::Na);
    }
}
