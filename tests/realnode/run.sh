#!/usr/bin/env bash
# The real-node end-to-end suite: a Debian 12 Barbican node (barbican-api
# from Debian under uwsgi, node_exporter, systemd as PID 1) booted in
# private PID, mount, network, UTS and IPC namespaces, with a KEK in
# barbican.conf and copies of it all over the disk. It installs
# barbican-audit and its units, and checks what the units promise:
#
#  - barbican-audit.service, started as its timer starts it, succeeds under
#    its full sandbox, and its report names every planted copy;
#  - node_exporter serves its textfile over HTTP inside the node;
#  - the agent unit delivers to a collector unit on the same node;
#  - the units log no warnings; BAR-011 does not judge the auditor's units;
#  - BAR-004 agrees with the served API: 401 with the stock paste file,
#    not 401 with /v1 on an unauthenticated pipeline.
#
# Usage: tests/realnode/run.sh   (as root; CI runs it after cargo test)
#   BARBICAN_AUDIT_BIN   the binary to install (default target/debug/barbican-audit)
#   REALNODE_DEB         install this .deb instead (dpkg -i), check the man page
#                        and the units it enables, and dpkg --purge at the end
#   REALNODE_CACHE_DIR   where the root tarball is cached (see build-root.sh)
#   REALNODE_KEEP=1      keep the node's directory after the run (for debugging)
# Prints one summary line; exits 1 when a check failed, 2 when the node
# could not be built or booted.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BIN=${BARBICAN_AUDIT_BIN:-$repo/target/debug/barbican-audit}
DEB=${REALNODE_DEB:-}
NODE=realnode
t0=$(date +%s)

