# barbican-audit %post. cargo-generate-rpm stores scriptlets verbatim, so
# what %systemd_post and %tmpfiles_create would do is written out here.
# $1: 1 on first install, 2 or more on upgrade.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
# The ACL that lets the audit (root, but without CAP_DAC_OVERRIDE) write
# barbican-audit.prom into node_exporter's prometheus-owned textfile directory.
systemd-tmpfiles --create barbican-audit.conf >/dev/null 2>&1 || :
if [ "$1" -eq 1 ]; then
    # As the .deb does: the hourly audit timer enabled and started; the
    # agent and the collector installed, neither enabled nor started.
    systemctl enable barbican-audit.timer >/dev/null 2>&1 || :
    if [ -d /run/systemd/system ]; then
        systemctl start barbican-audit.timer >/dev/null 2>&1 || :
    fi
fi
