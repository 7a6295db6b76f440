//! `[probe.keystone-tls]` (BAR-005): TLS between Barbican and Keystone, as
//! keystonemiddleware would configure it from paste overrides and
//! barbican.conf. Token validation itself goes to the service catalog's
//! identity endpoint, which is not in any file on this host: the messages
//! say so rather than pretend.
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Var};
use crate::barbican::api::{authtoken_elements, authtoken_opt};
use crate::barbican::oslo::parse_bool;
use crate::barbican::paste::Element;
use crate::barbican::redact;
use crate::report::Status;

/// TLS to Keystone (BAR-005).
pub struct KeystoneTls;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "keystone-tls",
    doc: "TLS between Barbican and Keystone, as keystonemiddleware configures it",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        Var::quoted("option", "the authtoken option judged"),
        Var::quoted("source", "where it is set"),
    ],
    // The remediation is prose naming a file or option, not a command
    // line: quoting would only garble it.
    fix_style: FixStyle::Prose,
    inputs: &[Input::Config, Input::Paste, Input::Units, Input::Users],
    parse: true,
    gate: Gate::KeepFails,
    judged_bools: &[("keystone_authtoken", "insecure")],
};

impl Probe for KeystoneTls {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        judge_keystone_tls(facts).into()
    }
}

const CATALOG_NOTE: &str = "the catalog's internal identity endpoint used for token validation cannot be judged from files";

