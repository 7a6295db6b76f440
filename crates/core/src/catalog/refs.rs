//! What a check may cite, and where its per-layout fixes may point.
//!
//! An operator reads a check's references and fix on a node where nothing
//! but the package is installed: a citation must be a public source (an
//! `https://` address) or something the package ships
//! (`barbican-audit checks explain ID`), never a document of this project's
//! development (`barbican.md §3` meant nothing to a reader of a report).

/// The deployment layouts a check can hold a fix for: the values of the
/// report's `host.layout` (interface: "Layouts and targets"), less `unknown`.
pub const LAYOUTS: &[&str] = &[
    "debian",
    "rdo",
    "kolla",
    "tripleo",
    "osa",
    "charm",
    "openstack-helm",
];

/// A reference names its source and gives the public address where a
/// reader finds it: `Title: https://...`.
pub fn check_reference(r: &str) -> Result<(), String> {
    let Some(at) = r.find("https://") else {
        return Err(format!(
            "reference {r:?} has no https:// address: cite a public source (`Title: https://...`)"
        ));
    };
    if r[..at].trim().trim_end_matches(':').trim().is_empty() {
        return Err(format!(
            "reference {r:?} names no source before its address"
        ));
    }
    check_text(r)
}

/// Text shown to an operator (rationale, messages, fixes) cites nothing
/// that does not ship: no section signs and no `.md` documents outside an
/// address.
pub fn check_text(t: &str) -> Result<(), String> {
    if t.contains('§') {
        return Err(format!(
            "{t:.60?}… cites a section (§) of a document that does not ship: cite a public source or `barbican-audit checks explain ID`"
        ));
    }
    for word in t.split_whitespace() {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '.' && c != '/');
        if w.ends_with(".md") && !word.contains("://") {
            return Err(format!(
                "{t:.60?}… cites {w}, a document that does not ship: cite a public source or `barbican-audit checks explain ID`"
            ));
        }
    }
    Ok(())
}

/// A `[remediation-by-layout]` entry: a known layout and a text that
/// cites nothing internal.
pub fn check_layout(layout: &str, template: &str) -> Result<(), String> {
    if !LAYOUTS.contains(&layout) {
        return Err(format!(
            "unknown layout {layout:?} in [remediation-by-layout] (known: {})",
            LAYOUTS.join(", ")
        ));
    }
    if template.trim().is_empty() {
        return Err(format!("empty remediation for layout {layout}"));
    }
    check_text(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_needs_a_public_address_and_a_name() {
        assert!(check_reference(
            "OpenStack Security Guide, Check-Key-Manager-01: https://docs.openstack.org/security-guide/secrets-management/checklist.html"
        )
        .is_ok());
        assert!(check_reference("barbican.md §3").is_err());
        assert!(check_reference("OpenStack Security Guide Check-Key-Manager-03").is_err());
        assert!(check_reference("https://example.org/").is_err());
    }

    #[test]
    fn texts_cite_nothing_that_does_not_ship() {
        assert!(check_text("see barbican.md for the rules").is_err());
        assert!(check_text("as catalog.md says").is_err());
        assert!(check_text("rules in §4.2").is_err());
        assert!(check_text("see https://github.com/x/y/blob/main/README.md").is_ok());
        assert!(check_text("run `barbican-audit checks explain BAR-004`").is_ok());
    }

    #[test]
    fn layouts_are_the_report_layouts() {
        assert!(check_layout("kolla", "set it in /etc/kolla/config/barbican.conf").is_ok());
        assert!(check_layout("Kolla", "x").is_err());
        assert!(check_layout("unknown", "x").is_err());
        assert!(check_layout("charm", " ").is_err());
    }
}
