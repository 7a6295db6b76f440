//! POSIX access ACLs, read from the `system.posix_acl_access` extended
//! attribute (the same bytes `getfacl` decodes), so no libacl is needed and
//! an offline `--root` is read exactly like the live system.
//!
//! See: linux `include/uapi/linux/posix_acl_xattr.h` (version 2 header,
//! then entries of tag:u16, perm:u16, id:u32, little endian).
use std::path::Path;

use super::UserDb;

const ACL_USER_OBJ: u16 = 0x01;
const ACL_USER: u16 = 0x02;
const ACL_GROUP_OBJ: u16 = 0x04;
const ACL_GROUP: u16 = 0x08;
const ACL_MASK: u16 = 0x10;
const ACL_OTHER: u16 = 0x20;

/// One ACL entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The tag (`ACL_USER`, `ACL_MASK`, ...).
    pub tag: u16,
    /// rwx bits (4, 2, 1).
    pub perm: u16,
    /// uid or gid for named entries.
    pub id: u32,
}

/// A decoded access ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// Entries in stored order.
    pub entries: Vec<Entry>,
}

impl Acl {
    /// Reads the access ACL of a file on the auditing host (a real path).
    /// `Ok(None)` when the file has no ACL beyond its mode.
    pub fn read(real: &Path) -> std::io::Result<Option<Acl>> {
        match xattr::get(real, "system.posix_acl_access") {
            Ok(Some(bytes)) => Acl::decode(&bytes).map(Some).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "malformed system.posix_acl_access attribute",
                )
            }),
            Ok(None) => Ok(None),
            // Filesystems without xattr support have no ACLs.
            Err(e) if e.raw_os_error() == Some(nix::libc::EOPNOTSUPP) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Decodes the xattr value; `None` when it is not a version-2 ACL.
    pub fn decode(bytes: &[u8]) -> Option<Acl> {
        let (head, body) = bytes.split_at_checked(4)?;
        if u32::from_le_bytes(head.try_into().ok()?) != 2 || body.len() % 8 != 0 {
            return None;
        }
        let entries = body
            .chunks_exact(8)
            .map(|c| Entry {
                tag: u16::from_le_bytes([c[0], c[1]]),
                perm: u16::from_le_bytes([c[2], c[3]]),
                id: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Some(Acl { entries })
    }

    /// Named user or group entries (anything beyond owner/group/other/mask).
    pub fn named(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| e.tag == ACL_USER || e.tag == ACL_GROUP)
    }

    /// The mask entry's permissions, if any.
    pub fn mask(&self) -> Option<u16> {
        self.entries
            .iter()
            .find(|e| e.tag == ACL_MASK)
            .map(|e| e.perm)
    }

    /// `getfacl` text form (entries only), names from the root's user database.
    pub fn to_text(&self, users: &UserDb) -> String {
        let mut lines = Vec::new();
        for e in &self.entries {
            let perm = rwx(e.perm);
            let line = match e.tag {
                ACL_USER_OBJ => format!("user::{perm}"),
                ACL_USER => format!(
                    "user:{}:{perm}",
                    users
                        .user_name(e.id)
                        .map(str::to_string)
                        .unwrap_or_else(|| e.id.to_string())
                ),
                ACL_GROUP_OBJ => format!("group::{perm}"),
                ACL_GROUP => format!(
                    "group:{}:{perm}",
                    users
                        .group_name(e.id)
                        .map(str::to_string)
                        .unwrap_or_else(|| e.id.to_string())
                ),
                ACL_MASK => format!("mask::{perm}"),
                ACL_OTHER => format!("other::{perm}"),
                t => format!("unknown-tag-{t:#x}::{perm}"),
            };
            lines.push(line);
        }
        lines.join("\n")
    }

    /// Encodes (used by tests to plant ACLs without setfacl).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = 2u32.to_le_bytes().to_vec();
        for e in &self.entries {
            v.extend_from_slice(&e.tag.to_le_bytes());
            v.extend_from_slice(&e.perm.to_le_bytes());
            v.extend_from_slice(&e.id.to_le_bytes());
        }
        v
    }
}

fn rwx(p: u16) -> String {
    let mut s = String::with_capacity(3);
    s.push(if p & 4 != 0 { 'r' } else { '-' });
    s.push(if p & 2 != 0 { 'w' } else { '-' });
    s.push(if p & 1 != 0 { 'x' } else { '-' });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_roundtrip_and_text() {
        let acl = Acl {
            entries: vec![
                Entry {
                    tag: ACL_USER_OBJ,
                    perm: 6,
                    id: u32::MAX,
                },
                Entry {
                    tag: ACL_USER,
                    perm: 4,
                    id: 1000,
                },
                Entry {
                    tag: ACL_GROUP_OBJ,
                    perm: 4,
                    id: u32::MAX,
                },
                Entry {
                    tag: ACL_MASK,
                    perm: 4,
                    id: u32::MAX,
                },
                Entry {
                    tag: ACL_OTHER,
                    perm: 0,
                    id: u32::MAX,
                },
            ],
        };
        let back = Acl::decode(&acl.encode()).unwrap();
        assert_eq!(back, acl);
        assert_eq!(back.named().count(), 1);
        assert_eq!(back.mask(), Some(4));
        let text = back.to_text(&UserDb::default());
        assert_eq!(
            text,
            "user::rw-\nuser:1000:r--\ngroup::r--\nmask::r--\nother::---"
        );
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(Acl::decode(b"").is_none());
        assert!(Acl::decode(&[2, 0, 0, 0, 1]).is_none());
        assert!(Acl::decode(&[3, 0, 0, 0]).is_none());
    }
}
