//! Unit discovery: the unit search path, which file is a unit's fragment, its drop-ins in
//! the order systemd applies them, and masks. The environment the files set is evaluated in
//! `environment` (`Scanner::evaluate_environment`).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use super::names::{dropin_names, is_auditor_unit, service_name_kind, unit_name_prefix};
use super::{Fs, Unit};

/// Unit search path of the system manager, highest priority first.
// See: systemd.unit(5) "UNIT FILE LOAD PATH" (Table 1) and `systemd-analyze unit-paths` on
// systemd 252, which adds the `*.attached` portable-service directories and, on Debian,
// both /lib/systemd/system and /usr/lib/systemd/system. The brief's four directories are a
// subset; the others are where `systemctl set-property`, `systemctl edit --runtime`,
// portablectl and generators put units, and /usr/local/lib beats /lib (verified).
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
];

/// Every service unit whose name contains "barbican" found in the unit search path
/// ([`UNIT_DIRS`]: /etc/systemd/system, /run/systemd/system, /lib/systemd/system,
/// /usr/lib/systemd/system and the other directories of systemd's search path; first dir wins
/// for the fragment; drop-ins from all dirs, merged by file name with the same precedence,
/// applied in file-name order), with its effective environment.
///
/// Masks: a fragment whose target (via [`Fs::read_link`]) is `/dev/null`, or that reads as
/// empty (systemd masks empty unit files too, and a symlink to `/dev/null` read on a live
/// root is empty), is masked: no drop-ins or environment apply. A fragment that is listed but
/// cannot be read with `NotFound` is a dangling symlink; in an offline root a symlink to
/// `/dev/null` looks exactly like that. systemd does not fall back to a lower-priority copy in
/// either case (verified), so the unit is masked or not-found and its environment is empty;
/// a problem says so. Problems that concern the whole scan (an unlistable unit directory) are
/// repeated in every unit; [`barbican_units_report`] returns them separately.
pub fn barbican_units(fs: &dyn Fs) -> Vec<Unit> {
    let (mut units, scan_problems) = barbican_units_report(fs);
    for u in &mut units {
        u.problems.extend(scan_problems.iter().cloned());
    }
    units
}

/// The units, and every file or directory the auditor could not read while
/// finding them and computing their environment (unit directories that
/// cannot be listed, unit files, drop-ins, EnvironmentFiles). Fail closed:
/// with a unit directory unlistable, "no barbican unit" is not known.
pub fn barbican_units_checked(fs: &dyn Fs) -> (Vec<Unit>, Vec<(PathBuf, String)>) {
    units_checked(fs, "barbican")
}

/// Like [`barbican_units_checked`], for the service units whose name contains
/// `needle` (`octavia`: the consumers pack reads Octavia's unit environment).
pub fn units_checked(fs: &dyn Fs, needle: &str) -> (Vec<Unit>, Vec<(PathBuf, String)>) {
    let mut scan = Scanner {
        fs,
        listings: BTreeMap::new(),
        scan_problems: Vec::new(),
        unlistable: Vec::new(),
    };
    let mut units = all_units(&mut scan, needle);
    let mut unreadable = scan.unlistable.clone();
    for u in &mut units {
        u.problems.extend(scan.scan_problems.iter().cloned());
        for x in &u.unreadable {
            if !unreadable.contains(x) {
                unreadable.push(x.clone());
            }
        }
    }
    (units, unreadable)
}

/// Like [`barbican_units`] but returns scan-wide problems separately instead of copying them
/// into every unit (so they are not lost when no unit is found).
pub fn barbican_units_report(fs: &dyn Fs) -> (Vec<Unit>, Vec<String>) {
    let mut scan = Scanner {
        fs,
        listings: BTreeMap::new(),
        scan_problems: Vec::new(),
        unlistable: Vec::new(),
    };
    let units = all_units(&mut scan, "barbican");
    (units, scan.scan_problems)
}

/// Every service unit of the search path whose name contains `needle`.
fn all_units(scan: &mut Scanner<'_>, needle: &str) -> Vec<Unit> {
    let mut names = BTreeSet::new();
    for dir in UNIT_DIRS {
        for entry in scan.listing(Path::new(dir)) {
            if !entry.contains(needle) || is_auditor_unit(&entry) {
                continue;
            }
            if let Some(unit) = entry.strip_suffix(".d") {
                // A drop-in directory for a unit without a fragment in the search path still
                // matters: the fragment may come from a generator that only runs on a live
                // system. Prefix directories (`barbican-.service.d`) are not units.
                // See: systemd.unit(5) on "foo-.service.d/" prefix drop-ins.
                if service_name_kind(unit).is_some() && !unit_name_prefix(unit).ends_with('-') {
                    names.insert(unit.to_string());
                }
            } else if service_name_kind(&entry).is_some() {
                names.insert(entry);
            }
        }
    }
    names.iter().map(|n| scan.unit(n)).collect()
}

