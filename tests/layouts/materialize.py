#!/usr/bin/env python3
"""Build a layout fixture root from its files and manifest, with owners and modes (run as root).

Usage: materialize.py ROOTDIR LAYOUT host|target

Reads tests/layouts/LAYOUT/VIEW/manifest.tsv (path, type, mode, uid, gid, link_target, source)
and files/<path>. ROOTDIR must not exist or be empty. Parent directories not in the manifest are
created root:root 0755. Directory modes are applied last, deepest first, so a 0555 or 0750
directory does not stop its own contents from being written. Python 3 stdlib only.
Exit status: 0 built, 2 bad arguments or manifest (file and line named), 1 an OS error.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TYPES = ("file", "dir", "symlink")


def fail(msg, code=2):
    sys.stderr.write("materialize: %s\n" % msg)
    sys.exit(code)


def read_manifest(path):
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if n == 1:
                if not line.startswith("path\t"):
                    fail("%s:1: header row missing" % path)
                continue
            cols = line.split("\t")
            if len(cols) != 7:
                fail("%s:%d: %d columns, expected 7" % (path, n, len(cols)))
            p, t, mode, uid, gid, link, src = cols
            if not p.startswith("/") or "/../" in p + "/" or t not in TYPES:
                fail("%s:%d: bad path or type" % (path, n))
            try:
                rows.append((n, p, t, int(mode, 8), int(uid), int(gid), link, src))
            except ValueError:
                fail("%s:%d: mode, uid or gid is not a number" % (path, n))
    return rows


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("host", "target"):
        fail("usage: materialize.py ROOTDIR LAYOUT host|target")
    root, layout, view = sys.argv[1], sys.argv[2], sys.argv[3]
    base = os.path.join(HERE, layout, view)
    manifest = os.path.join(base, "manifest.tsv")
    if "/" in layout or not os.path.isfile(manifest):
        fail("no fixture %s/%s (%s)" % (layout, view, manifest))
    if os.path.exists(root) and os.listdir(root):
        fail("%s exists and is not empty" % root)
    rows = read_manifest(manifest)
    os.makedirs(root, exist_ok=True)
    root = os.path.abspath(root)

    def real(p):
        return root + p

    def parents(p):
        d = os.path.dirname(real(p))
        if not os.path.isdir(d):
            os.makedirs(d, mode=0o755)

    dirs = []
    for n, p, t, mode, uid, gid, link, src in rows:
        if t == "dir":
            os.makedirs(real(p), mode=0o755, exist_ok=True)
            dirs.append((p, mode, uid, gid))
    for n, p, t, mode, uid, gid, link, src in rows:
        if t == "file":
            parents(p)
            with open(os.path.join(base, "files", p.lstrip("/")), "rb") as fh:
                data = fh.read()
            with open(real(p), "wb") as out:
                out.write(data)
            os.chown(real(p), uid, gid)
            os.chmod(real(p), mode)
        elif t == "symlink":
            parents(p)
            os.symlink(link, real(p))
            os.lchown(real(p), uid, gid)
    for p, mode, uid, gid in sorted(dirs, key=lambda d: -d[0].count("/")):
        os.chown(real(p), uid, gid)
        os.chmod(real(p), mode)
    print("%s: %d entries from %s/%s" % (root, len(rows), layout, view))


if __name__ == "__main__":
    try:
        main()
    except OSError as e:
        fail(str(e), 1)
