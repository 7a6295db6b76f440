//! KMC-008: Config files mode 0640 or stricter.
//!
//! Each case's root and expectation are data: `data/kmc_008/<condition>.case`
//! and the files under `data/kmc_008/<condition>/`. The unreadable-input case is `nova-conf-is-a-directory` (`expect error`).

use crate::common::{statuses, Root};
use crate::fixture::{audit_root, case};

const CHECK: &str = "KMC-008";

#[test]
fn acl_named_user_read() {
    case(CHECK, "acl-named-user-read").check();
}

#[test]
fn conf_d_0660_group_write() {
    case(CHECK, "conf-d-0660-group-write").check();
}

#[test]
fn debian_stock_mode_0640() {
    case(CHECK, "debian-stock-mode-0640").check();
}

#[test]
fn debian_stock_rootwrap_0644() {
    case(CHECK, "debian-stock-rootwrap-0644").check();
}

#[test]
fn glance_paste_0644_others_read() {
    case(CHECK, "glance-paste-0644-others-read").check();
}

#[test]
fn mode_0644_others_read() {
    case(CHECK, "mode-0644-others-read").check();
}

#[test]
fn not_installed() {
    case(CHECK, "not-installed").check();
}

#[test]
fn nova_conf_is_a_directory() {
    case(CHECK, "nova-conf-is-a-directory").check();
}

#[test]
fn paste_0644_others_read() {
    case(CHECK, "paste-0644-others-read").check();
}

#[test]
fn policy_0646_others_write() {
    case(CHECK, "policy-0646-others-write").check();
}

#[test]
fn rootwrap_filters_0664_group_write() {
    case(CHECK, "rootwrap-filters-0664-group-write").check();
}

/// Every service as Debian packages it (tests/data/consumers/debian-layout.json,
/// read from the .debs and postinsts): the config files, rootwrap and policy
/// pass KMC-007 and KMC-008; the four /etc/<svc> fail KMC-007 (<svc>:<svc>
/// 0750, and 0770 after dbconfig); files no program reads (glance-cache.conf,
/// logging.conf, cinder's /etc/policy.d) are not judged (README §4).
#[test]
fn debian_packaging_of_the_four_services() {
    let layout: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/consumers/debian-layout.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let services = layout["services"].as_object().unwrap();
    for dbconfig in [false, true] {
        let root = Root::new();
        let mut passwd = String::from("root:x:0:0:root:/root:/bin/bash\n");
        let mut group = String::from("root:x:0:\n");
        let mut ids = std::collections::BTreeMap::new();
        for (i, (name, s)) in services.iter().enumerate() {
            // octavia's ids are dynamic (adduser --system): any free one.
            let id = s["uid"].as_u64().map_or(64070 + i as u32, |u| u as u32);
            passwd.push_str(&format!("{name}:x:{id}:{id}::/var/lib/{name}:/bin/false\n"));
            group.push_str(&format!("{name}:x:{id}:\n"));
            ids.insert(name.clone(), id);
        }
        root.file("/etc/passwd", &passwd, 0, 0, 0o644);
        root.file("/etc/group", &group, 0, 0, 0o644);
        let id_of = |n: &str| if n == "root" { 0 } else { ids[n] };
        let octal = |m: &serde_json::Value| u32::from_str_radix(m.as_str().unwrap(), 8).unwrap();
        let mut expect7 = Vec::new();
        let mut expect8 = Vec::new();
        for (name, s) in services {
            let d = &s[if dbconfig {
                "conf_dir_after_dbconfig"
            } else {
                "conf_dir"
            }];
            root.dir_(
                d["path"].as_str().unwrap(),
                id_of(d["owner"].as_str().unwrap()),
                id_of(d["group"].as_str().unwrap()),
                octal(&d["mode"]),
            );
            expect7.push((format!("/etc/{name}"), "fail".to_string()));
            for f in s["files"].as_array().unwrap() {
                let path = f["path"].as_str().unwrap();
                if path.contains('*') {
                    continue;
                }
                root.file(
                    path,
                    "[DEFAULT]\n",
                    id_of(f["owner"].as_str().unwrap()),
                    id_of(f["group"].as_str().unwrap()),
                    octal(&f["mode"]),
                );
                let read = path.ends_with(&format!("/{name}.conf"))
                    || path == "/etc/glance/glance-api.conf"
                    || path.ends_with("api-paste.ini")
                    || path.contains("/rootwrap")
                    || path.starts_with(&format!("/etc/{name}/policy.d/"));
                if read {
                    expect7.push((path.to_string(), "pass".to_string()));
                    expect8.push((path.to_string(), "pass".to_string()));
                }
            }
            for p in s["programs"].as_array().unwrap() {
                if p["start"] == "init" {
                    let init = format!("/etc/init.d/{}", p["name"].as_str().unwrap());
                    root.file(&init, "#!/bin/sh\n", 0, 0, 0o755);
                }
            }
        }
        let a = audit_root(root.path(), None);
        for (check, mut want) in [("KMC-007", expect7), ("KMC-008", expect8)] {
            let mut got = statuses(&a.json, check);
            got.sort();
            want.sort();
            // 18 KMC-007 and 14 KMC-008 findings when this test was written.
            assert!(want.len() >= 14, "{check}: {want:?}");
            assert_eq!(got, want, "{check}, dbconfig {dbconfig}");
        }
    }
}
