//! The registry's promises, probe by probe: each observation sets only
//! declared variables, each declared variable is set by some observation
//! over a small root, and host facts are computed only when read.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

use std::collections::BTreeSet;
use std::os::unix::fs::{chown, symlink, PermissionsExt};
use std::path::Path;

use super::*;
use crate::host::Host;

/// The published install-guide sample KEK: public, safe in a test.
const SAMPLE_KEK: &str = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=";
const BARBICAN_GID: u32 = 105;

/// `[probe.<name>]` parameters of the probes that take any (the others
/// are tried with none).
const PARAMS: &[(&str, &str)] = &[(
    "file-metadata",
    "subjects = \"effective-file-set\"\nowner = \"root\"\ngroup = \"barbican\"\n\
         mode-max = \"0640\"\nacl = \"no-widening\"",
)];

fn write(root: &Path, inner: &str, text: &str, gid: u32, mode: u32) {
    let p = root.join(inner.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    chown(&p, Some(0), Some(gid)).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// One root on which every probe has something to say, failures included
/// (a failure sets the most variables): a published KEK in a config file
/// readable by others and widened by an ACL, a conf.d override, Vault over
/// http with a CA file, Keystone over http, a secret in a unit's
/// environment, a legacy creator rule, and a copy of the KEK in /var.
fn rich_root() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(
        r,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nbarbican:x:102:105::/var/lib/barbican:/bin/false\n\
         alice:x:1000:1000::/home/alice:/bin/bash\n\
         nova:x:64060:64060::/var/lib/nova:/bin/false\n",
        0,
        0o644,
    );
    write(
        r,
        "/etc/group",
        "root:x:0:\nbarbican:x:105:\nalice:x:1000:\nnova:x:64060:\n",
        0,
        0o644,
    );
    let conf = format!(
        "[DEFAULT]\n[simple_crypto_plugin]\nkek = {SAMPLE_KEK}\n\
         [secretstore]\nenabled_secretstore_plugins = vault_plugin\n\
         [vault_plugin]\nvault_url = http://vault.example.net:8200\n\
         ssl_ca_crt_file = /etc/barbican/vault-ca.pem\n\
         [keystone_authtoken]\nauth_type = password\nauth_url = http://keystone.example.net:5000/v3\n\
         [oslo_policy]\nenforce_new_defaults = false\npolicy_dirs = /etc/barbican/policy.d\n"
    );
    write(r, "/etc/barbican/barbican.conf", &conf, 0, 0o644);
    // A nova node too, for the consumers pack's probes (a made-up key).
    write(
        r,
        "/etc/nova/nova.conf",
        "[key_manager]\nbackend = barbican\nfixed_key = 00112233445566778899aabbccddeeff\n",
        0,
        0o640,
    );
    // And octavia, for its probes (local certificates, the published passphrase).
    write(
        r,
        "/etc/octavia/octavia.conf",
        "[certificates]\ncert_manager = local_cert_manager\n",
        0,
        0o640,
    );
    write(
        r,
        "/etc/barbican/barbican.conf.d/50-override.conf",
        "[keystone_authtoken]\ninsecure = true\n",
        BARBICAN_GID,
        0o640,
    );
    write(
        r,
        "/etc/barbican/vault-ca.pem",
        "not a certificate\n",
        BARBICAN_GID,
        0o640,
    );
    write(
        r,
        "/etc/barbican/barbican-api-paste.ini",
        "[composite:main]\nuse = egg:Paste#urlmap\n/v1: barbican-api-keystone\n\n\
         [pipeline:barbican-api-keystone]\npipeline = authtoken context apiapp\n\n\
         [app:apiapp]\npaste.app_factory = barbican.api.app:create_main_app\n\n\
         [filter:context]\npaste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory\n\n\
         [filter:authtoken]\npaste.filter_factory = keystonemiddleware.auth_token:filter_factory\n",
        BARBICAN_GID,
        0o640,
    );
    write(
        r,
        "/etc/barbican/policy.d/50-creator.yaml",
        "\"creator\": \"role:creator\"\n",
        BARBICAN_GID,
        0o640,
    );
    write(
        r,
        "/lib/systemd/system/barbican-worker.service",
        "[Service]\nExecStart=/usr/bin/barbican-worker\n\
         Environment=OS_DEFAULT__TRANSPORT_URL=rabbit://barbican:fixture@mq/\n",
        0,
        0o644,
    );
    write(
        r,
        "/var/backup/notes.txt",
        &format!("old kek: {SAMPLE_KEK}\n"),
        0,
        0o600,
    );
    // A symlink judged by its target (`link`), and an ACL widening (`acl`).
    symlink(
        "/etc/barbican/vault-ca.pem",
        r.join("etc/barbican/ca-link.pem"),
    )
    .unwrap();
    // The consumers' file probes: a group-writable conf.d file and an
    // /etc/nova widened by mode and ACL.
    write(
        r,
        "/etc/nova/nova.conf.d/50-override.conf",
        "[DEFAULT]\n",
        0,
        0o664,
    );
    std::fs::set_permissions(r.join("etc/nova"), std::fs::Permissions::from_mode(0o775)).unwrap();
    for p in ["etc/nova", "etc/nova/nova.conf.d/50-override.conf"] {
        let st = std::process::Command::new("setfacl")
            .args(["-m", "u:1000:rwx"])
            .arg(r.join(p))
            .status()
            .expect("setfacl must be installed (apt-get install acl)");
        assert!(st.success(), "setfacl failed");
    }
    let conf_path = r.join("etc/barbican/barbican.conf");
    let st = std::process::Command::new("setfacl")
        .args(["-m", "u:1000:r"])
        .arg(&conf_path)
        .status()
        .expect("setfacl must be installed (apt-get install acl)");
    assert!(st.success(), "setfacl failed");
    d
}

fn scan_request() -> ScanRequest {
    ScanRequest {
        paths: vec!["/var".into()],
        excludes: Vec::new(),
        threads: 1,
        fingerprint: None,
        cache: None,
        progress: Box::new(|_, _| {}),
        targets: Vec::new(),
    }
}

fn spec(name: &str) -> ProbeSpec {
    let params = PARAMS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, p)| p);
    validate(name, toml::from_str(params).unwrap()).unwrap()
}

