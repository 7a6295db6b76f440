//! The leak harness: one marker secret planted in every secret option and
//! in every position that provokes an error or a URL in a message, then
//! every output channel of the real binary is searched for any 8-character
//! piece of it, plain, base64, hex or URL-encoded (tests/common/leak.rs).
//!
//! Positions: every option the registry or the name rule calls secret
//! (including the keystoneauth plugin options of the `auth_type` in use),
//! each in four shapes (plain, `$` interpolation, `${...}`, URL userinfo);
//! URL userinfo in auth_url, www_authenticate_uri, an auth_section's
//! auth_url, vault_url, transport_url; an invalid boolean with the secret
//! pasted on; an "Unexpected continuation line"; a line with no `=`; a
//! `.conf.d` file overriding a secret; paste `%`, `%(`...`)s` and `%(`
//! errors and a paste auth_url with userinfo; systemd `Environment=` and an
//! EnvironmentFile (a stray line, a KEK, a URL) and an unbalanced quote.
//!
//! Channels: text and JSON on stdout, stderr, `--output` (text and JSON),
//! `--textfile`, `audit --scan`, the agent's spool file, the agent's stderr
//! and textfile, and the real collector's stored body (the SQLite
//! `report_bodies` and `findings` rows), its API, dashboard and metrics,
//! and its log.
//!
//! Also here: the text report cannot be forged by control characters in
//! file names (class 6 of issue 14).
#![allow(clippy::unwrap_used, clippy::disallowed_macros)]

mod common;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/leak.rs"]
mod leak;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use barbican_audit_core::barbican::options;
use common::{Root, BARBICAN_GID, GOOD_PASTE};

/// The marker secret. Alphanumeric so that it survives every dialect's
/// quoting unchanged; 16 characters, so 9 windows of 8.
const M: &str = "Lk7Qz2Wm9Rt4Xv8N";

/// The shapes a secret value takes, each with the auth plugin in use and
/// the paste value that provokes a paste error.
const VARIANTS: &[(&str, &str, &str)] = &[
    ("plain", "password", "{M}"),
    ("dollar", "v3password", "{M}%{M}"),
    ("braced", "v3applicationcredential", "{M}%({M})s"),
    ("url", "v3oidcpassword", "{M}%({M}"),
];

fn shape(variant: &str) -> String {
    match variant {
        "plain" => M.to_string(),
        "dollar" => format!("{M}${M}"),
        "braced" => format!("x${{{M}}}y"),
        _ => format!("http://admin:{M}@h.example:5000/"),
    }
}

/// Every secret option as (group, name): the registry's and the name rule's,
/// keystoneauth plugin options in [keystone_authtoken], and the secret
/// options of registries Barbican does not load (castellan, oslo.cache).
fn secret_options() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = options::all()
        .iter()
        .filter(|o| options::is_secret(&o.group, &o.name))
        .map(|o| {
            let g = if o.group.starts_with("@plugin:") {
                "keystone_authtoken".to_string()
            } else {
                o.group.clone()
            };
            (g, o.name.clone())
        })
        .collect();
    for (g, n) in [
        ("key_manager", "password"),
        ("key_manager", "token"),
        ("cache", "backend_argument"),
        ("vault", "root_token_id"),
        ("vault", "approle_secret_id"),
        ("cache", "memcache_password"),
    ] {
        v.push((g.into(), n.into()));
    }
    v.sort();
    v.dedup();
    v
}

fn conf_text(variant: &str, plugin: &str) -> String {
    let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut put = |g: &str, line: String| groups.entry(g.to_string()).or_default().push(line);
    put("DEFAULT", "host_href = http://api.example:9311".into());
    put(
        "secretstore",
        "enabled_secretstore_plugins = vault_plugin\nenabled_secretstore_plugins = kmip_plugin\nenabled_secretstore_plugins = store_crypto".into(),
    );
    put(
        "crypto",
        "enabled_crypto_plugins = p11_crypto\nenabled_crypto_plugins = simple_crypto".into(),
    );
    put("keystone_authtoken", format!("auth_type = {plugin}"));
    put(
        "keystone_authtoken",
        format!("auth_url = http://admin:{M}@ks.example:5000/v3"),
    );
    put(
        "keystone_authtoken",
        format!("www_authenticate_uri = http://svc:{M}$x@ks.example:5000"),
    );
    put("keystone_authtoken", format!("insecure = false {M}"));
    put("oslo_policy", format!("enforce_new_defaults = yes {M}"));
    put(
        "vault_plugin",
        format!("vault_url = http://tok:{M}@vault.example:8200"),
    );
    put("vault_plugin", format!("use_ssl = maybe {M}"));
    put(
        "DEFAULT",
        format!("transport_url = rabbit://u:{M}@h1:5672,u:{M}@h2:5672/"),
    );
    for (g, n) in secret_options() {
        put(&g, format!("{n} = {}", shape(variant)));
    }
    let mut out = String::new();
    for (g, lines) in groups {
        out.push_str(&format!("[{g}]\n{}\n\n", lines.join("\n")));
    }
    out
}

