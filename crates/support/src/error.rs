//! Fatal errors: the audit could not run (exit status 2). Each variant names
//! the operation and the path, so the message alone tells the operator what to fix.
use std::path::PathBuf;

/// A problem that stops the run before any report is written. Each
/// variant is documented by its `#[error]` text.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    #[error("--root {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--root {0}: not a directory")]
    RootNotDir(PathBuf),
    #[error("reading check directory {path}: {source}")]
    CheckDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid check catalog ({count} problem{s}):\n{text}", s = if *.count == 1 { "" } else { "s" })]
    Catalog { count: usize, text: String },
    #[error("{0}")]
    Waivers(String),
    #[error("no check {0} in the catalog (see `barbican-audit checks list`)")]
    UnknownCheck(String),
    #[error("writing {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}
