//! systemd unit discovery and environment evaluation for `barbican-audit` (BAR-011).
//!
//! Finds every `*.service` unit whose name contains "barbican", resolves its fragment and
//! drop-ins the way systemd's unit loader does, and evaluates the effective service
//! environment (`Environment=` then `EnvironmentFile=`) so that `OS_<GROUP>__<OPTION>`
//! overrides of oslo.config options (which take precedence over every config file: see
//! oslo.config's environment source, `oslo_config/sources/_environment.py`) can be judged.
//!
//! Behaviour was checked against systemd 252 (Debian bookworm): the unit loader through
//! `systemd-analyze --root=<tmp> verify` with `SYSTEMD_LOG_LEVEL=debug` (which dumps the
//! fragment, drop-in paths and effective `Environment:` list), and the environment-file
//! reader through `load_env_file()` + `strv_env_clean_with_callback()` of
//! `libsystemd-shared-252.so`. Where newer systemd differs, the more permissive reading
//! (the one that reports more variables) is used and the difference is noted.
//!
//! Not modelled (kept literal or out of scope, all noted where they matter):
//! - specifiers (`%i`, `%n`, `%%`, ...) are kept literal; systemd expands them at load time;
//! - unit aliases (symlinks to a differently named unit) are read through, but drop-ins of
//!   the alias target's name are not merged;
//! - template instances are not enumerated (templates are reported under the template name);
//! - manager-wide environment (`DefaultEnvironment=` in system.conf, environment generators,
//!   `PassEnvironment=`) is not part of a unit and is not evaluated here.
//!
//! The module follows systemd's own split:
//! * `units`: the unit search path, fragments, drop-ins and masks (`src/shared/dropin.c`,
//!   `src/core/load-fragment.c`);
//! * `names`: which names are units and which `.d` directories apply to a name
//!   (`src/basic/unit-name.c`);
//! * `syntax`: unit-file lines, continuations, comments, quoting and C escapes
//!   (systemd.syntax(7), `src/shared/conf-parser.c`, `src/basic/extract-word.c`), and the
//!   path rules of `EnvironmentFile=`;
//! * `environment`: what `Environment=` and `EnvironmentFile=` set, and how oslo.config
//!   reads `OS_<GROUP>__<OPTION>` from it.

use std::path::PathBuf;

pub use crate::fs::Fs;

mod environment;
mod names;
mod syntax;
mod units;

pub use environment::{
    oslo_env_option, parse_environment_file, parse_environment_file_detailed,
    parse_environment_value, parse_environment_value_detailed, EnvFileParse, EnvValueParse,
};
pub use units::{
    barbican_units, barbican_units_checked, barbican_units_report, units_checked, UNIT_DIRS,
};

/// One effective environment variable of a unit.
///
/// `file`/`line` locate the text that set the value: the unit file (fragment or drop-in) for
/// `Via::Environment`, the environment file itself for `Via::EnvironmentFile` (the directive
/// that named the env file is in [`Unit::env_files`]). `line` is 1-based; for a directive
/// continued with a trailing backslash it is the first physical line (systemd's own log
/// messages cite the last one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Variable name.
    pub name: String,
    /// Value (never shown for secrets).
    pub value: String,
    /// The file whose text set it.
    pub file: PathBuf,
    /// 1-based line there.
    pub line: usize,
    /// Directive kind.
    pub via: Via,
}

/// How a variable was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// `Environment=` in a unit file or drop-in.
    Environment,
    /// `EnvironmentFile=`, with the env file.
    EnvironmentFile(PathBuf /* the env file */),
}

/// One barbican service unit as systemd would load it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// e.g. `barbican-api.service`
    pub name: String,
    /// The unit file systemd would load (first unit directory holding the name), `None` when
    /// only drop-in directories exist for the name.
    pub fragment: Option<PathBuf>,
    /// Drop-ins in the order systemd applies them.
    pub dropins: Vec<PathBuf>,
    /// Effective environment, in systemd's order, after resets; env-file values override
    /// `Environment=` ones in place.
    pub env: Vec<Assignment>,
    /// Effective `EnvironmentFile=` entries: (env file or glob, optional, unit file, line).
    pub env_files: Vec<(
        PathBuf, /*env file*/
        bool,    /*optional*/
        PathBuf, /*unit file*/
        usize,   /*line*/
    )>,
    /// Unreadable files, masks, bad quoting, ignored assignments ... each with file:line.
    pub problems: Vec<String>,
    /// Files systemd reads for this unit that the auditor could not read or
    /// parse (unit file, drop-in, EnvironmentFile), with why: the unit's
    /// environment is then unknown and the checks judging it say error.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// What the tests of every part of this module share: a unit file, and ways to pick a unit
