//! Users and groups of the audited root, read from its own `etc/passwd` and
//! `etc/group` (never the auditing host's NSS: an offline image's numeric IDs
//! mean what *its* files say). Malformed lines are skipped and remembered as
//! warnings, never a panic.
use std::collections::BTreeMap;
use std::path::Path;

use super::Host;

/// One passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Numeric user ID.
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
    /// Home directory (as written; inside the root).
    pub home: String,
}

/// The root's users and groups.
#[derive(Debug, Default)]
pub struct UserDb {
    users: Vec<User>,
    groups: Vec<(String, u32)>,
    /// `etc/passwd:12: skipped malformed line (...)`, for the report's warnings.
    pub warnings: Vec<String>,
    /// passwd/group files that exist but could not be read, with why: owner
    /// and group names (and the service user's home) are then unknown.
    pub unreadable: Vec<(std::path::PathBuf, String)>,
}

impl UserDb {
    /// Loads `etc/passwd` and `etc/group` from the host's root; a missing file
    /// is an empty database plus a warning.
    pub fn load(host: &Host) -> UserDb {
        let mut db = UserDb::default();
        match host.read(Path::new("/etc/passwd")) {
            Ok(bytes) => db.parse_passwd(&String::from_utf8_lossy(&bytes)),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    db.unreadable
                        .push(("/etc/passwd".into(), format!("cannot read it: {e}")));
                }
                db.warnings.push(format!("/etc/passwd: {e}"));
            }
        }
        match host.read(Path::new("/etc/group")) {
            Ok(bytes) => db.parse_group(&String::from_utf8_lossy(&bytes)),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    db.unreadable
                        .push(("/etc/group".into(), format!("cannot read it: {e}")));
                }
                db.warnings.push(format!("/etc/group: {e}"));
            }
        }
        db
    }

    /// Parses passwd(5) lines: `name:pw:uid:gid:gecos:home:shell`.
    pub fn parse_passwd(&mut self, text: &str) {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(':').collect();
            let parsed = match f.as_slice() {
                [name, _, uid, gid, _, home, ..] if !name.is_empty() => {
                    match (uid.parse::<u32>(), gid.parse::<u32>()) {
                        (Ok(uid), Ok(gid)) => Some(User {
                            name: name.to_string(),
                            uid,
                            gid,
                            home: home.to_string(),
                        }),
                        _ => None,
                    }
                }
                _ => None,
            };
            match parsed {
                Some(u) => self.users.push(u),
                None => self
                    .warnings
                    .push(format!("/etc/passwd:{}: skipped malformed line", i + 1)),
            }
        }
    }

    /// Parses group(5) lines: `name:pw:gid:members`.
    pub fn parse_group(&mut self, text: &str) {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(':').collect();
            match f.as_slice() {
                [name, _, gid, ..] if !name.is_empty() => match gid.parse::<u32>() {
                    Ok(gid) => self.groups.push((name.to_string(), gid)),
                    Err(_) => self
                        .warnings
                        .push(format!("/etc/group:{}: skipped malformed line", i + 1)),
                },
                _ => self
                    .warnings
                    .push(format!("/etc/group:{}: skipped malformed line", i + 1)),
            }
        }
    }

    /// The first user with this name (as getpwnam would return).
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The first user name for a uid.
    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.users
            .iter()
            .find(|u| u.uid == uid)
            .map(|u| u.name.as_str())
    }

    /// The gid of a group name.
    pub fn group_gid(&self, name: &str) -> Option<u32> {
        self.groups.iter().find(|g| g.0 == name).map(|g| g.1)
    }

    /// The first group name for a gid.
    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.groups
            .iter()
            .find(|g| g.1 == gid)
            .map(|g| g.0.as_str())
    }

    /// `name(id)` style labels for evidence, `?` when the id has no name.
    pub fn describe(&self, uid: u32, gid: u32) -> BTreeMap<&'static str, String> {
        let mut m = BTreeMap::new();
        m.insert("owner", self.user_name(uid).unwrap_or("?").to_string());
        m.insert("group", self.group_name(gid).unwrap_or("?").to_string());
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lines_are_skipped_with_warnings() {
        let mut db = UserDb::default();
        db.parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n\
                         garbage\n\
                         :x:1:1::/:/bin/false\n\
                         bad:x:notanumber:0::/:\n\
                         barbican:x:102:105::/var/lib/barbican:/bin/false\n\
                         \u{0}\u{ff}:::::::\n",
        );
        db.parse_group("root:x:0:\nbarbican:x:105:\nbroken\nalso:x:-1:\n");
        assert_eq!(db.user("barbican").map(|u| u.uid), Some(102));
        assert_eq!(
            db.user("barbican").map(|u| u.home.as_str()),
            Some("/var/lib/barbican")
        );
        assert_eq!(db.group_gid("barbican"), Some(105));
        assert_eq!(db.group_name(0), Some("root"));
        assert_eq!(db.warnings.len(), 6, "{:?}", db.warnings);
        assert!(db.warnings[0].contains("/etc/passwd:2"));
    }
}
