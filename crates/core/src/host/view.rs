//! A target view: a container's filesystem as the host can know it before
//! the container runs (issue 17, kolla audited from the host).
//!
//! kolla_set_configs copies each `config_files` entry of config.json from
//! `/var/lib/kolla/config_files` (the bind mount of the host's
//! `/etc/kolla/<service>/`) to its `dest` at every start, and sets the
//! entry's `owner` and `perm` on the copy. So the host already holds the
//! content of those paths, and config.json says the owner and mode they
//! will have. Everything else in the container (the image's files, its
//! directories' modes, its units and venv) is not on the host: a lookup of
//! such a path is an error saying so, with the command that audits the
//! running container, never "absent" (fail closed). Only the paths the view
//! knows the image does not hold ([`View::absent`]) are "absent".
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::layout::Layout;

/// One container path backed by a host file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The host file (a real path on the auditing machine).
    pub real: PathBuf,
    /// The owner, group and mode the copy gets at start.
    pub uid: u32,
    /// See `uid`.
    pub gid: u32,
    /// Permission bits (`perm`), or the source's when config.json has none.
    pub mode: u32,
    /// Where that comes from, for evidence
    /// (`set by kolla_set_configs from /etc/kolla/barbican-api/config.json:7`).
    pub origin: String,
}

/// What a container will see, as far as the host shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The deployment layout the container belongs to.
    pub layout: Layout,
    /// Container path → the host file that becomes it.
    pub files: BTreeMap<PathBuf, Mapped>,
    /// Container paths known not to exist (each with no host file behind it).
    pub absent: Vec<PathBuf>,
    /// Container directories known absent with everything under them.
    pub absent_under: Vec<PathBuf>,
    /// What the container runs (config.json's `command`).
    pub command: String,
    /// The image's passwd(5) and group(5) lines (the host has no such users).
    pub passwd: String,
    /// See `passwd`.
    pub group: String,
    /// The sentence for every other path: why the host cannot see it and
    /// the command that audits it.
    pub unseen: String,
}

impl View {
    /// The host file behind a container path, if the view maps it.
    pub fn mapped(&self, inner: &Path) -> Option<&Mapped> {
        self.files.get(inner)
    }

    /// Whether the container serves the Barbican API (its command runs
    /// uwsgi, barbican-api or httpd), rather than the worker or listener.
    pub fn serves_api(&self) -> bool {
        let first = self.command.split_whitespace().next().unwrap_or("");
        let prog = first.rsplit('/').next().unwrap_or(first);
        matches!(
            prog,
            "uwsgi" | "barbican-api" | "httpd" | "apache2" | "gunicorn"
        )
    }

    /// The error for a path the view does not map: `NotFound` for a path
    /// known absent, else "not visible from the host" with the command.
    pub fn missing(&self, inner: &Path) -> io::Error {
        if self.absent.iter().any(|a| a == inner)
            || self.absent_under.iter().any(|a| inner.starts_with(a))
        {
            io::Error::new(io::ErrorKind::NotFound, "no such file or directory")
        } else {
            io::Error::other(format!(
                "{} is not visible from the host: {}",
                inner.display(),
                self.unseen
            ))
        }
    }
}
