#!/usr/bin/env bash
# scan.sh — time the KEK disk scan against ripgrep and cat on the project's
# own test tree (tests/common/tree.rs, built by examples/make_tree.rs).
#
# Builds barbican-audit in release mode, makes the ~800 MB tree once
# (`make_tree DIR 1`, cached under $BENCH_DIR and rebuilt when the generator
# changes), warms the page cache, then measures in one hyperfine run:
#   (a)  our scan: all encodings, raw bytes, gzip/xz/zstd/bzip2 and tar,
#        threads = cores, no scan cache: every byte is read (the first run
#        of a timer)
#   (aw) the same with --cache over an unchanged tree (every later run of
#        the hourly timer): clean files are known by lstat and not read;
#        the files holding planted copies are read every time
#   (b)  rg -uuu -a -F -e <b64> -e <hex> -e <HEX>
#   (c)  (b) plus the raw 32 bytes as a pattern ((?-u:\x..), and -U when the raw
#        key holds a newline: rg cannot search for '\n' otherwise)
#   (d)  find DIR -type f -print0 | xargs -0 cat > /dev/null
#   (a0) for context only: our scan with every *.gz file left out
#   (f)  rg --files -uuu DIR: the walk alone (lists every file, reads none),
#        the reference for (aw), which lstats every file and reads few
#   (a-base), (aw-base) with BASELINE=BIN: (a) and (aw) of another build
#        (say, the commit before a change), in the same hyperfine run, so
#        before and after are compared under the same machine load
# and the peak RSS of (a) and (aw) with /usr/bin/time -v. Prints a/b, a/c,
# aw/b, aw/c and the RSS; the targets are judged on (a), the cold scan.
#
# env: BENCH_DIR (default /tmp/barbican-scan-bench), C_TIMEOUT (seconds
#      allowed for one run of (c), default 900; ripgrep 13 needs minutes for
#      it), RUNS_MAX (default 30),
#      BASELINE (a barbican-audit binary to compare against, optional),
#      SKIP_C=1 (leave (c) out: it takes minutes),
#      TREE + KEK_FILE (bench another root, e.g. a real node's, holding
#      copies of the key in KEK_FILE (base64); copies are then not counted
#      against a manifest).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

BENCH_DIR=${BENCH_DIR:-/tmp/barbican-scan-bench}
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

if [[ -n ${TREE:-} ]]; then
  [[ -d $TREE && -f ${KEK_FILE:-} ]] || { echo "scan.sh: TREE must be a directory and KEK_FILE a file" >&2; exit 2; }
  OWN_TREE=0
else
  TREE=$BENCH_DIR/tree
  KEK_FILE=$TREE.kek
  OWN_TREE=1
fi
# the tree is rebuilt when the generator changes
STAMP=$(cat tests/common/tree.rs examples/make_tree.rs | sha256sum | cut -c1-16)
if ((OWN_TREE)) && [[ $(cat "$BENCH_DIR/tree.stamp" 2>/dev/null) != "$STAMP" || ! -f $TREE.manifest.tsv ]]; then
  echo "--- make_tree $TREE 1 (once; cached)"
  mkdir -p "$BENCH_DIR"
  rm -f "$BENCH_DIR/tree.stamp"
  cargo run --release --quiet --example make_tree -- "$TREE" 1 --force
  echo "$STAMP" > "$BENCH_DIR/tree.stamp"
  sleep 3 # files changed within 2 s of a scan's start are never cached
fi
CACHE=$BENCH_DIR/scan-cache
# TREE.kek holds the fixture key (base64): read it, never print it
KEK_B64=$(cat "$KEK_FILE")
KEK_HEX=$(python3 -c 'import base64, sys; print(base64.b64decode(sys.argv[1]).hex())' "$KEK_B64")
KEK_HEX_UPPER=$(printf '%s' "$KEK_HEX" | tr a-f A-F)
KEK_RAW_ESC=$(printf '%s' "$KEK_HEX" | sed 's/../\\x&/g')
# The copies the scan command must name: every plant row (the config itself
# is BAR-006's and the scan leaves it out), by subject /path[!member].
plants() {
  ((OWN_TREE)) || return 0
  awk -F'\t' \
    '$8 == "plant" { print "/" $3 ($4 == "-" ? "" : "!" $4) }' \
    "$TREE.manifest.tsv" | sort -u
}
PLANTS=$(plants | wc -l)
# found FILE: how many of the plants a JSON report names (copies of the KEK, not kek = ...)
found() {
  /usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
want = set(open(sys.argv[2]).read().split("\n")) - {""}
hits = {f["subject"] for f in r["findings"] if f["status"] == "fail" and f["evidence"].get("encoding") != "kek-assignment"}
print(len(want & hits), r["scan"]["errors"], r["scan"].get("unchanged_files", 0))' "$1" <(plants)
}

