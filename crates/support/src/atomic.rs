//! Writing a file all or nothing: a temp file beside the target, fsynced,
//! then renamed over it. Every output of the tool (reports, textfile
//! metrics, the scan cache, the agent's spool) goes through here, so a
//! killed run never leaves a half-written file where a reader looks.
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Fatal;

/// A file written to a temp file beside its target, fsynced, not yet renamed.
pub struct Staged {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl Staged {
    /// Renames the temp file over the target and syncs the directory.
    pub fn commit(self) -> Result<(), Fatal> {
        let path = self.path;
        self.tmp.persist(&path).map_err(|e| Fatal::Output {
            path: path.clone(),
            source: e.error,
        })?;
        if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(dir) = std::fs::File::open(d) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

/// The temp files [`stage`] creates: this prefix, then [`TEMP_RAND`] random ASCII letters and
/// digits (tempfile's alphabet).
const TEMP_PREFIX: &str = ".barbican-audit.";
const TEMP_RAND: usize = 6;

/// A temp file older than this was left by a run that died between creating and renaming it
/// (`kill -9`, power loss): a live writer holds its temp file for milliseconds.
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Whether `name` is exactly a name [`stage`] gives its temp files.
fn is_our_temp_name(name: &[u8]) -> bool {
    name.strip_prefix(TEMP_PREFIX.as_bytes())
        .is_some_and(|r| r.len() == TEMP_RAND && r.iter().all(u8::is_ascii_alphanumeric))
}

/// Removes the temp files an earlier run left in `dir` when it was killed before its rename:
/// only names [`stage`] makes, only regular files (`lstat`: a symlink is never followed nor
/// removed), only files owned by our effective uid, only ones not modified for
/// [`STALE_TEMP_AGE`]. Best effort: a directory we cannot list, or a file that changed under
/// us, is left as it is, and the write itself goes on.
pub fn remove_stale_temps(dir: &Path, now: std::time::SystemTime) -> usize {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let euid = rustix::process::geteuid().as_raw();
    let mut removed = 0;
    for e in entries.flatten() {
        if !is_our_temp_name(e.file_name().as_bytes()) {
            continue;
        }
        let p = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let stale = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= STALE_TEMP_AGE);
        // unlink(2) never follows a symlink, so a name swapped for one after the lstat
        // removes the link at worst, never what it points to.
        if meta.file_type().is_file()
            && meta.uid() == euid
            && stale
            && std::fs::remove_file(&p).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Writes `bytes` with `mode` to a temp file in `path`'s directory (the
/// name starts with a dot and has no `.prom`, so node_exporter ignores it).
pub fn stage(path: &Path, bytes: &[u8], mode: u32) -> Result<Staged, Fatal> {
    use std::os::unix::fs::PermissionsExt;
    let err = |source| Fatal::Output {
        path: path.to_path_buf(),
        source,
    };
    // Renaming over a FIFO, socket or device would replace it (as root,
    // `--output /dev/null` deleted the device node); refuse, naming the path.
    crate::userfile::check_output_target(path).map_err(|e| err(e.into_io()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    remove_stale_temps(dir, std::time::SystemTime::now());
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .rand_bytes(TEMP_RAND)
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    Ok(Staged {
        path: path.to_path_buf(),
        tmp,
    })
}

/// [`stage`] and commit in one go.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Fatal> {
    stage(path, bytes, mode)?.commit()
}

/// A staged file renamed into place, with what it replaced.
pub struct Committed {
    path: PathBuf,
    /// A hard link to the entry the rename replaced (named like our temp files, so a run
    /// killed before [`finish`] leaves nothing [`remove_stale_temps`] will not clean).
    backup: Option<PathBuf>,
    /// Whether something was at `path` before.
    existed: bool,
}

/// Renames every staged file into place, keeping a link to what each replaced; on the first
/// failure the ones already renamed are rolled back and the error returned.
pub fn commit_all(staged: Vec<Staged>) -> Result<Vec<Committed>, Fatal> {
    let mut done = Vec::new();
    for s in staged {
        let existed = std::fs::symlink_metadata(&s.path).is_ok_and(|m| !m.is_dir());
        let dir = match s.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        // Best effort: where no hard link can be made (a filesystem without them), a
        // rollback can remove a new file but not bring an old one back.
        let backup = existed
            .then(|| {
                tempfile::Builder::new()
                    .prefix(TEMP_PREFIX)
                    .rand_bytes(TEMP_RAND)
                    .make_in(dir, |p| std::fs::hard_link(&s.path, p))
                    .ok()
                    .map(|t| t.into_temp_path().keep())
            })
            .flatten()
            .and_then(Result::ok);
        let path = s.path.clone();
        if let Err(e) = s.commit() {
            if let Some(b) = backup {
                let _ = std::fs::remove_file(b);
            }
            rollback(done);
            return Err(e);
        }
        done.push(Committed {
            path,
            backup,
            existed,
        });
    }
    Ok(done)
}

/// Puts back what [`commit_all`] replaced, newest first.
pub fn rollback(done: Vec<Committed>) {
    for c in done.into_iter().rev() {
        match c.backup {
            Some(b) => {
                let _ = std::fs::rename(&b, &c.path);
            }
            None if !c.existed => {
                let _ = std::fs::remove_file(&c.path);
            }
            None => {}
        }
    }
}

/// Drops the links to the replaced files once the run has succeeded.
pub fn finish(done: Vec<Committed>) {
    for b in done.into_iter().filter_map(|c| c.backup) {
        let _ = std::fs::remove_file(b);
    }
}
