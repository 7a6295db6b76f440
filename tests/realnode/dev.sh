# Sourced (not run) by build-root.sh, for the chroot packages are installed
# in, and by run.sh's boot script, for the booted node: both give the root a
# /dev of its own, never a bind mount of the host's (package scripts and
# systemd chmod and chown what they find there, and a bind mount would pass
# that on to the host's devices).

# own_dev ROOT: a tmpfs on ROOT/dev with the character devices every
# program expects, empty pts/ and shm/ for the caller to mount or not, and
# /dev/fd.
own_dev() {
  local root=$1
  mount -t tmpfs -o mode=0755,nosuid,size=16m dev "$root/dev"
  mknod -m 0666 "$root/dev/null" c 1 3
  mknod -m 0666 "$root/dev/zero" c 1 5
  mknod -m 0666 "$root/dev/full" c 1 7
  mknod -m 0666 "$root/dev/random" c 1 8
  mknod -m 0666 "$root/dev/urandom" c 1 9
  mknod -m 0666 "$root/dev/tty" c 5 0
  mkdir "$root/dev/pts" "$root/dev/shm"
  ln -s /proc/self/fd "$root/dev/fd"
}
