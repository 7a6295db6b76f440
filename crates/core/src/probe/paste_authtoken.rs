//! `[probe.paste-authtoken]` (BAR-004): every chain that serves some `/v1`
//! request must authenticate with keystonemiddleware before Barbican's
//! context middleware, must not contain the unauthenticated context (which
//! makes every caller an admin), and must not let anonymous requests through
//! (`allow_anonymous_access` with `delay_auth_decision`).
//! Chains that nothing serves are not judged: the stock Debian file defines
//! an unauthenticated `barbican_api` pipeline that no URL maps to.
use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Var};
use crate::barbican::api::authtoken_opt;
use crate::barbican::oslo::parse_bool;
use crate::barbican::paste::{describe, Factory};
use crate::report::Status;

/// Authtoken in every served /v1 chain (BAR-004).
pub struct PasteAuthtoken;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "paste-authtoken",
    doc: "keystonemiddleware authentication in every pipeline that serves /v1",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        Var::quoted("chain", "the pipeline, element by element"),
        Var::quoted("file", "the paste file"),
    ],
    // The remediation is prose naming a file or option, not a command
    // line: quoting would only garble it.
    fix_style: FixStyle::Prose,
    inputs: &[Input::Paste, Input::Config, Input::Units, Input::Users],
    parse: true,
    gate: Gate::KeepFails,
    judged_bools: &[
        ("keystone_authtoken", "delay_auth_decision"),
        ("DEFAULT", "allow_anonymous_access"),
    ],
};

impl Probe for PasteAuthtoken {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        judge_v1_chains(facts).into()
    }
}

/// A container seen from the host (kolla) with no paste file in view: the
/// API's is the image's unless /etc/kolla/config/barbican/ overrides it, so
/// what it serves is not known here (never a pass); a worker or listener
/// container serves no API at all.
fn view_without_paste(v: &crate::host::view::View) -> Observation {
    let paste = std::path::Path::new(crate::barbican::files::DEFAULT_PASTE);
    if v.serves_api() {
        Observation::new(
            "/v1",
            Status::Na,
            format!(
                "the served paste file is the image's (no barbican-api-paste.ini override \
                 from /etc/kolla/config/barbican/ in config.json): {}",
                v.missing(paste)
            ),
        )
    } else {
        Observation::new(
            "/v1",
            Status::Na,
            format!(
                "this container runs {}, not the API: no paste file is served here",
                v.command
            ),
        )
    }
}

/// One observation per chain that serves some /v1 request.
fn judge_v1_chains(facts: &Facts<'_>) -> Vec<Observation> {
    let Some(api) = facts.api() else {
        if let Some(v) = facts.host.view() {
            return vec![view_without_paste(v)];
        }
        return vec![Observation::new(
            "/v1",
            Status::Na,
            "no paste file: barbican-api is not deployed on this root",
        )];
    };
    let file = api.path.display().to_string();
    let chains = match (&api.parsed, &api.chains) {
        (Err(e), _) => {
            return vec![Observation::new(
                "/v1",
                Status::Error,
                format!("{file} does not load ({e}), so no /v1 is served (see BAR-012)"),
            )
            .var("file", file.clone())]
        }
        (_, Some(Err(e))) => {
            let at = e.line().map(|l| format!(":{l}")).unwrap_or_default();
            return vec![Observation::new(
                "/v1",
                Status::Error,
                format!(
                    "cannot resolve what serves /v1 in {file}{at}: {}",
                    e.message()
                ),
            )
            .var("file", file.clone())];
        }
        (_, Some(Ok(c))) => c,
        (_, None) => {
            return vec![Observation::new(
                "/v1",
                Status::Error,
                format!("{file}: not resolved"),
            )]
        }
    };
    if chains.is_empty() {
        return vec![Observation::new(
            "/v1",
            Status::Pass,
            format!("nothing in {file} serves /v1 (404)"),
        )];
    }
    let anonymous = facts
        .config()
        .resolve("DEFAULT", "allow_anonymous_access")
        .ok()
        .flatten()
        .and_then(|v| parse_bool(&v))
        .unwrap_or(false);
    chains
        .iter()
        .map(|chain| {
            let text = describe(chain);
            let auth = chain.elements.iter().position(|e| e.factory == Factory::AuthToken);
            let context = chain.elements.iter().position(|e| e.factory == Factory::Context);
            let unauth = chain.elements.iter().find(|e| e.factory == Factory::UnauthenticatedContext);
            let mut problems = Vec::new();
            if let Some(u) = unauth {
                problems.push(format!(
                    "[{}] is barbican's UnauthenticatedContextMiddleware: any caller without X-Roles becomes admin",
                    u.section
                ));
            }
            match (auth, context) {
                (None, _) => problems.push("no keystonemiddleware auth_token filter: requests are not authenticated".to_string()),
                (Some(a), Some(c)) if c < a => {
                    problems.push("the context middleware runs before auth_token, so it never sees a confirmed identity".to_string())
                }
                _ => {}
            }
            if let Some(a) = auth {
                let el = &chain.elements[a];
                let delay = authtoken_opt(facts.config(), Some(api), Some(el), "delay_auth_decision")
                    .and_then(|o| parse_bool(&o.value))
                    .unwrap_or(false);
                if delay && anonymous {
                    problems.push("allow_anonymous_access and delay_auth_decision are both true: unauthenticated requests get read access".to_string());
                }
            }
            let status = if problems.is_empty() { Status::Pass } else { Status::Fail };
            let detail = if problems.is_empty() { text.clone() } else { format!("{}: {text}", problems.join("; ")) };
            Observation::new(chain.url_key.clone(), status, detail)
                .var("chain", text.clone())
                .var("file", file.clone())
                .ev("chain", text)
                .ev("file", file.clone())
                .ev("urlmap_line", chain.key_line)
        })
        .collect()
}
