#!/usr/bin/env python3
"""Self-test of the layout fixtures: every manifest row has its file and every file its row,
every row cites a source, types, modes and ids parse, symlinks have targets and files do not.

Usage: check_manifests.py   (exit 0 all good, 1 problems, each printed as file:line: problem)
Python 3 stdlib only.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def check_view(base):
    problems = []
    manifest = os.path.join(base, "manifest.tsv")
    seen = {}
    with open(manifest, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    if lines[0] != "path\ttype\tmode\tuid\tgid\tlink_target\tsource":
        problems.append("%s:1: header is not path type mode uid gid link_target source" % manifest)
    for n, line in enumerate(lines[1:], 2):
        if line == "":
            continue
        cols = line.split("\t")
        if len(cols) != 7:
            problems.append("%s:%d: %d columns" % (manifest, n, len(cols)))
            continue
        p, t, mode, uid, gid, link, src = cols
        where = "%s:%d: %s" % (manifest, n, p)
        if p in seen:
            problems.append("%s: listed twice (line %d)" % (where, seen[p]))
        seen[p] = n
        if not p.startswith("/"):
            problems.append("%s: path not absolute" % where)
        if t not in ("file", "dir", "symlink"):
            problems.append("%s: type %r" % (where, t))
        if not (len(mode) == 4 and all(c in "01234567" for c in mode)):
            problems.append("%s: mode %r is not 4 octal digits" % (where, mode))
        if not (uid.isdigit() and gid.isdigit()):
            problems.append("%s: uid/gid not numeric" % where)
        if not src.strip():
            problems.append("%s: no source" % where)
        if (t == "symlink") != bool(link):
            problems.append("%s: link_target must be set exactly for symlinks" % where)
        f = os.path.join(base, "files", p.lstrip("/"))
        if t == "file" and not os.path.isfile(f):
            problems.append("%s: files/%s missing" % (where, p.lstrip("/")))
        if t == "symlink" and os.path.lexists(f):
            problems.append("%s: symlink row but files/ holds something there" % where)
        if t == "dir" and os.path.lexists(f) and not os.path.isdir(f):
            problems.append("%s: dir row but files/ holds a non-directory" % where)
    files_root = os.path.join(base, "files")
    for d, _, names in os.walk(files_root):
        for name in names:
            rel = "/" + os.path.relpath(os.path.join(d, name), files_root)
            if rel not in seen:
                problems.append("%s: files%s has no manifest row" % (manifest, rel))
            elif lines[seen[rel] - 1].split("\t")[1] != "file":
                problems.append("%s:%d: files%s exists but the row is not type file" % (manifest, seen[rel], rel))
    return problems, len(seen)


def main():
    problems, views = [], 0
    for layout in sorted(os.listdir(HERE)):
        for view in ("host", "target"):
            base = os.path.join(HERE, layout, view)
            if os.path.isfile(os.path.join(base, "manifest.tsv")):
                p, n = check_view(base)
                problems += p
                views += 1
                print("%s/%s: %d rows, %d problems" % (layout, view, n, len(p)))
    for p in problems:
        print(p)
    if views == 0:
        print("no fixtures found")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
