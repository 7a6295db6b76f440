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
    /// [`crate::systemd::barbican_units`].
    fn read_link(&self, _path: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "read_link not supported",
        ))
    }
}

/// An in-memory root for the dialect readers' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Fs;
    use std::collections::BTreeMap;
    use std::io;
    use std::path::{Path, PathBuf};

    enum Node {
        File(Vec<u8>),
        Link(PathBuf),
        Dir,
        Denied,
    }

    /// In-memory root. Symlinks are resolved inside the root (like an offline audit of an
    /// image), so a link to /dev/null is dangling unless /dev/null is added.
    #[derive(Default)]
    pub struct MemFs {
        nodes: BTreeMap<PathBuf, Node>,
        /// Whether [`Fs::read_link`] answers; without it the readers fall back to their
        /// heuristics (a link to /dev/null then looks dangling).
        pub with_read_link: bool,
    }

    impl MemFs {
        pub fn new() -> Self {
            Self::default()
        }
        fn add_parents(&mut self, p: &Path) {
            let mut cur = p.parent();
            while let Some(d) = cur {
                self.nodes.entry(d.to_path_buf()).or_insert(Node::Dir);
                cur = d.parent();
            }
        }
        pub fn file(mut self, p: &str, data: &str) -> Self {
            self.add_parents(Path::new(p));
            self.nodes
                .insert(PathBuf::from(p), Node::File(data.as_bytes().to_vec()));
            self
        }
        pub fn bytes(mut self, p: &str, data: &[u8]) -> Self {
            self.add_parents(Path::new(p));
            self.nodes
                .insert(PathBuf::from(p), Node::File(data.to_vec()));
            self
        }
        pub fn link(mut self, p: &str, target: &str) -> Self {
            self.add_parents(Path::new(p));
            self.nodes
                .insert(PathBuf::from(p), Node::Link(PathBuf::from(target)));
            self
        }
        pub fn denied(mut self, p: &str) -> Self {
            self.add_parents(Path::new(p));
            self.nodes.insert(PathBuf::from(p), Node::Denied);
            self
        }
    }

    impl Fs for MemFs {
        fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
            let mut p = path.to_path_buf();
            for _ in 0..10 {
                match self.nodes.get(&p) {
                    Some(Node::File(d)) => return Ok(d.clone()),
                    Some(Node::Link(t)) => p = t.clone(),
                    Some(Node::Dir) => return Err(io::Error::other("is a directory")),
                    Some(Node::Denied) => {
                        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "denied"));
                    }
                    None => return Err(io::Error::new(io::ErrorKind::NotFound, "not found")),
                }
            }
            Err(io::Error::other("too many links"))
        }
        fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
            match self.nodes.get(path) {
                Some(Node::Dir) => {}
                Some(Node::Denied) => {
                    return Err(io::Error::new(io::ErrorKind::PermissionDenied, "denied"));
                }
                Some(_) => return Err(io::Error::other("not a directory")),
                None => return Err(io::Error::new(io::ErrorKind::NotFound, "not found")),
            }
            Ok(self
                .nodes
                .keys()
                .filter(|k| k.parent() == Some(path))
                .cloned()
                .collect())
        }
        fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
            if !self.with_read_link {
                return Err(io::Error::new(io::ErrorKind::Unsupported, "no"));
            }
            match self.nodes.get(path) {
                Some(Node::Link(t)) => Ok(t.clone()),
                _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a link")),
            }
        }
    }
}