/// Every secret option of every keystoneauth plugin, in the shape.
fn plugin_secrets(variant: &str) -> String {
    let mut names: Vec<&str> = options::all()
        .iter()
        .filter(|o| o.group.starts_with("@plugin:") && o.secret)
        .map(|o| o.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .iter()
        .map(|n| format!("{n} = {}\n", shape(variant)))
        .collect()
}

fn build_root(variant: &str, plugin: &str, paste_value: &str) -> Root {
    let r = Root::barbican();
    r.conf(&conf_text(variant, plugin));
    let d = "/etc/barbican/barbican.conf.d";
    r.dir_(d, 0, BARBICAN_GID, 0o750);
    // An indented line after a blank line: oslo refuses the file.
    r.file(
        &format!("{d}/50-continuation.conf"),
        &format!("[keystone_authtoken]\npassword = x\n\n    {M}\n"),
        0,
        BARBICAN_GID,
        0o640,
    );
    // A secret pasted on a line of its own (no `=`).
    r.file(
        &format!("{d}/60-stray.conf"),
        &format!("[DEFAULT]\n{M}\n"),
        0,
        BARBICAN_GID,
        0o640,
    );
    // Overrides of judged options, one secret, one URL with userinfo, and
    // an auth_section whose auth_url has userinfo.
    r.file(
        &format!("{d}/70-override.conf"),
        &format!(
            "[simple_crypto_plugin]\nkek = {M}\n[keystone_authtoken]\nauth_section = svc_auth\n\
             www_authenticate_uri = https://u:{M}@ks.example:5000\n\
             [svc_auth]\nauth_type = {plugin}\nauth_url = http://sa:{M}@ks.example:5000\n{}",
            plugin_secrets(variant)
        ),
        0,
        BARBICAN_GID,
        0o640,
    );
    let paste = GOOD_PASTE.replace(
        "paste.filter_factory = keystonemiddleware.auth_token:filter_factory\n",
        &format!(
            "paste.filter_factory = keystonemiddleware.auth_token:filter_factory\n\
             auth_url = http://pa:{M}@ks.example:5000\npassword = {}\n",
            paste_value.replace("{M}", M)
        ),
    );
    r.paste(&paste);
    r.file(
        "/lib/systemd/system/barbican-api.service",
        &format!(
            "[Unit]\nDescription=Barbican API\n[Service]\n\
             Environment=OS_KEYSTONE_AUTHTOKEN__PASSWORD={M}\n\
             Environment=\"OS_VAULT_PLUGIN__ROOT_TOKEN_ID={M}\n\
             EnvironmentFile=/etc/default/barbican-api\nExecStart=/usr/bin/barbican-api\n"
        ),
        0,
        0,
        0o644,
    );
    r.file(
        "/etc/default/barbican-api",
        &format!(
            "OS_SIMPLE_CRYPTO_PLUGIN__KEK={M}\n{M}\nOS_VAULT_PLUGIN__VAULT_URL=http://u:{M}@v.example\n\
             OS_KEYSTONE_AUTHTOKEN__AUTH_URL='http://x:{M}@ks.example'\n"
        ),
        0,
        0,
        0o644,
    );
    r.version("15.0.1");
    r
}

fn both(o: &Output) -> Vec<u8> {
    let mut v = o.stdout.clone();
    v.extend_from_slice(&o.stderr);
    v
}

fn check(channel: &str, bytes: &[u8]) {
    leak::assert_clean(channel, M, bytes);
}

#[test]
fn the_detector_finds_every_form() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("ab{M}cd"));
    let url = base64::engine::general_purpose::URL_SAFE.encode(format!("x{M}"));
    let hex: String = M.bytes().map(|b| format!("{b:02X}")).collect();
    for text in [
        format!("... {} ...", &M[3..11]),
        b64,
        url,
        hex,
        format!("no such option {}", &M[8..]),
    ] {
        assert!(!leak::find(M, text.as_bytes()).is_empty(), "missed a form");
    }
    assert!(leak::find(M, b"sha256:0123456789ab http://***@h:5000").is_empty());
}

