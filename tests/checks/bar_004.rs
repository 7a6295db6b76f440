//! BAR-004: Keystone authtoken in every served /v1 pipeline.
//!
//! Each case's root and expectation are data: `data/bar_004/<condition>.case`
//! and the files under `data/bar_004/<condition>/`.

use crate::fixture::{case, unreadable, How, PASTE};

const CHECK: &str = "BAR-004";

#[test]
fn v1_keystone_pipeline_unused_barbican_api() {
    case(CHECK, "v1-keystone-pipeline-unused-barbican-api").check();
}

#[test]
fn v1_mapped_to_barbican_api() {
    case(CHECK, "v1-mapped-to-barbican-api").check();
}

#[test]
fn host_keyed_v1_unauthenticated() {
    case(CHECK, "host-keyed-v1-unauthenticated").check();
}

#[test]
fn v1_secrets_longer_key_unauthenticated() {
    case(CHECK, "v1-secrets-longer-key-unauthenticated").check();
}

#[test]
fn no_v1_key_root_serves_unauthenticated() {
    case(CHECK, "no-v1-key-root-serves-unauthenticated").check();
}

#[test]
fn authtoken_renamed_kstoken() {
    case(CHECK, "authtoken-renamed-kstoken").check();
}

#[test]
fn filter_named_authtoken_not_keystone() {
    case(CHECK, "filter-named-authtoken-not-keystone").check();
}

#[test]
fn anonymous_access_with_delay_auth_decision() {
    case(CHECK, "anonymous-access-with-delay-auth-decision").check();
}

#[test]
fn paste_duplicate_key_does_not_load() {
    case(CHECK, "paste-duplicate-key-does-not-load").check();
}

#[test]
fn lowercase_default_section_is_not_default() {
    case(CHECK, "lowercase-default-section-is-not-default").check();
}

/// Unreadable input: `error` naming it, never a pass or a judged default.
#[test]
fn error_when_paste_file_is_a_directory() {
    unreadable(CHECK, PASTE, How::Directory);
}