/// and its environment out of a scan.
#[cfg(test)]
mod test_util {
    use super::{barbican_units, Unit};
    use crate::fs::testing::MemFs;

    /// The unit of a root whose one file is `text`, as /lib's barbican-api.service.
    pub(super) fn api_unit(text: &str) -> Unit {
        let fs = MemFs::new().file("/lib/systemd/system/barbican-api.service", text);
        let mut units = barbican_units(&fs);
        assert_eq!(units.len(), 1);
        units.remove(0)
    }

    pub(super) const VENDOR: &str = "[Unit]\nDescription=Barbican API\n[Service]\nExecStart=/usr/bin/barbican-api\nEnvironment=LANG=C.UTF-8\n";

    pub(super) fn unit<'a>(units: &'a [Unit], name: &str) -> &'a Unit {
        match units.iter().find(|u| u.name == name) {
            Some(u) => u,
            None => panic!(
                "unit {} not found in {:?}",
                name,
                units.iter().map(|u| &u.name).collect::<Vec<_>>()
            ),
        }
    }

    pub(super) fn env_of(u: &Unit) -> Vec<(String, String)> {
        u.env
            .iter()
            .map(|a| (a.name.clone(), a.value.clone()))
            .collect()
    }

    pub(super) fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::syntax::{glob_match, parse_unit_file};
    use super::*;
    use crate::fs::testing::MemFs;
    use std::path::Path;

    /// Deterministic pseudo-random bytes (xorshift) - no external crates.
    fn noise(seed: &mut u64, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                alphabet[(*seed % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    #[test]
    fn garbage_and_binary_input_do_not_panic() {
        let all: Vec<u8> = (0..=255u8).collect();
        let tricky = b"=\\\"' \t\r\n#;[]-%@xuU0123456789abcdefAZ_\xc3\xa9\xff";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..400 {
            let alphabet: &[u8] = if round % 2 == 0 { &all } else { tricky };
            let data = noise(&mut seed, (round * 7) % 300, alphabet);
            let _ = parse_environment_file_detailed(&data);
            let text = String::from_utf8_lossy(&data).into_owned();
            let _ = parse_environment_file(&text);
            let _ = parse_environment_value(&text);
            let _ = oslo_env_option(&text);
            let mut unit_file = b"[Service]\nEnvironment=".to_vec();
            unit_file.extend_from_slice(&data);
            let mut envf = b"[Service]\nEnvironmentFile=".to_vec();
            envf.extend_from_slice(&data);
            let fs = MemFs::new()
                .bytes("/lib/systemd/system/barbican-api.service", &unit_file)
                .bytes("/etc/systemd/system/barbican-api.service.d/x.conf", &envf)
                .bytes("/etc/systemd/system/barbican-api.service.d/y.conf", &data);
            let _ = barbican_units(&fs);
            let _ = glob_match(&data, b"name");
            let _ = glob_match(b"*", &data);
        }
        // Pathological but legal inputs.
        let _ = parse_environment_value(&"\\".repeat(1001));
        let _ = parse_environment_value(&"\"".repeat(1001));
        let _ = parse_unit_file(&b"\\\n".repeat(500), Path::new("/x"), &mut Vec::new());
        let long_name = format!("barbican{}.service", "-a".repeat(100));
        assert!(names::dropin_names(&long_name).len() == 101);
        let _ = glob_match(&b"*".repeat(40), &b"a".repeat(40));
        let mut hostile = b"*a".repeat(2000);
        hostile.push(b'b');
        assert!(!glob_match(&hostile, &b"a".repeat(5000)));
        let mut unit_file = b"[Service]\nEnvironment=A=1 \\\n".to_vec();
        unit_file.extend_from_slice(&b"x \\\n".repeat(100_000));
        assert_eq!(
            parse_unit_file(&unit_file, Path::new("/x"), &mut Vec::new()).len(),
            1
        );
    }
}
