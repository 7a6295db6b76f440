//! Readers of the dialects Barbican's own libraries speak, each emulating
//! the Python library that reads it on a Barbican node, and each confirmed
//! against that library (tests/confirm/ in the repository):
//!
//! * [`oslo`], [`options`], [`redact`]: oslo.config's ini dialect, the
//!   option registry of every library Barbican loads, and which of those
//!   options hold secrets;
//! * [`paste`]: PasteDeploy's ini, interpolation, resolution and urlmap;
//! * [`policy`]: oslo.policy's rules, JSON and PyYAML files;
//! * [`systemd`]: unit discovery, drop-ins and service environment.
//!
//! This crate depends on nothing else of barbican-audit: it reads text and,
//! through [`fs::Fs`], a root.
#![deny(missing_docs)]

pub mod fs;
pub mod options;
pub mod oslo;
pub mod paste;
pub mod policy;
pub mod pytext;
pub mod redact;
pub mod systemd;
