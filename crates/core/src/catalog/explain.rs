//! `barbican-audit checks explain ID`: everything a check's TOML says, as
//! an operator reads it. The same text is the local reference that messages
//! and fixes may point to, so it is rendered from the catalog alone.
use super::{Check, Condition};

/// What an `applies-if` condition means, in words.
fn condition_text(c: Condition) -> &'static str {
    match c {
        Condition::BarbicanInstalled => {
            "Barbican is installed under the root (a package, Python metadata, or its config)"
        }
        Condition::SimpleCryptoEnabled => {
            "store_crypto with simple_crypto wraps project keys (Barbican's default back end)"
        }
        Condition::ConsumersInstalled => {
            "a program of nova, cinder or glance is installed under the root (a package, its init \
             script or uwsgi ini, or the service's main config file)"
        }
        Condition::AnyConsumerInstalled => {
            "a program of nova, cinder, glance or octavia is installed under the root (a package, \
             its init script or uwsgi ini, or the service's main config file)"
        }
        Condition::OctaviaInstalled => {
            "a program of octavia is installed under the root (a package, its init script or \
             uwsgi ini, or /etc/octavia/octavia.conf)"
        }
    }
}

/// The full text of one check: title, when it applies, why, references,
/// how it is judged, the fix (and the fix per deployment layout), and the
/// messages it prints.
pub fn render(c: &Check) -> String {
    let mut s = format!("{} [{}] {}\n", c.id, c.severity.as_str(), c.title);
    s.push_str("\nApplies when\n");
    if c.applies_if.is_empty() {
        s.push_str("  always\n");
    }
    for cond in &c.applies_if {
        s.push_str(&format!("  {}\n", condition_text(*cond)));
    }
    s.push_str("\nWhy\n");
    for line in c.rationale.trim().lines() {
        s.push_str(&format!("  {line}\n"));
    }
    s.push_str("\nReferences\n");
    for (i, r) in c.references.iter().enumerate() {
        s.push_str(&format!("  [{}] {r}\n", i + 1));
    }
    s.push_str(&format!("\nHow it is judged\n  {}\n", c.probe.probe.doc()));
    for line in c.probe_toml.lines() {
        s.push_str(&format!("  {line}\n"));
    }
    s.push_str(&format!("\nFix\n  {}\n", c.remediation.trim()));
    if !c.remediation_by_layout.is_empty() {
        s.push_str("\nFix by deployment layout (where the deployment tool keeps the setting)\n");
        for layout in super::LAYOUTS {
            if let Some(t) = c.remediation_by_layout.get(*layout) {
                s.push_str(&format!("  {layout}: {}\n", t.trim()));
            }
        }
    }
    let m = &c.message;
    s.push_str("\nMessages\n");
    for (k, v) in [
        ("pass", &m.pass),
        ("fail", &m.fail),
        ("error", &m.error),
        ("na", &m.na),
    ] {
        s.push_str(&format!("  {k}: {}\n", v.as_deref().unwrap_or("{detail}")));
    }
    s
}
