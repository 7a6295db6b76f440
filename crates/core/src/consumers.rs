//! The services that keep their keys in Barbican (the `consumers` pack,
//! KMC-*): which of their programs are installed under the root and what
//! each one reads, the way oslo.config reads it.
//!
//! The effective configuration is per program: one node running nova-api
//! and nova-compute can read two different sets of files (nova-api is
//! started by uwsgi without `--config-file`, so its `nova.conf.d` wins over
//! `nova.conf`; nova-compute's loses to it). The table is Debian's
//! (bookworm: the init scripts, uwsgi ini files and loaders named in
//! `tests/data/consumers/README.md` §1).
use std::path::{Path, PathBuf};

use crate::barbican::config::{user_home, Config, Invocation};
use crate::barbican::version::dpkg_installed;
use crate::host::Host;

/// A service whose programs read oslo.config files.
#[derive(Debug, PartialEq, Eq)]
pub struct Service {
    /// `nova`: the oslo.config project, the service user and its group.
    pub name: &'static str,
    /// Its main config file (what a program reads on every layout).
    pub main: &'static str,
    /// Its user's home when the root's passwd does not name one
    /// (Debian's `pkgos_adduser --home /var/lib/<svc>`).
    pub home: &'static str,
    /// Its programs build a castellan key manager from `[key_manager]`
    /// (nova, cinder, glance: KMC-001..006). Octavia does not: it reaches
    /// Barbican through its `[certificates] cert_manager` (KMC-010..012).
    pub key_manager: bool,
}

/// Nova.
pub const NOVA: Service = Service {
    name: "nova",
    main: "/etc/nova/nova.conf",
    home: "/var/lib/nova",
    key_manager: true,
};
/// Cinder.
pub const CINDER: Service = Service {
    name: "cinder",
    main: "/etc/cinder/cinder.conf",
    home: "/var/lib/cinder",
    key_manager: true,
};
/// Glance.
pub const GLANCE: Service = Service {
    name: "glance",
    main: "/etc/glance/glance-api.conf",
    home: "/var/lib/glance",
    key_manager: true,
};

/// Octavia (`octavia-common` postinst: root:octavia 0640 octavia.conf).
pub const OCTAVIA: Service = Service {
    name: "octavia",
    main: "/etc/octavia/octavia.conf",
    home: "/var/lib/octavia",
    key_manager: false,
};

/// The services judged, in report order.
pub const SERVICES: [&Service; 4] = [&NOVA, &CINDER, &GLANCE, &OCTAVIA];

/// One program of a service and how Debian starts it.
#[derive(Debug)]
pub struct Program {
    /// What it is called (`nova-compute`, `nova-api`).
    pub name: &'static str,
    /// Its service.
    pub service: &'static Service,
    /// The Debian package that installs it.
    pub package: &'static str,
    /// The file that starts it (init script or uwsgi ini).
    pub starter: &'static str,
    /// oslo.config's `prog` (`uwsgi` under uwsgi: it sets `argv[0]`).
    pub prog: &'static str,
    /// Its `--config-file` arguments.
    pub config_files: &'static [&'static str],
    /// `--config-file` arguments the init script adds when the file exists.
    pub config_files_if_exist: &'static [&'static str],
    /// `default_config_files` the program passes itself.
    pub default_config_files: Option<&'static [&'static str]>,
}

/// The programs judged, the first of each service being the one judged when
/// only the service's main config file is found.
pub static PROGRAMS: &[Program] = &[
    // [init nova-compute:22-25,136,140]
    Program {
        name: "nova-compute",
        service: &NOVA,
        package: "nova-compute",
        starter: "/etc/init.d/nova-compute",
        prog: "nova-compute",
        config_files: &["/etc/nova/nova.conf"],
        config_files_if_exist: &["/etc/nova/nova-compute.conf"],
        default_config_files: None,
    },
    // nova/api/openstack/wsgi_app.py:34-49,101
    Program {
        name: "nova-api",
        service: &NOVA,
        package: "nova-api",
        starter: "/etc/nova/nova-api-uwsgi.ini",
        prog: "uwsgi",
        config_files: &[],
        config_files_if_exist: &[],
        default_config_files: Some(&["/etc/nova/api-paste.ini", "/etc/nova/nova.conf"]),
    },
    // [init cinder-volume:126,130]
    Program {
        name: "cinder-volume",
        service: &CINDER,
        package: "cinder-volume",
        starter: "/etc/init.d/cinder-volume",
        prog: "cinder-volume",
        config_files: &["/etc/cinder/cinder.conf"],
        config_files_if_exist: &[],
        default_config_files: None,
    },
    // cinder/wsgi/wsgi.py:39, default search
    Program {
        name: "cinder-api",
        service: &CINDER,
        package: "cinder-api",
        starter: "/etc/cinder/cinder-api-uwsgi.ini",
        prog: "uwsgi",
        config_files: &[],
        config_files_if_exist: &[],
        default_config_files: None,
    },
    // [init glance-api:18,135]; not uwsgi on Debian
    Program {
        name: "glance-api",
        service: &GLANCE,
        package: "glance-api",
        starter: "/etc/init.d/glance-api",
        prog: "glance-api",
        config_files: &["/etc/glance/glance-api.conf"],
        config_files_if_exist: &[],
        default_config_files: None,
    },
    // [init octavia-worker:126,130]
    Program {
        name: "octavia-worker",
        service: &OCTAVIA,
        package: "octavia-worker",
        starter: "/etc/init.d/octavia-worker",
        prog: "octavia-worker",
        config_files: &["/etc/octavia/octavia.conf"],
        config_files_if_exist: &[],
        default_config_files: None,
    },
    // octavia/api/app.py:50-54, octavia/common/service.py:21-24: default
    // search under uwsgi (`/etc/octavia/octavia-api-uwsgi.ini`)
    Program {
        name: "octavia-api",
        service: &OCTAVIA,
        package: "octavia-api",
        starter: "/etc/octavia/octavia-api-uwsgi.ini",
        prog: "uwsgi",
        config_files: &[],
        config_files_if_exist: &[],
        default_config_files: None,
    },
];