pub(super) struct Scanner<'a> {
    pub(super) fs: &'a dyn Fs,
    listings: BTreeMap<PathBuf, Vec<String>>,
    scan_problems: Vec<String>,
    /// Directories that could not be listed, with why.
    unlistable: Vec<(PathBuf, String)>,
}

impl Scanner<'_> {
    /// File names in `dir`, sorted; missing directories are empty. Names that are not UTF-8
    /// are skipped: they cannot be valid unit names or `.conf` drop-ins systemd would match
    /// against our names.
    pub(super) fn listing(&mut self, dir: &Path) -> Vec<String> {
        if let Some(l) = self.listings.get(dir) {
            return l.clone();
        }
        let mut names: Vec<String> = match self.fs.list_dir(dir) {
            Ok(entries) => entries
                .iter()
                .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            // ENOTDIR: a file where a directory would be holds no units.
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => Vec::new(),
            Err(e) => {
                self.scan_problems.push(format!(
                    "{}: cannot list directory ({}); units or drop-ins in it are not audited",
                    dir.display(),
                    e
                ));
                self.unlistable.push((
                    dir.to_path_buf(),
                    format!("cannot list the unit directory: {e}"),
                ));
                Vec::new()
            }
        };
        names.sort();
        names.dedup();
        self.listings.insert(dir.to_path_buf(), names.clone());
        names
    }

    fn unit(&mut self, name: &str) -> Unit {
        let mut unit = Unit {
            name: name.to_string(),
            fragment: None,
            dropins: Vec::new(),
            env: Vec::new(),
            env_files: Vec::new(),
            problems: Vec::new(),
            unreadable: Vec::new(),
        };
        // See: systemd.unit(5) "UNIT FILE LOAD PATH": units found in directories listed
        // earlier override files with the same name in directories lower in the list.
        // Hidden files are never units. See: src/basic/path-util.c hidden_or_backup_file().
        for dir in UNIT_DIRS {
            if self.listing(Path::new(dir)).iter().any(|e| e == name) {
                unit.fragment = Some(Path::new(dir).join(name));
                break;
            }
        }

        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        match unit.fragment.clone() {
            Some(frag) => match self.load_fragment(&frag, &mut unit.problems) {
                Fragment::Masked => return unit,
                Fragment::Text(t) => files.push((frag, t)),
                Fragment::Unreadable(why) => unit
                    .unreadable
                    .push((frag, format!("cannot read the unit file: {why}"))),
            },
            None => unit.problems.push(format!(
                "{}: no unit file in the unit search path, only drop-ins; systemd reports it \
                 not-found unless a generator creates it at boot; environment computed from \
                 the drop-ins alone",
                name
            )),
        }

        for dropin in self.dropins(name) {
            match self.read_dropin(&dropin, &mut unit.problems) {
                Ok(Some(text)) => files.push((dropin.clone(), text)),
                Ok(None) => {}
                Err(why) => unit
                    .unreadable
                    .push((dropin.clone(), format!("cannot read the drop-in: {why}"))),
            }
            unit.dropins.push(dropin);
        }
        self.evaluate_environment(&files, &mut unit);
        unit
    }

    fn load_fragment(&mut self, frag: &Path, problems: &mut Vec<String>) -> Fragment {
        if self
            .fs
            .read_link(frag)
            .is_ok_and(|target| target == Path::new("/dev/null"))
        {
            problems.push(format!(
                "{}: masked (symlink to /dev/null); systemd will not start the unit, its \
                     drop-ins and environment are not effective",
                frag.display()
            ));
            return Fragment::Masked;
        }
        match self.fs.read(frag) {
            // See: systemd.unit(5): "If a unit file is empty (i.e. has the file size 0) or is
            // symlinked to /dev/null, its configuration will not be loaded and it appears with
            // a load state of "masked"".
            Ok(t) if t.is_empty() => {
                problems.push(format!(
                    "{}: masked (empty file or symlink to /dev/null); systemd will not start \
                     the unit, its drop-ins and environment are not effective",
                    frag.display()
                ));
                Fragment::Masked
            }
            Ok(t) => Fragment::Text(t),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let target = match self.fs.read_link(frag) {
                    Ok(t) => format!(" -> {}", t.display()),
                    Err(_) => String::new(),
                };
                problems.push(format!(
                    "{}{}: listed but not readable (dangling symlink; in an offline root a mask, \
                     i.e. a symlink to /dev/null, looks like this); systemd does not fall back \
                     to lower-priority copies, so the unit is masked or not-found and no \
                     environment is effective",
                    frag.display(),
                    target
                ));
                Fragment::Masked
            }
            Err(e) => {
                problems.push(format!(
                    "{}: cannot read unit file ({}); its Environment= settings are not audited",
                    frag.display(),
                    e
                ));
                Fragment::Unreadable(e.to_string())
            }
        }
    }

    /// Drop-in files for `name`, in application order.
    // See: src/shared/dropin.c unit_file_find_dropin_paths()/unit_file_find_dirs(): for each
    // search directory (in priority order) the name's own `.d`, its template's, then each
    // dash-prefix (`barbican-api.service` -> `barbican-.service.d`); after all of those the
    // top-level `service.d` of every directory. conf_files_list_strv() keeps the first file of
    // each basename in that directory order and sorts the survivors by basename. Verified with
    // systemd-analyze verify: /etc/.../barbican-.service.d/50-x.conf beats
    // /lib/.../barbican-api.service.d/50-x.conf, and /lib/.../barbican-.service.d/15-p.conf
    // beats /etc/.../service.d/15-p.conf.
    fn dropins(&mut self, name: &str) -> Vec<PathBuf> {
        let expanded = dropin_names(name);
        let mut dirs: Vec<PathBuf> = Vec::new();
        for dir in UNIT_DIRS {
            for n in &expanded {
                dirs.push(Path::new(dir).join(format!("{}.d", n)));
            }
        }
        for dir in UNIT_DIRS {
            dirs.push(Path::new(dir).join("service.d"));
        }
        let mut chosen: BTreeMap<String, PathBuf> = BTreeMap::new();
        for d in dirs {
            for entry in self.listing(&d) {
                // See: src/basic/conf-files.c files_add(): only "*.conf", hidden files
                // (leading '.') skipped.
                if entry.starts_with('.') || !entry.ends_with(".conf") {
                    continue;
                }
                let path = d.join(&entry);
                chosen.entry(entry).or_insert(path);
            }
        }
        chosen.into_values().collect()
    }

    fn read_dropin(
        &mut self,
        path: &Path,
        problems: &mut Vec<String>,
    ) -> Result<Option<Vec<u8>>, String> {
        // A drop-in symlinked to /dev/null (or empty) masks same-named lower drop-ins and
        // contributes nothing. See: systemd.unit(5) example "ln -s /dev/null .../10-all.conf".
        if self
            .fs
            .read_link(path)
            .is_ok_and(|t| t == Path::new("/dev/null"))
        {
            return Ok(None);
        }
        match self.fs.read(path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!(
                    "{}: listed but not readable (dangling symlink, e.g. a mask to /dev/null in \
                     an offline root); systemd reads nothing from it, but it still hides \
                     same-named drop-ins of lower priority",
                    path.display()
                ));
                Ok(None)
            }
            Err(e) => {
                problems.push(format!(
                    "{}: cannot read drop-in ({}); its Environment= settings are not audited",
                    path.display(),
                    e
                ));
                Err(e.to_string())
            }
        }
    }
}

