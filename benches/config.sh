#!/usr/bin/env bash
# Benchmark: parsing a 5,000-line barbican.conf, in-process, barbican-audit's
# oslo.config reader against Debian's real oslo.config (iniparser + the
# ConfigParser Barbican uses) on the same file, in the same run.
# Target: under 10 ms for barbican-audit. Prints both medians and the ratio.
# Usage: bash benches/config.sh   (installs barbican-common for oslo.config if missing)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import oslo_config' 2>/dev/null || {
  [ "$(id -u)" -eq 0 ] || { echo "benches/config.sh: needs oslo.config (apt-get install barbican-common)" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq barbican-common >/dev/null
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
conf=$tmp/barbican.conf
# 5,000 lines shaped like a real barbican.conf: sections, comments, options,
# quoted values, continuation lines, repeated MultiStr keys.
/usr/bin/python3 - "$conf" <<'PY'
import sys
out, n, s = [], 0, 0
while len(out) < 5000:
    out.append(f"[section_{s}]")
    for k in range(20):
        out.append(f"# help text for option_{k}: what it does and its default")
        out.append(f"option_{k} = 'value {s}.{k} with some text'")
        if k % 5 == 0:
            out.append("  continued line of the previous value")
        if k % 7 == 0:
            out.append(f"multi = item{k}")
    out.append("")
    s += 1
open(sys.argv[1], "w").write("\n".join(out[:5000]) + "\n")
PY
cargo bench --quiet --bench parse -- "$conf" 300 > "$tmp/rust.txt"
rust=$(sed -n 's/.*median=\([0-9.]*\).*/\1/p' "$tmp/rust.txt")
py=$(/usr/bin/python3 - "$conf" <<'PY'
import statistics, sys, time
from oslo_config import cfg
path = sys.argv[1]
times = []
for _ in range(50):
    t = time.perf_counter()
    sections = {}
    cfg.ConfigParser(path, sections).parse()
    times.append((time.perf_counter() - t) * 1e6)
print(f"{statistics.median(times):.1f}")
PY
)
echo "lines: $(wc -l < "$conf")"
echo "barbican-audit parse median: ${rust} us"
echo "oslo.config    parse median: ${py} us"
awk -v r="$rust" -v p="$py" 'BEGIN { printf "ratio barbican-audit/oslo.config: %.3f\n", r / p; exit (r < 10000 ? 0 : 1) }'