#[test]
fn registry_names_docs_and_variables_are_well_formed() {
    let mut names = BTreeSet::new();
    for p in PROBES {
        assert!(names.insert(p.name()), "probe {} listed twice", p.name());
        assert!(
            !p.doc().is_empty() && !p.doc().contains('\n'),
            "{}: doc must be one line",
            p.name()
        );
        let mut vars = BTreeSet::new();
        for v in p.vars() {
            assert!(
                vars.insert(v.name),
                "{}: {} declared twice",
                p.name(),
                v.name
            );
            assert!(!v.doc.is_empty(), "{}: {} has no doc", p.name(), v.name);
        }
        // Every template may use these (catalog::ENGINE_VARS).
        for engine in crate::catalog::ENGINE_VARS {
            assert!(vars.contains(engine), "{}: {engine} not declared", p.name());
        }
    }
    assert!(validate("no-such-probe", toml::Table::new())
        .unwrap_err()
        .starts_with("unknown probe \"no-such-probe\" (known: file-metadata, "));
    assert!(validate("kek-in-config", toml::from_str("x = 1").unwrap())
        .unwrap_err()
        .contains("takes no parameters"));
}

/// Each probe over the rich root: every variable its observations set is
/// declared, and every declared one is set by one of them. A new probe
/// whose variables this root does not reach extends [`rich_root`].
#[test]
fn every_probe_sets_exactly_its_declared_variables() {
    let root = rich_root();
    let host = Host::open(root.path()).unwrap();
    let mut problems = Vec::new();
    for p in PROBES {
        let facts = Facts::new(&host, Some(scan_request()));
        let spec = spec(p.name());
        let observed = spec.observe(&facts);
        let mut set = BTreeSet::new();
        for o in &observed.observations {
            let undeclared = spec.undeclared(o);
            if !undeclared.is_empty() {
                problems.push(format!("{}: sets undeclared {undeclared:?}", p.name()));
            }
            for engine in crate::catalog::ENGINE_VARS {
                if !o.vars.contains_key(*engine) {
                    problems.push(format!("{}: an observation lacks {engine}", p.name()));
                }
            }
            set.extend(o.vars.keys().cloned());
        }
        let unset: Vec<&str> = p
            .vars()
            .iter()
            .map(|v| v.name)
            .filter(|n| !set.contains(*n))
            .collect();
        if !unset.is_empty() {
            problems.push(format!("{}: never sets {unset:?}", p.name()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scan_reports_its_coverage_through_the_probe_output() {
    let root = rich_root();
    let host = Host::open(root.path()).unwrap();
    let facts = Facts::new(&host, Some(scan_request()));
    let observed = spec("kek-scan").observe(&facts);
    let scan = observed.scan.expect("a scan that ran reports its coverage");
    assert_eq!(scan.summary.files, 1, "{scan:?}");
    assert_eq!(scan.summary.keks.len(), 1);
    assert!(observed
        .observations
        .iter()
        .any(|o| o.status == Status::Fail && o.subject == "/var/backup/notes.txt"));
    // Not requested: no scan, nothing read, nothing covered.
    let facts = Facts::new(&host, None);
    let spec = spec("kek-scan");
    assert_eq!(spec.reads(&facts), Reads::NOTHING);
    let observed = spec.observe(&facts);
    assert!(observed.scan.is_none());
    assert_eq!(observed.observations[0].status, Status::Na);
}

#[test]
fn facts_are_computed_on_first_use_only() {
    let root = rich_root();
    let host = Host::open(root.path()).unwrap();
    let facts = Facts::new(&host, None);
    assert!(facts.computed().is_empty());
    // The unit probe reads the units, and neither the config nor the
    // paste file nor the policy.
    let spec = spec("service-environment");
    assert!(facts
        .problems_for(spec.reads(&facts), spec.name())
        .is_empty());
    spec.observe(&facts);
    assert_eq!(facts.computed(), ["units"]);
    // The config needs the units' environment; the file set needs both
    // configs; the paste file needs the file set.
    assert!(facts.api().is_some());
    assert_eq!(
        facts.computed(),
        ["units", "env", "config", "prog_configs", "files", "api"]
    );
}

#[test]
fn gating_sees_every_problem_of_the_declared_inputs() {
    let root = rich_root();
    // A config file oslo.config refuses, and a judged boolean it cannot convert.
    write(
        root.path(),
        "/etc/barbican/barbican.conf.d/60-broken.conf",
        "[keystone_authtoken]\ninsecure = maybe\n",
        BARBICAN_GID,
        0o640,
    );
    write(
        root.path(),
        "/etc/barbican/barbican.conf.d/70-unparsable.conf",
        "no section header\n",
        BARBICAN_GID,
        0o640,
    );
    let host = Host::open(root.path()).unwrap();
    let facts = Facts::new(&host, None);
    let paths = |name: &str| -> Vec<String> {
        let spec = spec(name);
        facts
            .problems_for(spec.reads(&facts), spec.name())
            .iter()
            .map(|p| p.path.display().to_string())
            .collect()
    };
    // keystone-tls judges `insecure` and parse problems.
    assert_eq!(
        paths("keystone-tls"),
        [
            "/etc/barbican/barbican.conf.d/70-unparsable.conf",
            "/etc/barbican/barbican.conf.d/60-broken.conf"
        ]
    );
    // file-metadata judges neither parse problems nor booleans.
    assert!(paths("file-metadata").is_empty());
    // kek-published counts the parse problem, not another probe's boolean.
    assert_eq!(
        paths("kek-published"),
        ["/etc/barbican/barbican.conf.d/70-unparsable.conf"]
    );
    // service-environment reads only the units.
    assert!(paths("service-environment").is_empty());
}
