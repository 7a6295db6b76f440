//! Property tests of the oslo, paste, policy and systemd readers against
//! secret leaks: each generated input mixes valid and broken lines, and
//! every secret value in it (every option the registry or the name rule
//! calls secret, URL userinfo, a secret pasted onto a line of its own or
//! onto a boolean) is a random marker. The readers' own errors and a whole
//! in-process audit of a root holding the input (text and JSON reports)
//! must never hold an 8-character piece of the marker, in plain, base64,
//! hex or URL-encoded form (tests/common/leak.rs).
//!
//! CI runs 24 cases of each (a case is a full audit of a temp root). A long
//! run: `FUZZ_CASES=20000 cargo test --release --test reader_fuzz`.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/leak.rs"]
mod leak;

use barbican_audit_core::audit::{self, AuditOptions};
use barbican_audit_core::barbican::{options, oslo, paste, policy, systemd, Config};
use barbican_audit_core::report;
use common::{Root, BARBICAN_GID, GOOD_PASTE};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// Secret option names (the registry's, the plugins', the name rule's).
fn secret_names() -> Vec<String> {
    let mut v: Vec<String> = options::all()
        .iter()
        .filter(|o| options::is_secret(&o.group, &o.name))
        .map(|o| o.name.clone())
        .chain(["db_password", "api_token", "ssl_client_key_password"].map(String::from))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A random marker: 16 characters that survive every dialect's quoting.
fn marker() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{16}"
}

/// The ways a secret is written (marker in `{M}`).
const SHAPES: &[&str] = &[
    "{M}",
    "'{M}'",
    "\"{M}",
    "{M}${M}",
    "x${{M}}",
    "${{M}.{M}}",
    "{M}$",
    "{M}$$x",
    "{M}%{M}",
    "{M}%({M})s",
    "{M}%({M}",
    "http://admin:{M}@ks.example:5000/v3",
    "rabbit://u:{M}@h1,v:{M}@h2/",
    "{M} # comment",
    "{M}\n  {M}",
    "{M}\n\n  {M}",
    "{M}\\",
];

/// Groups the generated lines go into.
const GROUPS: &[&str] = &[
    "DEFAULT",
    "keystone_authtoken",
    "svc_auth",
    "simple_crypto_plugin",
    "vault_plugin",
    "p11_crypto_plugin",
    "kmip_plugin",
    "oslo_messaging_kafka",
    "database",
    "oslo_policy",
    "secretstore",
    "crypto",
    "Keystone_AuthToken",
    "default",
];

/// Non-secret judged options whose value may carry a pasted secret.
const CARRIERS: &[&str] = &[
    "auth_url = http://u:{M}@ks.example:5000",
    "www_authenticate_uri = https://{M}@ks.example",
    "auth_uri = http://a:{M}$x@k",
    "identity_uri = http://i:{M}@k:35357",
    "vault_url = http://t:{M}@vault:8200",
    "insecure = false {M}",
    "insecure = {M}",
    "use_ssl = {M}",
    "enforce_new_defaults = {M}",
    "allow_anonymous_access = yes {M}",
    "delay_auth_decision = {M}",
];

/// Lines without a secret (structure and junk).
const PLAIN: &[&str] = &[
    "",
    "# comment",
    "; comment",
    "auth_type = password",
    "auth_type = v3applicationcredential",
    "auth_type = v3oidcpassword",
    "auth_section = svc_auth",
    "enabled_secretstore_plugins = vault_plugin",
    "enabled_crypto_plugins = simple_crypto",
    "enabled_crypto_plugins = p11_crypto",
    "enabled_secretstore_plugins = kmip_plugin",
    "host_href = http://api:9311",
    "host_href = $host_href",
    "debug = maybe",
    "  indented",
    "[broken",
    "[]",
    "= v",
    "novalue",
];

/// One generated line: (kind, index, shape or group index).
type Gen = (u8, usize, usize);

fn render_conf(lines: &[Gen], m: &str, names: &[String]) -> String {
    let mut out = String::from("[DEFAULT]\n");
    for &(kind, a, b) in lines {
        let line = match kind % 5 {
            0 => format!("[{}]", GROUPS[a % GROUPS.len()]),
            1 => format!(
                "{} {} {}",
                names[a % names.len()],
                if b % 2 == 0 { "=" } else { ":" },
                SHAPES[b % SHAPES.len()]
            ),
            2 => CARRIERS[a % CARRIERS.len()].to_string(),
            3 => PLAIN[a % PLAIN.len()].to_string(),
            // A secret pasted on a line of its own, or as a key.
            _ => ["{M}", "  {M}", "{M}: x", "{M} = x", "[{M}]"][a % 5].to_string(),
        };
        out.push_str(&line.replace("{M}", m));
        out.push('\n');
    }
    out
}

