//! Unit names: which names systemd accepts as service units, which of them are this
//! program's own, and which `.d` directories hold drop-ins for a name.

const SERVICE_SUFFIX: &str = ".service";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameKind {
    Plain,
    Template,
    Instance,
}

/// Classifies a `*.service` name, `None` if systemd would not accept it as a unit name.
// See: src/basic/unit-name.c unit_name_is_valid(): at most 255 bytes, characters
// [A-Za-z0-9:_.\-] plus one '@', non-empty prefix, known type suffix.
pub(super) fn service_name_kind(name: &str) -> Option<NameKind> {
    if name.len() > 255 || name.starts_with('.') {
        return None;
    }
    let stem = name.strip_suffix(SERVICE_SUFFIX)?;
    if stem.is_empty() {
        return None;
    }
    if !stem
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
    {
        return None;
    }
    match stem.split_once('@') {
        None => Some(NameKind::Plain),
        Some((prefix, inst)) => {
            if prefix.is_empty() || inst.contains('@') {
                None
            } else if inst.is_empty() {
                Some(NameKind::Template)
            } else {
                Some(NameKind::Instance)
            }
        }
    }
}

/// Part before '@' (or before the type suffix). See: src/basic/unit-name.c unit_name_to_prefix().
pub(super) fn unit_name_prefix(name: &str) -> &str {
    let stem = name.strip_suffix(SERVICE_SUFFIX).unwrap_or(name);
    match stem.split_once('@') {
        Some((p, _)) => p,
        None => stem,
    }
}

/// The names whose `.d` directories hold drop-ins for `name`, most specific first.
// See: src/shared/dropin.c unit_file_find_dirs(): the name, its template (for instances),
// then recursively the name truncated after each dash ("foo-bar-baz" -> "foo-bar-", "foo-"),
// keeping the instance, with the exact chop rules reproduced below.
pub(super) fn dropin_names(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_dropin_names(name, &mut out, 0);
    out
}

fn expand_dropin_names(name: &str, out: &mut Vec<String>, depth: usize) {
    // Each step strictly shortens the prefix; the depth bound only guards against a logic
    // error turning into unbounded recursion on hostile names.
    if depth > 300 {
        return;
    }
    out.push(name.to_string());
    let kind = match service_name_kind(name) {
        Some(k) => k,
        None => return,
    };
    let stem = name.strip_suffix(SERVICE_SUFFIX).unwrap_or(name);
    let instance = match stem.split_once('@') {
        Some((_, i)) if kind == NameKind::Instance => Some(i.to_string()),
        _ => None,
    };
    if instance.is_some() {
        let template = format!("{}@{}", unit_name_prefix(name), SERVICE_SUFFIX);
        expand_dropin_names(&template, out, depth + 1);
    }
    let mut prefix = unit_name_prefix(name).to_string();
    let mut chopped = false;
    loop {
        let n = match prefix.rfind('-') {
            Some(n) => n,
            None => return,
        };
        if n == 0 {
            return;
        }
        if n + 1 < prefix.len() || chopped {
            prefix.truncate(n + 1);
            break;
        }
        prefix.truncate(n);
        chopped = true;
    }
    let built = match &instance {
        Some(i) => format!("{}@{}{}", prefix, i, SERVICE_SUFFIX),
        None => format!("{}{}", prefix, SERVICE_SUFFIX),
    };
    expand_dropin_names(&built, out, depth + 1);
}

/// This program's own units (`barbican-audit.service`, `barbican-audit-agent.service`,
/// `barbican-audit-collector.service`, their drop-in directories and any `barbican-audit-*`
/// or `barbican-audit@` unit): their names contain "barbican" but they are not Barbican
/// services, and oslo.config never reads their environment. Judging them made BAR-011 list
/// the auditor itself on every node where it is installed.
pub(super) fn is_auditor_unit(entry: &str) -> bool {
    let unit = entry.strip_suffix(".d").unwrap_or(entry);
    let prefix = unit_name_prefix(unit);
    prefix == "barbican-audit" || prefix.starts_with("barbican-audit-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropin_names_chop_at_dashes_and_keep_the_instance() {
        assert_eq!(
            dropin_names("barbican-keystone-listener.service"),
            vec![
                "barbican-keystone-listener.service",
                "barbican-keystone-.service",
                "barbican-.service"
            ]
        );
        assert_eq!(
            dropin_names("a-b@i.service"),
            vec![
                "a-b@i.service",
                "a-b@.service",
                "a-.service",
                "a-@i.service",
                "a-@.service"
            ]
        );
        assert_eq!(
            dropin_names("a--b.service"),
            vec!["a--b.service", "a--.service", "a-.service"]
        );
    }
}