#[test]
fn no_output_channel_holds_a_piece_of_a_secret() {
    let db = fleet::Db::sqlite();
    let viewer = fleet::enroll(&db, "secteam", true);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut nodes = Vec::new();
    for (variant, plugin, paste_value) in VARIANTS {
        let root = build_root(variant, plugin, paste_value);
        let rs = root.path().to_str().unwrap().to_string();
        // The planted file really holds the marker (the harness is not vacuous).
        let conf = std::fs::read(root.real("/etc/barbican/barbican.conf")).unwrap();
        assert!(!leak::find(M, &conf).is_empty());

        let out = tempfile::tempdir().unwrap();
        let o = |n: &str| out.path().join(n).to_str().unwrap().to_string();

        // Text on stdout, stderr.
        let text = common::run(&["audit", "--root", &rs]);
        check(&format!("{variant}: text stdout+stderr"), &both(&text));
        // JSON on stdout, --output, --textfile.
        let json = common::run(&[
            "audit",
            "--root",
            &rs,
            "--format",
            "json",
            "--output",
            &o("report.json"),
            "--textfile",
            &o("audit.prom"),
        ]);
        check(&format!("{variant}: json stdout+stderr"), &both(&json));
        let report = std::fs::read(o("report.json")).unwrap();
        check(&format!("{variant}: --output json"), &report);
        check(
            &format!("{variant}: --textfile"),
            &std::fs::read(o("audit.prom")).unwrap(),
        );
        // Text to --output, with the disk scan (BAR-013).
        let scan = common::run(&[
            "audit",
            "--root",
            &rs,
            "--scan",
            "--output",
            &o("report.txt"),
        ]);
        check(&format!("{variant}: --scan stdout+stderr"), &both(&scan));
        check(
            &format!("{variant}: --output text"),
            &std::fs::read(o("report.txt")).unwrap(),
        );

        // The positions were exercised: the messages are there, without the secret.
        let v: serde_json::Value = serde_json::from_slice(&report).unwrap();
        let msg = |id: &str| -> String {
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["check_id"] == id)
                .map(|f| format!("{} {}\n", f["subject"], f["message"]))
                .collect()
        };
        let bar012 = msg("BAR-012");
        assert!(bar012.contains("continuation"), "{variant}: {bar012}");
        assert!(bar012.contains("not a boolean"), "{variant}");
        assert!(
            bar012.contains("barbican-api-paste.ini"),
            "{variant}: paste judged"
        );
        if *variant == "dollar" || *variant == "braced" {
            // `$` in the auth plugin's secret option: NoSuchOptError when
            // keystonemiddleware loads the plugin (class 2).
            let secret_opt = if *variant == "braced" {
                "application_credential_secret"
            } else {
                "password"
            };
            assert!(
                // auth_section = svc_auth: the plugin's options live there.
                bar012.contains(&format!("[svc_auth] {secret_opt}: a `$`")),
                "{variant}: {bar012}"
            );
        }
        let bar005 = msg("BAR-005");
        assert!(
            bar005.contains("***@"),
            "{variant}: userinfo stripped, URL kept"
        );
        nodes.push((variant, root, out));
    }

    // The agent: one round each with the collector down (the report waits
    // in the spool), then with the real collector up (stored body).
    let agent = |root: &Root, dir: &Path, token: &str| -> Output {
        let t = dir.join("token");
        std::fs::write(&t, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&t, std::fs::Permissions::from_mode(0o600)).unwrap();
        Command::new(fleet::bin())
            .args(["agent", "--once", "--retries", "0", "--collector"])
            .arg(format!("http://127.0.0.1:{port}"))
            .arg("--token-file")
            .arg(&t)
            .arg("--spool-dir")
            .arg(dir.join("spool"))
            .arg("--root")
            .arg(root.path())
            .arg("--textfile")
            .arg(dir.join("agent.prom"))
            .output()
            .unwrap()
    };
    let mut tokens = Vec::new();
    for (variant, root, out) in &nodes {
        let token = fleet::enroll(&db, &format!("leak-{variant}"), false);
        let o = agent(root, out.path(), &token);
        check(&format!("{variant}: agent stderr (down)"), &both(&o));
        let spool = out.path().join("spool");
        let mut spooled = 0;
        for e in std::fs::read_dir(&spool).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                check(
                    &format!("{variant}: spool {}", p.display()),
                    &std::fs::read(&p).unwrap(),
                );
                spooled += 1;
            }
        }
        assert!(spooled >= 1, "{variant}: a report waits in the spool");
        check(
            &format!("{variant}: agent textfile"),
            &std::fs::read(out.path().join("agent.prom")).unwrap(),
        );
        tokens.push(token);
    }
    let c = fleet::Collector::start_at(&db, &format!("127.0.0.1:{port}"), &[]);
    for ((variant, root, out), token) in nodes.iter().zip(&tokens) {
        // Time passes: the backoff the failed round armed is over.
        let state = out.path().join("spool/agent-state.json");
        if let Ok(text) = std::fs::read_to_string(&state) {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["next_attempt_at"] = 0.0.into();
            std::fs::write(&state, serde_json::to_vec(&v).unwrap()).unwrap();
        }
        let o = agent(root, out.path(), token);
        check(&format!("{variant}: agent stderr (up)"), &both(&o));
        assert_eq!(
            o.status.code(),
            Some(0),
            "{variant}: delivered: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let log = c.stderr.lock().unwrap().clone();
    check("collector log", log.as_bytes());
    let stored: usize = db
        .sql("SELECT count(*) FROM report_bodies")
        .parse()
        .unwrap();
    // (The log was found clean above, so it may be shown.)
    assert_eq!(
        stored,
        2 * VARIANTS.len(),
        "every round stored; log:\n{log}"
    );
    let bodies = db.sql("SELECT body FROM report_bodies");
    check("collector stored bodies", bodies.as_bytes());
    check(
        "collector findings rows",
        db.sql("SELECT * FROM findings").as_bytes(),
    );
    for path in [
        "/api/v1/findings?limit=10000",
        "/api/v1/nodes",
        "/api/v1/nodes/leak-url/reports",
        "/",
        "/metrics",
    ] {
        let (code, body) = fleet::get(&c.base, path, Some(&viewer));
        assert_eq!(code, 200, "{path}");
        check(&format!("collector GET {path}"), body.as_bytes());
    }
}

/// A policy file named to forge a report line (`x\n  PASS   ...`) and to
/// send terminal escapes: the text view and `--output` text show it escaped
/// on its own line; JSON keeps the real name (serde escapes it).
#[test]
fn text_report_cannot_be_forged_by_file_names() {
    let r = Root::barbican();
    let forged = "/etc/barbican/policy.d/x\n  PASS   forged.yaml: owned by root:barbican\x1b[2J\u{202e}\r.yaml";
    r.file(forged, "\"creator\": \"role:member\"\n", 0, 0, 0o644);
    let rs = r.path().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let txt = out.path().join("r.txt");
    let o = common::run(&["audit", "--root", rs, "--output", txt.to_str().unwrap()]);
    for (channel, bytes) in [
        ("stdout", o.stdout.clone()),
        ("stderr", o.stderr.clone()),
        ("--output", std::fs::read(&txt).unwrap()),
    ] {
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            !text.contains('\x1b'),
            "{channel}: ESC reached the terminal"
        );
        assert!(!text.contains('\r'), "{channel}: CR reached the terminal");
        assert!(
            !text.contains('\u{202e}'),
            "{channel}: bidi override printed"
        );
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("  PASS   forged") || l.contains("fix:   PASS")),
            "{channel}: a forged line"
        );
        if channel != "stderr" {
            assert!(
                text.contains("x\\n  PASS   forged.yaml"),
                "{channel}: the name is shown, escaped"
            );
            assert!(text.contains("\\u{1b}[2J\\u{202e}\\r.yaml"), "{channel}");
        }
    }
    let (_, v) = r.audit_json(&[]);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["subject"] == forged),
        "JSON keeps the real name"
    );
}

/// Class 2 of issue 14: `$` in the password of the auth plugin in use makes
/// keystonemiddleware fail (NoSuchOptError) when it loads the plugin, so
/// BAR-012 fails, naming the option and not the value; `$$` is a literal
/// dollar and loads (confirmed by tests/oslo_confirm.rs).
#[test]
fn dollar_in_the_auth_plugin_password_fails_bar012() {
    for (value, expect) in [("pa$wXq7", "fail"), ("pa$$wXq7", "pass")] {
        let r = Root::barbican();
        r.conf(&format!(
            "{}username = barbican\npassword = {value}\n",
            common::GOOD_CONF
        ));
        let (_, v) = r.audit_json(&[]);
        assert_eq!(
            common::status_of(&v, "BAR-012", "/etc/barbican/barbican.conf"),
            expect,
            "{value}"
        );
        let f = common::finding(&v, "BAR-012", "/etc/barbican/barbican.conf");
        let msg = f["message"].as_str().unwrap();
        if expect == "fail" {
            assert!(
                msg.contains("[keystone_authtoken] password: a `$`"),
                "{msg}"
            );
        }
        assert!(!msg.contains("wXq7"), "no fragment of the password: {msg}");
    }
}
