//! The one thing the dialect readers need from the host: read access to an
//! audited root. The audit library implements it over a real root
//! (`barbican_audit_core::host::Host`); tests implement it in memory.
use std::io;

/// Read access to an audited root; paths are absolute paths inside the root.
pub trait Fs {
    /// Whole file contents.
    fn read(&self, path: &std::path::Path) -> std::io::Result<Vec<u8>>;
    /// Directory entries (full paths).
    fn list_dir(&self, path: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>>;
    /// Optional: the raw target of a symbolic link (not resolved). Implementations that can
    /// answer this let masks (`-> /dev/null`) be recognised exactly; the default says
    /// "unsupported" and the module falls back to the heuristics described on
    /// [`barbican_units`].
    fn read_link(&self, _path: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "read_link not supported",
        ))
    }
}
