#!/usr/bin/env bash
# Benchmark: `barbican-audit audit` of a copy of the stock Debian /etc/barbican
# under --root (no scan), measured as a whole process with hyperfine against
# `find ... -exec stat -L {} +` of the same files, in the same run; then the
# peak RSS of the audit with GNU time.
#
# Target (2-core machine): audit wall time under 20 ms, peak RSS under 16 MiB.
#
# Usage: sudo bash benches/audit.sh
#   Runs as root: the copy must keep the real ownership (cp -a) and the stock
#   /etc/barbican is barbican:barbican 0750. Installs hyperfine, time and
#   barbican-common with apt-get when they are missing (Debian 12).
# Environment:
#   BARBICAN_AUDIT_BIN  binary to measure (default: target/release/barbican-audit,
#                       built with `cargo build --release` when missing or older
#                       than the sources)
#   BENCH_OUT           where the hyperfine exports go (default: target/bench)
#   RUNS                hyperfine runs per command (default 30)
# Exit status: 0 measured and within target, 1 measured but a target was
# missed, 2 the benchmark could not run.
set -euo pipefail

TARGET_MS=20
TARGET_RSS_KIB=$((16 * 1024))
RUNS=${RUNS:-30}

die() { echo "benches/audit.sh: $*" >&2; exit 2; }
trap 'echo "benches/audit.sh: failed at line $LINENO" >&2; exit 2' ERR

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

[ "$(id -u)" -eq 0 ] || die "run as root (sudo bash benches/audit.sh): cp -a must keep ownership and /etc/barbican is 0750 barbican"

# --- tools -------------------------------------------------------------------
need_pkgs=()
command -v hyperfine >/dev/null || need_pkgs+=(hyperfine)
[ -x /usr/bin/time ] || need_pkgs+=(time)
[ -d /etc/barbican ] || need_pkgs+=(barbican-common)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "missing ${need_pkgs[*]} and no apt-get"
    echo "installing: ${need_pkgs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
[ -d /etc/barbican ] || die "/etc/barbican missing after installing barbican-common"

# --- binary ------------------------------------------------------------------
bin=${BARBICAN_AUDIT_BIN:-target/release/barbican-audit}
if [ -z "${BARBICAN_AUDIT_BIN:-}" ]; then
    if [ ! -x "$bin" ] || [ -n "$(find src checks build.rs Cargo.toml Cargo.lock -newer "$bin" -print -quit 2>/dev/null)" ]; then
        command -v cargo >/dev/null || die "cargo not found: install Rust (rustup, or apt install cargo if 1.80+)"
        echo "building release binary" >&2
        cargo build --release --quiet
    fi
fi
[ -x "$bin" ] || die "no binary at $bin"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# --- temp root: a copy of the stock tree with its real ownership -------------
work=$(mktemp -d /tmp/barbican-audit-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/etc" "$root/var/lib/dpkg"
cp -a /etc/barbican "$root/etc/"
grep -E '^(root|barbican):' /etc/passwd >"$root/etc/passwd"
grep -E '^(root|barbican):' /etc/group >"$root/etc/group"
grep -q '^barbican:' "$root/etc/group" || die "no barbican group on this host"
# The barbican-common stanza, so the checks apply (they are `na` without Barbican).
awk -v RS= -v ORS='\n\n' '/^Package: barbican-common\n/' /var/lib/dpkg/status >"$root/var/lib/dpkg/status"
[ -s "$root/var/lib/dpkg/status" ] || die "barbican-common not in /var/lib/dpkg/status"
hostname >"$root/etc/hostname"

audit_cmd="$bin audit --root $root --format json"
find_cmd="find $root/etc/barbican -exec stat -L {} +"

# Sanity: the audit must run (exit 0 or 1, JSON out); -i below would hide an exit 2.
rc=0
out=$($audit_cmd) || rc=$?
[ "$rc" -le 1 ] || die "audit exited $rc: $audit_cmd"
grep -q '"schema_version": 1' <<<"$out" || die "audit printed no JSON report"
files=$(find "$root/etc/barbican" | wc -l)
echo "root: $root ($files paths under etc/barbican), audit exit status $rc"

# --- wall time ---------------------------------------------------------------
out_dir=${BENCH_OUT:-target/bench}
mkdir -p "$out_dir"
json="$out_dir/audit.json"
csv="$out_dir/audit.csv"
hyperfine --warmup 3 --runs "$RUNS" -N -i --style basic \
    --export-json "$json" --export-csv "$csv" \
    -n audit "$audit_cmd" \
    -n find-stat "$find_cmd"

# CSV columns: command,mean,stddev,median,user,system,min,max (seconds)
field() { awk -F, -v n="$1" -v c="$2" '$1 == n { print $c }' "$csv"; }
a_mean=$(field audit 2); a_med=$(field audit 4)
f_mean=$(field find-stat 2); f_med=$(field find-stat 4)
[ -n "$a_med" ] && [ -n "$f_med" ] || die "could not read $csv"

# --- peak RSS ----------------------------------------------------------------
rss=0
for _ in 1 2 3 4 5; do
    /usr/bin/time -v -o "$work/time.txt" $audit_cmd >/dev/null 2>&1 || true
    r=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
    [ -n "$r" ] || die "no RSS from /usr/bin/time"
    if [ "$r" -gt "$rss" ]; then rss=$r; fi
done

echo
awk -v am="$a_mean" -v ad="$a_med" -v fm="$f_mean" -v fd="$f_med" 'BEGIN {
    printf "audit      mean %7.2f ms  median %7.2f ms\n", am * 1000, ad * 1000
    printf "find-stat  mean %7.2f ms  median %7.2f ms\n", fm * 1000, fd * 1000
    printf "ratio audit/find-stat: mean %.2f, median %.2f\n", am / fm, ad / fd
}'
echo "max RSS: $rss KiB"
echo "exports: $json $csv"

status=0
if awk -v t="$a_med" -v lim="$TARGET_MS" 'BEGIN { exit !(t * 1000 < lim) }'; then
    echo "target wall time < ${TARGET_MS} ms (median): met"
else
    echo "target wall time < ${TARGET_MS} ms (median): MISSED"; status=1
fi
if [ "$rss" -lt "$TARGET_RSS_KIB" ]; then
    echo "target peak RSS < 16 MiB: met"
else
    echo "target peak RSS < 16 MiB: MISSED"; status=1
fi
exit "$status"
