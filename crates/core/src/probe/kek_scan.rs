//! `[probe.kek-scan]` (BAR-013): copies of every configured master KEK
//! anywhere on the root, in every encoding, inside gzip and tar archives
//! (see [`crate::scan`]). Runs only when asked (`scan`, `audit --scan`): a
//! full-disk read does not belong in every audit.
use std::path::{Component, Path, PathBuf};

use super::{Decl, Facts, FixStyle, Gate, Input, Observation, Observed, Params, Probe, Reads, Var};
use crate::barbican::config::Source;
use crate::barbican::kek::Kek;
use crate::report::{ScanSummary, Severity, Status};
use crate::scan::{self, Encoding, Needle, Progress, ScanOptions};

/// Copies of the KEK on disk (BAR-013).
pub struct KekScan;

/// What this probe declares about itself.
static DECL: Decl = Decl {
    name: "kek-scan",
    doc:
        "copies of every configured master KEK anywhere on the root, when a disk scan is requested",
    vars: &[
        Var::SUBJECT,
        Var::DETAIL,
        Var::quoted("path", "in-root path of the file holding a copy"),
        // Composed here with the path shell-quoted.
        Var::raw("fix", "the command that removes the copy"),
    ],
    fix_style: FixStyle::Shell,
    // when a scan is requested (see `reads` below)
    inputs: &[Input::Config, Input::Units, Input::Users],
    parse: true,
    gate: Gate::KeepFails,
    judged_bools: &[("secretstore", "enable_multiple_secret_stores")],
};

impl Probe for KekScan {
    fn decl(&self) -> &'static Decl {
        &DECL
    }

    fn reads(&self, _: &Params, facts: &Facts<'_>) -> Reads {
        // Without a scan request it only says so: it reads nothing.
        if facts.scan.is_none() {
            return Reads::NOTHING;
        }
        Reads {
            inputs: DECL.inputs,
            parse: DECL.parse,
        }
    }

    fn observe(&self, _: &Params, facts: &Facts<'_>) -> Observed {
        scan_for_copies(facts)
    }

    fn applies_regardless(&self, _: &Params, facts: &Facts<'_>) -> bool {
        // A kolla, TripleO or OSA host runs no Barbican of its own, but a
        // copy of its deployments' KEKs on its disk is still a copy.
        facts
            .scan
            .as_ref()
            .is_some_and(|r| r.targets.iter().any(|t| !t.keks.is_empty()))
    }
}

/// How to run the disk scan (BAR-013).
pub struct ScanRequest {
    /// In-root paths to scan (default `/`).
    pub paths: Vec<PathBuf>,
    /// Globs to leave out.
    pub excludes: Vec<String>,
    /// Worker threads (0 = cores).
    pub threads: usize,
    /// Only the KEK with this fingerprint (`sha256:...`), if set.
    pub fingerprint: Option<String>,
    /// The scan cache file (`scan --cache`), if any.
    pub cache: Option<PathBuf>,
    /// Progress callback (files, bytes), e.g. a progress bar.
    pub progress: Box<dyn Fn(u64, u64) + Sync>,
    /// The KEKs of the deployments found on this host (`audit --scan` on a
    /// host with targets): a copy of one anywhere on the host disk is a
    /// copy too, named after its target.
    pub targets: Vec<TargetKeks>,
}

/// A target's KEKs, for the host's disk scan. Its `Debug` shows the
/// fingerprints only.
#[derive(Clone, Default)]
pub struct TargetKeks {
    /// The target's name (`kolla:barbican_api`).
    pub target: String,
    /// Each KEK with where the target sets it.
    pub keks: Vec<(Kek, String)>,
    /// The target's own config files on the auditing machine (its
    /// barbican.conf, and for kolla the host's /etc/kolla/<service>/ source
    /// of it): the deployment's config is BAR-006's, not a stray copy.
    pub own_files: Vec<PathBuf>,
}