/// A program found under the root, with what it reads.
#[derive(Debug)]
pub struct ProgramConfig {
    /// The program.
    pub program: &'static Program,
    /// Why it is judged (`dpkg status: nova-compute`, `/etc/init.d/nova-compute`).
    pub found_by: String,
    /// The files it reads, in parse order.
    pub config: Config,
}

impl ProgramConfig {
    /// The service (`nova`).
    pub fn service(&self) -> &'static str {
        self.program.service.name
    }
}

/// The programs installed under the root, each with its effective files. A
/// program counts when dpkg status lists its package or its init script or
/// uwsgi ini exists; a service with none of those but its main config file
/// is judged as its first program (a container image or a hand install).
pub fn load(host: &Host) -> Vec<ProgramConfig> {
    let packages: Vec<&'static str> = PROGRAMS.iter().map(|p| p.package).collect();
    let installed = dpkg_installed(host, &packages);
    let mut out: Vec<ProgramConfig> = Vec::new();
    for p in PROGRAMS {
        let found_by = if installed.contains(&p.package) {
            Some(format!("dpkg status: {}", p.package))
        } else if host.exists(Path::new(p.starter)) {
            Some(p.starter.to_string())
        } else {
            None
        };
        if let Some(found_by) = found_by {
            out.push(program_config(host, p, found_by));
        }
    }
    for s in SERVICES {
        let judged = out.iter().any(|c| c.program.service == s);
        if !judged && host.exists(Path::new(s.main)) {
            if let Some(p) = PROGRAMS.iter().find(|p| p.service == s) {
                let why = format!("{} exists (judged as Debian starts {})", s.main, p.name);
                out.push(program_config(host, p, why));
            }
        }
    }
    out
}

fn program_config(host: &Host, p: &'static Program, found_by: String) -> ProgramConfig {
    let s = p.service;
    let home = user_home(host, s.name, s.home);
    let mut config_files: Vec<PathBuf> = p.config_files.iter().map(PathBuf::from).collect();
    for f in p.config_files_if_exist {
        if host.exists(Path::new(f)) {
            config_files.push(PathBuf::from(f));
        }
    }
    let inv = Invocation {
        project: s.name,
        prog: p.prog,
        prog_label: p.name,
        home: &home,
        config_files: &config_files,
        default_config_files: p.default_config_files,
    };
    ProgramConfig {
        program: p,
        found_by,
        config: Config::load_invocation(host, &inv),
    }
}

/// The programs that build a castellan key manager (nova, cinder, glance).
pub fn key_manager_users(programs: &[ProgramConfig]) -> impl Iterator<Item = &ProgramConfig> {
    programs.iter().filter(|p| p.program.service.key_manager)
}

/// The programs of one service (`octavia`).
pub fn of_service<'a>(
    programs: &'a [ProgramConfig],
    service: &'a Service,
) -> impl Iterator<Item = &'a ProgramConfig> {
    programs
        .iter()
        .filter(move |p| p.program.service == service)
}

/// Why no octavia program is judged on this root (`None` when one is).
pub fn octavia_not_installed(programs: &[ProgramConfig]) -> Option<String> {
    of_service(programs, &OCTAVIA).next().is_none().then(|| {
        "octavia is not installed: no octavia-worker or octavia-api package in dpkg status, no \
         init script or uwsgi ini of theirs, no /etc/octavia/octavia.conf"
            .to_string()
    })
}

/// Why no key manager user (nova, cinder, glance) is judged on this root
/// (`None` when one is).
pub fn none_installed(programs: &[ProgramConfig]) -> Option<String> {
    key_manager_users(programs).next().is_none().then(|| {
        "nova, cinder and glance are not installed: none of their programs' packages in dpkg \
         status, no init script or uwsgi ini of theirs, no nova.conf, cinder.conf or \
         glance-api.conf in /etc"
            .to_string()
    })
}
