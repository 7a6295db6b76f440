#!/usr/bin/python3
"""Validates JSON reports against a JSON Schema with Debian's python3-jsonschema.

usage: report_schema.py SCHEMA [REPORT...]   (no REPORT: one report on stdin)

Checks the schema itself against its draft 2020-12 meta-schema, then every
report. Prints nothing and exits 0 when all conform; otherwise prints, per
bad report, the first violation as "NAME: /json/pointer: message" and exits 1.
"""
import json
import sys

import jsonschema


def first_violation(validator, report):
    errors = sorted(validator.iter_errors(report), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return None
    e = errors[0]
    pointer = "/" + "/".join(str(p) for p in e.absolute_path)
    return "%s: %s" % (pointer, e.message[:300])


def main(argv):
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    inputs = [(p, open(p, encoding="utf-8")) for p in argv[2:]] or [("stdin", sys.stdin)]
    bad = 0
    for name, f in inputs:
        with f:
            report = json.load(f)
        v = first_violation(validator, report)
        if v is not None:
            print("%s: %s" % (name, v))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
