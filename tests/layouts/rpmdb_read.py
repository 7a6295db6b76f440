#!/usr/bin/env python3
"""Read package NAME/EPOCH/VERSION/RELEASE from an rpm >= 4.16 SQLite database without rpm.

Usage: rpmdb_read.py ROOT/var/lib/rpm/rpmdb.sqlite [NAME...]

Format (rpm's lib/backend/sqlite.c and lib/header.c): table Packages(hnum INTEGER PRIMARY KEY,
blob BLOB); each blob is a header without the 8-byte magic: be32 il (index entries), be32 dl
(data bytes), il * 16-byte entries (be32 tag, type, offset, count), then dl bytes of data.
Tags: 1000 NAME, 1001 VERSION, 1002 RELEASE (type 6 STRING, NUL-terminated at offset),
1003 EPOCH (type 4 INT32, absent when the package has no epoch). The table Name(key, hnum, idx)
indexes the names. Python stdlib only; the database is opened read-only (immutable=1, so a
read-only mount and a missing -wal/-shm are fine).
"""
import sqlite3
import struct
import sys

TAGS = {1000: "name", 1001: "version", 1002: "release", 1003: "epoch"}


def parse(blob):
    il, dl = struct.unpack(">II", blob[:8])
    if il > 100000 or 8 + il * 16 + dl > len(blob):
        raise ValueError("header counts exceed the blob")
    store = blob[8 + il * 16:8 + il * 16 + dl]
    out = {}
    for i in range(il):
        tag, typ, off, cnt = struct.unpack(">IIII", blob[8 + i * 16:24 + i * 16])
        if tag not in TAGS or off >= len(store):
            continue
        if typ == 6:  # STRING
            end = store.index(b"\0", off)
            out[TAGS[tag]] = store[off:end].decode("utf-8", "replace")
        elif typ == 4 and cnt >= 1:  # INT32
            out[TAGS[tag]] = struct.unpack(">I", store[off:off + 4])[0]
    return out


def main():
    db = sqlite3.connect("file:%s?mode=ro&immutable=1" % sys.argv[1], uri=True)
    want = set(sys.argv[2:])
    for (blob,) in db.execute("SELECT blob FROM Packages"):
        h = parse(bytes(blob))
        if want and h.get("name") not in want:
            continue
        epoch = "%s:" % h["epoch"] if "epoch" in h else ""
        print("%s %s%s-%s" % (h.get("name"), epoch, h.get("version"), h.get("release")))


if __name__ == "__main__":
    main()