/// The URLs, `insecure` and `cafile` of every authtoken element serving /v1.
fn judge_keystone_tls(facts: &Facts<'_>) -> Vec<Observation> {
    let api = facts.api();
    // The served /v1 chains are known and none runs auth_token: nothing
    // talks to Keystone, so there is no TLS to judge (BAR-004 fails there).
    if let Some(Some(Ok(chains))) = api.map(|a| &a.chains) {
        if !chains.is_empty() && api.is_some_and(|a| authtoken_elements(a).is_empty()) {
            return vec![Observation::new(
                "keystone_authtoken",
                Status::Na,
                "no served /v1 pipeline runs auth_token, so Barbican does not validate tokens with Keystone (BAR-004 reports the missing authtoken)",
            )];
        }
    }
    let elements: Vec<Option<&Element>> = match api.map(authtoken_elements) {
        Some(v) if !v.is_empty() => v.into_iter().map(Some).collect(),
        _ => vec![None],
    };
    let mut out = Vec::new();
    for el in elements {
        let prefix = match el {
            Some(e) if e.section != "filter:authtoken" => format!("[{}] ", e.section),
            _ => String::new(),
        };
        let get = |k: &str| authtoken_opt(facts.config(), api, el, k);
        let legacy = get("auth_type").or_else(|| get("auth_plugin")).is_none();
        // auth_url: where the service user logs in (keystoneauth plugin).
        match get("auth_url") {
            Some(o) => out.push(url_obs(&format!("{prefix}auth_url"), &o.value, &o.source, true)),
            None if legacy => {}
            None => out.push(Observation::new(format!("{prefix}auth_url"), Status::Error, format!("auth_type is set but no auth_url: the service user cannot log in; {CATALOG_NOTE}"))),
        }
        // Named as written: a deployment that writes the deprecated
        // auth_uri (charm, OpenStack-Helm) must find that name in the report.
        if let Some(o) = get("www_authenticate_uri").or_else(|| get("auth_uri")) {
            out.push(url_obs(
                &format!("{prefix}{}", o.name),
                &o.value,
                &o.source,
                false,
            ));
        }
        let insecure = get("insecure");
        match insecure.as_ref().map(|o| (parse_bool(&o.value), o)) {
            Some((Some(true), o)) => out.push(
                Observation::new(
                    format!("{prefix}insecure"),
                    Status::Fail,
                    format!(
                        "insecure = {} ({}): certificates of Keystone are not verified",
                        o.value, o.source
                    ),
                )
                .var("option", "insecure")
                .var("source", o.source.clone())
                .ev("source", o.source.clone()),
            ),
            // The invalid value is not quoted: it may hold a pasted password.
            Some((None, o)) => out.push(Observation::new(
                format!("{prefix}insecure"),
                Status::Error,
                format!(
                    "insecure ({}) is not a boolean keystonemiddleware accepts (value not shown)",
                    o.source
                ),
            )),
            Some((Some(false), o)) => out.push(Observation::new(
                format!("{prefix}insecure"),
                Status::Pass,
                format!(
                    "insecure = {} ({}): certificates are verified",
                    o.value, o.source
                ),
            )),
            None => out.push(Observation::new(
                format!("{prefix}insecure"),
                Status::Pass,
                "insecure not set (default false): certificates are verified",
            )),
        }
        if let Some(o) = get("cafile").filter(|o| o.value.trim().is_empty()) {
            // `cafile =` is keystoneauth1's default: verify against the
            // system CA store, not a file named "".
            out.push(
                Observation::new(
                    format!("{prefix}cafile"),
                    Status::Pass,
                    format!(
                        "cafile is empty ({}): certificates are verified against the system CAs",
                        o.source
                    ),
                )
                .ev("cafile", "")
                .ev("source", o.source.clone()),
            );
        } else if let Some(o) = get("cafile") {
            let path = std::path::PathBuf::from(o.value.trim());
            // EACCES is not "does not exist": that is an error naming the path.
            let (status, detail) = match facts.host.exists_checked(&path) {
                Ok(true) => (
                    Status::Pass,
                    format!("CA bundle {} ({}) exists", path.display(), o.source),
                ),
                Ok(false) => (
                    Status::Fail,
                    format!("CA bundle {} ({}) does not exist: TLS to Keystone fails or falls back to nothing", path.display(), o.source),
                ),
                Err(e) => (
                    Status::Error,
                    format!(
                        "CA bundle {} ({}): cannot tell whether it exists ({e})",
                        path.display(),
                        o.source
                    ),
                ),
            };
            out.push(
                Observation::new(format!("{prefix}cafile"), status, detail)
                    .ev("cafile", path.display().to_string())
                    .ev("source", o.source.clone()),
            );
        }
        if legacy {
            let protocol = get("auth_protocol");
            let identity = get("identity_uri");
            let http = protocol
                .as_ref()
                .is_some_and(|o| o.value.trim().eq_ignore_ascii_case("http"))
                || identity
                    .as_ref()
                    .is_some_and(|o| o.value.trim().to_lowercase().starts_with("http://"));
            if identity.is_some() || protocol.is_some() {
                let src = identity.or(protocol).map(|o| o.source).unwrap_or_default();
                out.push(Observation::new(
                    format!("{prefix}identity_uri"),
                    if http { Status::Fail } else { Status::Pass },
                    if http {
                        format!("legacy identity_uri/auth_protocol path over http ({src}) without auth_type: removed in keystonemiddleware 13 and plain HTTP")
                    } else {
                        format!("legacy identity_uri/auth_protocol path ({src}) uses https")
                    },
                ));
            } else if get("auth_url").is_none() {
                out.push(Observation::new(format!("{prefix}auth_url"), Status::Error, format!("no auth_type and no auth_url: cannot tell how Barbican reaches Keystone; {CATALOG_NOTE}")));
            }
        }
    }
    out
}

fn url_obs(subject: &str, url: &str, source: &str, note: bool) -> Observation {
    let tls = url.trim().to_lowercase().starts_with("https://");
    // Userinfo (`http://admin:PASSWORD@host`) never reaches a message or evidence.
    let url = redact::url(url);
    let url = url.as_str();
    let tail = if note {
        format!("; {CATALOG_NOTE}")
    } else {
        String::new()
    };
    let detail = if tls {
        format!("{url} ({source}) uses TLS{tail}")
    } else {
        format!("{url} ({source}) is not https://{tail}")
    };
    Observation::new(
        subject,
        if tls { Status::Pass } else { Status::Fail },
        detail,
    )
    .var("option", subject.to_string())
    .var("source", source.to_string())
    .ev("value", url.to_string())
    .ev("source", source.to_string())
}
