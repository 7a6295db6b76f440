#!/usr/bin/env bash
# bench.sh — time the KEK disk scan against ripgrep and cat on the shared fixture.
#
# Builds barbican-audit in release mode, makes the ~800 MB
# tree once (make_tree.sh DIR 1, cached under $BENCH_DIR), warms the page
# cache, then measures in one hyperfine run:
#   (a)  our scan: all encodings, raw bytes, gzip and tar, threads = cores,
#        no scan cache: every byte is read (the first run of a timer)
#   (aw) the same with --cache over an unchanged tree (every later run of
#        the hourly timer): clean files are known by lstat and not read;
#        the files holding planted copies are read every time
#   (b)  rg -uuu -a -F -e <b64> -e <hex> -e <HEX>
#   (c)  (b) plus the raw 32 bytes as a pattern ((?-u:\x..), and -U when the raw
#        key holds a newline: rg cannot search for '\n' otherwise)
#   (d)  find DIR -type f -print0 | xargs -0 cat > /dev/null
#   (a0) for context only: our scan with every *.gz file left out
# and the peak RSS of (a) and (aw) with /usr/bin/time -v. Prints a/b, a/c,
# aw/b, aw/c and the RSS; the targets are judged on (a), the cold scan.
#
# env: BENCH_DIR (default /tmp/barbican-scan-bench), MAKE_TREE (path of
#      make_tree.sh), C_TIMEOUT (seconds allowed for one run of (c), default 900;
#      ripgrep 13 needs minutes for it), RUNS_MAX (default 30).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

BENCH_DIR=${BENCH_DIR:-/tmp/barbican-scan-bench}
MAKE_TREE=${MAKE_TREE:-}
for c in "$MAKE_TREE" ../shared/bench/make_tree.sh; do
  if [[ -n $c && -f $c ]]; then MAKE_TREE=$c; break; fi
