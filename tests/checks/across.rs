//! Cases that hold across checks.

use sha2::Digest as _;

use crate::common::Root;
use crate::fixture::{audit_root, RANDOM_KEK};

/// The same key in barbican.conf (padded), in a unit's Environment=
/// (unpadded) and in a backup: BAR-006, BAR-007, BAR-011 and BAR-013 must all
/// name it by the fingerprint of its decoded 32 bytes. BAR-011 once hashed
/// the variable's text instead.
#[test]
fn one_kek_has_one_fingerprint_in_every_check() {
    let r = Root::barbican();
    r.conf(&format!(
        "[DEFAULT]\n[simple_crypto_plugin]\nkek = '{RANDOM_KEK}'\n"
    ));
    r.file(
        "/lib/systemd/system/barbican-worker.service",
        "[Service]\nExecStart=/usr/bin/barbican-worker\n",
        0,
        0,
        0o644,
    );
    let unpadded = RANDOM_KEK.trim_end_matches('=');
    r.file(
        "/etc/systemd/system/barbican-worker.service.d/override.conf",
        &format!("[Service]\nEnvironment=\"OS_SIMPLE_CRYPTO_PLUGIN__KEK={unpadded}\"\n"),
        0,
        0,
        0o644,
    );
    r.file("/root/kek.bak", &format!("{RANDOM_KEK}\n"), 0, 0, 0o600);
    let key = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE, RANDOM_KEK)
        .expect("the fixture KEK is urlsafe base64");
    let digest = sha2::Sha256::digest(key);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let expected = format!("sha256:{}", &hex[..12]);
    let report = audit_root(r.path(), Some(Vec::new())).json;
    let fp = regex::Regex::new(r"sha256:[0-9a-f]{12}").unwrap();
    for check in ["BAR-006", "BAR-007", "BAR-011", "BAR-013"] {
        let text: String = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check_id"] == check)
            .map(|f| f.to_string())
            .collect();
        let seen: std::collections::BTreeSet<&str> =
            fp.find_iter(&text).map(|m| m.as_str()).collect();
        assert_eq!(
            seen,
            [expected.as_str()].into_iter().collect(),
            "{check} names the KEK by other fingerprints"
        );
    }
}
