//! The rooted view of a host filesystem.
//!
//! Every path the auditor talks about is the path *inside* the audited root
//! (`/etc/barbican/barbican.conf`), whatever `--root` is. Symlinks are resolved
//! the way the audited system would resolve them: an absolute link target is
//! taken relative to the root, never to the auditing host, and `..` cannot
//! climb out of the root (as under chroot).
pub mod acl;
pub mod users;
pub mod view;

use std::ffi::OsStr;
use std::fs::Metadata;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::error::Fatal;
pub use users::UserDb;

/// The largest file the auditor reads (config, paste, policy, units):
/// larger ones are an error finding for that file, never unbounded memory.
pub const MAX_READ: u64 = 16 << 20;

/// Longest symlink chain followed before giving up (Linux uses 40).
const MAX_LINKS: usize = 40;

/// The filesystem being audited.
#[derive(Debug)]
pub struct Host {
    root: PathBuf,
    /// Users and groups of the audited root (never the auditing host's NSS).
    pub users: UserDb,
    /// A container seen from the host ([`view::View`]): `root` is then the
    /// directory holding its files on the host, shown in reports only.
    view: Option<view::View>,
    /// The deployment layout when the discovery that found this root knows
    /// it better than the root's own files show (a TripleO puppet-generated
    /// tree has none of TripleO's marks inside it).
    layout: Option<crate::layout::Layout>,
    /// The container this root is, when the discovery that found it
    /// names one (a kolla target: `barbican_worker`): the fixes then name
    /// it (`{container}`).
    container: Option<String>,
}

/// A path resolved inside the root: what was asked for and where it led.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The path as asked for (inside the root).
    pub path: PathBuf,
    /// The final target after following every symlink (inside the root).
    pub target: PathBuf,
    /// Whether at least one symlink was followed.
    pub via_symlink: bool,
}

