#!/usr/bin/python3
"""Oracle: does keystonemiddleware load the auth plugin of each case?

For every case in authplugin_cases.json, builds the ConfigOpts Barbican's API
builds (Barbican's and keystonemiddleware's registries), parses the file, and
asks keystonemiddleware 10.1.0 to create its auth plugin exactly as it does on
the first request (`AuthProtocol._create_auth_plugin`: registers the options
of the plugin `auth_type` names, then reads them through oslo.config, so `$`
interpolation applies). Prints {case: "ok" | "ERROR: <exception>"}; the Rust
test tests/oslo_confirm.rs compares barbican-audit's model with it.
Run with Debian's /usr/bin/python3 (python3-keystonemiddleware).
"""
import json
import logging
import os
import sys
import tempfile

from keystonemiddleware import auth_token

sys.path.insert(0, os.path.dirname(__file__))
from oslo_confirm import new_conf  # noqa: E402

logging.disable(logging.CRITICAL)


def main():
    cases = json.load(open(os.path.join(os.path.dirname(__file__), "authplugin_cases.json")))
    out = {}
    for case in cases:
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "barbican.conf")
            with open(p, "w") as f:
                f.write(case["file"])
            conf = new_conf()
            conf(args=[], default_config_files=[p], default_config_dirs=[])
            try:
                mw = auth_token.AuthProtocol(lambda env, start: None,
                                             {"oslo_config_config": conf})
                mw._create_auth_plugin()
                out[case["name"]] = "ok"
            except Exception as e:
                out[case["name"]] = f"ERROR: {type(e).__name__}"
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