enum Fragment {
    Masked,
    Text(Vec<u8>),
    Unreadable(String),
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{env_of, pairs, unit, VENDOR};
    use super::super::{oslo_env_option, Via};
    use super::*;
    use crate::fs::testing::MemFs;

    #[test]
    fn the_auditors_own_units_are_not_barbican_services() {
        let auditor = "[Service]\nExecStart=/usr/bin/barbican-audit audit\n";
        let fs = MemFs::new()
            .file("/lib/systemd/system/barbican-api.service", VENDOR)
            .file("/lib/systemd/system/barbican-audit.service", auditor)
            .file("/lib/systemd/system/barbican-audit.timer", "[Timer]\n")
            .file("/lib/systemd/system/barbican-audit-agent.service", auditor)
            .file(
                "/lib/systemd/system/barbican-audit-collector.service",
                auditor,
            )
            .file("/etc/systemd/system/barbican-audit@.service", auditor)
            .file(
                "/etc/systemd/system/barbican-audit.service.d/override.conf",
                "[Service]\nEnvironment=OS_SIMPLE_CRYPTO_PLUGIN__KEK=x\n",
            )
            // Barbican services whose names merely start alike are still judged.
            .file("/etc/systemd/system/barbican-auditd-proxy.service", VENDOR)
            .file("/etc/systemd/system/barbican-worker.service", VENDOR);
        let (units, problems) = barbican_units_report(&fs);
        let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "barbican-api.service",
                "barbican-auditd-proxy.service",
                "barbican-worker.service"
            ]
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn dropin_override_conf_sets_os_simple_crypto_plugin_kek_absent_from_vendor_unit() {
        let fs = MemFs::new()
            .file("/lib/systemd/system/barbican-api.service", VENDOR)
            .file(
                "/etc/systemd/system/barbican-api.service.d/override.conf",
                "[Service]\nEnvironment=OS_SIMPLE_CRYPTO_PLUGIN__KEK=dGhpcnR5dHdvYnl0ZXNrZXk=\n",
            );
        let units = barbican_units(&fs);
        assert_eq!(units.len(), 1);
        let u = unit(&units, "barbican-api.service");
        assert_eq!(
            u.fragment,
            Some(PathBuf::from("/lib/systemd/system/barbican-api.service"))
        );
        assert_eq!(
            u.dropins,
            vec![PathBuf::from(
                "/etc/systemd/system/barbican-api.service.d/override.conf"
            )]
        );
        let kek = u
            .env
            .iter()
            .find(|a| a.name == "OS_SIMPLE_CRYPTO_PLUGIN__KEK");
        let kek = match kek {
            Some(k) => k,
            None => panic!("KEK not found: {:?}", u.env),
        };
        assert_eq!(kek.value, "dGhpcnR5dHdvYnl0ZXNrZXk=");
        assert_eq!(
            kek.file,
            PathBuf::from("/etc/systemd/system/barbican-api.service.d/override.conf")
        );
        assert_eq!(kek.line, 2);
        assert_eq!(kek.via, Via::Environment);
        assert_eq!(
            oslo_env_option(&kek.name),
            Some(("simple_crypto_plugin".into(), "kek".into()))
        );
        assert_eq!(
            env_of(u),
            pairs(&[
                ("LANG", "C.UTF-8"),
                ("OS_SIMPLE_CRYPTO_PLUGIN__KEK", "dGhpcnR5dHdvYnl0ZXNrZXk=")
            ])
        );
        assert!(u.problems.is_empty(), "{:?}", u.problems);
    }