impl std::fmt::Debug for TargetKeks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fps: Vec<String> = self.keks.iter().map(|(k, _)| k.fingerprint()).collect();
        f.debug_struct("TargetKeks")
            .field("target", &self.target)
            .field("keks", &fps)
            .field("own_files", &self.own_files)
            .finish()
    }
}

/// The KEKs `host` configures (as the disk scan would look for them) and
/// its config files on the auditing machine, for the scan of the host it
/// was found on.
pub fn target_keks(target: &str, host: &crate::host::Host) -> TargetKeks {
    let facts = Facts::new(host, None);
    let own_files = facts
        .files()
        .files
        .iter()
        .filter(|f| f.role == "config" || f.role == "config-dir")
        .map(|f| host.real(&f.path))
        .collect();
    TargetKeks {
        target: target.to_string(),
        keks: keks(&facts),
        own_files,
    }
}

impl std::fmt::Debug for ScanRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanRequest")
            .field("paths", &self.paths)
            .field("excludes", &self.excludes)
            .finish()
    }
}

/// What a disk scan covered, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanResult {
    /// Files, bytes, KEKs and filesystems left out (the report's `scan`).
    pub summary: ScanSummary,
    /// Problems with the scan cache (the report's warnings).
    pub warnings: Vec<String>,
}

/// Every KEK a process may use: all `kek` lines of every config file and the
/// environment (with MultiFernet an old KEK still decrypts old keys).
fn keks(facts: &Facts<'_>) -> Vec<(Kek, String)> {
    let mut out: Vec<(Kek, String)> = Vec::new();
    let mut push = |k: Kek, src: String| {
        if !out.iter().any(|(o, _)| o.fingerprint() == k.fingerprint()) {
            out.push((k, src));
        }
    };
    for k in crate::barbican::crypto::config_keks(facts.config()) {
        push(k.kek, k.source.to_string());
    }
    for e in facts
        .config()
        .effective_multi("simple_crypto_plugin", "kek")
    {
        if matches!(e.source, Source::Env { .. }) {
            push(
                crate::barbican::crypto::decode_kek(facts.config(), &e.raw),
                e.source.to_string(),
            );
        }
    }
    out
}

/// Refuses a scan path whose `..` would climb above the root (lexically,
/// before any symlink is looked at).
pub fn check_scan_path(p: &Path) -> Result<(), String> {
    let mut depth = 0usize;
    for c in p.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir if depth == 0 => {
                return Err(format!(
                    "scan path {} climbs above the root with `..`: refused (scan paths are inside the audited root)",
                    p.display()
                ))
            }
            Component::ParentDir => depth -= 1,
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(())
}

/// Where a scan path lives on the auditing machine: resolved inside the
/// root as Barbican's own loaders resolve config paths, so an absolute
/// symlink `/x -> /tmp` under `--root R` means `R/tmp`, never the auditing
/// host's `/tmp` (whose files would then be read, and `shred -u` offered).
fn in_root(facts: &Facts<'_>, p: &Path) -> Result<PathBuf, String> {
    check_scan_path(p)?;
    let r = facts.host.resolve(p).map_err(|e| {
        format!(
            "scan path {} cannot be resolved inside the root: {e}",
            p.display()
        )
    })?;
    Ok(facts.host.real(&r.target))
}

