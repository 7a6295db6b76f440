//! Confirms the oslo.config model against the real library: every case in
//! tests/confirm/oslo_cases.json is evaluated by Debian's oslo.config
//! (tests/confirm/oslo_confirm.py) and by barbican-audit, and the answers
//! must be identical. CI installs barbican-common, which brings the library.
#![allow(clippy::unwrap_used)] // tests may panic on setup failures

use std::collections::BTreeMap;
use std::process::Command;

use barbican_audit_core::barbican::options::{self, Kind};
use barbican_audit_core::barbican::{oslo, Config};

fn render(c: &Config, group: &str, key: &str) -> String {
    let opt = options::find(group, key).expect("query names a registered option");
    let values: Vec<String> = if opt.kind == Kind::Multi {
        let eff = c.effective_multi(group, key);
        let raws: Vec<String> = if eff.is_empty() {
            opt.default
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        } else {
            eff.into_iter().map(|e| e.raw).collect()
        };
        match raws
            .iter()
            .map(|r| c.substitute(r, group, 0))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(v) => v,
            Err(_) => return "ERROR: NoSuchOptError".into(),
        }
    } else {
        match c.resolve(group, key) {
            Ok(v) => vec![v.unwrap_or_default()],
            Err(_) => return "ERROR: NoSuchOptError".into(),
        }
    };
    if opt.kind == Kind::Bool {
        return match oslo::parse_bool(&values[0]) {
            Some(b) => b.to_string(),
            None => "ERROR: ConfigFileValueError".into(),
        };
    }
    values.join("|")
}

#[test]
fn oslo_model_matches_real_oslo_config() {
    let out = Command::new("/usr/bin/python3")
        .arg("tests/confirm/oslo_confirm.py")
        .output()
        .expect("Debian's /usr/bin/python3 (apt-get install barbican-common)");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let oracle: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_slice(&out.stdout).unwrap();
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string("tests/confirm/oslo_cases.json").unwrap())
            .unwrap();
    let mut diffs = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let texts: Vec<String> = case["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        let named: Vec<(String, &str)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("/etc/barbican/{i}.conf"), t.as_str()))
            .collect();
        let refs: Vec<(&str, &str)> = named.iter().map(|(p, t)| (p.as_str(), *t)).collect();
        let c = Config::from_texts(&refs);
        let parse_error = c
            .files
            .iter()
            .any(|f| f.parsed.as_ref().map(|p| p.error.is_some()).unwrap_or(true));
        for q in case["queries"].as_array().unwrap() {
            let (g, k) = (q[0].as_str().unwrap(), q[1].as_str().unwrap());
            let ours = if parse_error {
                "ERROR: ConfigFileParseError".to_string()
            } else {
                render(&c, g, k)
            };
            let theirs = &oracle[name][&format!("{g}.{k}")];
            if &ours != theirs {
                diffs.push(format!(
                    "{name}: {g}.{k}: ours {ours:?}, oslo.config {theirs:?}"
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "model differs from oslo.config:\n{}",
        diffs.join("\n")
    );
}

/// A directory named barbican.conf: oslo.config's search takes it
/// (`os.path.exists`) and parsing fails with IsADirectoryError, so Barbican
/// does not start. The model must load it as an error, not skip it.
#[test]
fn directory_named_barbican_conf_is_taken_and_fails_like_oslo_config() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("etc/barbican/barbican.conf");
    std::fs::create_dir_all(&dir).unwrap();
    let script = "import sys\n\
        from oslo_config import cfg\n\
        p = cfg._search_dirs([sys.argv[1]], 'barbican', '.conf')\n\
        print(p == sys.argv[1] + '/barbican.conf')\n\
        try:\n    cfg.ConfigOpts()(args=[], project='barbican', prog='barbican', default_config_files=[p])\n    print('loaded')\n\
        except Exception as e:\n    print(type(e).__name__)\n";
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(d.path().join("etc/barbican"))
        .output()
        .expect("Debian's /usr/bin/python3 (apt-get install barbican-common)");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        said.trim(),
        "True\nIsADirectoryError",
        "oracle: {said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let host = barbican_audit_core::host::Host::open(d.path()).unwrap();
    let c = Config::load(&host, "barbican");
    assert_eq!(c.files.len(), 1, "{:?}", c.files);
    assert_eq!(
        c.files[0].path,
        std::path::Path::new("/etc/barbican/barbican.conf")
    );
    let e = c.files[0].parsed.as_ref().unwrap_err();
    assert!(e.contains("is a directory"), "{e}");
}

/// keystoneauth plugin options are registered at run time by
/// keystonemiddleware for the `auth_type` in use, and read through
/// oslo.config: a `$` in `[keystone_authtoken] password` raises
/// NoSuchOptError when the plugin loads. Our model (Config::registered) must
/// agree with the real keystonemiddleware on every case of
/// tests/confirm/authplugin_cases.json.
#[test]
fn auth_plugin_options_match_real_keystonemiddleware() {
    let out = Command::new("/usr/bin/python3")
        .arg("tests/confirm/authplugin_confirm.py")
        .output()
        .expect("Debian's /usr/bin/python3 (apt-get install python3-keystonemiddleware)");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let oracle: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string("tests/confirm/authplugin_cases.json").unwrap(),
    )
    .unwrap();
    let mut diffs = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let c = Config::from_texts(&[(
            "/etc/barbican/barbican.conf",
            case["file"].as_str().unwrap(),
        )]);
        let group = c.auth_group();
        let plugin = c.auth_plugin().expect("every case names a plugin");
        let prefix = format!("@plugin:{plugin}");
        let failed = options::all()
            .iter()
            .filter(|o| o.group == prefix)
            .filter(|o| c.effective(&group, &o.name).is_some())
            .any(|o| c.resolve(&group, &o.name).is_err());
        let ours = if failed {
            "ERROR: NoSuchOptError"
        } else {
            "ok"
        };
        if oracle.get(name).map(String::as_str) != Some(ours) {
            diffs.push(format!(
                "{name}: ours {ours}, keystonemiddleware {:?}",
                oracle.get(name)
            ));
        }
    }
    assert_eq!(cases.len(), oracle.len());
    assert!(diffs.is_empty(), "model differs:\n{}", diffs.join("\n"));
}