    #[test]
    fn etc_fragment_shadows_lib_fragment() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=lib OS_DEFAULT__TRANSPORT_URL=rabbit://x:pw@h\n",
            )
            .file(
                "/usr/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=usrlib\n",
            )
            .file(
                "/etc/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=etc\n",
            );
        let units = barbican_units(&fs);
        assert_eq!(units.len(), 1);
        let u = unit(&units, "barbican-api.service");
        assert_eq!(
            u.fragment,
            Some(PathBuf::from("/etc/systemd/system/barbican-api.service"))
        );
        assert_eq!(env_of(u), pairs(&[("FROM", "etc")]));
        // /usr/local/lib sits above /lib in systemd's search path (verified).
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=lib\n",
            )
            .file(
                "/usr/local/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=usrlocal\n",
            );
        let units = barbican_units(&fs);
        assert_eq!(
            env_of(unit(&units, "barbican-api.service")),
            pairs(&[("FROM", "usrlocal")])
        );
    }

    #[test]
    fn etc_dropin_with_same_name_shadows_lib_dropin_and_order_is_by_file_name() {
        // Mirrors the /tmp root checked with `systemd-analyze --root=... verify`.
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=lib-fragment\n",
            )
            .file(
                "/etc/systemd/system/barbican-api.service",
                "[Service]\nEnvironment=FROM=etc-fragment\n",
            )
            .file(
                "/lib/systemd/system/barbican-api.service.d/10-a.conf",
                "[Service]\nEnvironment=X=lib-10\n",
            )
            .file(
                "/etc/systemd/system/barbican-api.service.d/10-a.conf",
                "[Service]\nEnvironment=X=etc-10\n",
            )
            .file(
                "/lib/systemd/system/barbican-api.service.d/05-b.conf",
                "[Service]\nEnvironment=Y=lib-05\n",
            )
            .file(
                "/run/systemd/system/barbican-api.service.d/20-c.conf",
                "[Service]\nEnvironment=Z=run-20\n",
            )
            .file(
                "/lib/systemd/system/barbican-.service.d/10-a.conf",
                "[Service]\nEnvironment=P=prefix-10\n",
            )
            .file(
                "/lib/systemd/system/barbican-.service.d/15-p.conf",
                "[Service]\nEnvironment=P=prefix-15\n",
            )
            .file(
                "/etc/systemd/system/service.d/15-p.conf",
                "[Service]\nEnvironment=T=type-15\n",
            )
            .file(
                "/etc/systemd/system/service.d/01-t.conf",
                "[Service]\nEnvironment=T=type-01\n",
            );
        let units = barbican_units(&fs);
        assert_eq!(
            units.len(),
            1,
            "prefix dir barbican-.service.d is not a unit"
        );
        let u = unit(&units, "barbican-api.service");
        let expect_dropins: Vec<PathBuf> = [
            "/etc/systemd/system/service.d/01-t.conf",
            "/lib/systemd/system/barbican-api.service.d/05-b.conf",
            "/etc/systemd/system/barbican-api.service.d/10-a.conf",
            "/lib/systemd/system/barbican-.service.d/15-p.conf",
            "/run/systemd/system/barbican-api.service.d/20-c.conf",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(u.dropins, expect_dropins);
        assert_eq!(
            env_of(u),
            pairs(&[
                ("FROM", "etc-fragment"),
                ("T", "type-01"),
                ("Y", "lib-05"),
                ("X", "etc-10"),
                ("P", "prefix-15"),
                ("Z", "run-20")
            ])
        );
    }

    #[test]
    fn etc_prefix_dropin_beats_lib_exact_name_dropin_of_same_file_name() {
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-keystone-listener.service",
                "[Service]\n",
            )
            .file(
                "/etc/systemd/system/barbican-.service.d/50-x.conf",
                "[Service]\nEnvironment=X=etc-prefix\n",
            )
            .file(
                "/lib/systemd/system/barbican-keystone-listener.service.d/50-x.conf",
                "[Service]\nEnvironment=X=lib-specific\n",
            )
            .file(
                "/lib/systemd/system/barbican-keystone-.service.d/60-y.conf",
                "[Service]\nEnvironment=Y=mid-prefix\n",
            );
        let units = barbican_units(&fs);
        let u = unit(&units, "barbican-keystone-listener.service");
        assert_eq!(
            env_of(u),
            pairs(&[("X", "etc-prefix"), ("Y", "mid-prefix")])
        );
    }

    #[test]
    fn masked_unit_via_dev_null_symlink_has_no_effective_environment() {
        let base = || {
            MemFs::new()
                .file(
                    "/lib/systemd/system/barbican-keystone-listener.service",
                    "[Service]\nEnvironment=OS_X__PASSWORD=v\n",
                )
                .file(
                    "/lib/systemd/system/barbican-keystone-listener.service.d/a.conf",
                    "[Service]\nEnvironment=B=1\n",
                )
                .link(
                    "/etc/systemd/system/barbican-keystone-listener.service",
                    "/dev/null",
                )
        };
        // With read_link: exact.
        let mut fs = base();
        fs.with_read_link = true;
        let u = &barbican_units(&fs)[0];
        assert_eq!(
            u.fragment,
            Some(PathBuf::from(
                "/etc/systemd/system/barbican-keystone-listener.service"
            ))
        );
        assert!(u.env.is_empty() && u.dropins.is_empty());
        assert!(
            u.problems[0].contains("masked (symlink to /dev/null)"),
            "{:?}",
            u.problems
        );
        // Without read_link, offline root: dangling -> reported, no fallback to /lib.
        let u = &barbican_units(&base())[0];
        assert!(u.env.is_empty());
        assert!(
            u.problems[0].contains("dangling symlink"),
            "{:?}",
            u.problems
        );
        // Live root: /dev/null reads empty -> masked.
        let fs = base().file("/dev/null", "");
        let u = &barbican_units(&fs)[0];
        assert!(u.env.is_empty());
        assert!(
            u.problems[0].contains("masked (empty file"),
            "{:?}",
            u.problems
        );
        // Empty unit file masks too.
        let fs = MemFs::new()
            .file(
                "/lib/systemd/system/barbican-retry.service",
                "[Service]\nEnvironment=V=1\n",
            )
            .file("/etc/systemd/system/barbican-retry.service", "");
        let u = &barbican_units(&fs)[0];
        assert!(u.env.is_empty());
        assert!(u.problems[0].contains("masked"));
    }

    #[test]
    fn masked_or_dangling_dropin_hides_same_named_lower_dropin() {
        let mut fs = MemFs::new()
            .file("/lib/systemd/system/barbican-worker.service", "[Service]\n")
            .file(
                "/lib/systemd/system/barbican-worker.service.d/70-m.conf",
                "[Service]\nEnvironment=M=1\n",
            )
            .link(
                "/etc/systemd/system/barbican-worker.service.d/70-m.conf",
                "/dev/null",
            )
            .file(
                "/lib/systemd/system/barbican-worker.service.d/71-e.conf",
                "[Service]\nEnvironment=E=1\n",
            )
            .file(
                "/etc/systemd/system/barbican-worker.service.d/71-e.conf",
                "",
            )
            .file(
                "/etc/systemd/system/barbican-worker.service.d/.80-h.conf",
                "[Service]\nEnvironment=H=1\n",
            )
            .file(
                "/etc/systemd/system/barbican-worker.service.d/80-n.conf.bak",
                "[Service]\nEnvironment=N=1\n",
            );
        fs.with_read_link = true;
        let u = &barbican_units(&fs)[0];
        assert!(u.env.is_empty(), "{:?}", u.env);
        assert_eq!(u.dropins.len(), 2);
        assert!(u.problems.is_empty(), "{:?}", u.problems);
        fs.with_read_link = false;
        let u = &barbican_units(&fs)[0];
        assert!(u.env.is_empty());
        assert_eq!(u.problems.len(), 1, "{:?}", u.problems);
    }

    #[test]
    fn only_barbican_service_units_are_reported_including_dropin_only_ones() {
        let fs = MemFs::new()
            .file("/lib/systemd/system/barbican-api.service", "[Service]\n")
            .file("/lib/systemd/system/barbican-api.socket", "[Socket]\n")
            .file(
                "/lib/systemd/system/apache2.service",
                "[Service]\nEnvironment=X=1\n",
            )
            .file(
                "/lib/systemd/system/openstack-barbican-api.service",
                "[Service]\n",
            )
            .file(
                "/lib/systemd/system/barbican-worker@.service",
                "[Service]\nEnvironment=I=%i\n",
            )
            .file(
                "/lib/systemd/system/.barbican-hidden.service",
                "[Service]\n",
            )
            .file("/lib/systemd/system/barbican bad.service", "[Service]\n")
            .file(
                "/etc/systemd/system/barbican-gen.service.d/x.conf",
                "[Service]\nEnvironment=OS_VAULT_PLUGIN__ROOT_TOKEN_ID=s.abc\n",
            );
        let units = barbican_units(&fs);
        let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "barbican-api.service",
                "barbican-gen.service",
                "barbican-worker@.service",
                "openstack-barbican-api.service"
            ]
        );
        let generated = unit(&units, "barbican-gen.service");
        assert_eq!(generated.fragment, None);
        assert_eq!(
            env_of(generated),
            pairs(&[("OS_VAULT_PLUGIN__ROOT_TOKEN_ID", "s.abc")])
        );
        assert_eq!(generated.problems.len(), 1);
        let tpl = unit(&units, "barbican-worker@.service");
        assert_eq!(env_of(tpl), pairs(&[("I", "%i")]));
        assert!(tpl.problems[0].contains("specifiers"), "{:?}", tpl.problems);
    }

    #[test]
    fn unreadable_files_and_directories_are_problems() {
        let fs = MemFs::new()
            .file(
                "/etc/systemd/system/barbican-api.service.d/a.conf",
                "[Service]\nEnvironment=A=1\n",
            )
            .denied("/lib/systemd/system/barbican-api.service")
            .denied("/usr/lib/systemd/system");
        let (units, scan) = barbican_units_report(&fs);
        assert_eq!(scan.len(), 1, "{:?}", scan);
        let u = &units[0];
        assert_eq!(env_of(u), pairs(&[("A", "1")]));
        assert!(
            u.problems
                .iter()
                .any(|p| p.contains("cannot read unit file")),
            "{:?}",
            u.problems
        );
        let units = barbican_units(&fs);
        assert!(units[0]
            .problems
            .iter()
            .any(|p| p.contains("cannot list directory")));
    }
}