fn render_paste(lines: &[Gen], m: &str) -> String {
    let mut extra = String::new();
    for &(kind, a, b) in lines {
        let l = match kind % 4 {
            0 => format!("password = {}", SHAPES[b % SHAPES.len()]),
            1 => format!("auth_url = http://p:{{M}}@ks{}.example:5000", a % 3),
            2 => [
                "admin_password = {M}",
                "  {M}",
                "{M}",
                "delay_auth_decision = {M}",
            ][a % 4]
                .to_string(),
            _ => [
                "",
                "# c",
                "insecure = true",
                "[filter:x]",
                "paste.filter_factory = a.b:c",
            ][a % 5]
                .to_string(),
        };
        extra.push_str(&l.replace("{M}", m));
        extra.push('\n');
    }
    GOOD_PASTE.replace(
        "paste.filter_factory = keystonemiddleware.auth_token:filter_factory\n",
        &format!("paste.filter_factory = keystonemiddleware.auth_token:filter_factory\n{extra}"),
    )
}

fn render_policy(lines: &[Gen], m: &str) -> String {
    // Policy files hold no secrets, but a secret pasted into one (or a
    // broken line) must not be echoed by a YAML/JSON error either.
    let mut out = String::from("\"creator\": \"role:creator or role:member\"\n");
    for &(kind, a, _) in lines {
        let l = match kind % 3 {
            0 => [
                "{M}",
                "  {M}: [",
                "\"{M}",
                "{M}: !!binary x",
                "- {M}",
                "{M}: &a *b",
            ][a % 6]
                .to_string(),
            1 => ["\"admin\": \"role:admin\"", "# c", "", "{", "}", ": x"][a % 6].to_string(),
            _ => "\"x\": \"{M} or role:member\"".to_string(),
        };
        out.push_str(&l.replace("{M}", m));
        out.push('\n');
    }
    out
}

fn render_env(lines: &[Gen], m: &str) -> (String, String) {
    let mut unit = String::from("[Unit]\nDescription=Barbican API\n[Service]\nExecStart=/usr/bin/barbican-api\nEnvironmentFile=-/etc/default/barbican-api\n");
    let mut envfile = String::new();
    for &(kind, a, _) in lines {
        let (u, e) = match kind % 4 {
            0 => (
                [
                    "Environment=OS_KEYSTONE_AUTHTOKEN__PASSWORD={M}",
                    "Environment=\"OS_VAULT_PLUGIN__ROOT_TOKEN_ID={M}",
                    "Environment=OS_SIMPLE_CRYPTO_PLUGIN__KEK={M} X={M}",
                    "Environment={M}",
                    "Environment=OS_X__DB_PASSWORD=a\\\n {M}",
                ][a % 5],
                "",
            ),
            1 => (
                "",
                [
                    "OS_SIMPLE_CRYPTO_PLUGIN__KEK={M}",
                    "{M}",
                    "OS_KEYSTONE_AUTHTOKEN__AUTH_URL=http://u:{M}@k",
                    "export OS_P11_CRYPTO_PLUGIN__LOGIN='{M}",
                    "OS_DATABASE__CONNECTION=mysql://b:{M}@db/b",
                    "=\"{M}\"",
                ][a % 6],
            ),
            2 => (["{M}", "[{M}]", "Environment", ""][a % 4], ""),
            _ => ("", ["# c", "", "  {M}", "A=\"b\\\n{M}\""][a % 4]),
        };
        if !u.is_empty() {
            unit.push_str(&u.replace("{M}", m));
            unit.push('\n');
        }
        if !e.is_empty() {
            envfile.push_str(&e.replace("{M}", m));
            envfile.push('\n');
        }
    }
    (unit, envfile)
}