impl Host {
    /// Opens `root` for auditing; fails when it is missing or not a directory.
    pub fn open(root: &Path) -> Result<Host, Fatal> {
        // Reports show the root absolute, whatever was typed (`--root demo/root`).
        let root = &std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        let meta = std::fs::metadata(root).map_err(|source| Fatal::Root {
            path: root.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(Fatal::RootNotDir(root.to_path_buf()));
        }
        // Reading the directory proves we may search it (an unreadable root is fatal).
        std::fs::read_dir(root).map_err(|source| Fatal::Root {
            path: root.to_path_buf(),
            source,
        })?;
        let mut host = Host {
            root: root.to_path_buf(),
            users: UserDb::default(),
            view: None,
            layout: None,
            container: None,
        };
        host.users = UserDb::load(&host);
        Ok(host)
    }

    /// A container as the host can know it ([`view::View`]); `shown` (a
    /// directory on the auditing machine, where its files come from) is
    /// the root the report names.
    pub fn open_view(shown: &Path, view: view::View) -> Host {
        let mut users = UserDb::default();
        users.parse_passwd(&view.passwd);
        users.parse_group(&view.group);
        Host {
            root: shown.to_path_buf(),
            users,
            view: Some(view),
            layout: None,
            container: None,
        }
    }

    /// This root as a target of `layout`, whatever its files show.
    pub fn with_layout(mut self, layout: crate::layout::Layout) -> Host {
        self.layout = Some(layout);
        self
    }

    /// This root as the container `name`.
    pub fn with_container(mut self, name: &str) -> Host {
        self.container = Some(name.to_string());
        self
    }

    /// The container the discovery of this root named ([`Host::with_container`]).
    pub fn container(&self) -> Option<&str> {
        self.container.as_deref()
    }

    /// The layout the discovery of this root set ([`Host::with_layout`]).
    pub fn layout_hint(&self) -> Option<crate::layout::Layout> {
        self.layout
    }

    /// The view, when this is a container seen from the host.
    pub fn view(&self) -> Option<&view::View> {
        self.view.as_ref()
    }

    /// The host file behind a container path and the owner and mode it
    /// will have (a view's mapped path only).
    pub fn mapped(&self, inner: &Path) -> Option<&view::Mapped> {
        self.view.as_ref()?.mapped(inner)
    }

    /// The root as given on the command line.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the audited root is the running system (`/`).
    pub fn is_live(&self) -> bool {
        self.root == Path::new("/")
    }

    /// Where an in-root absolute path lives on the auditing host.
    pub fn real(&self, inner: &Path) -> PathBuf {
        if let Some(m) = self.mapped(inner) {
            return m.real.clone();
        }
        let rel = inner.strip_prefix("/").unwrap_or(inner);
        if rel.as_os_str().is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// `lstat` of an in-root path.
    pub fn lstat(&self, inner: &Path) -> io::Result<Metadata> {
        if let Some(v) = &self.view {
            // kolla_set_configs writes a regular file at the copy's path;
            // its owner and mode are the view's (see `mapped`).
            return match v.mapped(inner) {
                Some(m) => std::fs::metadata(&m.real),
                None => Err(v.missing(inner)),
            };
        }
        std::fs::symlink_metadata(self.real(inner))
    }

    /// Whether an in-root path exists (after following symlinks inside the root).
    pub fn exists(&self, inner: &Path) -> bool {
        self.resolve(inner)
            .map(|r| self.lstat(&r.target).is_ok())
            .unwrap_or(false)
    }

    /// Whether an in-root path exists (after following symlinks inside the
    /// root), telling "absent" (`ENOENT`, `ENOTDIR`) from "cannot tell"
    /// (`EACCES`, a symlink loop ...): [`Host::exists`] says `false` for both,
    /// which made an unsearchable `/etc/barbican` look like no config at all.
    pub fn exists_checked(&self, inner: &Path) -> io::Result<bool> {
        let absent = |e: &io::Error| {
            e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(nix::libc::ENOTDIR)
        };
        let r = self.resolve(inner)?;
        match self.lstat(&r.target) {
            Ok(_) => Ok(true),
            Err(e) if absent(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether an in-root path is a directory (after following symlinks).
    pub fn is_dir(&self, inner: &Path) -> bool {
        self.resolve(inner)
            .and_then(|r| self.lstat(&r.target))
            .map(|m| m.is_dir())
            .unwrap_or(false)
    }

    /// Reads a whole file inside the root, following symlinks inside the
    /// root, up to [`MAX_READ`] bytes: config files larger than that are
    /// refused (bounded memory whatever the root holds), and so is anything
    /// that is not a regular file (a FIFO would block the audit forever).
    /// The error's text is the reason alone (callers name the in-root path).
    pub fn read(&self, inner: &Path) -> io::Result<Vec<u8>> {
        self.read_capped(inner, MAX_READ)
    }

    /// [`Host::read`] with an explicit size cap. Goes through
    /// [`crate::userfile::read_user_file`]: opened without blocking, checked
    /// on the opened descriptor to be a regular file, read up to the cap.
    pub fn read_capped(&self, inner: &Path, cap: u64) -> io::Result<Vec<u8>> {
        let r = self.resolve(inner)?;
        if let Some(v) = &self.view {
            if v.mapped(&r.target).is_none() {
                return Err(v.missing(&r.target));
            }
        }
        crate::userfile::read_user_file(&self.real(&r.target), cap).map_err(|e| e.into_io())
    }

    /// Lists a directory inside the root: the in-root paths of its entries, sorted
    /// by their byte names (Python's `sorted()` on str sorts by code point, which
    /// is the same order for UTF-8).
    pub fn list_dir(&self, inner: &Path) -> io::Result<Vec<PathBuf>> {
        let r = self.resolve(inner)?;
        if let Some(v) = &self.view {
            // A directory's entries are the image's: never listed from the host.
            return Err(v.missing(&r.target));
        }
        let mut names: Vec<Vec<u8>> = Vec::new();
        for entry in std::fs::read_dir(self.real(&r.target))? {
            names.push(entry?.file_name().as_bytes().to_vec());
        }
        names.sort();
        Ok(names
            .into_iter()
            .map(|n| inner.join(OsStr::from_bytes(&n)))
            .collect())
    }

    /// Follows symlinks inside the root. Missing final components are fine
    /// (the target is returned, `lstat` of it then fails); a loop, or more than
    /// [`MAX_LINKS`] links, is an `ELOOP`-style error.
    pub fn resolve(&self, inner: &Path) -> io::Result<Resolved> {
        let mut pending: Vec<PathBuf> = Vec::new();
        push_components(&mut pending, inner);
        if self.view.is_some() {
            // The image's symlinks are not visible; mapped paths are the
            // regular files kolla_set_configs writes. Only `..` is applied.
            let mut cur = PathBuf::from("/");
            for c in pending {
                if c.as_os_str() == ".." {
                    cur.pop();
                } else {
                    cur.push(c);
                }
            }
            return Ok(Resolved {
                path: inner.to_path_buf(),
                target: cur,
                via_symlink: false,
            });
        }
        pending.reverse();
        let mut cur = PathBuf::from("/");
        let mut links = 0usize;
        while let Some(comp) = pending.pop() {
            if comp.as_os_str() == ".." {
                cur.pop();
                continue;
            }
            let next = cur.join(&comp);
            match std::fs::symlink_metadata(self.real(&next)) {
                Ok(m) if m.file_type().is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::other(format!(
                            "too many levels of symbolic links at {}",
                            next.display()
                        )));
                    }
                    let target = std::fs::read_link(self.real(&next))?;
                    if target.is_absolute() {
                        cur = PathBuf::from("/");
                    }
                    let mut extra = Vec::new();
                    push_components(&mut extra, &target);
                    for c in extra.into_iter().rev() {
                        pending.push(c);
                    }
                }
                _ => cur = next,
            }
        }
        Ok(Resolved {
            path: inner.to_path_buf(),
            target: cur,
            via_symlink: links > 0,
        })
    }
}

/// The systemd unit reader sees the root through the same rooted view.
impl crate::barbican::systemd::Fs for Host {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        Host::read(self, path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        Host::list_dir(self, path)
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        if let Some(v) = &self.view {
            return Err(v.missing(path));
        }
        std::fs::read_link(self.real(path))
    }
}

/// Splits a path into normal components and `..`, dropping `.` and the root.
fn push_components(out: &mut Vec<PathBuf>, p: &Path) {
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(PathBuf::from(s)),
            Component::ParentDir => out.push(PathBuf::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_symlink_stays_inside_root() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc/barbican")).unwrap();
        std::fs::create_dir_all(d.path().join("srv/conf")).unwrap();
        std::fs::write(d.path().join("srv/conf/barbican.conf"), "x").unwrap();
        symlink(
            "/srv/conf/barbican.conf",
            d.path().join("etc/barbican/barbican.conf"),
        )
        .unwrap();
        let h = Host::open(d.path()).unwrap();
        let r = h.resolve(Path::new("/etc/barbican/barbican.conf")).unwrap();
        assert_eq!(r.target, PathBuf::from("/srv/conf/barbican.conf"));
        assert!(r.via_symlink);
        assert_eq!(
            h.read(Path::new("/etc/barbican/barbican.conf")).unwrap(),
            b"x"
        );
    }

    #[test]
    fn dotdot_cannot_escape_root() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc")).unwrap();
        symlink("../../../../etc/shadow", d.path().join("etc/link")).unwrap();
        let h = Host::open(d.path()).unwrap();
        let r = h.resolve(Path::new("/etc/link")).unwrap();
        assert_eq!(r.target, PathBuf::from("/etc/shadow"));
        assert!(!h.exists(Path::new("/etc/link")));
    }

    #[test]
    fn symlink_loop_is_an_error_not_a_hang() {
        let d = tempfile::tempdir().unwrap();
        symlink("/b", d.path().join("a")).unwrap();
        symlink("/a", d.path().join("b")).unwrap();
        let h = Host::open(d.path()).unwrap();
        assert!(h.resolve(Path::new("/a")).is_err());
    }

    #[test]
    fn missing_root_is_fatal() {
        let e = Host::open(Path::new("/nonexistent/root/for/test")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/root/for/test"));
    }
}
