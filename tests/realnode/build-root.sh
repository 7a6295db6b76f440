#!/usr/bin/env bash
# Builds the real node's root filesystem once and caches it as a tarball:
# Debian 12 minbase from debootstrap, then systemd, dbus, Barbican's API
# under uwsgi, a real node_exporter and the tools the suite drives the node
# with (curl, iproute2, python3). Prints the tarball's path on stdout.
#
# The mirror is the machine's own apt mirror, read from its apt sources at
# run time (REALNODE_MIRROR overrides it). The tarball is keyed by the
# package list and BUILD_VERSION, so a change to either builds a new one.
#
#   REALNODE_CACHE_DIR   where tarballs live (default /var/cache/barbican-audit-ci)
#   REALNODE_TARBALL     use exactly this tarball (built there if missing)
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true

# Bump when a build step below changes what ends up in the root.
BUILD_VERSION=2
SUITE=bookworm
PACKAGES=(
  systemd systemd-sysv dbus
  barbican-api uwsgi-plugin-python3
  prometheus-node-exporter
  curl ca-certificates iproute2 python3 procps
  man-db
)

# shellcheck source=tests/realnode/dev.sh
. "$(dirname "$0")/dev.sh"

log() { echo "realnode-build: $*" >&2; }
die() { log "$*"; exit 1; }

# The bookworm mirror this machine's apt uses: the URIs of the first
# deb822 stanza (or one-line entry) whose suites include bookworm itself.
host_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; ok = 0; deb = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris = u[1] }
          if ($i ~ /^Types:/ && $i ~ /(^|[ \t])deb([ \t]|$)/) deb = 1
          if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
          if ($i ~ /^Enabled:[ \t]*no/) ok = 0
        }
        if (ok && deb && uris != "") { print uris; exit }
      }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '$1 == "deb" { o = 2; if ($2 ~ /^\[/) { while ($o !~ /\]$/) o++; o++ } if ($(o + 1) == suite) { print $o; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  return 1
}

cache_key() {
  { echo "build-version $BUILD_VERSION"; echo "suite $SUITE"; printf '%s\n' "${PACKAGES[@]}" | sort; } \
    | sha256sum | cut -c1-16
}

tarball=${REALNODE_TARBALL:-${REALNODE_CACHE_DIR:-/var/cache/barbican-audit-ci}/realnode-$(cache_key).tar.zst}
if [ -s "$tarball" ]; then
  log "cached root $tarball"
  echo "$tarball"
  exit 0
fi

# Everything below mounts (debootstrap, the chroot's /proc and /dev) in a
# private mount namespace: the mounts end with it, whatever happens, and no
# rm -rf can reach through a bind mount into the host's /dev.
if [ -z "${REALNODE_BUILD_NS:-}" ]; then
  exec env REALNODE_BUILD_NS=1 unshare -m --propagation private -- bash "$0" "$@"
fi

for tool in debootstrap zstd; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (apt-get install debootstrap zstd)"
done
mirror=${REALNODE_MIRROR:-$(host_mirror)} || die "no $SUITE mirror in /etc/apt/sources.list*; set REALNODE_MIRROR"
[ -n "$mirror" ] || die "no $SUITE mirror in /etc/apt/sources.list*; set REALNODE_MIRROR"

mkdir -p "$(dirname "$tarball")"
work=$(mktemp -d /var/tmp/barbican-audit-realnode-build.XXXXXX)
root="$work/root"
cleanup() {
  local m
  for m in $(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

start=$(date +%s)
log "debootstrap --variant=minbase $SUITE from $mirror"
if ! debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus "$SUITE" "$root" "$mirror" \
  >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
  die "debootstrap failed"
fi

# apt inside the root uses the same sources as this machine (a snapshot
# mirror's Release files may have expired: do not reject them for that).
rm -f "$root/etc/apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] && cp "$f" "$root$f"
done
cat >"$root/etc/apt/apt.conf.d/90realnode" <<'APT'
Acquire::Check-Valid-Until "false";
Acquire::Languages "none";
APT::Install-Recommends "false";
APT
# No service may start while the packages are installed (there is no
# systemd running in this chroot), and debconf asks nothing: barbican-common
# configures no database through dbconfig-common, the node sets sqlite.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cat >"$work/debconf.seed" <<'SEED'
barbican-common barbican/configure_db boolean false
barbican-api barbican/configure_api-endpoint boolean false
SEED
cp "$work/debconf.seed" "$root/tmp/debconf.seed"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
mount -t proc proc "$root/proc"
# A /dev of its own: package scripts may chmod what they find there.
own_dev "$root"
in_root debconf-set-selections /tmp/debconf.seed
log "apt-get install ${PACKAGES[*]}"
if ! { in_root apt-get update -qq && in_root apt-get install -y -qq "${PACKAGES[@]}"; } >"$work/apt.log" 2>&1; then
  tail -n 40 "$work/apt.log" >&2
  die "apt-get install in the root failed"
fi
in_root apt-get clean
umount "$root/dev" "$root/proc"
rm -f "$root/usr/sbin/policy-rc.d" "$root/tmp/debconf.seed"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
# Non-root services (barbican, prometheus) cannot start in a root that
# is not world-searchable; mktemp -d made it 0700.
chmod 0755 "$root"

log "packing $(du -sh "$root" | cut -f1) into $tarball"
tar --numeric-owner --xattrs --acls -C "$root" -cf - . | zstd -q -T0 -3 -o "$work/root.tar.zst"
mv "$work/root.tar.zst" "$tarball"
# Roots of older package lists or build versions are never used again.
if [ -z "${REALNODE_TARBALL:-}" ]; then
  find "$(dirname "$tarball")" -maxdepth 1 -name 'realnode-*.tar.zst' ! -path "$tarball" -delete
fi
log "built in $(( $(date +%s) - start )) s"
echo "$tarball"
