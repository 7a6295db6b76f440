#!/usr/bin/env python3
"""Questions the real-node suite asks of a barbican-audit JSON report.

    report.py copies REPORT MANIFEST   every planted copy is a BAR-013 finding, nothing else is
    report.py status REPORT CHECK      prints the check's status (its worst finding)
    report.py findings REPORT CHECK    prints the check's findings, one per line
    report.py bar011 REPORT            BAR-011 judges no barbican-audit* unit

Exit 0 when the answer is as expected, 1 otherwise, 2 when the report
cannot be read. Reports hold no key material, so printing them is safe.
"""
import json
import sys

ORDER = ["pass", "na", "waived", "fail", "error"]


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"cannot read the report {path}: {e}")
        sys.exit(2)


def of(report, check):
    return [f for f in report.get("findings", []) if f.get("check_id") == check]


def worst(findings):
    if not findings:
        return "none"
    return max((f.get("status", "?") for f in findings), key=lambda s: ORDER.index(s) if s in ORDER else 99)


def line(f):
    return f"{f.get('status')} {f.get('subject')}: {f.get('message')}"


def main():
    cmd, report = sys.argv[1], load(sys.argv[2])
    if cmd == "copies":
        with open(sys.argv[3], encoding="utf-8") as m:
            planted = dict(l.rstrip("\n").split("\t", 1) for l in m if l.strip())
        found = {}
        for f in of(report, "BAR-013"):
            if f.get("status") in ("fail", "error") and f.get("subject") != "disk":
                found.setdefault(f["subject"], []).append(f)
        missing = sorted(set(planted) - set(found))
        extra = sorted(set(found) - set(planted))
        for s in missing:
            print(f"not found: {s} ({planted[s]})")
        for s in extra:
            for f in found[s]:
                print(f"not planted: {line(f)}")
        tops = sorted({s.split("/")[1] for s in planted})
        print(f"{len(planted) - len(missing)}/{len(planted)} planted copies found in /{{{','.join(tops)}}}")
        for f in of(report, "BAR-013"):
            if f.get("subject") == "disk":
                print(line(f))
        sys.exit(1 if missing or extra else 0)
    if cmd == "status":
        print(worst(of(report, sys.argv[3])))
        return
    if cmd == "findings":
        for f in of(report, sys.argv[3]):
            print(line(f))
        return
    if cmd == "bar011":
        own = [f for f in of(report, "BAR-011") if str(f.get("subject", "")).startswith("barbican-audit")]
        for f in own:
            print(f"judged as a Barbican service: {line(f)}")
        sys.exit(1 if own else 0)
    print(f"report.py: unknown command {cmd}")
    sys.exit(2)


if __name__ == "__main__":
    main()
