#!/usr/bin/python3
"""Oracle: what Debian's real oslo.config makes of each case in oslo_cases.json.

Prints one JSON object {case: {"group.key": value | "ERROR: ..."}}. Values
are reported as oslo.config returns them (lists joined with "|", booleans as
true/false). The Rust test tests/oslo_confirm.rs compares the auditor's
model against this output, so our reading cannot drift from oslo.config's.
Run with Debian's /usr/bin/python3 (barbican-common installs the libraries).
"""
import json
import os
import sys
import tempfile

from oslo_config import cfg, generator

NAMESPACES = ["barbican.common.config", "barbican.plugin.crypto", "barbican.plugin.crypto.p11",
              "barbican.plugin.crypto.simple", "keystonemiddleware.auth_token"]


def new_conf():
    conf = cfg.ConfigOpts()
    for _ns, groups in generator._list_opts(NAMESPACES):
        for group, opts in groups:
            name = getattr(group, "name", group) or "DEFAULT"
            conf.register_opts(opts, group=None if name == "DEFAULT" else name)
    return conf


def render(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "|".join(str(x) for x in v)
    return "" if v is None else str(v)


def main():
    cases = json.load(open(os.path.join(os.path.dirname(__file__), "oslo_cases.json")))
    out = {}
    for case in cases:
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for i, text in enumerate(case["files"]):
                p = os.path.join(d, f"{i}.conf")
                with open(p, "w") as f:
                    f.write(text)
                paths.append(p)
            res = {}
            conf = new_conf()
            try:
                conf(args=[], default_config_files=paths, default_config_dirs=[])
                loaded = None
            except Exception as e:  # parse errors surface here
                loaded = f"ERROR: {type(e).__name__}"
            for group, key in case["queries"]:
                k = f"{group}.{key}"
                if loaded:
                    res[k] = loaded
                    continue
                try:
                    g = conf if group == "DEFAULT" else getattr(conf, group)
                    res[k] = render(getattr(g, key))
                except Exception as e:
                    res[k] = f"ERROR: {type(e).__name__}"
            out[case["name"]] = res
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
