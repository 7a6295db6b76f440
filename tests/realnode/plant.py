#!/usr/bin/env python3
"""Plants the node's KEK: sets it in /etc/barbican/barbican.conf and leaves
copies of it in every top-level directory class of the root, plain and
encoded, the way stray copies end up on a real controller.

    plant.py ROOT MANIFEST < key

The key (a Fernet key: urlsafe base64 of 32 bytes) comes on stdin so it never
appears in a command line. MANIFEST gets one line per planted copy:
`<subject>\t<how>`, where subject is the path inside the root as the report
names it (`path!member` inside an archive). Nothing here prints the key.
"""
import base64
import bz2
import gzip
import io
import lzma
import os
import re
import sys
import tarfile


def write(root, path, data, mode=0o600, uid=0, gid=0):
    full = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)
    os.chmod(full, mode)
    os.chown(full, uid, gid)


def tar_gz(member, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        info.mode = 0o640
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def set_kek(conf, key):
    """[simple_crypto_plugin] kek = key, in place (owner and mode kept)."""
    with open(conf, encoding="utf-8") as f:
        lines = f.read().splitlines(keepends=True)
    out, done = [], False
    for line in lines:
        out.append(line)
        if not done and re.match(r"^\[simple_crypto_plugin\]\s*$", line):
            out.append(f"kek = {key}\n")
            done = True
    if not done:
        out.append(f"\n[simple_crypto_plugin]\nkek = {key}\n")
    with open(conf, "w", encoding="utf-8") as f:
        f.writelines(out)


def main():
    root, manifest = sys.argv[1], sys.argv[2]
    key = sys.stdin.readline().strip()
    raw = base64.urlsafe_b64decode(key)
    if len(raw) != 32:
        sys.exit("plant.py: the key on stdin is not a Fernet key")
    std = base64.b64encode(raw).decode()
    conf_text = f"[DEFAULT]\n\n[simple_crypto_plugin]\nkek = {key}\n".encode()
    noise = bytes(range(256)) * 8

    set_kek(os.path.join(root, "etc/barbican/barbican.conf"), key)

    # (path inside the root, bytes, how), one or more per top-level class;
    # subjects with '!' are archive members.
    copies = [
        ("/var/backups/barbican.conf.2025-05-01", conf_text, "plain config backup"),
        ("/var/lib/misc/kek.hex", raw.hex().encode() + b"\n", "hex"),
        ("/var/tmp/kek-std.b64", std.encode() + b"\n", "standard base64"),
        ("/root/.bash_history", f"ls\nexport KEK='{key}'\nexit\n".encode(), "plain, shell history"),
        ("/root/backup/barbican-etc.tar.gz", tar_gz("etc/barbican/barbican.conf", conf_text), "tar.gz"),
        ("/home/x/notes.md", f"# barbican\nthe key: `{std.rstrip('=')}`\n".encode(), "base64 without padding"),
        ("/home/x/kek.bin", noise + raw + noise, "raw bytes"),
        ("/srv/backup/barbican.conf.gz", gzip.compress(conf_text), "gzip"),
        ("/srv/k8s/barbican-secret.yaml",
         b"apiVersion: v1\nkind: Secret\ndata:\n  barbican.conf: " + base64.b64encode(conf_text) + b"\n",
         "config inside base64 (Kubernetes Secret)"),
        ("/opt/migrate/kek.txt", key.encode(), "plain"),
        ("/opt/migrate/kek.HEX", raw.hex().upper().encode(), "upper-case hex"),
        ("/usr/local/etc/barbican.conf.xz", lzma.compress(conf_text), "xz"),
        ("/usr/local/share/kek.bz2", bz2.compress(conf_text), "bzip2"),
        ("/etc/ansible/group_vars/barbican.yml", f"barbican_kek: \"{key}\"\n".encode(), "plain, outside /etc/barbican"),
        ("/tmp/kek.txt", key.encode() + b"\n", "plain"),
        ("/mnt/usb/kek.txt", key.encode() + b"\n", "plain"),
        ("/media/kek.txt.gz", gzip.compress(key.encode()), "gzip"),
        ("/boot/kek.txt", key.encode() + b"\n", "plain"),
    ]
    with open(manifest, "w", encoding="utf-8") as m:
        for path, data, how in copies:
            write(root, path, data)
            subject = path
            if path.endswith(".tar.gz"):
                subject = f"{path}!etc/barbican/barbican.conf"
            m.write(f"{subject}\t{how}\n")
    # The home directory belongs to its user, as on a real node.
    os.chown(os.path.join(root, "home/x"), 1000, 1000)


if __name__ == "__main__":
    main()
