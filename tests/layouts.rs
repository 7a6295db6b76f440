//! Deployment layouts (issue 17): each layout's host and target roots, as
//! tests/layouts/materialize.py builds them from the tools' real templates
//! (owners and modes applied, so these tests run as root, like CI), audited
//! by the binary. Each test names the template line it follows; the lines
//! are those of tests/layouts/README.md and the manifests' source column.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::run;
use serde_json::Value;

/// A materialised layout root, removed when dropped.
struct Layout {
    dir: tempfile::TempDir,
}

impl Layout {
    fn new(layout: &str, view: &str) -> Layout {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/layouts/materialize.py");
        let out = Command::new("python3")
            .arg(&script)
            .arg(dir.path())
            .arg(layout)
            .arg(view)
            .output()
            .expect("python3 (tests/layouts/materialize.py)");
        assert!(
            out.status.success(),
            "materialize {layout} {view}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Layout { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn root(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    /// `audit --root R --format json` plus `extra`: exit status and report.
    fn audit(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["audit", "--root", self.root(), "--format", "json"];
        args.extend_from_slice(extra);
        let out = run(&args);
        let code = out.status.code().unwrap_or(-1);
        let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: no JSON report ({e}); stderr: {}",
                self.root(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, report)
    }
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().unwrap()
}

/// The distinct `target` values of the findings, sorted (the host's own: none).
fn targets(report: &Value) -> Vec<String> {
    let mut t: Vec<String> = findings(report)
        .iter()
        .filter_map(|f| f["target"].as_str().map(str::to_string))
        .collect();
    t.sort();
    t.dedup();
    t
}

#[test]
fn each_root_is_recognised_as_its_layout() {
    // (layout dir, view, expected host.layout, the marker it is recognised by)
    let cases = [
        // barbican-common postinst / dpkg status
        ("debian", "host", "debian"),
        // openstack-barbican.spec:166-176 gunicorn-config.py, the rpm database
        ("rdo", "host", "rdo"),
        // kolla-ansible roles/barbican/tasks/config.yml:54-60 (config.json)
        ("kolla", "host", "kolla"),
        // kolla set_configs.py /var/lib/kolla/config_files, openstack-base Dockerfile.j2:194-196 venv
        ("kolla", "target", "kolla"),
        // tht container-puppet.sh:125-139 puppet-generated/barbican
        ("tripleo", "host", "tripleo"),
        // tht barbican-api-container-puppet.yaml:336-339 src/ with preserve_properties
        ("tripleo", "target", "tripleo"),
        // lxc_container_create defaults/main.yml:62-66 dir backing store
        ("osa", "host", "osa"),
        // os_barbican tasks/barbican_install.yml:51-54 local fact [barbican]
        ("osa", "target", "osa"),
        // charm-barbican src/templates/rocky/barbican-api.conf WSGIScriptAlias
        ("charm", "host", "charm"),
        // openstack-helm barbican/templates/configmap-etc.yaml:88-101 Secret barbican-etc
        ("helm", "host", "openstack-helm"),
        // loci Dockerfile:9 /var/lib/openstack, helpers.sh:164-180 /etc/image_info
        ("helm", "target", "openstack-helm"),
    ];
    let mut wrong = Vec::new();
    for (dir, view, want) in cases {
        let l = Layout::new(dir, view);
        let (_, r) = l.audit(&[]);
        if r["host"]["layout"] != want {
            wrong.push(format!(
                "{dir}/{view}: {} (want {want})",
                r["host"]["layout"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[test]
fn the_version_is_read_from_the_tools_venvs_and_the_rpm_database() {
    let cases = [
        // dpkg status Version: 1:15.0.1-2
        ("debian", "host", "15.0.1"),
        // rpm database openstack-barbican-common 20.0.0-1.el9s (rpm 4.18 sqlite)
        ("rdo", "host", "20.0.0"),
        // kolla openstack-base Dockerfile.j2:194-196: /var/lib/kolla/venv
        ("kolla", "target", "22.0.0"),
        // the container's rpm database (RDO spec at rpm-master)
        ("tripleo", "target", "12.0.1"),
        // os_barbican defaults/main.yml:163: barbican-32.0.0 is the OSA tag, the dist-info says 21.0.0
        ("osa", "target", "21.0.0"),
        // loci Dockerfile:9: /var/lib/openstack/lib/python3.12/site-packages
        ("helm", "target", "22.0.0"),
        // Ubuntu 1:18.0.0-0ubuntu1 in dpkg status
        ("charm", "host", "18.0.0"),
    ];
    for (dir, view, want) in cases {
        let l = Layout::new(dir, view);
        let (_, r) = l.audit(&[]);
        assert_eq!(r["host"]["barbican_version"], want, "{dir}/{view}");
    }
}

#[test]
fn the_rpm_database_alone_gives_the_version_and_a_damaged_one_gives_none() {
    // The RDO host's database (rpm --initdb, then -i --justdb of packages
    // versioned like RDO's), with the python3-barbican dist-info removed.
    let l = Layout::new("rdo", "host");
    std::fs::remove_dir_all(
        l.path()
            .join("usr/lib/python3.9/site-packages/barbican-20.0.0.dist-info"),
    )
    .unwrap();
    let (_, r) = l.audit(&[]);
    assert_eq!(r["host"]["barbican_version"], "20.0.0");
    // Fail closed: a database that is not SQLite is not guessed at.
    std::fs::write(
        l.path().join("var/lib/rpm/rpmdb.sqlite"),
        b"not a database at all",
    )
    .unwrap();
    let (_, r) = l.audit(&[]);
    assert_eq!(r["host"]["barbican_version"], Value::Null);
}

/// The worst status of each check for `target`, in catalog order.
fn worst_per_check(report: &Value, target: &str) -> Vec<(String, String)> {
    const ORDER: [&str; 5] = ["pass", "waived", "na", "fail", "error"];
    let rank = |s: &str| ORDER.iter().position(|o| *o == s).unwrap();
    let mut out: Vec<(String, String)> = Vec::new();
    for f in findings(report).iter().filter(|f| f["target"] == target) {
        let id = f["check_id"].as_str().unwrap();
        let st = f["status"].as_str().unwrap();
        match out.iter_mut().find(|(i, _)| i == id) {
            Some((_, w)) if rank(st) > rank(w) => *w = st.to_string(),
            Some(_) => {}
            None => out.push((id.to_string(), st.to_string())),
        }
    }
    out
}

const KOLLA_TARGETS: [&str; 3] = [
    "kolla:barbican_api",
    "kolla:barbican_keystone_listener",
    "kolla:barbican_worker",
];

#[test]
fn a_kolla_host_audits_each_container_from_its_config_json() {
    // kolla-ansible roles/barbican/defaults/main.yml:4 (container barbican_api);
    // tasks/config.yml:2-10 (node_config_directory /etc/kolla/<service>);
    // tasks/config.yml:54-60 config.json from barbican-api.json.j2.
    let l = Layout::new("kolla", "host");
    let (code, r) = l.audit(&[]);
    assert_eq!(targets(&r), KOLLA_TARGETS);
    // What the host shows of each container: barbican.conf (and the API's
    // uwsgi ini) with config.json's owner and perm; what only the image
    // holds is error/na with the command that audits the container.
    let want = [
        // barbican-api.json.j2:4-9 "owner": "barbican" (uid 42403, kolla users.py:28-31)
        ("BAR-001", "fail"),
        // barbican-api.json.j2:4-9 "perm": "0600"
        ("BAR-002", "pass"),
        // kolla barbican-base Dockerfile.j2:27: /etc/barbican is the image's
        ("BAR-003", "error"),
        // barbican-api.json.j2:16-22 optional paste: the image's, not on the host
        ("BAR-004", "na"),
        // barbican.conf.j2 [keystone_authtoken] auth_url = {{ keystone_internal_url }} (http)
        ("BAR-005", "fail"),
        // barbican.conf.j2 [simple_crypto_plugin] kek = {{ barbican_crypto_key }}
        ("BAR-006", "fail"),
        // kolla-genpwd: a generated key, not a published one
        ("BAR-007", "pass"),
        // no policy.yaml in /etc/kolla/config/barbican/ (tasks/config.yml:12-29)
        ("BAR-008", "fail"),
        // merge_configs renders one barbican.conf, no conf.d (tasks/config.yml:84-97)
        ("BAR-009", "pass"),
        // barbican.conf.j2 enabled_secretstores = simple_crypto
        ("BAR-010", "na"),
        // no systemd in a kolla container: the container's environment is docker's
        ("BAR-011", "na"),
        ("BAR-012", "pass"),
        ("BAR-013", "na"),
    ];
    for t in KOLLA_TARGETS {
        let got = worst_per_check(&r, t);
        for (id, st) in want {
            let g = got.iter().find(|(i, _)| i == id).map(|(_, s)| s.as_str());
            assert_eq!(g, Some(st), "{t} {id}");
        }
    }
    assert_eq!(code, 1, "the containers' failures count");
    let of = |t: &str, id: &str| -> Vec<&Value> {
        findings(&r)
            .iter()
            .filter(|f| f["target"] == t && f["check_id"] == id)
            .collect()
    };
    // BAR-001/002 judge the container's path with the owner and mode
    // kolla_set_configs will set, and say where that comes from.
    let conf = of("kolla:barbican_api", "BAR-001")
        .into_iter()
        .find(|f| f["subject"] == "/etc/barbican/barbican.conf")
        .unwrap();
    assert_eq!(conf["evidence"]["uid"], 42403);
    assert_eq!(conf["evidence"]["mode"], "0600");
    assert_eq!(
        conf["evidence"]["set_by"],
        "set by kolla_set_configs from /etc/kolla/barbican-api/config.json:6"
    );
    // A fix run inside a container names that target's container.
    for t in KOLLA_TARGETS {
        let container = t.trim_start_matches("kolla:");
        let fails: Vec<&Value> = of(t, "BAR-001")
            .into_iter()
            .filter(|f| f["status"] == "fail")
            .collect();
        assert!(!fails.is_empty(), "{t}");
        for f in fails {
            let fix = f["remediation"].as_str().unwrap();
            assert!(
                fix.contains(&format!("docker exec -u root {container} chown")),
                "{t}: {fix}"
            );
        }
    }
    // The fixes point where kolla-ansible keeps the setting.
    let fix = |t: &str, id: &str| of(t, id)[0]["remediation"].as_str().unwrap().to_string();
    // group_vars/all/barbican.yml:8-9
    assert!(fix("kolla:barbican_worker", "BAR-006").contains("globals.yml"));
    // tasks/config.yml:12-29,99-107
    assert!(fix("kolla:barbican_api", "BAR-008").contains("/etc/kolla/config/barbican/"));
    // group_vars/all/haproxy.yml:11
    assert!(fix("kolla:barbican_api", "BAR-005").contains("globals.yml"));
    // Image-only inputs name the command that audits the container.
    let bar003 = of("kolla:barbican_worker", "BAR-003");
    let msg = bar003[0]["message"].as_str().unwrap();
    assert!(msg.contains("not visible from the host"), "{msg}");
    assert!(
        msg.contains("docker exec barbican_worker barbican-audit audit"),
        "{msg}"
    );
    let paste = of("kolla:barbican_api", "BAR-004");
    let msg = paste[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("/etc/kolla/config/barbican/") && msg.contains("docker exec barbican_api"),
        "{msg}"
    );
    let msg = of("kolla:barbican_worker", "BAR-004")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("runs barbican-worker, not the API"), "{msg}");
    // The report says what each target's audit covers.
    let warnings = r["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w
        .as_str()
        .unwrap()
        .starts_with("target kolla:barbican_api: audited the barbican_api container as kolla_set_configs will set it up")));
    // The text view names the target before the subject.
    let text = run(&["audit", "--root", l.root()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(
            "  FAIL   [kolla:barbican_api] /etc/barbican/barbican.conf: owner is barbican"
        ),
        "{text}"
    );
}

#[test]
fn a_kolla_paste_override_is_judged_from_the_host() {
    // kolla-ansible tasks/config.yml:62-82 copies
    // /etc/kolla/config/barbican/barbican-api-paste.ini to
    // /etc/kolla/barbican-api/; barbican-api.json.j2:16-22 maps it (optional).
    let l = Layout::new("kolla", "host");
    let stock = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/layouts/kolla/target/files/etc/barbican/barbican-api-paste.ini");
    let over = l
        .path()
        .join("etc/kolla/barbican-api/barbican-api-paste.ini");
    std::fs::copy(&stock, &over).unwrap();
    let (_, r) = l.audit(&[]);
    assert_eq!(
        worst_per_check(&r, "kolla:barbican_api")
            .into_iter()
            .find(|(i, _)| i == "BAR-004"),
        Some(("BAR-004".to_string(), "pass".to_string())),
        "barbican 22.0.0's paste: authtoken before context on /v1"
    );
    // Unauthenticated /v1 in the override: a fail, judged from the host.
    let text = std::fs::read_to_string(&over).unwrap();
    let open = text.replace(
        "pipeline = cors request_id http_proxy_to_wsgi authtoken context microversion apiapp",
        "pipeline = cors request_id http_proxy_to_wsgi unauthenticated-context microversion apiapp",
    );
    assert_ne!(open, text, "the stock pipeline line changed");
    std::fs::write(&over, open).unwrap();
    let (_, r) = l.audit(&[]);
    let f = findings(&r)
        .iter()
        .find(|f| f["target"] == "kolla:barbican_api" && f["check_id"] == "BAR-004")
        .unwrap();
    assert_eq!(f["status"], "fail", "{f}");
}

#[test]
fn a_kolla_config_json_that_does_not_parse_is_an_error_naming_it() {
    // kolla_set_configs json.load()s config.json (set_configs.py load_config):
    // a file it cannot load starts nothing, and we judge nothing from it.
    let l = Layout::new("kolla", "host");
    let cj = l.path().join("etc/kolla/barbican-worker/config.json");
    std::fs::write(
        &cj,
        "{\"command\": \"barbican-worker\", \"config_files\": [",
    )
    .unwrap();
    let (code, r) = l.audit(&[]);
    let worker: Vec<&Value> = findings(&r)
        .iter()
        .filter(|f| f["target"] == "kolla:barbican_worker")
        .collect();
    assert_eq!(worker.len(), 1, "{worker:?}");
    assert_eq!(worker[0]["status"], "error");
    let msg = worker[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("/etc/kolla/barbican-worker/config.json: not valid JSON"),
        "{msg}"
    );
    assert_eq!(code, 1, "findings that are not pass: exit 1");
    // The other containers are still audited.
    assert!(worst_per_check(&r, "kolla:barbican_api")
        .iter()
        .any(|(i, s)| i == "BAR-006" && s == "fail"));
    // Unreadable (a directory where the file is): an error too, never a pass.
    std::fs::remove_file(&cj).unwrap();
    std::fs::create_dir(&cj).unwrap();
    let (_, r) = l.audit(&[]);
    let worker: Vec<&Value> = findings(&r)
        .iter()
        .filter(|f| f["target"] == "kolla:barbican_worker")
        .collect();
    assert_eq!(worker.len(), 1);
    assert_eq!(worker[0]["status"], "error");
    assert!(worker[0]["message"]
        .as_str()
        .unwrap()
        .contains("/etc/kolla/barbican-worker/config.json: cannot read it"));
}

#[test]
fn audit_scan_on_a_kolla_host_looks_for_the_containers_keks() {
    // barbican.conf.j2 [simple_crypto_plugin] kek = {{ barbican_crypto_key }}
    // (kolla-genpwd): a copy of it elsewhere on the host is a stray copy;
    // the host's /etc/kolla/barbican-*/barbican.conf are the deployment's
    // own (BAR-006), not strays.
    let l = Layout::new("kolla", "host");
    let conf =
        std::fs::read_to_string(l.path().join("etc/kolla/barbican-api/barbican.conf")).unwrap();
    let kek = conf
        .lines()
        .find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == "kek").then(|| v.trim().trim_matches('\'').to_string())
        })
        .expect("a kek line");
    let planted = l.path().join("root/kek-backup.txt");
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(&planted, format!("old kek: {kek}\n")).unwrap();
    let (code, r) = l.audit(&["--scan"]);
    assert_eq!(code, 1);
    let copies: Vec<&Value> = findings(&r)
        .iter()
        .filter(|f| f["check_id"] == "BAR-013" && f["status"] == "fail")
        .collect();
    let subjects: Vec<&str> = copies
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["/root/kek-backup.txt"], "only the planted copy");
    let msg = copies[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("the KEK of target kolla:barbican_api, kolla:barbican_keystone_listener, kolla:barbican_worker"),
        "{msg}"
    );
    assert!(!msg.contains(&kek), "never the key itself");
    assert!(copies[0]["evidence"]["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(
        copies[0]["target"].is_null(),
        "a copy on the host's own disk"
    );
    let body = serde_json::to_string(&r).unwrap();
    assert!(!body.contains(&kek), "the report never holds the key");
    // The targets' own BAR-013 points at the host's scan.
    let own = findings(&r)
        .iter()
        .find(|f| f["check_id"] == "BAR-013" && f["target"] == "kolla:barbican_api")
        .unwrap();
    assert_eq!(own["status"], "na");
    assert!(own["message"]
        .as_str()
        .unwrap()
        .contains("covered by the host's disk scan"));
    // One target selected: its key is looked for, the host's scan findings
    // stay, and the other containers' own barbican.conf are still not copies.
    let (_, r) = l.audit(&["--scan", "--target", "kolla:barbican_worker"]);
    let copies: Vec<(&str, &str)> = findings(&r)
        .iter()
        .filter(|f| f["check_id"] == "BAR-013" && f["status"] == "fail")
        .map(|f| {
            (
                f["subject"].as_str().unwrap(),
                f["evidence"]["targets"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(copies, [("/root/kek-backup.txt", "kolla:barbican_worker")]);
    // Without --scan nothing is read from the disk: the host's BAR-013 is na.
    let (_, r) = l.audit(&[]);
    assert!(findings(&r)
        .iter()
        .filter(|f| f["check_id"] == "BAR-013")
        .all(|f| f["status"] == "na"));
}

#[test]
fn an_openstack_helm_node_says_to_audit_the_pod() {
    // openstack-helm barbican/templates/deployment-api.yaml:138-141 (the Secret
    // volume), configmap-etc.yaml:88-101 (Secret barbican-etc).
    let l = Layout::new("helm", "host");
    let (_, r) = l.audit(&[]);
    let t = targets(&r);
    assert_eq!(t, ["openstack-helm:0b6e3c2a-6f1d-4c59-9a57-3e0f4d2c8b71"]);
    let f: Vec<&Value> = findings(&r)
        .iter()
        .filter(|f| f["target"].is_string())
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["status"], "na");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("--root /proc/$(crictl inspect"), "{msg}");
    assert!(msg.contains("kubectl -n openstack exec"), "{msg}");
    assert_eq!(
        f[0]["evidence"]["command"]
            .as_str()
            .map(|c| c.contains("crictl ps -q --name barbican-api")),
        Some(true)
    );
}

#[test]
fn an_osa_host_audits_its_lxc_container_as_a_target() {
    // lxc_container_create defaults/main.yml:62-66 (dir backing store rootfs);
    // os_barbican tasks/barbican_post_install.yml:16-40 (root:barbican 0640).
    let l = Layout::new("osa", "host");
    let (code, r) = l.audit(&[]);
    let name = "osa:infra1_barbican_container-5f2a0c1d";
    assert_eq!(targets(&r), [name]);
    let mine: Vec<&Value> = findings(&r)
        .iter()
        .filter(|f| f["target"] == name)
        .collect();
    // The same verdicts as --root on the rootfs (README before picture: OSA target).
    let direct = {
        let rootfs =
            PathBuf::from(l.root()).join("var/lib/lxc/infra1_barbican_container-5f2a0c1d/rootfs");
        let out = run(&[
            "audit",
            "--root",
            rootfs.to_str().unwrap(),
            "--format",
            "json",
        ]);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let strip = |v: Vec<&Value>| -> Vec<(String, String, String)> {
        v.iter()
            .map(|f| {
                (
                    f["check_id"].as_str().unwrap().to_string(),
                    f["subject"].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(strip(mine), strip(findings(&direct).iter().collect()));
    // BAR-003 fails on /etc/barbican barbican:barbican 0750 (barbican_pre_install.yml:32-41).
    assert!(findings(&r)
        .iter()
        .any(|f| f["target"] == name && f["check_id"] == "BAR-003" && f["status"] == "fail"));
    assert_eq!(code, 1);
}

#[test]
fn a_tripleo_host_audits_the_puppet_generated_config() {
    // tht container-puppet.sh:125-139 (rsync into puppet-generated/barbican).
    let l = Layout::new("tripleo", "host");
    let (_, r) = l.audit(&[]);
    assert_eq!(targets(&r), ["tripleo:barbican_api"]);
    let mine = |id: &str| -> Vec<(String, String)> {
        findings(&r)
            .iter()
            .filter(|f| f["target"] == "tripleo:barbican_api" && f["check_id"] == id)
            .map(|f| {
                (
                    f["subject"].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    // BAR-004 judges the puppet-rendered paste file: /v1 is barbican-api-keystone
    // (puppet-barbican manifests/api.pp:173-181, auth_strategy keystone).
    assert_eq!(mine("BAR-004"), [("/v1".to_string(), "pass".to_string())]);
    // The paste file keeps RDO's root:root 0644 (openstack-barbican.spec:242).
    assert!(mine("BAR-002").contains(&(
        "/etc/barbican/barbican-api-paste.ini".to_string(),
        "fail".to_string()
    )));
    // The tree has no /etc/group (the image has it): owners are not named from
    // the host, so BAR-001 is an error, never a guess.
    assert!(mine("BAR-001").iter().all(|(_, st)| st == "error"));
    // The puppet-generated tree has none of TripleO's marks inside it, yet
    // its fixes are TripleO's: the environment file of tht's environments/
    // (barbican-backend-simple-crypto.yaml → a pkcs11 one), not an edit of
    // the rendered barbican.conf that the next deploy overwrites.
    let kek_fix: Vec<&str> = findings(&r)
        .iter()
        .filter(|f| {
            f["target"] == "tripleo:barbican_api"
                && f["check_id"] == "BAR-006"
                && f["status"] == "fail"
        })
        .map(|f| f["remediation"].as_str().unwrap())
        .collect();
    assert!(!kek_fix.is_empty());
    assert!(
        kek_fix
            .iter()
            .all(|x| x.contains("barbican-backend-pkcs11")),
        "{kek_fix:?}"
    );
    // What the host can and cannot show is said in the report.
    let said = r["warnings"].as_array().unwrap();
    assert!(
        said.iter().any(|w| w.as_str().is_some_and(|w| w
            .starts_with("target tripleo:barbican_api: audited the puppet-generated config")
            && w.contains("podman inspect"))),
        "{said:?}"
    );
}

#[test]
fn target_selects_one_and_an_unknown_name_lists_the_known_ones() {
    let l = Layout::new("kolla", "host");
    let (code, r) = l.audit(&["--target", "kolla:barbican_worker"]);
    assert_eq!(
        code, 1,
        "the worker's barbican.conf fails BAR-001 and BAR-006"
    );
    let mut all: Vec<&str> = findings(&r)
        .iter()
        .map(|f| f["target"].as_str().unwrap_or("<host>"))
        .collect();
    all.dedup();
    assert_eq!(all, ["kolla:barbican_worker"]);
    assert_eq!(
        worst_per_check(&r, "kolla:barbican_worker").len(),
        r["catalog"]["checks"].as_u64().unwrap() as usize,
        "every check judged for the one target"
    );
    let out = run(&["audit", "--root", l.root(), "--target", "kolla:nova_api"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kolla:nova_api")
            && err.contains(
                "kolla:barbican_api, kolla:barbican_keystone_listener, kolla:barbican_worker"
            ),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no half report");
    // A root without targets: --target is a usage error too.
    let d = Layout::new("debian", "host");
    let out = run(&[
        "audit",
        "--root",
        d.root(),
        "--target",
        "kolla:barbican_api",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no targets"));
}

#[test]
fn plain_package_hosts_have_no_targets() {
    for dir in ["debian", "rdo", "charm"] {
        let l = Layout::new(dir, "host");
        let (_, r) = l.audit(&[]);
        assert!(targets(&r).is_empty(), "{dir}");
    }
}

#[test]
fn metrics_carry_the_target_label() {
    let l = Layout::new("osa", "host");
    let prom = l.path().join("m.prom");
    let out = run(&[
        "audit",
        "--root",
        l.root(),
        "--textfile",
        prom.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(text.contains(
        "barbican_audit_check_status{check=\"BAR-003\",severity=\"medium\",target=\"osa:infra1_barbican_container-5f2a0c1d\"} 1"
    ) || text.contains("check=\"BAR-003\",severity=\"high\",target=\"osa:infra1_barbican_container-5f2a0c1d\"} 1"),
        "{text}");
    // The series without a target are still there, with their old labels.
    assert!(text.lines().any(|l| l
        .starts_with("barbican_audit_check_status{check=\"BAR-003\",severity=\"")
        && !l.contains("target=")));
}

/// `checks explain` shows, for each layout, the place its tool keeps the fix.
#[test]
fn per_layout_fixes_name_the_durable_place() {
    // (check, layout, text the fix must name, template line it follows)
    let cases = [
        // kolla-ansible roles/barbican/tasks/config.yml:62-82
        ("BAR-004", "kolla", "/etc/kolla/config/barbican/"),
        // puppet-barbican manifests/api.pp:173-181
        ("BAR-004", "tripleo", "barbican::api::auth_strategy"),
        // os_barbican defaults/main.yml:148
        ("BAR-004", "osa", "barbican_paste_overrides"),
        // openstack-helm barbican/values.yaml:302-349
        ("BAR-004", "openstack-helm", "conf.paste"),
        // kolla-ansible group_vars/all/haproxy.yml:11
        ("BAR-005", "kolla", "kolla_enable_tls_internal"),
        // tht EnableInternalTLS
        ("BAR-005", "tripleo", "EnableInternalTLS"),
        // openstack-helm values.yaml:587-612
        ("BAR-005", "openstack-helm", "endpoints.identity.scheme"),
        // kolla-ansible group_vars/all/barbican.yml:8-9
        ("BAR-006", "kolla", "barbican_crypto_plugin"),
        // charm-barbican metadata.yaml:18-23
        ("BAR-006", "charm", "hsm"),
        // kolla-genpwd passwords.yml
        ("BAR-007", "kolla", "barbican_crypto_key"),
        // tht barbican-backend-simple-crypto-puppet.yaml:31
        ("BAR-007", "tripleo", "BarbicanSimpleCryptoKek"),
        // os_barbican defaults/main.yml:65
        ("BAR-007", "osa", "barbican_simple_crypto_key"),
        // charm-barbican templates/rocky/barbican.conf:63 (hard-coded kek)
        ("BAR-007", "charm", "hard-codes"),
        // openstack-helm values.yaml:425-469
        (
            "BAR-007",
            "openstack-helm",
            "conf.barbican.simple_crypto_plugin.kek",
        ),
        // kolla-ansible tasks/config.yml:12-29,99-107
        ("BAR-008", "kolla", "/etc/kolla/config/barbican/"),
        // tht barbican-api-container-puppet.yaml:153
        ("BAR-008", "tripleo", "BarbicanPolicies"),
        // os_barbican defaults/main.yml:147
        ("BAR-008", "osa", "barbican_policy_overrides"),
        // charm-barbican config.yaml:52-59, metadata.yaml:25-28
        ("BAR-008", "charm", "policyd-override"),
        // openstack-helm values.yaml:350
        ("BAR-008", "openstack-helm", "conf.policy"),
        // kolla barbican-base Dockerfile.j2:27 (image dir): temporary fix in the container
        ("BAR-003", "kolla", "docker exec -u root {container}"),
        // openstack-helm values.yaml:110 pod.etcSources.barbican_api
        ("BAR-003", "openstack-helm", "pod.etcSources.barbican_api"),
        // kolla set_configs COPY_ALWAYS (common.yml:177): temporary fix on the host's source
        ("BAR-008", "kolla", "/etc/kolla/barbican-api/barbican.conf"),
        // tht preserve_properties copy: temporary fix in puppet-generated
        (
            "BAR-005",
            "tripleo",
            "/var/lib/config-data/puppet-generated/barbican",
        ),
    ];
    for (id, layout, want) in cases {
        let out = run(&["checks", "explain", id]);
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{layout}: ")))
            .unwrap_or_else(|| panic!("{id}: no fix for {layout}"));
        assert!(line.contains(want), "{id} {layout}: {line}");
    }
}

/// The findings of one check, as (subject, status, remediation).
fn of_check<'a>(report: &'a Value, id: &str) -> Vec<(&'a str, &'a str, &'a str)> {
    findings(report)
        .iter()
        .filter(|f| f["check_id"] == id)
        .map(|f| {
            (
                f["subject"].as_str().unwrap_or(""),
                f["status"].as_str().unwrap_or(""),
                f["remediation"].as_str().unwrap_or(""),
            )
        })
        .collect()
}

#[test]
fn the_helm_pods_world_writable_conf_d_fails_bar_003() {
    // tests/layouts/helm/target/manifest.tsv:7: openstack-helm
    // barbican/templates/deployment-api.yaml:105-107,142-149, the
    // barbican-etc-snippets emptyDir (0777) oslo.config loads *.conf from.
    let l = Layout::new("helm", "target");
    let (_, r) = l.audit(&[]);
    let f = of_check(&r, "BAR-003");
    let conf_d = f
        .iter()
        .find(|(s, _, _)| *s == "/etc/barbican/barbican.conf.d")
        .unwrap_or_else(|| panic!("BAR-003 does not judge barbican.conf.d: {f:?}"));
    assert_eq!(conf_d.1, "fail", "{f:?}");
    // values.yaml:110 pod.etcSources.barbican_api: the chart's knob
    assert!(conf_d.2.contains("pod.etcSources.barbican_api"), "{f:?}");
}

#[test]
fn a_kolla_containers_source_config_is_bar_006_not_a_stray_copy() {
    // tests/layouts/kolla/target/manifest.tsv:16-19: kolla-ansible
    // roles/barbican/defaults/main.yml:148 (/etc/kolla/barbican-api/ bound
    // read-only at /var/lib/kolla/config_files/), templates/barbican-api.json.j2:4-15.
    let l = Layout::new("kolla", "target");
    let (_, r) = l.audit(&["--scan"]);
    let scan = of_check(&r, "BAR-013");
    assert!(
        scan.iter()
            .all(|(s, _, _)| !s.starts_with("/var/lib/kolla/config_files")),
        "{scan:?}"
    );
    assert!(
        scan.iter().any(|(s, st, _)| *s == "disk" && *st == "pass"),
        "{scan:?}"
    );
    let conf = of_check(&r, "BAR-006");
    let src = conf
        .iter()
        .find(|(s, _, _)| *s == "/var/lib/kolla/config_files/barbican.conf")
        .unwrap_or_else(|| panic!("BAR-006 does not report the source: {conf:?}"));
    assert_eq!(src.1, "fail");
    // group_vars/all/barbican.yml:8-9: the durable place, not `shred -u`
    assert!(src.2.contains("barbican_crypto_plugin"), "{conf:?}");
}

#[test]
fn a_tripleo_containers_source_config_is_bar_006_not_a_stray_copy() {
    // tests/layouts/tripleo/target/manifest.tsv:22-27: tht
    // deployment/barbican/barbican-api-container-puppet.yaml:336-339 (src/* → /).
    let l = Layout::new("tripleo", "target");
    let (_, r) = l.audit(&["--scan"]);
    let scan = of_check(&r, "BAR-013");
    assert!(
        scan.iter()
            .all(|(s, _, _)| !s.starts_with("/var/lib/kolla/config_files")),
        "{scan:?}"
    );
    let conf = of_check(&r, "BAR-006");
    assert!(
        conf.iter().any(|(s, st, _)| *s
            == "/var/lib/kolla/config_files/src/etc/barbican/barbican.conf"
            && *st == "fail"),
        "{conf:?}"
    );
}

/// BAR-001/BAR-002 judge only the files on the path that serves /v1 (issue 17,
/// item 3): the server's own config, the paste file it loads, and the audit map
/// only when a served pipeline has the audit filter. No layout serves the audit
/// filter (every /v1 is barbican-api-keystone) or runs the image's vassal.
#[test]
fn file_checks_judge_only_what_serves_the_api() {
    const PASTE: &str = "/etc/barbican/barbican-api-paste.ini";
    const VASSAL: &str = "/etc/barbican/vassals/barbican-api.ini";
    const AUDIT_MAP: &str = "/etc/barbican/api_audit_map.conf";
    // (layout, view, judged starter, template line it follows)
    let cases = [
        // kolla set_configs.py:368-373 writes /run_command from barbican-api.json.j2:2
        // `uwsgi /etc/barbican/barbican-api-uwsgi.ini`; uwsgi.ini.j2:28-29 `module =`.
        (
            "kolla",
            "target",
            "/etc/barbican/barbican-api-uwsgi.ini",
            "/run_command",
        ),
        // tht barbican-api-container-puppet.yaml:323 `command: /usr/sbin/httpd -DFOREGROUND`;
        // puppet-barbican manifests/wsgi/apache.pp:149-185 (10-barbican_wsgi_main.conf).
        (
            "tripleo",
            "target",
            "/etc/httpd/conf.d/10-barbican_wsgi_main.conf",
            "WSGIScriptAlias / /var/www/cgi-bin/barbican/main",
        ),
        // RDO openstack-barbican-api.service:12 `gunicorn … -c /etc/barbican/gunicorn-config.py
        // --paste /etc/barbican/barbican-api-paste.ini`; the vassal (spec:168) is not run.
        (
            "rdo",
            "host",
            "/etc/barbican/gunicorn-config.py",
            "openstack-barbican-api.service",
        ),
        // Debian barbican-api.service:15 → init script :21 UWSGI_INI_PATH.
        (
            "debian",
            "host",
            "/etc/barbican/barbican-api-uwsgi.ini",
            "UWSGI_INI_PATH at /etc/init.d/barbican-api:21",
        ),
        // ansible-role-uwsgi tasks/uwsgi_post_install.yml:50-53 `--ini /etc/uwsgi/barbican-api.ini`.
        (
            "osa",
            "target",
            "/etc/uwsgi/barbican-api.ini",
            "/etc/systemd/system/barbican-api.service",
        ),
        // charm-barbican templates/rocky/barbican-api.conf `WSGIScriptAlias / /usr/share/barbican/app.wsgi`.
        (
            "charm",
            "host",
            "/etc/apache2/conf-enabled/barbican-api.conf",
            "/usr/share/barbican/app.wsgi",
        ),
    ];
    for (layout, view, starter, evidence) in cases {
        let l = Layout::new(layout, view);
        let (_, r) = l.audit(&[]);
        for id in ["BAR-001", "BAR-002"] {
            let mine: Vec<&Value> = findings(&r)
                .iter()
                .filter(|f| f["check_id"] == id && f["target"].is_null())
                .collect();
            let subjects: Vec<&str> = mine.iter().filter_map(|f| f["subject"].as_str()).collect();
            let what = format!("{layout}/{view} {id}: {subjects:?}");
            assert!(subjects.contains(&starter), "{what}");
            assert!(subjects.contains(&PASTE), "{what}");
            assert!(!subjects.contains(&VASSAL), "{what}");
            assert!(!subjects.contains(&AUDIT_MAP), "{what}");
            // The paste file's evidence names the path that serves it.
            let source = mine
                .iter()
                .find(|f| f["subject"] == PASTE)
                .and_then(|f| f["evidence"]["source"].as_str())
                .unwrap_or("");
            assert!(source.contains(evidence), "{what}: {source}");
        }
    }
    // OpenStack-Helm's pod: the container command (deployment-api.yaml:78-81) is not in
    // the pod's root, so nothing is found that serves the API: every file that exists
    // is judged, the audit map included, and the evidence says why.
    let l = Layout::new("helm", "target");
    let (_, r) = l.audit(&[]);
    let map = findings(&r)
        .iter()
        .find(|f| f["check_id"] == "BAR-002" && f["subject"] == AUDIT_MAP)
        .expect("helm target: the audit map is judged");
    assert!(map["evidence"]["source"]
        .as_str()
        .is_some_and(|s| s.contains("nothing found that serves the API")));
}