/// Scans the requested paths for copies of the configured KEKs.
fn scan_for_copies(facts: &Facts<'_>) -> Observed {
    let Some(req) = &facts.scan else {
        return Observed::from(vec![Observation::new(
            "disk",
            Status::Na,
            "disk scan not requested (run `barbican-audit scan` or `audit --scan`)",
        )]);
    };
    let mut needles = Vec::new();
    let mut unusable = Vec::new();
    // Whose key each fingerprint is: "" for the root's own, else targets.
    let mut owners: Vec<(String, Vec<String>)> = Vec::new();
    let mut all: Vec<(Kek, String, String)> = keks(facts)
        .into_iter()
        .map(|(k, src)| (k, src, String::new()))
        .collect();
    for t in &req.targets {
        for (k, src) in &t.keks {
            all.push((
                k.clone(),
                format!("target {}: {src}", t.target),
                t.target.clone(),
            ));
        }
    }
    for (k, src, owner) in all {
        let fp = k.fingerprint();
        match owners.iter_mut().find(|(f, _)| *f == fp) {
            Some((_, names)) => {
                if !names.contains(&owner) {
                    names.push(owner);
                }
                continue;
            }
            None => owners.push((fp, vec![owner])),
        }
        if req
            .fingerprint
            .as_deref()
            .is_some_and(|f| f != k.fingerprint())
        {
            continue;
        }
        match k.raw() {
            Some(raw) => needles.push(Needle::from_raw(raw)),
            None => unusable.push(format!(
                "{} at {src} is not a 32-byte Fernet key",
                k.fingerprint()
            )),
        }
    }
    if needles.is_empty() {
        let why = match (&req.fingerprint, unusable.is_empty()) {
            (Some(f), _) => format!("no configured KEK has fingerprint {f}"),
            (None, true) => "no kek is configured (the code default is public: see BAR-007), so there is no master KEK to look for".to_string(),
            (None, false) => unusable.join("; "),
        };
        return Observed::from(vec![Observation::new("disk", Status::Na, why)]);
    }
    let fingerprints: Vec<String> = needles.iter().map(|n| n.fingerprint.clone()).collect();
    let root = facts.host.real(std::path::Path::new("/"));
    let mut refused = Vec::new();
    let roots = if req.paths.is_empty() {
        vec![root.clone()]
    } else {
        let mut roots = Vec::new();
        for p in &req.paths {
            match in_root(facts, p) {
                Ok(r) => roots.push(r),
                Err(why) => refused.push(
                    Observation::new(p.display().to_string(), Status::Error, why)
                        .ev("kind", "config"),
                ),
            }
        }
        roots
    };
    // The config files themselves are BAR-006's findings, not copies; so
    // are the targets' own (their audit judges them under BAR-006).
    let mut exclude_paths: Vec<PathBuf> = facts
        .files()
        .files
        .iter()
        .filter(|f| f.role == "config" || f.role == "config-dir")
        .map(|f| facts.host.real(&f.path))
        .chain(req.targets.iter().flat_map(|t| t.own_files.iter().cloned()))
        .collect();
    // So are their sources in a kolla-built container (kolla_set_configs
    // copies them over the config at every start: crate::barbican::kolla).
    // config.json unreadable: say so and exempt nothing.
    let mut out = refused;
    match crate::barbican::kolla::config_sources(facts.host, facts.config()) {
        Ok(sources) => {
            exclude_paths.extend(sources.iter().map(|c| facts.host.real(&c.source)));
        }
        Err(why) => out.push(
            Observation::new(
                crate::barbican::kolla::CONFIG_JSON,
                Status::Error,
                format!("{why}: the files it copies over the served config are not told apart from stray copies, so each is reported"),
            )
            .ev("kind", "config"),
        ),
    }
    let opts = ScanOptions {
        roots,
        exclude_globs: req.excludes.clone(),
        exclude_paths,
        threads: req.threads,
        cache: req.cache.clone(),
        ..ScanOptions::default()
    };
    let progress = |p: Progress| (req.progress)(p.files, p.bytes);
    let report = scan::scan(&needles, &opts, &progress);
    let inner = |p: &std::path::Path| -> String {
        match p.strip_prefix(&root) {
            Ok(rel) => format!("/{}", rel.display()),
            Err(_) => p.display().to_string(),
        }
    };
    let summary = ScanSummary {
        files: report.files,
        bytes: report.bytes,
        errors: report.errors.len() as u64,
        unchanged_files: report.unchanged_files,
        unchanged_bytes: report.unchanged_bytes,
        keks: fingerprints.clone(),
        other_filesystems: report.other_filesystems.iter().map(|p| inner(p)).collect(),
    };
    for h in &report.hits {
        let path = inner(&h.path);
        let subject = match &h.member {
            Some(m) => format!("{path}!{m}"),
            None => path.clone(),
        };
        let q = barbican_audit_support::shell_quote(&h.path.to_string_lossy());
        let (detail, severity) = if h.encoding == Encoding::KekAssignment {
            (format!("a `kek =` assignment of another key {} ({}) at byte {}: an old or foreign KEK is still a key", h.fingerprint, h.encoding.as_str(), h.offset), Some(Severity::Medium))
        } else {
            (
                format!(
                    "copy of the master KEK {} ({}) at byte {}{}",
                    h.fingerprint,
                    h.encoding.as_str(),
                    h.offset,
                    if h.decompressed {
                        " of the decompressed data"
                    } else {
                        ""
                    }
                ),
                None,
            )
        };
        // Whose key it is: the fingerprint names it, never the key.
        let whose: Vec<&str> = owners
            .iter()
            .find(|(f, _)| *f == h.fingerprint)
            .map(|(_, n)| {
                n.iter()
                    .filter(|n| !n.is_empty())
                    .map(String::as_str)
                    .collect()
            })
            .unwrap_or_default();
        let detail = if whose.is_empty() {
            detail
        } else {
            format!("{detail}; the KEK of target {}", whose.join(", "))
        };
        let mut o = Observation::new(subject, Status::Fail, detail)
            .var("path", path)
            .var("fix", format!("shred -u {q}  # after checking it is only a stray copy; rotate the KEK if it left the host"))
            .ev("encoding", h.encoding.as_str())
            .ev("offset", h.offset)
            .ev("fingerprint", h.fingerprint.clone());
        if let Some(m) = &h.member {
            o = o.ev("member", m.clone());
        }
        if !whose.is_empty() {
            o = o.ev("targets", whose.join(", "));
        }
        o.severity = severity;
        out.push(o);
    }
    for e in &report.errors {
        let path = inner(&e.path);
        let subject = match &e.member {
            Some(m) => format!("{path}!{m}"),
            None => path,
        };
        out.push(
            Observation::new(
                subject,
                Status::Error,
                format!("not fully scanned ({}): {}", e.kind.as_str(), e.message),
            )
            .ev("kind", e.kind.as_str()),
        );
    }
    if report.hits.is_empty() {
        out.push(
            Observation::new(
                "disk",
                Status::Pass,
                format!(
                    "no copy of {} in {} files ({} bytes){}{}{}",
                    fingerprints.join(", "),
                    report.files,
                    report.bytes + report.unchanged_bytes,
                    if report.unchanged_files == 0 {
                        String::new()
                    } else {
                        format!(
                            "; {} of them ({} bytes) clean in an earlier scan and unchanged since, not read again",
                            report.unchanged_files, report.unchanged_bytes
                        )
                    },
                    if report.errors.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; {} paths could not be read completely",
                            report.errors.len()
                        )
                    },
                    not_scanned(&report.other_filesystems, &inner),
                ),
            )
            .ev("files", report.files)
            .ev("bytes", report.bytes),
        );
    }
    Observed {
        observations: out,
        scan: Some(ScanResult {
            summary,
            warnings: report.warnings,
        }),
    }
}

/// `; not scanned: /var/log, /tmp (other filesystems: add --scan-path …)`,
/// so a pass never hides that a mounted filesystem was left out.
fn not_scanned(mounts: &[PathBuf], inner: &dyn Fn(&Path) -> String) -> String {
    const SHOWN: usize = 8;
    if mounts.is_empty() {
        return String::new();
    }
    let mut names: Vec<String> = mounts.iter().take(SHOWN).map(|p| inner(p)).collect();
    if mounts.len() > SHOWN {
        names.push(format!("and {} more", mounts.len() - SHOWN));
    }
    let first = names.first().cloned().unwrap_or_default();
    format!(
        "; {} other filesystems not scanned: {} (scan each with --scan-path, e.g. --scan-path {first})",
        mounts.len(),
        names.join(", ")
    )
}
