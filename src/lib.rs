//! The `barbican-audit` command line: argument parsing and dispatch to the
//! audit library (`barbican-audit-core`) and the fleet
//! (`barbican-audit-fleet`). Kept as a library so the man pages and shell
//! completions (examples/gen-assets.rs) are generated from the same clap
//! definitions the binary parses.
#![deny(missing_docs)]

pub mod cli;

pub(crate) use barbican_audit_core::{audit, catalog, engine, host, probe, report, scan};
pub(crate) use barbican_audit_fleet::agent;
#[cfg(feature = "collector")]
pub(crate) use barbican_audit_fleet::collector;
pub(crate) use barbican_audit_support::{error, userfile};
