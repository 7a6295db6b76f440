# barbican-audit %postun (what %systemd_postun_with_restart would do for the
# collector; the audit and agent units are oneshots run by their timers).
# $1: 0 on erase, 1 or more on upgrade. Reports, spool, database and scan
# cache in /var/lib/barbican-audit(-collector) and /var/cache/barbican-audit are left
# after an erase, as RPM packages leave their data.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -ge 1 ]; then
    systemctl try-restart barbican-audit-collector.service >/dev/null 2>&1 || :
fi
