//! The bottom layer of barbican-audit: small helpers every other crate
//! uses and that depend on nothing of ours.
//!
//! * [`error`]: the fatal errors (exit status 2), each naming its path.
//! * [`userfile`]: the one reader for every path a user gives (non-blocking
//!   open, regular files only, size cap).
//! * [`atomic`]: all-or-nothing writes.
//! * [`text`]: hex, shell quoting, check IDs.
#![deny(missing_docs)]

pub mod atomic;
pub mod error;
pub mod text;
pub mod userfile;

pub use text::{hex, id_prefix, is_valid_id, shell_quote, PACKS};