echo "--- warm the page cache"
for _ in 1 2; do find "$TREE" -type f -print0 | xargs -0 cat > /dev/null; done
$SCAN "$TREE" --quiet > /dev/null || true

echo "--- correctness of (a)"
# exit status 1 = copies found
REPORT=$BENCH_DIR/report.json
$SCAN "$TREE" --quiet --format json > "$REPORT" || true
read -r found errors _ < <(found "$REPORT")
echo "planted copies found: $found of $PLANTS (errors: $errors)"

echo "--- fill the scan cache for (aw), then check that (aw) finds the same"
rm -f "$CACHE"
$SCAN "$TREE" --quiet --cache "$CACHE" > /dev/null || true
$SCAN "$TREE" --quiet --cache "$CACHE" --format json > "$REPORT" || true
read -r found_w _ unchanged < <(found "$REPORT")
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
F="rg --files -uuu $TREE > /dev/null"
extra=()
if [[ -n ${BASELINE:-} ]]; then
  BCACHE=$BENCH_DIR/scan-cache.baseline
  rm -f "$BCACHE"
  "$BASELINE" scan --root "$TREE" --quiet --cache "$BCACHE" > /dev/null || true
  extra+=(-n "(a-base) baseline scan" "$BASELINE scan --root $TREE --quiet"
    -n "(aw-base) baseline scan --cache" "$BASELINE scan --root $TREE --quiet --cache $BCACHE")
fi
if [[ ${SKIP_C:-0} != 1 ]]; then
  extra+=(-n "(c) rg + raw bytes" "$C")
fi

echo "--- hyperfine ($CORES cores; rg: $(rg --version | awk "NR == 1"); (c) runs once if it takes minutes)"
# named commands: hyperfine prints the names, not the key; the JSON export
# holds the commands and stays next to the manifest that holds the key anyway
JSON=$BENCH_DIR/hyperfine.json
# -i: the scan exits 1 when it finds copies, rg exits 1 when it does not
hyperfine -i --warmup 0 --min-runs 1 --max-runs "$RUNS_MAX" --export-json "$JSON" \
  -n "(a) scan" "$A" -n "(b) rg -F b64 hex HEX" "$B" \
  -n "(d) find | xargs cat" "$D" -n "(a0) scan without *.gz" "$A0" \
  -n "(aw) scan --cache, unchanged tree" "$AW" -n "(f) rg --files" "$F" "${extra[@]}"

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
names = [("(a)", "scan"), ("(b)", "rg -F"), ("(c)", "rg + raw"), ("(d)", "cat"), ("(a0)", "scan w/o gz"),
         ("(aw)", "scan cached"), ("(f)", "rg --files"), ("(a-base)", "base scan"), ("(aw-base)", "base cached")]
for k, name in names:
    if k not in res:
        continue
    r = res[k]
    print(f"{name:12s} mean {r['mean']*1000:10.1f} ms  (user {r['user']*1000:.0f} ms, sys {r['system']*1000:.0f} ms, {len(r['times'])} runs)")
ab, wb, wf = t["(a)"] / t["(b)"], t["(aw)"] / t["(b)"], t["(aw)"] / t["(f)"]
print(f"a/b = {ab:.2f}  (cold scan vs rg -F text forms; target <= 1.0)  {'ok' if ab <= 1.0 else 'MISSED'}")
if "(c)" in t:
    ac = t["(a)"] / t["(c)"]
    print(f"a/c = {ac:.4f}  (target <= 0.5)  {'ok' if ac <= 0.5 else 'MISSED'}")
print(f"aw/f = {wf:.2f}  (cached rescan vs rg --files)")
if "(a-base)" in t:
    print(f"baseline: a/b = {t['(a-base)'] / t['(b)']:.2f}, aw/f = {t['(aw-base)'] / t['(f)']:.2f};"
          f" after/before: cold {t['(a)'] / t['(a-base)']:.2f}, cached {t['(aw)'] / t['(aw-base)']:.2f}")
print(f"peak RSS (a) = {rss_mib:.1f} MiB  (target <= 64)  {'ok' if rss_mib <= 64 else 'MISSED'}")
print(f"planted copies found {sys.argv[4]}/{sys.argv[5]}  {'ok' if sys.argv[4] == sys.argv[5] else 'MISSED'}")
print(f"with the scan cache, unchanged tree: aw/b = {wb:.2f}, peak RSS {rss_w_mib:.1f} MiB, "
      f"copies found {sys.argv[7]}/{sys.argv[5]}")
EOF