/// Everything the readers themselves say about the inputs (errors and
/// problems), without the rest of the audit.
fn reader_messages(
    conf: &str,
    paste_text: &str,
    policy_text: &str,
    env: &(String, String),
) -> String {
    let mut out = String::new();
    let f = oslo::parse(conf);
    if let Some(e) = &f.error {
        out.push_str(&format!("{e}\n"));
    }
    let c = Config::from_texts(&[("/etc/barbican/barbican.conf", conf)]);
    for v in &f.values {
        if let Err(e) = c.resolve(&v.group, &v.key) {
            // Only a non-secret option's own error may name the `$` fragment.
            if options::is_secret(&v.group, &v.key) {
                continue;
            }
            out.push_str(&format!("{} {}\n", e.name, e.message));
        }
    }
    match paste::parse(paste_text) {
        Ok(pf) => {
            if let Err(e) = paste::check_loads(
                &pf,
                "main",
                "/etc/barbican",
                "/etc/barbican/barbican-api-paste.ini",
            ) {
                out.push_str(&format!("{e}\n"));
            }
        }
        Err(e) => out.push_str(&format!("{e}\n")),
    }
    if let Err(e) = policy::parse(policy_text) {
        out.push_str(&format!("{e}\n"));
    }
    let d = systemd::parse_environment_file_detailed(env.1.as_bytes());
    out.push_str(&format!("{:?} {:?}\n", d.notes, d.error));
    for (_, v) in [&env.0]
        .iter()
        .flat_map(|u| u.lines())
        .filter_map(|l| l.split_once('='))
    {
        if let Err(e) = systemd::parse_environment_value(v) {
            out.push_str(&format!("{e}\n"));
        }
    }
    out
}

fn audit_root(conf: &str, paste_text: &str, policy_text: &str, env: &(String, String)) -> String {
    let r = Root::barbican();
    r.conf(conf);
    r.paste(paste_text);
    r.file(
        "/etc/barbican/policy.d/60-fuzz.yaml",
        policy_text,
        0,
        BARBICAN_GID,
        0o640,
    );
    r.file(
        "/lib/systemd/system/barbican-api.service",
        &env.0,
        0,
        0,
        0o644,
    );
    r.file("/etc/default/barbican-api", &env.1, 0, 0, 0o644);
    let opts = AuditOptions {
        root: r.path().to_path_buf(),
        checks: None,
        waivers: None,
        scan: None,
    };
    match audit::run(opts, time::OffsetDateTime::UNIX_EPOCH) {
        Ok(rep) => format!(
            "{}\n{}",
            report::text::render(&rep, false),
            report::json::render(&rep)
        ),
        Err(e) => format!("fatal: {e}"),
    }
}

fn lines() -> impl Strategy<Value = Vec<Gen>> {
    prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 0..24)
}

fn check_case(m: &str, conf: &str, paste_text: &str, policy_text: &str, env: &(String, String)) {
    leak::assert_clean(
        "reader errors",
        m,
        reader_messages(conf, paste_text, policy_text, env).as_bytes(),
    );
    leak::assert_clean(
        "audit text+json",
        m,
        audit_root(conf, paste_text, policy_text, env).as_bytes(),
    );
}

fn good_env() -> (String, String) {
    (
        "[Service]\nExecStart=/usr/bin/barbican-api\n".to_string(),
        String::new(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn oslo_reader_never_leaks(m in marker(), l in lines()) {
        let conf = render_conf(&l, &m, &secret_names());
        check_case(&m, &conf, GOOD_PASTE, "\"creator\": \"role:member\"\n", &good_env());
    }

    #[test]
    fn paste_reader_never_leaks(m in marker(), l in lines()) {
        let paste_text = render_paste(&l, &m);
        check_case(&m, common::GOOD_CONF, &paste_text, "\"creator\": \"role:member\"\n", &good_env());
    }

    #[test]
    fn policy_reader_never_leaks(m in marker(), l in lines()) {
        let policy_text = render_policy(&l, &m);
        // A policy value that holds the marker is shown by BAR-008 only if it is
        // the creator rule; the generator keeps the marker out of that rule.
        check_case(&m, common::GOOD_CONF, GOOD_PASTE, &policy_text, &good_env());
    }

    #[test]
    fn systemd_reader_never_leaks(m in marker(), l in lines()) {
        let env = render_env(&l, &m);
        check_case(&m, common::GOOD_CONF, GOOD_PASTE, "\"creator\": \"role:member\"\n", &env);
    }

    #[test]
    fn all_readers_at_once(m in marker(), a in lines(), b in lines(), c in lines(), d in lines()) {
        let conf = render_conf(&a, &m, &secret_names());
        check_case(&m, &conf, &render_paste(&b, &m), &render_policy(&c, &m), &render_env(&d, &m));
    }
}
