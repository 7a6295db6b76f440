//! How Barbican reads its files: which files, in which order, with which
//! dialect. Everything here answers "what would Barbican itself see".
pub mod api;
pub mod config;
pub mod crypto;
pub mod dirs;
pub mod files;
pub mod kek;
pub mod kolla;
pub mod rpmdb;
pub mod served;
pub mod version;

// The dialect readers live in their own crate (barbican-audit-dialects),
// which depends on nothing of ours; they are named here too so that
// `barbican::paste` reads as "how Barbican reads its paste file".
pub use barbican_audit_dialects::{options, oslo, paste, policy, redact, systemd};

pub use config::Config;
pub use files::{EffectiveFiles, FileRef};