say() { echo "realnode: $*"; }
die() { say "$*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "run as root (it boots a node in namespaces)"
[ -n "$DEB" ] || [ -x "$BIN" ] || die "no binary at $BIN: cargo build first, or set BARBICAN_AUDIT_BIN"
[ -z "$DEB" ] || [ -f "$DEB" ] || die "REALNODE_DEB=$DEB is not a file"
for tool in unshare nsenter curl python3 zstd mkfs.ext4; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done

passed=0 failed=0 failures=()
ok() { passed=$((passed + 1)); say "ok   $1"; }
bad() {
  failed=$((failed + 1)); failures+=("$1"); say "FAIL $1"
  # The excerpt that explains it (reports and journals hold no key material).
  [ $# -lt 2 ] || printf '%s\n' "$2" | tail -n "${3:-40}" | sed 's/^/    | /'
}
lap_t=$t0
lap() { local now; now=$(date +%s); say "time $1: $((now - lap_t)) s"; lap_t=$now; }

# ---- the root ------------------------------------------------------------
tarball=$(bash "$here/build-root.sh") || die "the node's root could not be built"
lap "root tarball"

node_dir=$(mktemp -d /var/tmp/barbican-audit-realnode.XXXXXX)
root="$node_dir/root"
unshare_pid="" pid1=""
# The node's own cgroup in every hierarchy this process is in, so the
# node's systemd manages a subtree and everything is removed afterwards.
cg_name="barbican-audit-$NODE-$$"
cg_dirs=()
while IFS=: read -r _ ctrl path; do
  if [ -z "$ctrl" ]; then mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
  else mnt=$(awk -v c="$ctrl" '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] == c || ("name=" substr(c, 6)) == o[i]) { print $2; exit } }' /proc/self/mounts)
  fi
  [ -n "$mnt" ] && [ -d "$mnt${path%/}" ] && cg_dirs+=("$mnt${path%/}/$cg_name")
done </proc/self/cgroup

teardown() {
  local rc=$? i d
  if [ -n "$pid1" ] && kill -0 "$pid1" 2>/dev/null; then
    kill -KILL "$pid1" 2>/dev/null || true   # PID 1 of the namespace: every node process dies
  fi
  if [ -n "$unshare_pid" ]; then
    for i in $(seq 100); do kill -0 "$unshare_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$unshare_pid" 2>/dev/null || true
  fi
  for d in "${cg_dirs[@]}"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  if [ "${REALNODE_KEEP:-0}" = 1 ]; then
    say "kept $node_dir (its disk is mounted on $root: umount it, then rm -rf)"
  else
    if mountpoint -q "$root"; then
      for i in 1 2 3 4 5; do umount "$root" 2>/dev/null && break; sleep 1; done
      mountpoint -q "$root" && { umount -l "$root" || true; }
    fi
    # --one-file-system: should the disk still be mounted, its files stay.
    rm -rf --one-file-system "$node_dir"
  fi
  say "time teardown: $(($(date +%s) - lap_t)) s"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 2' INT TERM

# The node's disk: an ext4 filesystem of its own (on a loop device), as a
# real root is. Unpacking into it is fast, and so is throwing it away: 30,000
# files deleted one by one from a disk mounted with discard took 100 s.
mkdir -m 0755 "$root"
truncate -s 4G "$node_dir/disk.img"
mkfs.ext4 -q -F -L "$NODE" "$node_dir/disk.img"
mount -o loop "$node_dir/disk.img" "$root"
zstd -dc "$tarball" | tar --numeric-owner --xattrs --acls -C "$root" -xf -
chmod 0755 "$root"
echo "$NODE" >"$root/etc/hostname"
lap "unpack"

# ---- the node's Barbican, before it boots ---------------------------------
# SQLite for Barbican's database (Debian configures none without debconf
# answers), and fewer uwsgi workers than the 8x32 Debian ships.
python3 - "$root/etc/barbican/barbican.conf" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
s, n = re.subn(r"(?m)^#?\s*sql_connection\s*=.*$", "sql_connection = sqlite:////var/lib/barbican/barbican.sqlite", s, count=1)
if n == 0:
    s = s.replace("[DEFAULT]\n", "[DEFAULT]\nsql_connection = sqlite:////var/lib/barbican/barbican.sqlite\n", 1)
# Barbican creates its tables when it starts.
s, n = re.subn(r"(?m)^#?\s*db_auto_create\s*=.*$", "db_auto_create = true", s, count=1)
if n == 0:
    s = s.replace("[DEFAULT]\n", "[DEFAULT]\ndb_auto_create = true\n", 1)
open(p, "w", encoding="utf-8").write(s)
PY
sed -i -e 's/^processes = .*/processes = 2/' -e 's/^threads = .*/threads = 4/' "$root/etc/barbican/barbican-api-uwsgi.ini"
cp -p "$root/etc/barbican/barbican-api-paste.ini" "$node_dir/stock-paste.ini"

# ---- boot ------------------------------------------------------------------
# Runs as PID 1 of the new namespaces: mounts the node's API filesystems,
# pivots into the root and becomes systemd.
# /tmp stays on the root filesystem, as on a stock Debian 12 install (no
# tmp.mount): stray copies there are on the disk the hourly scan reads.
boot='
set -e
. "$1"
root=$2; shift 2
for d in "$@"; do
  mkdir -p "$d"
  # A new v1 cpuset has no CPUs and no memory nodes until given its parent'"'"'s.
  for f in cpuset.cpus cpuset.mems; do [ ! -e "$d/$f" ] || cat "${d%/*}/$f" >"$d/$f"; done
  echo 0 >"$d/cgroup.procs"
done
mount --make-rprivate /
mount --bind "$root" "$root"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup"
# Device nodes of its own, never bind mounts of the host'"'"'s: systemd chowns
# and chmods /dev/console (and a bind mount would pass that on to the
# host'"'"'s /dev/null). The console is one more null device.
own_dev "$root"
mknod -m 0600 "$root/dev/console" c 1 3
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
ln -s /proc/self/fd/0 "$root/dev/stdin"; ln -s /proc/self/fd/1 "$root/dev/stdout"; ln -s /proc/self/fd/2 "$root/dev/stderr"
mount -t tmpfs -o mode=0755,nosuid,nodev,size=256m run "$root/run"
cd "$root"
pivot_root . .
umount -l .
exec env -i container=other PATH=/usr/sbin:/usr/bin:/sbin:/bin /lib/systemd/systemd --system
'
unshare -p -f -m -u -i -n -- bash -c "$boot" boot "$here/dev.sh" "$root" "${cg_dirs[@]}" >"$node_dir/console.log" 2>&1 </dev/null &
unshare_pid=$!
for _ in $(seq 100); do
  pid1=$(awk '{ print $1 }' "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null || true)
  [ -n "$pid1" ] && [ "$(cat "/proc/$pid1/comm" 2>/dev/null)" = systemd ] && break
  pid1=""
  kill -0 "$unshare_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$pid1" ] || { cat "$node_dir/console.log" >&2; die "systemd did not start as PID 1 of the node"; }

# Runs a command in the node, bounded: every step has a timeout.
in_node() {
  local t=$1; shift
  timeout --kill-after=5 "$t" nsenter -t "$pid1" -m -p -u -i -n -r -w -- \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}
# systemctl needs the manager's socket, which systemd creates early in boot.
for _ in $(seq 300); do
  in_node 5 test -S /run/systemd/private 2>/dev/null && break
  kill -0 "$pid1" 2>/dev/null || break
  sleep 0.1
done
state=$(in_node 120 systemctl is-system-running --wait 2>&1 || true)
case "$state" in
  running) ok "node booted: systemd PID 1, state running" ;;
  degraded) bad "node booted degraded" "$(in_node 20 systemctl --failed --no-legend 2>&1 || true)" ;;
  *) bad "node did not boot: '$state'" "$(tail -n 40 "$node_dir/console.log")"; exit 1 ;;