done
[[ -f $MAKE_TREE ]] || { echo "bench.sh: make_tree.sh not found (set MAKE_TREE)" >&2; exit 2; }
C_TIMEOUT=${C_TIMEOUT:-900}
RUNS_MAX=${RUNS_MAX:-30}

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v rg >/dev/null || need+=(ripgrep)
[[ -x /usr/bin/time ]] || need+=(time)
if ((${#need[@]})); then
  echo "--- apt-get install ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "--- build"
cargo build --release 2>&1 | tail -n 1
SCAN="$PWD/target/release/barbican-audit scan --root"

TREE=$BENCH_DIR/tree
if ! grep -qx $'# scale\t1' "$TREE.manifest.tsv" 2>/dev/null; then
  echo "--- make_tree.sh $TREE 1 (once; cached)"
  mkdir -p "$BENCH_DIR"
  FORCE=1 bash "$MAKE_TREE" "$TREE" 1
  sleep 3 # files changed within 2 s of a scan's start are never cached
fi
CACHE=$BENCH_DIR/scan-cache
# the manifest and kek.env hold the fixture key: read them, never print them
KEK_B64=$(awk -F'\t' '$1 == "# kek_b64" {print $2}' "$TREE.manifest.tsv")
KEK_HEX=$(awk -F'\t' '$1 == "# kek_hex" {print $2}' "$TREE.manifest.tsv")
KEK_HEX_UPPER=$(awk -F'\t' '$1 == "# kek_hex_upper" {print $2}' "$TREE.manifest.tsv")
KEK_RAW_ESC=$(printf '%s' "$KEK_HEX" | sed 's/../\\x&/g')
export KEK_B64
PLANTS=$(awk -F'\t' '$8 == "plant"' "$TREE.manifest.tsv" | wc -l)

echo "--- warm the page cache"
for _ in 1 2; do find "$TREE" -type f -print0 | xargs -0 cat > /dev/null; done
$SCAN "$TREE" --quiet > /dev/null || true

echo "--- correctness of (a)"
# exit status 1 = copies found
out=$($SCAN "$TREE" --quiet --format json || true)
read -r found errors < <(/usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
hits = {f["subject"].split("!")[0] for f in r["findings"] if f["status"] == "fail" and f["evidence"].get("encoding") != "kek-assignment"}
print(len(hits), r["scan"]["errors"])' <<<"$out")
# The plant in etc/barbican/barbican.conf is the config itself (BAR-006), not a copy.
PLANTS=$((PLANTS - 1))
echo "planted copies found: $found of $PLANTS (errors: $errors)"

echo "--- fill the scan cache for (aw), then check that (aw) finds the same"
rm -f "$CACHE"
$SCAN "$TREE" --quiet --cache "$CACHE" > /dev/null || true
out=$($SCAN "$TREE" --quiet --cache "$CACHE" --format json || true)
read -r found_w unchanged < <(/usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
hits = {f["subject"].split("!")[0] for f in r["findings"] if f["status"] == "fail" and f["evidence"].get("encoding") != "kek-assignment"}
print(len(hits), r["scan"].get("unchanged_files", 0))' <<<"$out")
echo "planted copies found with the cache: $found_w of $PLANTS ($unchanged files known from the cache, not read)"

B64_RE=$(printf '%s' "$KEK_B64" | sed 's/[+.]/\\&/g')
multiline=""
[[ $KEK_HEX =~ ^(..)*0a ]] && multiline="-U"
CORES=$(nproc)
A="$SCAN $TREE --quiet"
A0="$SCAN $TREE --quiet --exclude '**/*.gz'"
AW="$SCAN $TREE --quiet --cache $CACHE"
B="rg -uuu -a -F -c -e '$KEK_B64' -e $KEK_HEX -e $KEK_HEX_UPPER $TREE > /dev/null"
C="timeout $C_TIMEOUT rg -uuu -a $multiline -c -e '$B64_RE' -e $KEK_HEX -e $KEK_HEX_UPPER -e '(?-u:$KEK_RAW_ESC)' $TREE > /dev/null"
D="find $TREE -type f -print0 | xargs -0 cat > /dev/null"

echo "--- hyperfine ($CORES cores; rg: $(rg --version | awk "NR == 1"); (c) runs once if it takes minutes)"
# named commands: hyperfine prints the names, not the key; the JSON export
# holds the commands and stays next to the manifest that holds the key anyway
JSON=$BENCH_DIR/hyperfine.json
# -i: the scan exits 1 when it finds copies, rg exits 1 when it does not
hyperfine -i --warmup 0 --min-runs 1 --max-runs "$RUNS_MAX" --export-json "$JSON" \
  -n "(a) scan" "$A" -n "(b) rg -F b64 hex HEX" "$B" -n "(c) rg + raw bytes" "$C" \
  -n "(d) find | xargs cat" "$D" -n "(a0) scan without *.gz" "$A0" \
  -n "(aw) scan --cache, unchanged tree" "$AW"

echo "--- peak RSS of (a)"
peak_rss() { { /usr/bin/time -v "$@" > /dev/null || true; } 2>&1 | awk -F': ' '/Maximum resident set size/ {print $2}'; }
RSS_KB=$(peak_rss $SCAN "$TREE" --quiet)
RSS_W_KB=$(peak_rss $SCAN "$TREE" --quiet --cache "$CACHE")

python3 - "$JSON" "$RSS_KB" "$CORES" "$found" "$PLANTS" "$RSS_W_KB" "$found_w" <<'EOF'
import json, sys
res = {r["command"].split(" ")[0]: r for r in json.load(open(sys.argv[1]))["results"]}
t = {k: v["mean"] for k, v in res.items()}
rss_mib, rss_w_mib = int(sys.argv[2]) / 1024, int(sys.argv[6]) / 1024
print(f"cores {sys.argv[3]}")
for k, name in [("(a)", "scan"), ("(b)", "rg -F"), ("(c)", "rg + raw"), ("(d)", "cat"), ("(a0)", "scan w/o gz"), ("(aw)", "scan cached")]:
    r = res[k]
    print(f"{name:12s} mean {r['mean']*1000:10.1f} ms  (user {r['user']*1000:.0f} ms, sys {r['system']*1000:.0f} ms, {len(r['times'])} runs)")
ab, ac = t["(a)"] / t["(b)"], t["(a)"] / t["(c)"]
wb, wc = t["(aw)"] / t["(b)"], t["(aw)"] / t["(c)"]
print(f"a/b = {ab:.2f}  (target <= 1.0)  {'ok' if ab <= 1.0 else 'MISSED'}")
print(f"a/c = {ac:.4f}  (target <= 0.5)  {'ok' if ac <= 0.5 else 'MISSED'}")
print(f"peak RSS (a) = {rss_mib:.1f} MiB  (target <= 64)  {'ok' if rss_mib <= 64 else 'MISSED'}")
print(f"planted copies found {sys.argv[4]}/{sys.argv[5]}  {'ok' if sys.argv[4] == sys.argv[5] else 'MISSED'}")
print(f"with the scan cache, unchanged tree: aw/b = {wb:.2f}, aw/c = {wc:.4f}, peak RSS {rss_w_mib:.1f} MiB, "
      f"copies found {sys.argv[7]}/{sys.argv[5]}")
EOF
