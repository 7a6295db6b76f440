//! Fixtures for every check, each named after the condition it holds. One
//! table drives them all; `every_check_has_pass_and_fail_fixtures` makes sure
//! no check in the catalog goes without both, and every output of every
//! fixture is searched for the fixture secrets, which must never appear.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

mod common;

use common::*;

struct Case {
    name: &'static str,
    check: &'static str,
    subject: &'static str,
    expect: &'static str,
    build: fn() -> Root,
}

const CONF: &str = "/etc/barbican/barbican.conf";
const WORKER_UNIT: &str = "/lib/systemd/system/barbican-worker.service";
const WORKER_DROPIN: &str = "/etc/systemd/system/barbican-worker.service.d/override.conf";
const SCS_POLICY: &str = "/etc/barbican/policy.d/50-scs.yaml";
const CONF_D: &str = "/etc/barbican/barbican.conf.d/50-override.conf";

/// Secrets planted in fixtures: no output may contain them. The published
/// sample KEK is public, but the auditor must not print it either.
const RANDOM_KEK: &str = "q1Ehz1X-mAyDqEk3Ot5Kb0NQz0tqjFQ7v2GlAX9Pk3s=";
const OTHER_KEK: &str = "n0V1Hc3vYtK2Qy7r8oLzA5mWbJd4sXeFpG6uTiRkZ9c=";
const CHARM_KEK: &str = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=";
const HSM_PIN: &str = "pa$word-1234";
const VAULT_TOKEN: &str = "hvs.CAESIJlU1q0Fixture0Token";
const SECRETS: &[&str] = &[
    RANDOM_KEK,
    OTHER_KEK,
    CHARM_KEK,
    HSM_PIN,
    "word-1234",
    VAULT_TOKEN,
];

fn kek_conf(keks: &[&str]) -> String {
    let mut s = String::from("[DEFAULT]\n[simple_crypto_plugin]\n");
    for k in keks {
        s.push_str(&format!("kek = '{k}'\n"));
    }
    s
}

/// Barbican's default backend (store_crypto + simple_crypto) and no kek.
fn simple_crypto_root() -> Root {
    with_conf("[DEFAULT]\n")
}