esac
in_node 10 ip link set lo up
[ "$(in_node 10 hostname)" = "$NODE" ] || bad "the node's hostname is not $NODE"
lap "boot"

# A fresh KEK, never printed: from here to plant.py through a pipe only.
# Planted after boot: systemd-tmpfiles empties /tmp when the node boots.
python3 -c 'import base64, os, sys; sys.stdout.write(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")' \
  | python3 "$here/plant.py" "$root" "$node_dir/manifest"
say "planted $(wc -l <"$node_dir/manifest") copies of the KEK in $(cut -d/ -f2 "$node_dir/manifest" | sort -u | wc -l) top-level directories"

# Waits (bounded) until URL answers; prints the HTTP status.
http_status() {
  local url=$1 waited=0 code
  while :; do
    code=$(in_node 15 curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url" 2>/dev/null || true)
    [ -n "$code" ] && [ "$code" != 000 ] && { echo "$code"; return 0; }
    [ "$waited" -ge "${2:-120}" ] && { echo 000; return 1; }
    sleep 1; waited=$((waited + 1))
  done
}
journal() { in_node 20 journalctl --no-pager -q -o short-monotonic "$@" 2>&1 || true; }

# ---- install barbican-audit --------------------------------------------------
# With REALNODE_DEB, the project's own package, as an operator installs it:
# dpkg -i, whose postinst enables and starts the timer. Without it, the
# binary and systemd/ by hand.
install_auditor() {
  if [ -n "$DEB" ]; then
    cp "$DEB" "$root/tmp/barbican-audit.deb"
    local out
    out=$(in_node 120 dpkg -i /tmp/barbican-audit.deb 2>&1) \
      || { bad "dpkg -i of the package failed" "$out"; return 0; }
    rm -f "$root/tmp/barbican-audit.deb"
    ok "dpkg -i $(basename "$DEB")"
    if in_node 10 systemctl is-enabled -q barbican-audit.timer \
      && ! in_node 10 systemctl is-enabled -q barbican-audit-agent.timer \
      && ! in_node 10 systemctl is-enabled -q barbican-audit-collector.service \
      && ! in_node 10 systemctl is-active -q barbican-audit-collector.service; then
      ok "the package enabled barbican-audit.timer, and left the agent and collector units off"
    else
      bad "the package's units are not in the state the package promises" \
        "$(in_node 10 systemctl list-unit-files 'barbican-audit*' --no-legend 2>&1)"
    fi
    out=$(in_node 30 env MANWIDTH=80 man barbican-audit-audit 2>&1 | head -n 20)
    if grep -q -- '--format' <<<"$out"; then
      ok "man barbican-audit-audit works on the node"
    else
      bad "man barbican-audit-audit does not show the page" "$out"
    fi
  else
    install -m 0755 "$BIN" "$root/usr/bin/barbican-audit"
    install -m 0644 "$repo"/systemd/*.service "$repo"/systemd/*.timer "$root/lib/systemd/system/"
    in_node 30 systemctl daemon-reload
    ok "installed $("$BIN" --version 2>/dev/null | head -n 1) and its units by hand"
  fi
}
install_auditor

# ---- the real Barbican API with the stock paste file -------------------------
code=$(http_status http://127.0.0.1:9311/v1/secrets 180 || true)
if [ "$code" = 401 ]; then
  ok "barbican-api (Debian's unit, uwsgi) serves /v1/secrets: 401 without a token (stock paste file)"
else
  bad "barbican-api with the stock paste file answers $code, not 401" \
    "$(journal -u barbican-api; tail -n 30 "$root/var/log/barbican/barbican-api.log" 2>/dev/null)"
fi
lap "barbican-api up"

# ---- the hourly audit, as its timer starts it --------------------------------
report="$root/var/lib/barbican-audit/report.json"
# systemctl start waits for a oneshot and fails when the unit fails (its
# Result= cannot be read afterwards: an inactive unit is unloaded and shows
# defaults). The run must also have rewritten the report.
run_audit() {
  local t rc=0
  t=$(date +%s)
  touch -c -d @$((t - 1)) "$report" 2>/dev/null || true
  in_node 900 systemctl start barbican-audit.service || rc=$?
  say "systemctl start barbican-audit.service: exit $rc after $(($(date +%s) - t)) s"
  [ "$rc" = 0 ] && [ -s "$report" ] && [ "$(stat -c %Y "$report")" -ge "$t" ]
}
out=$(in_node 30 systemctl enable --now barbican-audit.timer 2>&1 && in_node 10 systemctl show -P NextElapseUSecRealtime barbican-audit.timer 2>&1) || true
if [ -n "$(tail -n 1 <<<"$out")" ] && in_node 10 systemctl is-active -q barbican-audit.timer; then
  ok "barbican-audit.timer is enabled and scheduled (next: $(tail -n 1 <<<"$out"))"
else
  bad "barbican-audit.timer is not scheduled" "$out"
fi
if run_audit; then
  ok "barbican-audit.service succeeds under its sandbox (systemctl start, as the timer does)"
else
  bad "barbican-audit.service failed" "$(journal -u barbican-audit.service)"
fi
lap "first audit (full scan)"
if [ -s "$report" ]; then
  out=$(python3 "$here/report.py" copies "$report" "$node_dir/manifest" 2>&1) && rc=0 || rc=$?
  if [ "$rc" = 0 ]; then ok "the report names every planted KEK copy: $(printf '%s\n' "$out" | grep 'planted copies found')"
  else bad "the report misses KEK copies or names others" "$out"; fi
  out=$(python3 "$here/report.py" bar011 "$report" 2>&1) && rc=0 || rc=$?
  if [ "$rc" = 0 ]; then ok "BAR-011 does not judge barbican-audit*.service ($(python3 "$here/report.py" findings "$report" BAR-011 | wc -l) units judged)"
  else bad "BAR-011 judges the auditor's own units" "$out"; fi
  s=$(python3 "$here/report.py" status "$report" BAR-004)
  if [ "$s" = pass ]; then ok "BAR-004 passes the stock paste file"
  else bad "BAR-004 is $s for the stock paste file" "$(python3 "$here/report.py" findings "$report" BAR-004)"; fi
else
  bad "barbican-audit.service wrote no report"
fi

# ---- node_exporter serves the textfile ------------------------------------------
code=$(http_status http://127.0.0.1:9100/metrics 60 || true)
metrics=$(in_node 20 curl -s --max-time 10 http://127.0.0.1:9100/metrics 2>&1 || true)
if [ "$code" = 200 ] && grep -q '^barbican_audit_info{' <<<"$metrics" \
  && grep -q '^barbican_audit_check_status{check="BAR-013"' <<<"$metrics" \
  && grep -q '^node_textfile_scrape_error 0' <<<"$metrics"; then
  ok "node_exporter serves the textfile over HTTP ($(grep -c '^barbican_audit_' <<<"$metrics") barbican_audit_ samples, no textfile error)"
else
  bad "node_exporter does not serve the textfile (HTTP $code)" \
    "$(grep -E '^(barbican_audit_|node_textfile)' <<<"$metrics"; ls -l "$root/var/lib/prometheus/node-exporter"; journal -u prometheus-node-exporter)"
fi

# ---- collector and agent on the same node --------------------------------------
# The shipped collector unit has a state directory of its own
# (barbican-audit-collector): its DynamicUser= must not take over (chown)
# the audit's /var/lib/barbican-audit on a node that runs both.
mkdir -p "$root/etc/barbican-audit"
cat >"$root/etc/barbican-audit/collector.toml" <<'TOML'
listen = "127.0.0.1:9747"
database = "sqlite:///var/lib/barbican-audit-collector/collector.db"
stale_after = "3h"
TOML
cat >"$root/etc/barbican-audit/agent.toml" <<'TOML'
collector = "http://127.0.0.1:9747"
token_file = "/etc/barbican-audit/token"
spool_dir = "/var/lib/barbican-audit/spool"
retries = 2
root = "/"
scan = false
textfile = "/var/lib/prometheus/node-exporter/barbican-audit.prom"
TOML
in_node 10 systemctl daemon-reload
# Tokens are printed once: straight into 0600 files, never to the log.
mkdir -p "$root/var/lib/barbican-audit-collector"
if in_node 60 sh -c 'umask 077; barbican-audit collector enroll realnode --config /etc/barbican-audit/collector.toml >/etc/barbican-audit/token \
     && barbican-audit collector enroll --viewer realnode-ci --config /etc/barbican-audit/collector.toml >/root/viewer.token' \
  >"$node_dir/enroll.log" 2>&1; then
  ok "enrolled the node and a viewer with barbican-audit collector enroll"
else
  bad "collector enroll failed" "$(cat "$node_dir/enroll.log")"
fi
in_node 30 systemctl start barbican-audit-collector.service || true
if [ "$(http_status http://127.0.0.1:9747/healthz 30 || true)" = 200 ]; then
  ok "barbican-audit-collector.service serves /healthz on 127.0.0.1:9747"
else
  bad "the collector unit does not serve" "$(journal -u barbican-audit-collector.service)"
fi
s=success
in_node 300 systemctl start barbican-audit-agent.service || s="failed ($?)"
nodes=$(in_node 20 sh -c 'curl -s --max-time 10 -H "Authorization: Bearer $(cat /root/viewer.token)" http://127.0.0.1:9747/api/v1/nodes' 2>&1 || true)
spooled=$(find "$root/var/lib/barbican-audit/spool" -maxdepth 1 -type f -name '[0-9]*.json' 2>/dev/null | wc -l)
if [ "$s" = success ] && python3 -c '
import json, sys
nodes = json.loads(sys.argv[1])
nodes = nodes.get("nodes", nodes) if isinstance(nodes, dict) else nodes
sys.exit(0 if any(n.get("node") == "realnode" and n.get("state") == "fresh" for n in nodes) else 1)
' "$nodes" 2>/dev/null && [ "$spooled" = 0 ]; then
  ok "barbican-audit-agent.service delivered its report to the collector unit (node realnode fresh, spool empty)"
else
  bad "the agent did not deliver (systemctl start: $s, $spooled spooled)" \
    "$(printf '%s\n' "$nodes"; journal -u barbican-audit-agent.service -u barbican-audit-collector.service)"
fi
lap "agent and collector"

# ---- BAR-004 against the served API: /v1 without authtoken ---------------------------
# The stock file's own unauthenticated pipeline, served at /v1.
python3 - "$root/etc/barbican/barbican-api-paste.ini" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
s, n = re.subn(r"(?m)^(/v1\s*[:=]\s*)\S+", r"\1barbican_api", s)
if n != 1:
    sys.exit("the stock paste file has no single /v1 entry")
open(p, "w", encoding="utf-8").write(s)
PY
in_node 60 systemctl restart barbican-api.service || true
sleep 1
code=$(http_status http://127.0.0.1:9311/v1/secrets 180 || true)
# With the headers the unauthenticated-context filter trusts, anyone lists secrets.
as_admin=$(in_node 15 curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'X-Project-Id: realnode' -H 'X-Roles: admin' \
  http://127.0.0.1:9311/v1/secrets 2>/dev/null || true)
if [ "$code" != 401 ] && [ "$code" != 000 ] && [ "$as_admin" = 200 ]; then
  ok "with /v1 on the unauthenticated pipeline the served API answers $code, not 401, and lists secrets ($as_admin) to anyone who sends X-Project-Id and X-Roles"
else
  bad "with /v1 unauthenticated the API answers $code ($as_admin with X-Project-Id and X-Roles)" "$(journal -u barbican-api.service; tail -n 30 "$root/var/log/barbican/barbican-api.log" 2>/dev/null)"
fi
if run_audit; then
  s=$(python3 "$here/report.py" status "$report" BAR-004)
  if [ "$s" = fail ]; then ok "BAR-004 fails the unauthenticated /v1 (second run, from the scan cache)"
  else bad "BAR-004 is $s with /v1 unauthenticated" "$(python3 "$here/report.py" findings "$report" BAR-004)"; fi
  out=$(python3 "$here/report.py" copies "$report" "$node_dir/manifest" 2>&1) \
    && ok "the cached rescan still names every planted copy" \
    || bad "the cached rescan misses KEK copies or names others" "$out"
else
  bad "barbican-audit.service failed on its second run" "$(journal -u barbican-audit.service)"
fi
cp -p "$node_dir/stock-paste.ini" "$root/etc/barbican/barbican-api-paste.ini"
lap "BAR-004 against the API"

# ---- the journal ---------------------------------------------------------------------
for unit in barbican-audit.service barbican-audit-agent.service barbican-audit-collector.service; do
  w=$(journal -u "$unit" -p warning)
  if [ -z "$w" ]; then ok "journalctl -u $unit -p warning is empty"
  else bad "$unit logged warnings" "$w"; fi
done

# ---- dpkg --purge leaves nothing of the package's ---------------------------------
if [ -n "$DEB" ]; then
  out=$(in_node 120 dpkg --purge barbican-audit 2>&1) || bad "dpkg --purge failed" "$out"
  left=()
  for p in /usr/bin/barbican-audit /var/lib/barbican-audit /var/lib/barbican-audit-collector \
    /var/lib/private/barbican-audit-collector /var/cache/barbican-audit \
    /var/lib/prometheus/node-exporter/barbican-audit.prom /lib/systemd/system/barbican-audit.timer \
    /usr/share/barbican-audit /etc/barbican-audit/agent.toml /etc/barbican-audit/collector.toml; do
    [ -e "$root$p" ] || [ -L "$root$p" ] && left+=("$p")
  done
  # what the operator put there stays: the agent's token
  ls "$root"/var/lib/prometheus/node-exporter/.barbican-audit.* >/dev/null 2>&1 && left+=(textfile-temp-files)
  if [ "${#left[@]}" -eq 0 ] && [ -e "$root/etc/barbican-audit/token" ] \
    && [ -d "$root/var/lib/prometheus/node-exporter" ]; then
    ok "dpkg --purge removed the package's files, state, cache and textfile, and kept the operator's token and node_exporter's directory"
  else
    bad "dpkg --purge left: ${left[*]:-} (or removed what was not its own)" \
      "$(ls -la "$root/etc/barbican-audit" "$root/var/lib/prometheus/node-exporter" 2>&1)"
  fi
fi

say "time total (before teardown): $(($(date +%s) - t0)) s"
lap_t=$(date +%s)
summary="realnode: $passed passed, $failed failed"
if [ "$failed" -gt 0 ]; then
  echo "$summary: $(IFS=';'; echo "${failures[*]}")"
  exit 1
fi
echo "$summary: Debian 12 node under systemd; hourly unit sandboxed, all planted KEK copies found, textfile served, agent->collector delivered, no unit warnings, BAR-011 and BAR-004 match the real services"
