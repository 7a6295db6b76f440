//! How Barbican reads its files: which files, in which order, with which
//! dialect. Everything here answers "what would Barbican itself see".
pub mod api;
pub mod config;
pub mod crypto;
pub mod files;
pub mod kek;
pub mod options;
pub mod oslo;
pub mod paste;
pub mod policy;
pub mod redact;
pub mod systemd;
pub mod version;

pub use config::Config;
pub use files::{EffectiveFiles, FileRef};
