# barbican-audit %preun (what %systemd_preun would do). $1: 0 on erase,
# 1 or more on upgrade. On erase, stop and disable every unit the package
# ships; on upgrade leave them as they are.
if [ "$1" -eq 0 ]; then
    systemctl --no-reload disable --now barbican-audit.timer barbican-audit.service \
        barbican-audit-agent.timer barbican-audit-agent.service \
        barbican-audit-collector.service >/dev/null 2>&1 || :
fi