/// urlsafe base64 → bytes (fixture helper; keys here are 32 bytes).
fn base64_url_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = alphabet.iter().position(|&a| a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

fn with_conf(text: &str) -> Root {
    let r = Root::barbican();
    r.conf(text);
    r
}
const PASTE: &str = "/etc/barbican/barbican-api-paste.ini";

fn with_conf_mode(mode: u32) -> Root {
    let r = Root::barbican();
    r.chmod(CONF, mode);
    r
}

const CASES: &[Case] = &[
    // BAR-001 ownership
    Case {
        name: "owner-root-group-barbican",
        check: "BAR-001",
        subject: CONF,
        expect: "pass",
        build: Root::barbican,
    },
    Case {
        name: "group-root",
        check: "BAR-001",
        subject: CONF,
        expect: "fail",
        build: || {
            let r = Root::barbican();
            chown(&r.real(CONF), 0, 0);
            r
        },
    },
    Case {
        name: "owner-barbican",
        check: "BAR-001",
        subject: CONF,
        expect: "fail",
        build: || {
            let r = Root::barbican();
            chown(&r.real(CONF), BARBICAN_UID, BARBICAN_GID);
            r
        },
    },
    Case {
        name: "group-barbican-missing",
        check: "BAR-001",
        subject: CONF,
        expect: "error",
        build: || {
            let r = Root::barbican();
            r.file("/etc/group", "root:x:0:\n", 0, 0, 0o644);
            r
        },
    },
    Case {
        name: "barbican-not-installed",
        check: "BAR-001",
        subject: "barbican",
        expect: "na",
        build: Root::new,
    },
    Case {
        name: "home-shadow-file-judged",
        check: "BAR-001",
        subject: "/var/lib/barbican/.barbican/barbican.conf",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                "/var/lib/barbican/.barbican/barbican.conf",
                "[DEFAULT]\n",
                BARBICAN_UID,
                BARBICAN_GID,
                0o600,
            );
            r
        },
    },
    Case {
        name: "conf-d-file-judged",
        check: "BAR-001",
        subject: "/etc/barbican/barbican.conf.d/10-kek.conf",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                "/etc/barbican/barbican.conf.d/10-kek.conf",
                "[DEFAULT]\n",
                0,
                0,
                0o640,
            );
            r
        },
    },
    Case {
        name: "policy-dirs-file-judged",
        check: "BAR-001",
        subject: "/etc/barbican/policy.d/00_default_policy.yaml",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                "/etc/barbican/policy.d/00_default_policy.yaml",
                "#\n",
                0,
                0,
                0o644,
            );
            r
        },
    },
    Case {
        name: "worker-prog-file-judged",
        check: "BAR-001",
        subject: "/etc/barbican/barbican-worker.conf",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                "/etc/barbican/barbican-worker.conf",
                "[DEFAULT]\n",
                1000,
                1000,
                0o640,
            );
            r
        },
    },
    Case {
        name: "uwsgi-paste-elsewhere-judged",
        check: "BAR-001",
        subject: "/srv/paste/api-paste.ini",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                "/etc/barbican/barbican-api-uwsgi.ini",
                "[uwsgi]\npaste = config:/srv/paste/api-paste.ini\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r.file(
                "/srv/paste/api-paste.ini",
                "[composite:main]\n",
                0,
                0,
                0o644,
            );
            r
        },
    },
    Case {
        name: "named-key-file-missing",
        check: "BAR-001",
        subject: "/etc/barbican/kmip/client.key",
        expect: "error",
        build: || {
            let r = Root::barbican();
            r.file(
                CONF,
                "[kmip_plugin]\nkeyfile = /etc/barbican/kmip/client.key\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    Case {
        name: "dangling-symlink-config",
        check: "BAR-001",
        subject: PASTE,
        expect: "error",
        build: || {
            let r = Root::barbican();
            std::fs::remove_file(r.real(PASTE)).unwrap();
            r.link(PASTE, "/srv/gone.ini");
            r
        },
    },
    // BAR-002 mode and ACL
    Case {
        name: "mode-0640",
        check: "BAR-002",
        subject: CONF,
        expect: "pass",
        build: || with_conf_mode(0o640),
    },
    Case {
        name: "mode-0600-stricter",
        check: "BAR-002",
        subject: CONF,
        expect: "pass",
        build: || with_conf_mode(0o600),
    },
    Case {
        name: "mode-0440-stricter",
        check: "BAR-002",
        subject: CONF,
        expect: "pass",
        build: || with_conf_mode(0o440),
    },
    Case {
        name: "mode-0400-stricter",
        check: "BAR-002",
        subject: CONF,
        expect: "pass",
        build: || with_conf_mode(0o400),
    },
    Case {
        name: "mode-0644-others-read",
        check: "BAR-002",
        subject: CONF,
        expect: "fail",
        build: || with_conf_mode(0o644),
    },
    Case {
        name: "mode-0604-others-read",
        check: "BAR-002",
        subject: CONF,
        expect: "fail",
        build: || with_conf_mode(0o604),
    },
    Case {
        name: "mode-0660-group-write",
        check: "BAR-002",
        subject: CONF,
        expect: "fail",
        build: || with_conf_mode(0o660),
    },
    Case {
        name: "mode-2640-setgid",
        check: "BAR-002",
        subject: CONF,
        expect: "fail",
        build: || with_conf_mode(0o2640),
    },
    Case {
        name: "mode-0740-owner-exec",
        check: "BAR-002",
        subject: CONF,
        expect: "fail",
        build: || with_conf_mode(0o740),
    },
    Case {
        name: "acl-named-user-read",
        check: "BAR-002",
        subject: CONF,
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.setfacl(CONF, "u:1000:r");
            r
        },
    },
    Case {
        name: "acl-named-group-read",
        check: "BAR-002",
        subject: CONF,
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.setfacl(CONF, "g:1000:r");
            r
        },
    },
    Case {
        name: "symlink-to-0644-target",
        check: "BAR-002",
        subject: CONF,
        expect: "fail",
        build: || {
            let r = Root::barbican();
            std::fs::remove_file(r.real(CONF)).unwrap();
            r.file(
                "/srv/conf/barbican.conf",
                "[DEFAULT]\n",
                0,
                BARBICAN_GID,
                0o644,
            );
            r.link(CONF, "/srv/conf/barbican.conf");
            r
        },
    },
    Case {
        name: "symlink-to-0640-target",
        check: "BAR-002",
        subject: CONF,
        expect: "pass",
        build: || {
            let r = Root::barbican();
            std::fs::remove_file(r.real(CONF)).unwrap();
            r.file(
                "/srv/conf/barbican.conf",
                "[DEFAULT]\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            // A relative link: judged the same way.
            r.link(CONF, "../../srv/conf/barbican.conf");
            r
        },
    },
    Case {
        name: "barbican-not-installed",
        check: "BAR-002",
        subject: "barbican",
        expect: "na",
        build: Root::new,
    },
    // BAR-003 directory
    Case {
        name: "dir-root-barbican-0750",
        check: "BAR-003",
        subject: "/etc/barbican",
        expect: "pass",
        build: Root::barbican,
    },
    Case {
        name: "dir-root-barbican-0710-stricter",
        check: "BAR-003",
        subject: "/etc/barbican",
        expect: "pass",
        build: || {
            let r = Root::barbican();
            r.chmod("/etc/barbican", 0o710);
            r
        },
    },
    Case {
        name: "dir-barbican-owned-debian-stock",
        check: "BAR-003",
        subject: "/etc/barbican",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            chown(&r.real("/etc/barbican"), BARBICAN_UID, BARBICAN_GID);
            r
        },
    },
    Case {
        name: "dir-0775-group-writable-rdo",
        check: "BAR-003",
        subject: "/etc/barbican",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.chmod("/etc/barbican", 0o775);
            r
        },
    },
    Case {
        name: "dir-0755-others-read",
        check: "BAR-003",
        subject: "/etc/barbican",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.chmod("/etc/barbican", 0o755);
            r
        },
    },
    Case {
        name: "dir-acl-named-group",
        check: "BAR-003",
        subject: "/etc/barbican",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.setfacl("/etc/barbican", "g:1000:rx");
            r
        },
    },
    Case {
        name: "group-barbican-missing",
        check: "BAR-003",
        subject: "/etc/barbican",
        expect: "error",
        build: || {
            let r = Root::barbican();
            r.file("/etc/group", "root:x:0:\n", 0, 0, 0o644);
            r
        },
    },
    Case {
        name: "barbican-not-installed",
        check: "BAR-003",
        subject: "barbican",
        expect: "na",
        build: Root::new,
    },
    // BAR-006 plaintext KEK in config
    Case {
        name: "simple-crypto-no-kek-in-config",
        check: "BAR-006",
        subject: CONF,
        expect: "pass",
        build: simple_crypto_root,
    },
    Case {
        name: "kek-in-barbican-conf",
        check: "BAR-006",
        subject: CONF,
        expect: "fail",
        build: || with_conf(&kek_conf(&[RANDOM_KEK])),
    },
    Case {
        name: "kek-in-conf-d",
        check: "BAR-006",
        subject: CONF_D,
        expect: "fail",
        build: || {
            let r = simple_crypto_root();
            r.file(CONF_D, &kek_conf(&[RANDOM_KEK]), 0, BARBICAN_GID, 0o640);
            r
        },
    },
    Case {
        name: "p11-crypto-only-not-applicable",
        check: "BAR-006",
        subject: "barbican",
        expect: "na",
        build: || {
            with_conf(&format!("[crypto]\nenabled_crypto_plugins = p11_crypto\n[p11_crypto_plugin]\nlogin = {HSM_PIN}\n"))
        },
    },
    Case {
        name: "vault-store-only-not-applicable",
        check: "BAR-006",
        subject: "barbican",
        expect: "na",
        build: || with_conf("[secretstore]\nenabled_secretstore_plugins = vault_plugin\n"),
    },
    Case {
        name: "multiple-stores-one-simple-crypto",
        check: "BAR-006",
        subject: CONF,
        expect: "fail",
        build: || {
            with_conf(&format!(
        "[secretstore]\nenable_multiple_secret_stores = True\nstores_lookup_suffix = hsm, soft\n[secretstore:hsm]\nsecret_store_plugin = store_crypto\ncrypto_plugin = p11_crypto\nglobal_default = True\n[secretstore:soft]\nsecret_store_plugin = store_crypto\ncrypto_plugin = simple_crypto\n[simple_crypto_plugin]\nkek = {RANDOM_KEK}\n"))
        },
    },
    // BAR-007 published KEK
    Case {
        name: "no-kek-15.0.1-uses-published-code-default",
        check: "BAR-007",
        subject: "[simple_crypto_plugin] kek (code default)",
        expect: "fail",
        build: || {
            let r = simple_crypto_root();
            r.version("15.0.1");
            r
        },
    },
    Case {
        name: "no-kek-version-unknown-uses-code-default",
        check: "BAR-007",
        subject: "[simple_crypto_plugin] kek (code default)",
        expect: "fail",
        build: simple_crypto_root,
    },
    Case {
        name: "random-kek",
        check: "BAR-007",
        subject: "[simple_crypto_plugin] kek #1 (/etc/barbican/barbican.conf)",
        expect: "pass",
        build: || {
            let r = with_conf(&kek_conf(&[RANDOM_KEK]));
            r.version("15.0.1");
            r
        },
    },
    Case {
        name: "charm-published-kek",
        check: "BAR-007",
        subject: "[simple_crypto_plugin] kek #1 (/etc/barbican/barbican.conf)",
        expect: "fail",
        build: || {
            let r = with_conf(&kek_conf(&[CHARM_KEK]));
            r.version("15.0.1");
            r
        },
    },
    Case {
        name: "barbican-19-last-kek-wins-over-published",
        check: "BAR-007",
        subject: "[simple_crypto_plugin] kek #1 (/etc/barbican/barbican.conf)",
        expect: "pass",
        build: || {
            let r = with_conf(&kek_conf(&[CHARM_KEK, RANDOM_KEK]));
            r.version("19.0.0");
            r
        },
    },
    Case {
        name: "barbican-20-published-kek-still-decrypts",
        check: "BAR-007",
        subject: "[simple_crypto_plugin] kek #2 (/etc/barbican/barbican.conf)",
        expect: "fail",
        build: || {
            let r = with_conf(&kek_conf(&[RANDOM_KEK, CHARM_KEK]));
            r.version("20.0.0");
            r
        },
    },
    Case {
        name: "barbican-20-kek-in-conf-d-appended",
        check: "BAR-007",
        subject: "[simple_crypto_plugin] kek #2 (/etc/barbican/barbican.conf.d/50-override.conf)",
        expect: "fail",
        build: || {
            let r = with_conf(&kek_conf(&[RANDOM_KEK]));
            r.file(CONF_D, &kek_conf(&[CHARM_KEK]), 0, BARBICAN_GID, 0o640);
            r.version("20.0.0");
            r
        },
    },
    Case {
        name: "no-kek-barbican-21-cannot-load",
        check: "BAR-007",
        subject: "[simple_crypto_plugin] kek",
        expect: "error",
        build: || {
            let r = simple_crypto_root();
            r.version("21.0.0");
            r
        },
    },
    Case {
        name: "p11-crypto-only-not-applicable",
        check: "BAR-007",
        subject: "barbican",
        expect: "na",
        build: || with_conf("[crypto]\nenabled_crypto_plugins = p11_crypto\n"),
    },
    // BAR-009 shadowing and overriding files
    Case {
        name: "etc-barbican-conf-only",
        check: "BAR-009",
        subject: CONF,
        expect: "pass",
        build: Root::barbican,
    },
    Case {
        name: "home-dot-barbican-shadows-etc",
        check: "BAR-009",
        subject: "/var/lib/barbican/.barbican/barbican.conf",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                "/var/lib/barbican/.barbican/barbican.conf",
                "[DEFAULT]\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    Case {
        name: "home-barbican-conf-shadows-etc",
        check: "BAR-009",
        subject: "/var/lib/barbican/barbican.conf",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                "/var/lib/barbican/barbican.conf",
                "[DEFAULT]\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    Case {
        name: "conf-d-overrides-insecure",
        check: "BAR-009",
        subject: CONF_D,
        expect: "fail",
        build: || {
            let r = with_conf("[keystone_authtoken]\ninsecure = false\n");
            r.file(
                CONF_D,
                "[keystone_authtoken]\ninsecure = true\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    Case {
        name: "conf-d-unjudged-option",
        check: "BAR-009",
        subject: CONF,
        expect: "pass",
        build: || {
            let r = Root::barbican();
            r.file(CONF_D, "[DEFAULT]\ndebug = true\n", 0, BARBICAN_GID, 0o640);
            r
        },
    },
    // BAR-010 secret backends
    Case {
        name: "vault-https",
        check: "BAR-010",
        subject: "[vault_plugin] vault_url",
        expect: "pass",
        build: Root::barbican,
    },
    Case {
        name: "vault-over-http",
        check: "BAR-010",
        subject: "[vault_plugin] vault_url",
        expect: "fail",
        build: || {
            with_conf("[secretstore]\nenabled_secretstore_plugins = vault_plugin\n[vault_plugin]\nvault_url = http://vault:8200\n")
        },
    },
    Case {
        name: "vault-http-with-use-ssl-true",
        check: "BAR-010",
        subject: "[vault_plugin] vault_url",
        expect: "fail",
        build: || {
            with_conf("[secretstore]\nenabled_secretstore_plugins = vault_plugin\n[vault_plugin]\nvault_url = http://vault:8200\nuse_ssl = True\n")
        },
    },
    Case {
        name: "vault-default-url-is-http",
        check: "BAR-010",
        subject: "[vault_plugin] vault_url",
        expect: "fail",
        build: || with_conf("[secretstore]\nenabled_secretstore_plugins = vault_plugin\n"),
    },
    Case {
        name: "vault-root-token-in-config",
        check: "BAR-010",
        subject: "[vault_plugin] root_token_id",
        expect: "fail",
        build: || {
            with_conf(&format!(
                "{GOOD_CONF}[vault_plugin]\nroot_token_id = {VAULT_TOKEN}\n"
            ))
        },
    },
    Case {
        name: "kmip-keyfile-0640",
        check: "BAR-010",
        subject: "/etc/barbican/kmip/client.key",
        expect: "pass",
        build: || {
            let r = with_conf("[secretstore]\nenabled_secretstore_plugins = kmip_plugin\n[kmip_plugin]\nkeyfile = /etc/barbican/kmip/client.key\n");
            r.file(
                "/etc/barbican/kmip/client.key",
                "key",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    Case {
        name: "kmip-keyfile-0644-others-read",
        check: "BAR-010",
        subject: "/etc/barbican/kmip/client.key",
        expect: "fail",
        build: || {
            let r = with_conf("[secretstore]\nenabled_secretstore_plugins = kmip_plugin\n[kmip_plugin]\nkeyfile = /etc/barbican/kmip/client.key\n");
            r.file(
                "/etc/barbican/kmip/client.key",
                "key",
                0,
                BARBICAN_GID,
                0o644,
            );
            r
        },
    },
    Case {
        name: "dogtag-pem-missing",
        check: "BAR-010",
        subject: "/etc/barbican/kra_admin_cert.pem",
        expect: "error",
        build: || with_conf("[secretstore]\nenabled_secretstore_plugins = dogtag_crypto\n"),
    },
    Case {
        name: "p11-pin-in-config",
        check: "BAR-010",
        subject: "[p11_crypto_plugin] login",
        expect: "fail",
        build: || {
            with_conf(&format!("[crypto]\nenabled_crypto_plugins = p11_crypto\n[p11_crypto_plugin]\nlogin = {HSM_PIN}\n"))
        },
    },
    Case {
        name: "p11-no-pin-in-config",
        check: "BAR-010",
        subject: "[p11_crypto_plugin] login",
        expect: "pass",
        build: || with_conf("[crypto]\nenabled_crypto_plugins = p11_crypto\n"),
    },
    Case {
        name: "simple-crypto-only-not-applicable",
        check: "BAR-010",
        subject: "[secretstore]",
        expect: "na",
        build: simple_crypto_root,
    },
    // BAR-004 authtoken in every served /v1 chain
    Case {
        name: "v1-keystone-pipeline-unused-barbican-api",
        check: "BAR-004",
        subject: "/v1",
        expect: "pass",
        build: Root::barbican,
    },
    Case {
        name: "v1-mapped-to-barbican-api",
        check: "BAR-004",
        subject: "/v1",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.paste(&GOOD_PASTE.replace("/v1: barbican-api-keystone", "/v1: barbican_api"));
            r
        },
    },
    Case {
        name: "host-keyed-v1-unauthenticated",
        check: "BAR-004",
        subject: "domain internal.example.net /v1",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.paste(&GOOD_PASTE.replace(
                "/v1: barbican-api-keystone",
                "/v1: barbican-api-keystone\ndomain internal.example.net /v1: barbican_api",
            ));
            r
        },
    },
    Case {
        name: "v1-secrets-longer-key-unauthenticated",
        check: "BAR-004",
        subject: "/v1/secrets",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.paste(&GOOD_PASTE.replace(
                "/v1: barbican-api-keystone",
                "/v1: barbican-api-keystone\n/v1/secrets: barbican_api",
            ));
            r
        },
    },
    Case {
        name: "no-v1-key-root-serves-unauthenticated",
        check: "BAR-004",
        subject: "/",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.paste(&GOOD_PASTE.replace(
                "/: barbican_version\n/v1: barbican-api-keystone",
                "/: barbican_api",
            ));
            r
        },
    },
    Case {
        name: "authtoken-renamed-kstoken",
        check: "BAR-004",
        subject: "/v1",
        expect: "pass",
        build: || {
            let r = Root::barbican();
            r.paste(
                &GOOD_PASTE
                    .replace(
                        "pipeline = authtoken context apiapp",
                        "pipeline = kstoken context apiapp",
                    )
                    .replace("[filter:authtoken]", "[filter:kstoken]"),
            );
            r
        },
    },
    Case {
        name: "filter-named-authtoken-not-keystone",
        check: "BAR-004",
        subject: "/v1",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.paste(&GOOD_PASTE.replace(
                "keystonemiddleware.auth_token:filter_factory",
                "barbican.api.middleware.simple:SimpleFilter.factory",
            ));
            r
        },
    },
    Case {
        name: "anonymous-access-with-delay-auth-decision",
        check: "BAR-004",
        subject: "/v1",
        expect: "fail",
        build: || {
            with_conf(
                &GOOD_CONF
                    .replace("[DEFAULT]\n", "[DEFAULT]\nallow_anonymous_access = True\n")
                    .replace(
                        "[keystone_authtoken]\n",
                        "[keystone_authtoken]\ndelay_auth_decision = true\n",
                    ),
            )
        },
    },
    Case {
        name: "paste-duplicate-key-does-not-load",
        check: "BAR-004",
        subject: "/v1",
        expect: "error",
        build: || {
            let r = Root::barbican();
            r.paste(&GOOD_PASTE.replace(
                "pipeline = authtoken context apiapp",
                "pipeline = authtoken context apiapp\npipeline = apiapp",
            ));
            r
        },
    },
    // BAR-005 TLS to Keystone
    Case {
        name: "keystone-https",
        check: "BAR-005",
        subject: "auth_url",
        expect: "pass",
        build: Root::barbican,
    },
    Case {
        name: "keystone-http-stock-debian-values",
        check: "BAR-005",
        subject: "auth_url",
        expect: "fail",
        build: || {
            with_conf(&GOOD_CONF.replace(
                "https://keystone.example.net:5000/v3",
                "http://localhost:5000",
            ))
        },
    },
    Case {
        name: "keystone-www-authenticate-http",
        check: "BAR-005",
        subject: "www_authenticate_uri",
        expect: "fail",
        build: || {
            with_conf(&GOOD_CONF.replace(
                "www_authenticate_uri = https://",
                "www_authenticate_uri = http://",
            ))
        },
    },
    Case {
        name: "paste-default-insecure-true",
        check: "BAR-005",
        subject: "insecure",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.paste(&format!("[DEFAULT]\ninsecure = true\n\n{GOOD_PASTE}"));
            r
        },
    },
    Case {
        name: "paste-filter-authtoken-http-override",
        check: "BAR-005",
        subject: "auth_url",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.paste(&format!(
                "{GOOD_PASTE}auth_url = http://plain.example.net:5000/v3\n"
            ));
            r
        },
    },
    Case {
        name: "quoted-https-auth-url",
        check: "BAR-005",
        subject: "auth_url",
        expect: "pass",
        build: || {
            with_conf(&GOOD_CONF.replace(
                "auth_url = https://keystone.example.net:5000/v3",
                "auth_url = 'https://keystone.example.net:5000/v3'",
            ))
        },
    },
    Case {
        name: "uppercase-keystone-authtoken-group-http",
        check: "BAR-005",
        subject: "auth_url",
        expect: "fail",
        build: || {
            with_conf(
                &GOOD_CONF
                    .replace("[keystone_authtoken]", "[KEYSTONE_AUTHTOKEN]")
                    .replace(
                        "https://keystone.example.net:5000/v3",
                        "http://keystone.example.net:5000/v3",
                    ),
            )
        },
    },
    Case {
        name: "insecure-true-in-barbican-conf",
        check: "BAR-005",
        subject: "insecure",
        expect: "fail",
        build: || with_conf(&format!("{GOOD_CONF}insecure = True\n")),
    },
    Case {
        name: "cafile-missing",
        check: "BAR-005",
        subject: "cafile",
        expect: "fail",
        build: || {
            with_conf(&format!(
                "{GOOD_CONF}cafile = /etc/ssl/certs/keystone-ca.pem\n"
            ))
        },
    },
    Case {
        name: "cafile-present",
        check: "BAR-005",
        subject: "cafile",
        expect: "pass",
        build: || {
            let r = with_conf(&format!(
                "{GOOD_CONF}cafile = /etc/ssl/certs/keystone-ca.pem\n"
            ));
            r.file("/etc/ssl/certs/keystone-ca.pem", "ca", 0, 0, 0o644);
            r
        },
    },
    // BAR-012 config loads
    Case {
        name: "config-loads",
        check: "BAR-012",
        subject: CONF,
        expect: "pass",
        build: Root::barbican,
    },
    Case {
        name: "continuation-after-blank-line",
        check: "BAR-012",
        subject: CONF,
        expect: "fail",
        build: || with_conf(&format!("{GOOD_CONF}\n  continued\n")),
    },
    Case {
        name: "assignment-before-section",
        check: "BAR-012",
        subject: CONF,
        expect: "fail",
        build: || with_conf(&format!("debug = true\n{GOOD_CONF}")),
    },
    Case {
        name: "unknown-dollar-name",
        check: "BAR-012",
        subject: CONF,
        expect: "fail",
        build: || {
            with_conf(&format!(
                "{GOOD_CONF}[DEFAULT]\nhost_href = http://$api_host:9311\n"
            ))
        },
    },
    Case {
        name: "dollar-in-secret-pin",
        check: "BAR-012",
        subject: CONF,
        expect: "fail",
        build: || {
            with_conf(&format!(
                "{GOOD_CONF}[p11_crypto_plugin]\nlogin = {HSM_PIN}\n"
            ))
        },
    },
    Case {
        name: "invalid-boolean-insecure",
        check: "BAR-012",
        subject: CONF,
        expect: "fail",
        build: || with_conf(&format!("{GOOD_CONF}insecure = nope\n")),
    },
    Case {
        name: "paste-duplicate-key",
        check: "BAR-012",
        subject: PASTE,
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.paste(&GOOD_PASTE.replace(
                "pipeline = authtoken context apiapp",
                "pipeline = authtoken context apiapp\npipeline = apiapp",
            ));
            r
        },
    },
    Case {
        name: "paste-bad-percent-interpolation",
        check: "BAR-012",
        subject: PASTE,
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.paste(&format!("{GOOD_PASTE}password = 50%off\n"));
            r
        },
    },
    Case {
        name: "paste-loads",
        check: "BAR-012",
        subject: PASTE,
        expect: "pass",
        build: Root::barbican,
    },
    // BAR-011 secrets through the service environment
    Case {
        name: "no-barbican-units",
        check: "BAR-011",
        subject: "systemd",
        expect: "na",
        build: Root::barbican,
    },
    Case {
        name: "unit-without-secrets",
        check: "BAR-011",
        subject: "barbican-worker.service",
        expect: "pass",
        build: || {
            let r = Root::barbican();
            r.file(WORKER_UNIT, "[Service]\nExecStart=/usr/bin/barbican-worker\nEnvironment=OS_DEFAULT__DEBUG=true\n", 0, 0, 0o644);
            r
        },
    },
    Case {
        name: "kek-through-environment-dropin",
        check: "BAR-011",
        subject: "barbican-worker.service",
        expect: "fail",
        build: || {
            let r = simple_crypto_root();
            r.file(
                WORKER_UNIT,
                "[Service]\nExecStart=/usr/bin/barbican-worker\n",
                0,
                0,
                0o644,
            );
            r.file(
                WORKER_DROPIN,
                &format!("[Service]\nEnvironment=\"OS_SIMPLE_CRYPTO_PLUGIN__KEK={RANDOM_KEK}\"\n"),
                0,
                0,
                0o644,
            );
            r
        },
    },
    Case {
        name: "password-in-environment-file-0644",
        check: "BAR-011",
        subject: "/etc/barbican/worker.env",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                WORKER_UNIT,
                "[Service]\nEnvironmentFile=/etc/barbican/worker.env\n",
                0,
                0,
                0o644,
            );
            r.file(
                "/etc/barbican/worker.env",
                &format!("OS_KEYSTONE_AUTHTOKEN__PASSWORD={HSM_PIN}\n"),
                0,
                0,
                0o644,
            );
            r
        },
    },
    Case {
        name: "password-in-environment-file-0600",
        check: "BAR-011",
        subject: "/etc/barbican/worker.env",
        expect: "pass",
        build: || {
            let r = Root::barbican();
            r.file(
                WORKER_UNIT,
                "[Service]\nEnvironmentFile=-/etc/barbican/worker.env\n",
                0,
                0,
                0o644,
            );
            r.file(
                "/etc/barbican/worker.env",
                &format!("OS_KEYSTONE_AUTHTOKEN__PASSWORD={HSM_PIN}\n"),
                0,
                0,
                0o600,
            );
            r
        },
    },
    // The environment beats every config file.
    Case {
        name: "published-kek-through-environment-dropin",
        check: "BAR-007",
        subject: "[simple_crypto_plugin] kek #1 (OS_SIMPLE_CRYPTO_PLUGIN__KEK)",
        expect: "fail",
        build: || {
            let r = with_conf(&kek_conf(&[RANDOM_KEK]));
            r.version("15.0.1");
            r.file(
                WORKER_UNIT,
                "[Service]\nExecStart=/usr/bin/barbican-worker\n",
                0,
                0,
                0o644,
            );
            r.file(
                WORKER_DROPIN,
                &format!("[Service]\nEnvironment=OS_SIMPLE_CRYPTO_PLUGIN__KEK={CHARM_KEK}\n"),
                0,
                0,
                0o644,
            );
            r
        },
    },
    Case {
        name: "insecure-through-environment",
        check: "BAR-005",
        subject: "insecure",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                WORKER_UNIT,
                "[Service]\nEnvironment=OS_KEYSTONE_AUTHTOKEN__INSECURE=true\n",
                0,
                0,
                0o644,
            );
            r
        },
    },
    Case {
        name: "lowercase-default-section-is-not-default",
        check: "BAR-004",
        subject: "/v1",
        expect: "pass",
        build: || {
            // oslo.config: [default] is a group named "default", so allow_anonymous_access stays false.
            with_conf(
                &GOOD_CONF
                    .replace(
                        "[DEFAULT]\n",
                        "[DEFAULT]\n[default]\nallow_anonymous_access = True\n",
                    )
                    .replace(
                        "[keystone_authtoken]\n",
                        "[keystone_authtoken]\ndelay_auth_decision = true\n",
                    ),
            )
        },
    },
    // BAR-008 member may act as creator
    Case {
        name: "policy-d-creator-or-member",
        check: "BAR-008",
        subject: "creator",
        expect: "pass",
        build: Root::barbican,
    },
    Case {
        name: "no-policy-default-creator-role",
        check: "BAR-008",
        subject: "creator",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            std::fs::remove_file(r.real(SCS_POLICY)).unwrap();
            r
        },
    },
    Case {
        name: "debian-stock-policy-all-commented",
        check: "BAR-008",
        subject: "creator",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                SCS_POLICY,
                "#\"creator\": \"role:creator\"\n#\"observer\": \"role:observer\"\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    Case {
        name: "policy-d-overrides-policy-yaml",
        check: "BAR-008",
        subject: "creator",
        expect: "pass",
        build: || {
            let r = Root::barbican();
            r.file(
                "/etc/barbican/policy.yaml",
                "\"creator\": \"role:creator\"\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    Case {
        name: "policy-yaml-overridden-by-policy-d-back-to-creator",
        check: "BAR-008",
        subject: "creator",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                "/etc/barbican/policy.yaml",
                "\"creator\": \"role:member\"\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r.file(
                "/etc/barbican/policy.d/90-site.yaml",
                "\"creator\": \"role:creator\"\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    Case {
        name: "creator-and-member-is-not-enough",
        check: "BAR-008",
        subject: "creator",
        expect: "fail",
        build: || {
            let r = Root::barbican();
            r.file(
                SCS_POLICY,
                "\"creator\": \"role:creator and role:member\"\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    Case {
        name: "policy-json-creator-member",
        check: "BAR-008",
        subject: "creator",
        expect: "pass",
        build: || {
            let r = Root::barbican();
            r.file(
                SCS_POLICY,
                "{\"creator\": \"role:member\"}\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    Case {
        name: "secure-rbac-enforced",
        check: "BAR-008",
        subject: "creator",
        expect: "pass",
        build: || {
            let r = with_conf(&GOOD_CONF.replace(
                "[oslo_policy]\n",
                "[oslo_policy]\nenforce_new_defaults = True\n",
            ));
            std::fs::remove_file(r.real(SCS_POLICY)).unwrap();
            r
        },
    },
    Case {
        name: "barbican-18-oslo-policy-4.4-defaults-to-srbac",
        check: "BAR-008",
        subject: "creator",
        expect: "pass",
        build: || {
            let r = Root::barbican();
            std::fs::remove_file(r.real(SCS_POLICY)).unwrap();
            r.file("/var/lib/dpkg/status", "Package: barbican-common\nStatus: install ok installed\nVersion: 1:18.0.0-1\n\nPackage: python3-oslo.policy\nStatus: install ok installed\nVersion: 4.4.0-1\n\n", 0, 0, 0o644);
            r
        },
    },
    Case {
        name: "policy-file-does-not-load",
        check: "BAR-008",
        subject: "creator",
        expect: "error",
        build: || {
            let r = Root::barbican();
            r.file(
                SCS_POLICY,
                "[\"a list\", \"not a mapping\"]\n",
                0,
                BARBICAN_GID,
                0o640,
            );
            r
        },
    },
    // BAR-013 copies of the KEK on disk (these cases run `audit --scan`)
    Case {
        name: "kek-copy-in-root-shell-history",
        check: "BAR-013",
        subject: "/root/.bash_history",
        expect: "fail",
        build: || {
            let r = with_conf(&kek_conf(&[RANDOM_KEK]));
            r.file(
                "/root/.bash_history",
                &format!("crudini --set barbican.conf simple_crypto_plugin kek {RANDOM_KEK}\n"),
                0,
                0,
                0o600,
            );
            r
        },
    },
    Case {
        name: "kek-hex-in-gzip-backup",
        check: "BAR-013",
        subject: "/var/backups/kek.txt.gz",
        expect: "fail",
        build: || {
            let r = with_conf(&kek_conf(&[RANDOM_KEK]));
            let p = r.real("/var/backups/kek.txt.gz");
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            let hex: String = base64_url_decode(RANDOM_KEK)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let mut gz = flate2::write::GzEncoder::new(
                std::fs::File::create(&p).unwrap(),
                flate2::Compression::default(),
            );
            std::io::Write::write_all(&mut gz, format!("key: {hex}\n").as_bytes()).unwrap();
            gz.finish().unwrap();
            r
        },
    },
    Case {
        name: "no-kek-copy-outside-config",
        check: "BAR-013",
        subject: "disk",
        expect: "pass",
        build: || with_conf(&kek_conf(&[RANDOM_KEK])),
    },
    Case {
        name: "vault-backend-scan-not-applicable",
        check: "BAR-013",
        subject: "barbican",
        expect: "na",
        build: Root::barbican,
    },
];

/// With DUMP_REPORTS=DIR, each case's JSON report (without `run`, which
/// differs every time, and with the fixture root as `<ROOT>`) is written to DIR/<case>.json, so two builds can be
/// compared byte for byte (issue 16: a refactor must not change a report).
fn dump_report(name: &str, root: &std::path::Path, report: &serde_json::Value) {
    let Some(dir) = std::env::var_os("DUMP_REPORTS") else {
        return;
    };
    let mut r = report.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("run");
    }
    std::fs::create_dir_all(&dir).unwrap();
    let path = std::path::Path::new(&dir).join(format!("{name}.json"));
    // the fixture's temporary root differs between runs too
    let text = serde_json::to_string_pretty(&r)
        .unwrap()
        .replace(root.to_str().unwrap(), "<ROOT>");
    std::fs::write(path, text).unwrap();
}

#[test]
fn fixtures() {
    let mut failures = Vec::new();
    for c in CASES {
        let root = (c.build)();
        // BAR-013 runs only when the disk scan is asked for.
        let extra: &[&str] = if c.check == "BAR-013" {
            &["--scan"]
        } else {
            &[]
        };
        let (_, report) = root.audit_json(extra);
        dump_report(&format!("{}.{}", c.check, c.name), root.path(), &report);
        let outputs = format!("{report}\n{}", root.audit_text());
        for secret in SECRETS {
            if outputs.contains(secret) {
                failures.push(format!(
                    "{}: output contains the fixture secret {}…",
                    c.name,
                    &secret[..4]
                ));
            }
        }
        let all = statuses(&report, c.check);
        let got = all
            .iter()
            .find(|(s, _)| s == c.subject)
            .map(|(_, st)| st.as_str());
        if got != Some(c.expect) {
            failures.push(format!(
                "{} ({}): {} expected {}, got {:?}; all: {all:?}",
                c.name, c.check, c.subject, c.expect, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "fixture failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_check_has_pass_and_fail_fixtures() {
    let out = run(&["checks", "list"]);
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(!ids.is_empty());
    for id in ids {
        for want in ["pass", "fail"] {
            assert!(
                CASES.iter().any(|c| c.check == id && c.expect == want),
                "{id} has no fixture where it should {want}"
            );
        }
    }
}

#[test]
fn symlink_reports_link_and_target() {
    let r = Root::barbican();
    std::fs::remove_file(r.real(CONF)).unwrap();
    r.file(
        "/srv/conf/barbican.conf",
        "[DEFAULT]\n",
        0,
        BARBICAN_GID,
        0o644,
    );
    r.link(CONF, "/srv/conf/barbican.conf");
    let (_, rep) = r.audit_json(&[]);
    let f = finding(&rep, "BAR-002", CONF);
    assert_eq!(f["evidence"]["link"], CONF);
    assert_eq!(f["evidence"]["target"], "/srv/conf/barbican.conf");
    // The fix names the file where it is on the auditing machine: inside the root.
    assert_eq!(
        f["remediation"],
        format!("chmod 0640 {}", r.real("/srv/conf/barbican.conf").display())
    );
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("symlink to /srv/conf/barbican.conf"));
}

#[test]
fn acl_evidence_in_getfacl_form_and_remediation() {
    let r = Root::barbican();
    r.setfacl(CONF, "u:1000:r"); // alice in the fixture passwd
    let (_, rep) = r.audit_json(&[]);
    let f = finding(&rep, "BAR-002", CONF);
    let acl = f["evidence"]["acl"].as_str().unwrap();
    assert!(acl.contains("user:alice:r--"), "{acl}");
    assert!(acl.contains("mask::r--"), "{acl}");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("POSIX ACL grants user:alice:r--"));
    let fix = f["remediation"].as_str().unwrap();
    assert_eq!(
        fix,
        format!("chmod 0640 {0} && setfacl -b {0}", r.real(CONF).display())
    );
}

#[test]
fn mode_message_names_the_excess_bits() {
    let r = with_conf_mode(0o2664);
    let (_, rep) = r.audit_json(&[]);
    let f = finding(&rep, "BAR-002", CONF);
    assert_eq!(
        f["message"],
        "mode 2664 grants setgid, write to group, read to others; expected 0640 or stricter"
    );
    assert_eq!(
        f["remediation"],
        format!("chmod 0640 {}", r.real(CONF).display())
    );
    assert_eq!(f["evidence"]["mode"], "2664");
}

#[test]
fn group_missing_error_says_why_and_other_checks_still_run() {
    let r = Root::barbican();
    r.file("/etc/group", "root:x:0:\n", 0, 0, 0o644);
    r.chmod(CONF, 0o644);
    let (code, rep) = r.audit_json(&[]);
    assert_eq!(code, 1);
    let f = finding(&rep, "BAR-001", CONF);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("group barbican does not exist in"),
        "{f}"
    );
    assert_eq!(status_of(&rep, "BAR-002", CONF), "fail");
}

#[test]
fn dangling_symlink_is_error_for_that_subject_only() {
    let r = Root::barbican();
    std::fs::remove_file(r.real(PASTE)).unwrap();
    r.link(PASTE, "/srv/gone.ini");
    let (_, rep) = r.audit_json(&[]);
    assert_eq!(status_of(&rep, "BAR-002", PASTE), "error");
    assert_eq!(status_of(&rep, "BAR-002", CONF), "pass");
    assert!(finding(&rep, "BAR-002", PASTE)["message"]
        .as_str()
        .unwrap()
        .contains("/srv/gone.ini does not exist"));
}

#[test]
fn shadowed_etc_file_is_not_in_the_set() {
    // oslo.config reads only the first existing barbican.conf of the search path.
    let r = Root::barbican();
    r.file(
        "/var/lib/barbican/barbican.conf",
        "[DEFAULT]\n",
        0,
        BARBICAN_GID,
        0o640,
    );
    r.chmod(CONF, 0o644);
    let (_, rep) = r.audit_json(&[]);
    let subjects: Vec<String> = statuses(&rep, "BAR-002")
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(
        subjects.contains(&"/var/lib/barbican/barbican.conf".to_string()),
        "{subjects:?}"
    );
    assert!(!subjects.contains(&CONF.to_string()), "{subjects:?}");
}

#[test]
fn one_kek_has_one_fingerprint_in_every_check() {
    // The same key in barbican.conf (padded), in a unit's Environment= (unpadded) and in a
    // backup: BAR-006, BAR-007, BAR-011 and BAR-013 must all name it by the fingerprint of its
    // decoded 32 bytes. BAR-011 once hashed the variable's text instead.
    use sha2::Digest;
    let r = with_conf(&kek_conf(&[RANDOM_KEK]));
    r.file(
        WORKER_UNIT,
        "[Service]\nExecStart=/usr/bin/barbican-worker\n",
        0,
        0,
        0o644,
    );
    let unpadded = RANDOM_KEK.trim_end_matches('=');
    r.file(
        WORKER_DROPIN,
        &format!("[Service]\nEnvironment=\"OS_SIMPLE_CRYPTO_PLUGIN__KEK={unpadded}\"\n"),
        0,
        0,
        0o644,
    );
    r.file("/root/kek.bak", &format!("{RANDOM_KEK}\n"), 0, 0, 0o600);
    let digest = sha2::Sha256::digest(base64_url_decode(RANDOM_KEK));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let expected = format!("sha256:{}", &hex[..12]);
    let (_, report) = r.audit_json(&["--scan"]);
    let fp = regex::Regex::new(r"sha256:[0-9a-f]{12}").unwrap();
    for check in ["BAR-006", "BAR-007", "BAR-011", "BAR-013"] {
        let findings: Vec<&serde_json::Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check_id"] == check)
            .collect();
        let text: String = findings.iter().map(|f| f.to_string()).collect();
        let seen: std::collections::BTreeSet<&str> =
            fp.find_iter(&text).map(|m| m.as_str()).collect();
        assert_eq!(
            seen,
            [expected.as_str()].into_iter().collect(),
            "{check} names the KEK by other fingerprints"
        );
    }
}
