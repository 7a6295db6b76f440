//! BAR-005: TLS to Keystone.
//!
//! Each case's root and expectation are data: `data/bar_005/<condition>.case`
//! and the files under `data/bar_005/<condition>/`.

use crate::fixture::{case, unreadable, How, CONF};

const CHECK: &str = "BAR-005";

/// The served /v1 pipeline has no auth_token (OpenStack-Ansible without
/// Keystone maps /v1 to barbican_api: os_barbican templates/barbican-api-paste.ini):
/// nothing validates tokens, BAR-004 fails, and TLS to Keystone is na.
#[test]
fn no_authtoken_served_is_na() {
    case(CHECK, "no-authtoken-served-is-na").check();
}

/// `cafile =` (kolla-ansible's barbican.conf.j2 renders it empty without
/// internal TLS) is keystoneauth1's system CA store, not a missing file.
#[test]
fn cafile_empty_means_system_cas() {
    case(CHECK, "cafile-empty-means-system-cas").check();
}

/// The deprecated `auth_uri` (charm-barbican and OpenStack-Helm write it) is
/// reported under that name, not as www_authenticate_uri.
#[test]
fn auth_uri_named_as_written() {
    case(CHECK, "auth-uri-named-as-written").check();
}

#[test]
fn keystone_https() {
    case(CHECK, "keystone-https").check();
}

#[test]
fn keystone_http_stock_debian_values() {
    case(CHECK, "keystone-http-stock-debian-values").check();
}

#[test]
fn keystone_www_authenticate_http() {
    case(CHECK, "keystone-www-authenticate-http").check();
}

#[test]
fn paste_default_insecure_true() {
    case(CHECK, "paste-default-insecure-true").check();
}

#[test]
fn paste_filter_authtoken_http_override() {
    case(CHECK, "paste-filter-authtoken-http-override").check();
}

#[test]
fn quoted_https_auth_url() {
    case(CHECK, "quoted-https-auth-url").check();
}

#[test]
fn uppercase_keystone_authtoken_group_http() {
    case(CHECK, "uppercase-keystone-authtoken-group-http").check();
}

#[test]
fn insecure_true_in_barbican_conf() {
    case(CHECK, "insecure-true-in-barbican-conf").check();
}

#[test]
fn cafile_missing() {
    case(CHECK, "cafile-missing").check();
}

#[test]
fn cafile_present() {
    case(CHECK, "cafile-present").check();
}

#[test]
fn insecure_through_environment() {
    case(CHECK, "insecure-through-environment").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_barbican_conf_is_not_utf8() {
    unreadable(CHECK, CONF, How::NotUtf8);
}
