#!/usr/bin/env python3
"""One-time renderer of the deployment-layout fixtures under tests/layouts/ (issue 17).

Usage:
  render_fixtures.py --barbican-git GITDIR --debian-stock DIR --debian-policy FILE \
      --rpmdb-rdo FILE --rpmdb-tripleo FILE [--out tests/layouts]

GITDIR is a clone (or bare mirror) of openstack/barbican with its release tags: the stock files
each layout ships (paste ini, api_audit_map.conf, vassal) are taken from the tag that layout
runs. DIR is Debian's /usr/share/barbican-common of barbican-common 1:15.0.1-2 (the generated
barbican.conf sample), FILE its /etc/barbican/policy.d/00_default_policy.yaml. The two rpmdb
files are SQLite rpm databases built with rpm 4.18 (`rpm --initdb`, then `rpm -i --justdb` of
metadata-only packages named and versioned like RDO's); see README.md.

Every value below follows the template line cited next to it (the manifest's source column).
Secrets are fake and per fixture; each KEK is 32 random bytes made here and never printed.
Python 3 stdlib only. The output directories are replaced.
"""
import argparse
import base64
import json
import os
import secrets
import shutil
import subprocess

# Repositories and the commits read (README.md lists them too).
KA = "openstack/kolla-ansible"
KO = "openstack/kolla"
OSA = "openstack/openstack-ansible-os_barbican"
UW = "openstack/ansible-role-uwsgi"
SD = "openstack/ansible-role-systemd_service"
LXC = "openstack/openstack-ansible-lxc_container_create"
CH = "openstack/charm-barbican"
CHL = "openstack/charm-layer-openstack"
CO = "openstack/charms.openstack"
CHH = "juju/charm-helpers"
OSH = "openstack/openstack-helm"
LOCI = "openstack/loci"
PB = "openstack/puppet-barbican"
POL = "openstack/puppet-openstacklib"
THT = "openstack/tripleo-heat-templates"
RDO = "rdo-packages/barbican-distgit"
BAR = "openstack/barbican"
DEB = "debian:barbican-common_1:15.0.1-2"
DEBAPI = "debian:barbican-api_1:15.0.1-2"


def kek():
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


class View:
    def __init__(self):
        self.rows = {}

    def d(self, path, mode, uid, gid, src):
        self.rows[path] = ("dir", mode, uid, gid, "", src, None)

    def f(self, path, content, mode, uid, gid, src):
        if isinstance(content, str):
            content = content.encode()
        self.rows[path] = ("file", mode, uid, gid, "", src, content)

    def l(self, path, target, src, uid=0, gid=0):
        self.rows[path] = ("symlink", 0o777, uid, gid, target, src, None)

    def graft(self, prefix, other):
        """Add every row of `other` under `prefix` (a host's view of a container root)."""
        for p, r in other.rows.items():
            self.rows[prefix + p] = r

    def write(self, out):
        if os.path.exists(out):
            shutil.rmtree(out)
        os.makedirs(os.path.join(out, "files"))
        lines = ["path\ttype\tmode\tuid\tgid\tlink_target\tsource"]
        for p in sorted(self.rows):
            t, mode, uid, gid, link, src, content = self.rows[p]
            assert p.startswith("/") and "\t" not in src and src, p
            lines.append("\t".join([p, t, "%04o" % mode, str(uid), str(gid), link, src]))
            if t == "file":
                dest = os.path.join(out, "files", p.lstrip("/"))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "wb") as fh:
                    fh.write(content)
        with open(os.path.join(out, "manifest.tsv"), "w") as fh:
            fh.write("\n".join(lines) + "\n")


def git_show(gitdir, tag, path):
    return subprocess.run(
        ["git", "--git-dir", gitdir, "show", "%s:%s" % (tag, path)],
        check=True, capture_output=True).stdout


def ini_set(text, section, key, value, sep=" = "):
    """puppetlabs-inifile / pkgos: replace an active `key` in [section] or append it at the
    section's end (adding the section at the end of the file if missing)."""
    lines = text.split("\n")
    start = None
    for i, ln in enumerate(lines):
        if ln.strip() == "[%s]" % section:
            start = i
            break
    if start is None:
        if lines and lines[-1] == "":
            lines.pop()
        lines += ["", "[%s]" % section, "%s%s%s" % (key, sep, value), ""]
        return "\n".join(lines)
    end = len(lines)
    for j in range(start + 1, len(lines)):
        if lines[j].startswith("["):
            end = j
            break
    for j in range(start + 1, end):
        if lines[j].split("=")[0].strip() == key and not lines[j].startswith("#"):
            lines[j] = "%s%s%s" % (key, sep, value)
            return "\n".join(lines)
    k = end
    while k > start + 1 and lines[k - 1] == "":
        k -= 1
    lines.insert(k, "%s%s%s" % (key, sep, value))
    return "\n".join(lines)


def generated_sample(stock_conf):
    """Debian's barbican.conf is the oslo-config-generator sample plus the values pkgos sets;
    dropping every active line gives the bare generated sample (RDO ships that one)."""
    out = []
    for ln in stock_conf.split("\n"):
        if ln and not ln.startswith("#") and not ln.startswith("["):
            continue
        out.append(ln)
    return "\n".join(out)


def passwd(users):
    return "".join("%s:x:%d:%d:%s:%s:%s\n" % u for u in users)


def group(groups):
    return "".join("%s:x:%d:%s\n" % g for g in groups)


def metadata(version):
    return ("Metadata-Version: 2.1\nName: barbican\nVersion: %s\n"
            "Summary: OpenStack Secure Key Management\nHome-page: https://docs.openstack.org/barbican/latest/\n"
            "Author: OpenStack\nAuthor-email: openstack-discuss@lists.openstack.org\n"
            "License: Apache-2.0\nRequires-Python: >=3.9\n\n" % version)


def rpm_sitelib(t, version, spec, note=""):
    """python3-barbican's %files has %{python3_sitelib}/barbican*.dist-info (el9: python 3.9)."""
    src = "%s:232-233 %%{python3_sitelib}/barbican and barbican*.dist-info%s" % (spec, note)
    for p in ("/usr/lib/python3.9", "/usr/lib/python3.9/site-packages"):
        t.d(p, 0o755, 0, 0, src)
    dist = "/usr/lib/python3.9/site-packages/barbican-%s.dist-info" % version
    t.d(dist, 0o755, 0, 0, src)
    t.f(dist + "/METADATA", metadata(version), 0o644, 0, 0, src)


# ---------------------------------------------------------------------------------------------
# kolla-ansible (host: /etc/kolla/barbican-*; target: the barbican_api container)

def kolla_conf(k, service, tls=False):
    s = "%s:ansible/roles/barbican/templates/barbican.conf.j2" % KA
    log_file = "log_file = barbican-api.log\n" if service == "barbican-api" else ""
    return s, (
        "[DEFAULT]\n"
        "debug = False\n"
        "log_dir = /var/log/kolla/barbican\n"
        + log_file +
        "\n"
        "bind_port = 9311\n"
        "bind_host = 192.0.2.11\n"
        "host_href = https://cloud.example.test:9311\n"
        "\n"
        "backlog = 4096\n"
        "\n"
        "db_auto_create = false\n"
        "\n"
        "transport_url = rabbit://openstack:kolla-fixture-rabbit-pw@192.0.2.11:5672//\n"
        "\n"
        "[database]\n"
        "connection = mysql+pymysql://barbican:kolla-fixture-db-pw@192.0.2.10:3306/barbican\n"
        "connection_recycle_time = 10\n"
        "max_pool_size = 1\n"
        "max_retries = -1\n"
        "\n"
        "# ================= Secret Store Plugin ===================\n"
        "[secretstore]\n"
        "namespace = barbican.secretstore.plugin\n"
        "enabled_secretstore_plugins = store_crypto\n"
        "\n"
        "# ================= Crypto plugin ===================\n"
        "[crypto]\n"
        "namespace = barbican.crypto.plugin\n"
        "enabled_crypto_plugins = simple_crypto\n"
        "\n"
        "[simple_crypto_plugin]\n"
        "# the kek should be a 32-byte value which is base64 encoded\n"
        "kek = '%s'\n"
        "\n"
        "\n"
        "[keystone_notifications]\n"
        "enable = true\n"
        "topic = barbican_notifications\n"
        "\n"
        "[keystone_authtoken]\n"
        "service_type = key-manager\n"
        "www_authenticate_uri = https://cloud.example.test:5000\n"
        "project_domain_id = default\n"
        "project_name = service\n"
        "user_domain_id = default\n"
        "username = barbican\n"
        "password = kolla-fixture-keystone-pw\n"
        "auth_url = %s://192.0.2.10:5000\n"
        "auth_type = password\n"
        "cafile = \n"
        "region_name = RegionOne\n"
        "\n"
        "memcache_security_strategy = ENCRYPT\n"
        "memcache_secret_key = kolla-fixture-memcache-key\n"
        "memcached_servers = 192.0.2.11:11211\n"
        "\n"
        "[oslo_messaging_notifications]\n"
        "transport_url = rabbit://openstack:kolla-fixture-rabbit-pw@192.0.2.11:5672//\n"
        "driver = noop\n"
        "\n"
        "[oslo_messaging_rabbit]\n"
        "use_queue_manager = true\n"
        "heartbeat_in_pthread = false\n"
        "rabbit_quorum_queue = true\n"
        "rabbit_stream_fanout = true\n"
        "rabbit_qos_prefetch_count = 50\n"
        "rabbit_transient_quorum_queue = true\n"
        "\n"
        "[oslo_middleware]\n"
        "enable_proxy_headers_parsing = true\n"
        "\n"
        "\n"
        "[oslo_concurrency]\n"
        "lock_path = /var/lib/barbican/tmp\n" % (k, "https" if tls else "http"))


KOLLA_UWSGI = (
    "[uwsgi]\n"
    "add-header = Connection: close\n"
    "buffer-size = 65535\n"
    "die-on-term = true\n"
    "enable-threads = true\n"
    "exit-on-reload = false\n"
    "hook-master-start = unix_signal:15 gracefully_kill_them_all\n"
    "http = 192.0.2.11:9311\n"
    "http-auto-chunked = true\n"
    "http-chunked-input = true\n"
    "http-raw-body = true\n"
    "lazy-apps = true\n"
    "logto2 = /var/log/kolla/barbican/barbican-api-uwsgi.log\n"
    "logfile-chmod = 644\n"
    "master = true\n"
    "module = barbican.wsgi.api:application\n"
    "plugins-dir = /usr/lib64/uwsgi\n"
    "plugins = python3\n"
    "processes = 5\n"
    "socket-timeout = 30\n"
    "thunder-lock = true\n"
    "uid = barbican\n"
    "worker-reload-mercy = 80\n"
    "static-map = /static=/var/lib/kolla/venv/lib/python3/site-packages/static\n")


def kolla_json(service):
    logdirs = [
        {"path": "/var/log/kolla", "owner": "fluentd:kolla", "perm": "2775"},
        {"path": "/var/log/kolla/barbican", "owner": "barbican:kolla", "perm": "2775"},
    ]
    perms = [{"path": "/var/log/kolla/barbican/*.log", "owner": "barbican:kolla", "perm": "0664"}]
    conf = {"source": "/var/lib/kolla/config_files/barbican.conf",
            "dest": "/etc/barbican/barbican.conf", "owner": "barbican", "perm": "0600"}
    if service == "barbican-api":
        files = [conf,
                 {"source": "/var/lib/kolla/config_files/barbican-api-uwsgi.ini",
                  "dest": "/etc/barbican/barbican-api-uwsgi.ini", "owner": "barbican", "perm": "0600"},
                 {"source": "/var/lib/kolla/config_files/barbican-api-paste.ini",
                  "dest": "/etc/barbican/barbican-api-paste.ini", "owner": "barbican", "perm": "0600",
                  "optional": True}]
        cmd = "uwsgi /etc/barbican/barbican-api-uwsgi.ini"
        perms.append({"path": "/var/lib/barbican", "owner": "barbican:barbican"})
    else:
        files = [conf]
        cmd = service
    return json.dumps({"command": cmd, "config_files": files, "directories": logdirs,
                       "permissions": perms}, indent=4) + "\n"


def kolla(a, out, tls=False):
    """tls=True: globals.yml kolla_enable_tls_internal: "yes" (group_vars/all/haproxy.yml:11), so
    keystone_internal_url is https (group_vars/all/keystone.yml:11) while openstack_cacert stays ""
    (group_vars/all/common.yml:335): `cafile = ` empty, keystoneauth1 then uses the system CAs."""
    k = kek()
    name = "kolla-tls" if tls else "kolla"
    tlsnote = ("; globals.yml kolla_enable_tls_internal: \"yes\" (%s:ansible/group_vars/all/haproxy.yml:11) makes keystone_internal_url https (group_vars/all/keystone.yml:11); openstack_cacert stays \"\" (group_vars/all/common.yml:335) so cafile is empty" % KA) if tls else ""
    host = View()
    cfg = "%s:ansible/roles/barbican/tasks/config.yml" % KA
    host.d("/etc/kolla", 0o755, 0, 0, "%s:ansible/group_vars/all/common.yml:166 node_config_directory: /etc/kolla (created by kolla-ansible bootstrap-servers; mode not from the barbican role)" % KA)
    for svc in ("barbican-api", "barbican-worker", "barbican-keystone-listener"):
        base = "/etc/kolla/" + svc
        host.d(base, 0o770, 0, 0, "%s:2-10 (mode 0770, owner config_owner_user/group = root:root, %s:ansible/group_vars/all/common.yml:170-171)" % (cfg, KA))
        src, text = kolla_conf(k, svc, tls)
        host.f(base + "/barbican.conf", text, 0o660, 0, 0, "%s:84-97 merge_configs mode 0660 (become root); content %s%s" % (cfg, src, tlsnote))
        host.f(base + "/config.json", kolla_json(svc), 0o660, 0, 0, "%s:54-60 mode 0660; content %s:ansible/roles/barbican/templates/%s.json.j2" % (cfg, KA, svc))
    host.f("/etc/kolla/barbican-api/barbican-api-uwsgi.ini", KOLLA_UWSGI, 0o660, 0, 0,
           "%s:ansible/roles/service-uwsgi-config/tasks/main.yml:2-7 mode 0660 dest defaults/main.yml:3; content templates/uwsgi.ini.j2 with %s:36-52 (module = barbican.wsgi.api:application, uid barbican)" % (KA, cfg))
    host.d("/var/lib/docker/volumes/barbican/_data", 0o755, 42403, 42403,
           "%s:ansible/roles/barbican/defaults/main.yml:149 named volume barbican:/var/lib/barbican/; owner from barbican-api.json.j2 permissions /var/lib/barbican barbican:barbican" % KA)
    host.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash")]), 0o644, 0, 0,
           "host: no barbican user (kolla's uid 42403 exists only in the image, %s:kolla/common/users.py:28-31)" % KO)
    host.f("/etc/group", group([("root", 0, ""), ("docker", 990, "")]), 0o644, 0, 0, "host: docker group from the container engine; no barbican group")
    host.write(os.path.join(out, name, "host"))

    # Target: the barbican_api container's root.
    t = View()
    tag = "22.0.0"
    t.d("/etc/barbican", 0o755, 0, 0, "%s:kolla/docker/barbican/barbican-base/Dockerfile.j2:27 mkdir -p /etc/barbican (build runs as root)" % KO)
    cp = "%s:kolla/docker/barbican/barbican-base/Dockerfile.j2:28 cp -r /barbican/etc/barbican/* /etc/barbican/; content %s@%s:etc/barbican/" % (KO, BAR, tag)
    t.f("/etc/barbican/barbican-api-paste.ini", git_show(a.barbican_git, tag, "etc/barbican/barbican-api-paste.ini"), 0o644, 0, 0, cp + "barbican-api-paste.ini (config.json entry is optional and no /etc/kolla/config/barbican/barbican-api-paste.ini exists, so the image copy is served)")
    t.f("/etc/barbican/api_audit_map.conf", git_show(a.barbican_git, tag, "etc/barbican/api_audit_map.conf"), 0o644, 0, 0, cp + "api_audit_map.conf")
    t.f("/etc/barbican/barbican-functional.conf", git_show(a.barbican_git, tag, "etc/barbican/barbican-functional.conf"), 0o644, 0, 0, cp + "barbican-functional.conf")
    t.f("/etc/barbican/README.barbican.conf.txt", git_show(a.barbican_git, tag, "etc/barbican/README.barbican.conf.txt"), 0o644, 0, 0, cp + "README.barbican.conf.txt")
    t.d("/etc/barbican/vassals", 0o755, 0, 0, cp + "vassals/")
    t.f("/etc/barbican/vassals/barbican-api.ini", git_show(a.barbican_git, tag, "etc/barbican/vassals/barbican-api.ini"), 0o644, 0, 0, cp + "vassals/barbican-api.ini (shipped, never run: the command is uwsgi /etc/barbican/barbican-api-uwsgi.ini)")
    sc = "%s:kolla/docker/base/set_configs.py:413-421 user_group('barbican') = barbican:barbican, perm from %s:ansible/roles/barbican/templates/barbican-api.json.j2" % (KO, KA)
    _, api_conf = kolla_conf(k, "barbican-api", tls)
    t.f("/etc/barbican/barbican.conf", api_conf, 0o600, 42403, 42403, sc + ":4-9" + tlsnote)
    t.f("/etc/barbican/barbican-api-uwsgi.ini", KOLLA_UWSGI, 0o600, 42403, 42403, sc + ":10-15")
    mnt = "%s:ansible/roles/barbican/defaults/main.yml:148 /etc/kolla/barbican-api/:/var/lib/kolla/config_files/:ro (bind mount: owner and mode are the host's)" % KA
    t.d("/var/lib/kolla", 0o755, 0, 0, "%s:kolla/docker/openstack-base/Dockerfile.j2:193 mkdir -p /var/lib/kolla" % KO)
    t.d("/var/lib/kolla/config_files", 0o770, 0, 0, mnt)
    t.f("/var/lib/kolla/config_files/barbican.conf", api_conf, 0o660, 0, 0, mnt)
    t.f("/var/lib/kolla/config_files/config.json", kolla_json("barbican-api"), 0o660, 0, 0, mnt)
    t.f("/var/lib/kolla/config_files/barbican-api-uwsgi.ini", KOLLA_UWSGI, 0o660, 0, 0, mnt)
    t.f("/run_command", "uwsgi /etc/barbican/barbican-api-uwsgi.ini", 0o644, 0, 0, "%s:kolla/docker/base/set_configs.py:369-373 writes config['command'] to /run_command, chmod 0644" % KO)
    venv = "%s:kolla/docker/openstack-base/Dockerfile.j2:194-196 python3 -m venv /var/lib/kolla/venv; ln -s python${VER} /var/lib/kolla/venv/lib/python3" % KO
    t.d("/var/lib/kolla/venv", 0o755, 0, 0, venv)
    t.d("/var/lib/kolla/venv/lib", 0o755, 0, 0, venv)
    t.l("/var/lib/kolla/venv/lib/python3", "python3.12", venv)
    t.d("/var/lib/kolla/venv/lib/python3.12", 0o755, 0, 0, venv + " (Rocky Linux 10 python 3.12)")
    t.d("/var/lib/kolla/venv/lib/python3.12/site-packages", 0o755, 0, 0, venv)
    dist = "/var/lib/kolla/venv/lib/python3.12/site-packages/barbican-%s.dist-info" % tag
    pip = "%s:kolla/docker/barbican/barbican-base/Dockerfile.j2:14-26 pip install /barbican into the venv (dist-info written by pip)" % KO
    t.d(dist, 0o755, 0, 0, pip)
    t.f(dist + "/METADATA", metadata(tag), 0o644, 0, 0, pip + "; Summary from %s@%s:setup.cfg:3" % (BAR, tag))
    t.f(dist + "/INSTALLER", "pip\n", 0o644, 0, 0, pip)
    vol = "%s:ansible/roles/barbican/defaults/main.yml:149 named volume at /var/lib/barbican; owner from barbican-api.json.j2 permissions /var/lib/barbican barbican:barbican" % KA
    t.d("/var/lib/barbican", 0o755, 42403, 42403, vol)
    t.d("/var/log/kolla", 0o2775, 42400, 42400, "%s:kolla/docker/base/Dockerfile.j2:338-340 (chown :kolla, 2775); config.json directories" % KO)
    t.d("/var/log/kolla/barbican", 0o755, 42403, 42400, "%s:kolla/docker/barbican/barbican-base/extend_start.sh:8-13 barbican:kolla 755" % KO)
    users = "%s:kolla/docker/base/Dockerfile.j2:298-302 groupadd/useradd from %s:kolla/common/users.py:16-19 (kolla 42400), :28-31 (barbican 42403), :300-303 (nfast), :345-348 (hsmusers)" % (KO, KO)
    t.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash"),
                               ("kolla", 42400, 42400, "", "/home/kolla", "/usr/sbin/nologin"),
                               ("barbican", 42403, 42403, "", "/var/lib/barbican", "/usr/sbin/nologin"),
                               ("nfast", 42481, 42481, "", "/home/nfast", "/usr/sbin/nologin"),
                               ("hsmusers", 42493, 42493, "", "/home/hsmusers", "/usr/sbin/nologin")]), 0o644, 0, 0,
        users + "; home /var/lib/barbican from kolla/docker/macros.j2:50-53")
    t.f("/etc/group", group([("root", 0, ""), ("kolla", 42400, "barbican"), ("barbican", 42403, ""),
                             ("nfast", 42481, "barbican"), ("hsmusers", 42493, "barbican")]), 0o644, 0, 0,
        users + "; supplementary groups from kolla/docker/barbican/barbican-base/Dockerfile.j2:10 and macros.j2:53-55")
    t.write(os.path.join(out, name, "target"))


# ---------------------------------------------------------------------------------------------
# TripleO (host: /var/lib/config-data/puppet-generated/barbican + /var/lib/kolla/config_files;
# target: the barbican_api container, RDO-based kolla image)

def tripleo_conf(sample, k):
    pc = sample
    sets = [
        ("DEFAULT", "transport_url", "rabbit://guest:tripleo-fixture-rabbit-pw@overcloud-controller-0.internalapi.localdomain:5672/?ssl=0"),
        ("DEFAULT", "debug", "False"),
        ("DEFAULT", "log_dir", "/var/log/barbican"),
        ("DEFAULT", "host_href", "http://10.0.0.5:9311"),
        ("DEFAULT", "db_auto_create", "False"),
        ("DEFAULT", "max_allowed_secret_in_bytes", "20000"),
        ("certificate", "enabled_certificate_plugins", "simple_certificate"),
        ("database", "connection", "mysql+pymysql://barbican:tripleo-fixture-db-pw@172.17.1.150/barbican?read_default_file=/etc/my.cnf.d/tripleo.cnf&read_default_group=tripleo"),
        ("keystone_authtoken", "www_authenticate_uri", "http://172.17.1.150:5000"),
        ("keystone_authtoken", "auth_url", "http://172.17.1.150:5000"),
        ("keystone_authtoken", "auth_type", "password"),
        ("keystone_authtoken", "username", "barbican"),
        ("keystone_authtoken", "password", "tripleo-fixture-keystone-pw"),
        ("keystone_authtoken", "user_domain_name", "Default"),
        ("keystone_authtoken", "project_name", "service"),
        ("keystone_authtoken", "project_domain_name", "Default"),
        ("keystone_authtoken", "region_name", "regionOne"),
        ("keystone_authtoken", "interface", "internal"),
        ("keystone_authtoken", "memcached_servers", "172.17.1.10:11211"),
        ("keystone_notifications", "enable", "True"),
        ("keystone_notifications", "topic", "barbican_notifications"),
        ("oslo_messaging_notifications", "driver", "noop"),
        ("oslo_policy", "policy_file", "/etc/barbican/policy.yaml"),
        ("secretstore", "enable_multiple_secret_stores", "True"),
        ("secretstore", "stores_lookup_suffix", "simple_crypto"),
        ("secretstore:simple_crypto", "secret_store_plugin", "store_crypto"),
        ("secretstore:simple_crypto", "crypto_plugin", "simple_crypto"),
        ("secretstore:simple_crypto", "global_default", "True"),
        ("simple_crypto_plugin", "kek", k),
    ]
    for s, key, v in sets:
        pc = ini_set(pc, s, key, v)
    return pc


TRIPLEO_VHOST = """# ************************************
# Vhost template in module puppetlabs-apache
# Managed by Puppet
# ************************************
#
<VirtualHost 172.17.1.12:9311>
  ServerName overcloud-controller-0.internalapi.localdomain

  ## Vhost docroot
  DocumentRoot "/var/www/cgi-bin/barbican"

  ## Directories, there should at least be a declaration for /var/www/cgi-bin/barbican

  <Directory "/var/www/cgi-bin/barbican">
    Options -Indexes +FollowSymLinks +MultiViews
    AllowOverride None
    Require all granted
  </Directory>

  ## Logging
  ErrorLog "/var/log/httpd/barbican_wsgi_main_error.log"
  ServerSignature Off
  CustomLog "/var/log/httpd/barbican_wsgi_main_access.log" combined
  SetEnvIf X-Forwarded-Proto https HTTPS=1

  ## WSGI configuration
  WSGIApplicationGroup %{GLOBAL}
  WSGIDaemonProcess barbican-api display-name=barbican_wsgi group=barbican processes=2 threads=1 user=barbican
  WSGIProcessGroup barbican-api
  WSGIScriptAlias / "/var/www/cgi-bin/barbican/main"
</VirtualHost>
"""

TRIPLEO_WSGI_MAIN = """# Copied by puppet from barbican/wsgi/api.py (barbican::params barbican_wsgi_script_source)
\"\"\"WSGI application entry-point for Barbican API.\"\"\"
from barbican.api import app

application = app.get_api_wsgi_script()
"""


def tripleo(a, out):
    k = kek()
    tag = "12.0.1"
    sample = generated_sample(open(os.path.join(a.debian_stock, "barbican.conf")).read())
    conf = tripleo_conf(sample, k)
    paste = git_show(a.barbican_git, tag, "etc/barbican/barbican-api-paste.ini").decode()
    paste += "[server:main]\nuse = egg:gunicorn#main\n"
    policy = "{}\n"  # BarbicanPolicies empty; exact text of openstacklib_policy with no rules inferred
    spec = "%s:openstack-barbican.spec" % RDO
    pg = View()  # the tree puppet wrote inside the config container, as rsync -a keeps it
    own = "%s:common/container-puppet.sh:125-139 rsync -a of files puppet changed, numeric owners of the config image (barbican 42403)" % THT
    pg.d("/etc", 0o755, 0, 0, own)
    pg.d("/etc/barbican", 0o775, 0, 42403, own + "; %s:214 %%dir %%attr(0775,root,barbican)" % spec)
    pg.f("/etc/barbican/barbican.conf", conf, 0o640, 0, 42403, own + "; %s:223 %%attr(0640, root, barbican); values %s:deployment/barbican/barbican-api-container-puppet.yaml:241-306 and barbican-backend-simple-crypto-puppet.yaml:46-47 via %s:manifests/plugins/simple_crypto.pp:20-28, manifests/api.pp:161-170" % (spec, THT, PB))
    pg.f("/etc/barbican/barbican-api-paste.ini", paste, 0o644, 0, 0, own + "; %s:175-176,242 no %%attr (root:root 0644 from install -m 644 default umask); content %s@%s:etc/barbican/barbican-api-paste.ini + [server:main]; puppet_tags barbican_api_paste_ini (%s:deployment/barbican/barbican-api-container-puppet.yaml:314) sets composite:main//v1 (%s:manifests/api.pp:173-176)" % (spec, BAR, tag, THT, PB))
    pg.f("/etc/barbican/policy.yaml", policy, 0o640, 0, 42403, own + "; %s:manifests/policy.pp:57-59 file_mode 0640, %s:manifests/policy.pp:60-66 file_user root, file_group barbican" % (POL, PB))
    pg.d("/etc/httpd", 0o755, 0, 0, own)
    pg.d("/etc/httpd/conf.d", 0o755, 0, 0, own)
    pg.f("/etc/httpd/conf.d/10-barbican_wsgi_main.conf", TRIPLEO_VHOST, 0o644, 0, 0, own + "; %s:manifests/wsgi/apache.pp:149-185 openstacklib::wsgi::apache 'barbican_wsgi' priority 10, wsgi_script_dir /var/www/cgi-bin/barbican, wsgi_script_file main (%s:manifests/params.pp:26-27); vhost text from puppetlabs-apache (not fetched, shape only)" % (PB, PB))
    pg.d("/var", 0o755, 0, 0, own)
    pg.d("/var/www", 0o755, 0, 0, own)
    pg.d("/var/www/cgi-bin", 0o755, 0, 0, own)
    pg.d("/var/www/cgi-bin/barbican", 0o755, 42403, 42403, own + "; %s:manifests/wsgi/apache.pp:299-305 owner user, group group, 0755" % POL)
    pg.f("/var/www/cgi-bin/barbican/main", TRIPLEO_WSGI_MAIN, 0o644, 42403, 42403, own + "; %s:manifests/wsgi/apache.pp:308-316 source barbican/wsgi/api.py, 0644 (a stand-in text: %s@%s has no barbican/wsgi/api.py; shape of %s@HEAD:barbican/wsgi/api.py)" % (POL, BAR, tag, BAR))

    host = View()
    host.d("/var/lib/config-data", 0o755, 0, 0, "%s:common/container-puppet.sh:125-127" % THT)
    host.d("/var/lib/config-data/puppet-generated", 0o755, 0, 0, "%s:common/container-puppet.sh:125-127" % THT)
    host.d("/var/lib/config-data/puppet-generated/barbican", 0o755, 0, 0, "%s:common/container-puppet.sh:125-127 mkdir -p ${puppet_generated_path}" % THT)
    host.graft("/var/lib/config-data/puppet-generated/barbican", pg)
    host.d("/var/lib/config-data/barbican", 0o755, 0, 0, "%s:common/container-puppet.sh:73-119 rsync -a of /etc /root /opt /var/www into /var/lib/config-data/${NAME}" % THT)
    full = View()
    for p in ("/etc", "/etc/barbican"):
        full.rows[p] = pg.rows[p]
    for p in ("/etc/barbican/barbican.conf", "/etc/barbican/barbican-api-paste.ini", "/etc/barbican/policy.yaml"):
        full.rows[p] = pg.rows[p]
    host.graft("/var/lib/config-data/barbican", full)
    kc = "%s:deployment/barbican/barbican-api-container-puppet.yaml" % THT
    api_json = {"command": "/usr/sbin/httpd -DFOREGROUND", "config_files": [
        {"source": "/var/lib/kolla/config_files/src/etc/httpd/conf.d", "dest": "/etc/httpd/conf.d", "merge": False, "preserve_properties": True},
        {"source": "/var/lib/kolla/config_files/src/etc/httpd/conf.modules.d", "dest": "/etc/httpd/conf.modules.d", "optional": True, "merge": False, "preserve_properties": True},
        {"source": "/var/lib/kolla/config_files/src/*", "dest": "/", "merge": True, "preserve_properties": True}]}
    wk = lambda cmd: {"command": cmd, "config_files": [{"source": "/var/lib/kolla/config_files/src/*", "dest": "/", "merge": True, "preserve_properties": True}]}
    host.d("/var/lib/kolla", 0o755, 0, 0, "tripleo-ansible container-startup-config writes kolla_config here (%s:321-353)" % kc)
    host.d("/var/lib/kolla/config_files", 0o755, 0, 0, "%s:321-353" % kc)
    host.f("/var/lib/kolla/config_files/barbican_api.json", json.dumps(api_json, indent=4) + "\n", 0o600, 0, 0, "%s:322-339 (mode 0600 root set by tripleo-ansible, not fetched)" % kc)
    host.f("/var/lib/kolla/config_files/barbican_keystone_listener.json", json.dumps(wk("/usr/bin/barbican-keystone-listener"), indent=4) + "\n", 0o600, 0, 0, "%s:340-346" % kc)
    host.f("/var/lib/kolla/config_files/barbican_worker.json", json.dumps(wk("/usr/bin/barbican-worker"), indent=4) + "\n", 0o600, 0, 0, "%s:347-353" % kc)
    host.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash")]), 0o644, 0, 0, "host: no barbican user (42403 is the container's, %s:kolla/common/users.py:28-31)" % KO)
    host.f("/etc/group", group([("root", 0, "")]), 0o644, 0, 0, "host: no barbican group")
    host.write(os.path.join(out, "tripleo", "host"))

    t = View()
    img = "RDO openstack-barbican-api %s-1.el9 in a kolla-built image (%s:214-247)" % (tag, spec)
    t.d("/etc/barbican", 0o775, 0, 42403, "%s:214 %%dir %%attr(0775,root,barbican) in the image; at every start kolla_set_configs re-applies the puppet-generated directory's owner and mode to it (merge of src/*, directories too: %s:kolla/docker/base/set_configs.py:103-110,133-143)" % (spec, KO))
    ps = "%s:336-339 src/* -> / merge, preserve_properties: owner and mode copied from the puppet-generated file (%s:kolla/docker/base/set_configs.py:139-143)" % (kc, KO)
    for p in ("/etc/barbican/barbican.conf", "/etc/barbican/barbican-api-paste.ini", "/etc/barbican/policy.yaml"):
        t.rows[p] = pg.rows[p][:5] + (ps,) + pg.rows[p][6:]
    t.f("/etc/barbican/api_audit_map.conf", git_show(a.barbican_git, tag, "etc/barbican/api_audit_map.conf"), 0o640, 0, 42403, img + "; %s:241" % spec)
    t.f("/etc/barbican/barbican-functional.conf", git_show(a.barbican_git, tag, "etc/barbican/barbican-functional.conf"), 0o640, 0, 42403, img + "; %s:243" % spec)
    t.f("/etc/barbican/gunicorn-config.py", "import multiprocessing\n\nbind = '0.0.0.0:9311'\nuser = 'barbican'\ngroup = 'barbican'\n\ntimeout = 30\nbacklog = 2048\nkeepalive = 2\n\nworkers = multiprocessing.cpu_count() * 2\n", 0o644, 0, 0, img + "; %s:167,244; content shape of %s:gunicorn-config.py" % (spec, RDO))
    t.d("/etc/barbican/vassals", 0o755, 0, 0, img + "; %s:156" % spec)
    t.f("/etc/barbican/vassals/barbican-api.ini", git_show(a.barbican_git, tag, "etc/barbican/vassals/barbican-api.ini"), 0o644, 0, 0, img + "; %s:168,247 (shipped, not run: httpd serves the API)" % spec)
    for p in ("/etc/httpd", "/etc/httpd/conf.d", "/etc/httpd/conf.d/10-barbican_wsgi_main.conf",
              "/var/www", "/var/www/cgi-bin", "/var/www/cgi-bin/barbican", "/var/www/cgi-bin/barbican/main"):
        t.rows[p] = pg.rows[p][:5] + (ps,) + pg.rows[p][6:]
    t.d("/var/lib/kolla", 0o755, 0, 0, "kolla image")
    t.d("/var/lib/kolla/config_files", 0o755, 0, 0, "%s:697-698 bind mounts under it" % kc)
    t.f("/var/lib/kolla/config_files/config.json", host.rows["/var/lib/kolla/config_files/barbican_api.json"][6], 0o600, 0, 0, "%s:697 /var/lib/kolla/config_files/barbican_api.json:/var/lib/kolla/config_files/config.json:ro" % kc)
    t.d("/var/lib/kolla/config_files/src", 0o755, 0, 0, "%s:698 /var/lib/config-data/puppet-generated/barbican:/var/lib/kolla/config_files/src:ro" % kc)
    t.graft("/var/lib/kolla/config_files/src", View())
    for p, r in pg.rows.items():
        t.rows["/var/lib/kolla/config_files/src" + p] = r[:5] + ("%s:698 read-only bind mount of the host's puppet-generated tree" % kc,) + r[6:]
    t.d("/var/lib/rpm", 0o755, 0, 0, "rpm database directory (rpm >= 4.16 on el9)")
    t.f("/var/lib/rpm/rpmdb.sqlite", open(a.rpmdb_tripleo, "rb").read(), 0o644, 0, 0, "SQLite rpmdb, rpm 4.18 --justdb of metadata-only stand-ins named like RDO's subpackages (%s:57-110): openstack-barbican-common, openstack-barbican-api, python3-barbican %s-1.el9" % (spec, tag))
    rpm_sitelib(t, tag, spec, " (rpm-master spec; the Wallaby-era spec was not checked)")
    t.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash"),
                               ("apache", 48, 48, "Apache", "/usr/share/httpd", "/sbin/nologin"),
                               ("kolla", 42400, 42400, "", "/home/kolla", "/usr/sbin/nologin"),
                               ("barbican", 42403, 42403, "", "/var/lib/barbican", "/usr/sbin/nologin")]), 0o644, 0, 0,
        "kolla-built image: %s:kolla/common/users.py:16-19,28-31; apache from httpd package" % KO)
    t.f("/etc/group", group([("root", 0, ""), ("apache", 48, ""), ("kolla", 42400, "barbican"), ("barbican", 42403, "")]), 0o644, 0, 0,
        "kolla-built image: %s:kolla/common/users.py:16-19,28-31" % KO)
    t.write(os.path.join(out, "tripleo", "target"))


# ---------------------------------------------------------------------------------------------
# OpenStack-Ansible (target: the LXC container; host: /var/lib/lxc/<c>/rootfs)

OSA_AUTH = (
        "[keystone_authtoken]\n"
        "insecure = False\n"
        "auth_type = password\n"
        "auth_url = http://172.29.236.100:5000\n"
        "www_authenticate_uri = https://cloud.example.test:5000\n"
        "project_domain_id = default\n"
        "user_domain_id = default\n"
        "project_name = service\n"
        "username = barbican\n"
        "password = osa-fixture-keystone-pw\n"
        "region_name = RegionOne\n\n"
        "service_token_roles_required = True\n"
        "service_token_roles = service\n"
        "service_type = key-manager\n\n"
        "memcached_servers = 172.29.236.102:11211\n\n"
        "token_cache_time = 300\n\n"
        "# if your memcached server is shared, use these settings to avoid cache poisoning\n"
        "memcache_security_strategy = ENCRYPT\n"
        "memcache_secret_key = osa-fixture-memcache-key\n\n"
)


def osa_target(a, k, tag, venv_tag, keystone_auth=True):
    t = View()
    ci = "%s:tasks/barbican_post_install.yml:16-40 config_template owner root, group barbican, mode 0640" % OSA
    conf = (
        "# Ansible managed\n\n"
        "[DEFAULT]\n"
        "use_journal = True\n"
        "# Disable stderr logging\n"
        "use_stderr = False\n"
        "# Show debugging output in logs (sets DEBUG log level output)\n"
        "debug = False\n\n"
        "# Host name, for use in HATEOAS-style references\n"
        "#  Note: This is cleared so that the auto-detected endpoint url is used.\n"
        "host_href =\n\n"
        "transport_url = rabbit://barbican:osa-fixture-rabbit-pw@172.29.236.101:5672/barbican?ssl=0\n\n"
        "[database]\n"
        "connection = mysql+pymysql://barbican:osa-fixture-db-pw@172.29.236.100:3306/barbican?charset=utf8\n"
        "max_overflow = 50\n"
        "max_pool_size = 5\n"
        "pool_timeout = 30\n"
        "connection_recycle_time = 600\n\n"
        "[oslo_messaging_notifications]\n"
        "driver = noop\n"
        "transport_url = rabbit://barbican:osa-fixture-rabbit-pw@172.29.236.101:5672/barbican?ssl=0\n\n"
        "[oslo_messaging_rabbit]\n"
        "ssl = False\n"
        "rabbit_quorum_queue = True\n"
        "rabbit_transient_quorum_queue = True\n"
        "rabbit_qos_prefetch_count = 10\n"
        "use_queue_manager = True\n"
        "hostname = infra1-barbican-container-5f2a0c1d-barbican\n"
        "rabbit_stream_fanout = True\n"
        "rabbit_quorum_delivery_limit = 0\n"
        "rabbit_quorum_max_memory_bytes = 0\n\n"
        "%s"
        "# ================= Secret Store Plugin ===================\n"
        "[secretstore]\n"
        "enabled_secretstore_plugins = store_crypto\n\n"
        "# ================= Crypto plugin ===================\n"
        "[crypto]\n"
        "enabled_crypto_plugins = simple_crypto\n\n"
        "[simple_crypto_plugin]\n"
        "kek = '%s'\n\n"
        "[certificate]\n"
        "enabled_certificate_plugins = simple_certificate\n"
        "enabled_certificate_plugins = snakeoil_ca\n\n"
        "[certificate_event]\n"
        "enabled_certificate_event_plugins = simple_certificate\n\n"
        "[snakeoil_ca_plugin]\n"
        "ca_cert_path = /etc/barbican/snakeoil-ca.crt\n"
        "ca_cert_key_path = /etc/barbican/snakeoil-ca.key\n"
        "ca_cert_chain_path = /etc/barbican/snakeoil-ca.chain\n"
        "ca_cert_pkcs7_path = /etc/barbican/snakeoil-ca.p7b\n"
        "subca_cert_key_directory=/etc/barbican/snakeoil-cas\n") % (OSA_AUTH if keystone_auth else "", k)
    paste = open(os.path.join(a.osa_templates, "barbican-api-paste.ini.j2")).read().replace(
        "{{ (barbican_keystone_auth | bool) | ternary('barbican-api-keystone', 'barbican_api') }}",
        "barbican-api-keystone" if keystone_auth else "barbican_api")
    audit = open(os.path.join(a.osa_templates, "api_audit_map.conf.j2")).read()
    mk = "%s:tasks/barbican_pre_install.yml:32-41 owner barbican, group barbican, mode 0750 (item.owner default barbican_system_user_name)" % OSA
    t.d("/etc/barbican", 0o750, 999, 999, mk)
    t.f("/etc/barbican/barbican.conf", conf, 0o640, 0, 999, ci + "; content %s:templates/barbican.conf.j2 (%s; simple_crypto from defaults/main.yml:57-65)" % (OSA, "keystone_all not empty" if keystone_auth else "no keystone_all group: barbican_keystone_auth false, defaults/main.yml:38, so no [keystone_authtoken], template :42-67"))
    t.f("/etc/barbican/barbican-api-paste.ini", paste, 0o640, 0, 999, ci + "; content %s:templates/barbican-api-paste.ini.j2:5 /v1 %s" % (OSA, "barbican-api-keystone" if keystone_auth else "barbican_api (barbican_keystone_auth false)"))
    t.f("/etc/barbican/api_audit_map.conf", audit, 0o640, 0, 999, ci + "; content %s:templates/api_audit_map.conf.j2" % OSA)
    t.f("/etc/barbican/policy.yaml", "{}\n", 0o640, 0, 999, "%s:tasks/barbican_post_install.yml:42-51 content barbican_policy_overrides ({} by default, defaults/main.yml:147)" % OSA)
    t.d("/var/lib/barbican", 0o750, 999, 999, mk)
    uw = "%s:tasks/uwsgi_post_install.yml:16-28 dest /etc/uwsgi/<service>.ini; content templates/uwsgi.ini.j2 with %s:vars/main.yml:61-82 (wsgi_venv, uwsgi_uid barbican) and defaults/main.yml:68-79" % (UW, OSA)
    t.d("/etc/uwsgi", 0o755, 0, 0, "%s:tasks/uwsgi_post_install.yml:16-20 mode 0755" % UW)
    venv = "/openstack/venvs/barbican-%s" % venv_tag
    t.f("/etc/uwsgi/barbican-api.ini",
        "[uwsgi]\nuid = barbican\ngid = barbican\n\nvirtualenv = %s\nwsgi = barbican.wsgi.api:application\n"
        "http-socket = 172.29.236.112:9311\n\nmaster = true\nenable-threads = true\nprocesses = 4\nthreads = 1\n"
        "exit-on-reload = true\ndie-on-term = true\nlazy-apps = true\nadd-header = Connection: close\n"
        "buffer-size = 65535\nthunder-lock = true\ndisable-logging = true\nhttp-auto-chunked = true\n"
        "http-raw-body = true\nsocket-timeout = 10\nneed-app = true\n"
        "env = REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt\n"
        "safe-pidfile = /run/barbican-api/uwsgi/barbican-api.pid\n\nlog-x-forwarded-for = true\n"
        "route-user-agent = ^osa-haproxy-healthcheck$ donotlog:\n\nignore-sigpipe = true\n"
        "ignore-write-errors = true\ndisable-write-exception = true\n" % venv, 0o644, 0, 0,
        uw + " (config_template default mode 0644)")
    unit = "%s:tasks/main.yml:85-101 dest /etc/systemd/system/<service>.service; template templates/systemd-service.j2; ExecStart from %s:tasks/uwsgi_post_install.yml:50-53 with uwsgi_bin %s:vars/source_install.yml:16" % (SD, UW, UW)
    t.d("/etc/systemd", 0o755, 0, 0, "systemd")
    t.d("/etc/systemd/system", 0o755, 0, 0, "systemd")
    t.f("/etc/systemd/system/barbican-api.service",
        "# Ansible managed\n\n[Unit]\nDescription=barbican-api service\nAfter=network-online.target\nAfter=syslog.target\n\n\n"
        "[Service]\nType=simple\nUser=barbican\nGroup=barbican\n\n\n\n\n"
        "ExecStart=/openstack/venvs/uwsgi-%s-python3/bin/uwsgi --autoload --ini /etc/uwsgi/barbican-api.ini\n\n"
        "ExecReload=/openstack/venvs/uwsgi-%s-python3/bin/uwsgi --reload /run/barbican-api/uwsgi/barbican-api.pid\n\n\n"
        "# Give a reasonable amount of time for the server to start up/shut down\nTimeoutSec=120\nRestart=on-failure\nRestartSec=2\n\n\n"
        "# This creates a specific slice which all services will operate from\n"
        "#  The accounting options give us the ability to see resource usage through\n"
        "#  the `systemd-cgtop` command.\nSlice=uwsgi.slice\n\n# Set Accounting\nCPUAccounting=True\n"
        "BlockIOAccounting=True\nMemoryAccounting=True\nTasksAccounting=True\n\n[Install]\nWantedBy=multi-user.target\n"
        % (venv_tag, venv_tag), 0o644, 0, 0, unit)
    vb = "%s:vars/source_install.yml:19 _barbican_bin /openstack/venvs/barbican-{{ barbican_venv_tag }}/bin; barbican_venv_tag = venv_tag (defaults/main.yml:163), the OSA release, not Barbican's version" % OSA
    for p in ("/openstack", "/openstack/venvs", venv, venv + "/lib", venv + "/lib/python3.12",
              venv + "/lib/python3.12/site-packages"):
        t.d(p, 0o755, 0, 0, vb)
    dist = venv + "/lib/python3.12/site-packages/barbican-%s.dist-info" % tag
    t.d(dist, 0o755, 0, 0, vb + "; pip install git+...barbican@<branch> (defaults/main.yml:250-251)")
    t.f(dist + "/METADATA", metadata(tag), 0o644, 0, 0, vb)
    t.f(dist + "/INSTALLER", "pip\n", 0o644, 0, 0, vb)
    t.f(venv + "/pyvenv.cfg", "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.12.3\n", 0o644, 0, 0, vb + " (python_venv_build)")
    t.d("/etc/ansible", 0o755, 0, 0, "%s:tasks/barbican_install.yml:16-22" % OSA)
    t.d("/etc/ansible/facts.d", 0o755, 0, 0, "%s:tasks/barbican_install.yml:16-22" % OSA)
    t.f("/etc/ansible/facts.d/openstack_ansible.fact", "[barbican]\ninstall_method = source\nvenv_tag = %s\n" % venv_tag, 0o644, 0, 0,
        "%s:tasks/barbican_install.yml:16-22 (install_method, mode 0644) and :51-54 (venv_tag)" % OSA)
    t.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash"),
                               ("barbican", 999, 999, "Barbican System User", "/var/lib/barbican", "/bin/false")]), 0o644, 0, 0,
        "%s:tasks/barbican_pre_install.yml:16-30 system user, home and shell from defaults/main.yml:41-45 (uid assigned by useradd -r)" % OSA)
    t.f("/etc/group", group([("root", 0, ""), ("barbican", 999, "")]), 0o644, 0, 0, "%s:tasks/barbican_pre_install.yml:16-20" % OSA)
    return t


def osa_noauth(a, out):
    """An OSA deployment whose inventory has no keystone_all group (defaults/main.yml:38): the
    paste template maps /v1 to barbican_api and barbican.conf has no [keystone_authtoken]."""
    osa_target(a, kek(), "21.0.0", "32.0.0", keystone_auth=False).write(os.path.join(out, "osa-noauth", "target"))


def kolla_tls(a, out):
    kolla(a, out, tls=True)


def osa(a, out):
    k = kek()
    t = osa_target(a, k, "21.0.0", "32.0.0")
    t.write(os.path.join(out, "osa", "target"))
    host = View()
    c = "infra1_barbican_container-5f2a0c1d"
    lx = "%s:defaults/main.yml:62-66 lxc_container_directory /var/lib/lxc, rootfs {{ lxc_container_directory }}/{{ container_name }}/rootfs (dir backing store)" % LXC
    host.d("/var/lib/lxc", 0o755, 0, 0, lx)
    host.d("/var/lib/lxc/" + c, 0o770, 0, 0, lx)
    host.f("/var/lib/lxc/%s/config" % c, "lxc.uts.name = %s\nlxc.rootfs.path = dir:/var/lib/lxc/%s/rootfs\n" % (c, c), 0o640, 0, 0, lx + " (lxc config, two lines shown)")
    host.d("/var/lib/lxc/%s/rootfs" % c, 0o755, 0, 0, lx)
    host.graft("/var/lib/lxc/%s/rootfs" % c, t)
    host.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash")]), 0o644, 0, 0, "LXC host: no barbican user (uid 999 is the container's)")
    host.f("/etc/group", group([("root", 0, "")]), 0o644, 0, 0, "LXC host")
    host.write(os.path.join(out, "osa", "host"))


# ---------------------------------------------------------------------------------------------
# Juju charm-barbican (host only: the unit's machine or LXD container)

def charm(a, out):
    tag = "18.0.0"
    sample_kek = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="  # charm-barbican's hard-coded value (published)
    t = View()
    rc = "%s:charms_openstack/charm/core.py:829-838 render(owner root, group=self.group 'barbican', perms 0o640); %s:src/lib/charm/openstack/barbican.py:151 group = 'barbican'" % (CO, CH)
    conf = (
        "[DEFAULT]\ndebug = False\nbind_host = 0.0.0.0\nbind_port = 9301\n\n\n\n\n"
        "host_href = http://10.5.0.20:9311\n\n"
        "db_auto_create = False\nmax_allowed_secret_in_bytes = 20000\nmax_allowed_request_size_in_bytes = 25000\n\n"
        "# This template must be included under the [DEFAULT] section\n\n"
        "transport_url = rabbit://barbican:charm-fixture-rabbit-pw@10.5.0.10:5672/openstack\n\n\n"
        "[database]\n\nconnection = mysql+pymysql://barbican:charm-fixture-db-pw@10.5.0.11/barbican\n\n"
        "[keystone_authtoken]\n"
        "auth_uri = http://10.5.0.12:5000\n"
        "auth_url = http://10.5.0.12:35357\n"
        "auth_type = password\n"
        "project_domain_name = service_domain\n"
        "user_domain_name = service_domain\n"
        "project_name = services\n"
        "username = barbican\n"
        "password = charm-fixture-keystone-pw\n"
        "service_type = key-manager\n\n"
        "[oslo_messaging_rabbit]\n\n"
        "[oslo_middleware]\n\n# Bug #1758675\nenable_proxy_headers_parsing = true\n\n\n"
        "[secretstore]\nnamespace = barbican.secretstore.plugin\nenabled_secretstore_plugins = store_crypto\n\n\n"
        "[crypto]\nnamespace = barbican.crypto.plugin\nenabled_crypto_plugins = simple_crypto\n\n"
        "[simple_crypto_plugin]\n# the kek should be a 32-byte value which is base64 encoded\n"
        "kek = '%s'\n\n" % sample_kek)
    srcs = "%s:src/templates/rocky/barbican.conf:1-63 (kek line 63); parts from %s:templates/parts/section-keystone-authtoken:1-15 (auth_uri, the deprecated name), section-transport-url, section-database, %s:charmhelpers/contrib/openstack/templates/section-oslo-middleware" % (CH, CHL, CHH)
    t.d("/etc/barbican", 0o750, 64060, 64060, "Ubuntu barbican-common (not consulted; Debian's postinst install -o barbican -g barbican -m 0750 -d, %s)" % DEB)
    t.f("/etc/barbican/barbican.conf", conf, 0o640, 0, 64060, rc + "; content " + srcs)
    t.f("/etc/barbican/barbican-api-paste.ini", open(os.path.join(a.charm_templates, "barbican-api-paste.ini")).read(), 0o640, 0, 64060,
        rc + "; content %s:src/templates/rocky/barbican-api-paste.ini (/v1 barbican-api-keystone, no /healthcheck)" % CH)
    t.f("/etc/barbican/api_audit_map.conf", git_show(a.barbican_git, tag, "etc/barbican/api_audit_map.conf"), 0o640, 0, 64060,
        "Ubuntu barbican-common %s (as Debian's postinst: root:barbican 0640, %s)" % (tag, DEB))
    pd = "%s:charmhelpers/contrib/openstack/policyd.py:488-526 policyd_dir_for = /etc/barbican/policy.d; clean_policyd_dir_for mkdir owner=group=service 'barbican', perms 0o775 (called on every config-changed, deletes files not from the resource)" % CHH
    t.d("/etc/barbican/policy.d", 0o775, 64060, 64060, pd)
    t.d("/etc/apache2", 0o755, 0, 0, "apache2 package")
    t.d("/etc/apache2/conf-available", 0o755, 0, 0, "apache2 package")
    t.d("/etc/apache2/conf-enabled", 0o755, 0, 0, "apache2 package")
    vh = open(os.path.join(a.charm_templates, "barbican-api.conf")).read()
    vh = (vh.replace("{{ options.service_listen_info.barbican_worker.public_port }}", "9301")
            .replace("{{ options.service_listen_info.barbican_worker.admin_port }}", "9302")
            .replace("{{ options.wsgi_worker_context.processes }}", "4"))
    t.f("/etc/apache2/conf-available/barbican-api.conf", vh, 0o640, 0, 64060, rc + "; %s:src/lib/charm/openstack/barbican.py:42 BARBICAN_WSGI_CONF; content src/templates/rocky/barbican-api.conf (haproxy in front: listen ports 9311/9312 minus 10)" % CH)
    t.l("/etc/apache2/conf-enabled/barbican-api.conf", "../conf-available/barbican-api.conf",
        "enabled by Ubuntu barbican-api (a2enconf in its postinst, inferred: Ubuntu packaging not consulted); the charm only rewrites conf-available (%s:src/lib/charm/openstack/barbican.py:42)" % CH)
    t.d("/usr/share/barbican", 0o755, 0, 0, "Ubuntu barbican-api package (not consulted)")
    t.f("/usr/share/barbican/app.wsgi", git_show(a.barbican_git, tag, "barbican/api/app.wsgi"), 0o644, 0, 0,
        "Ubuntu barbican-api ships %s@%s:barbican/api/app.wsgi as /usr/share/barbican/app.wsgi (inferred: WSGIScriptAlias in %s:src/templates/rocky/barbican-api.conf)" % (BAR, tag, CH))
    dp = "dpkg status, Ubuntu noble + Caracal (%s:src/tests/bundles/noble-caracal.yaml); package names %s:src/lib/charm/openstack/barbican.py:34-38; version 1:18.0.0-0ubuntu1 assumed" % (CH, CH)
    t.d("/var/lib/dpkg", 0o755, 0, 0, dp)
    st = ""
    for p in ("barbican-common", "barbican-api", "barbican-worker", "python3-barbican"):
        st += ("Package: %s\nStatus: install ok installed\nPriority: optional\nSection: net\nMaintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>\n"
               "Architecture: all\nSource: barbican\nVersion: 1:18.0.0-0ubuntu1\nDescription: OpenStack Key Management Service\n\n" % p)
    st += ("Package: python3-oslo.policy\nStatus: install ok installed\nPriority: optional\nSection: python\nMaintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>\n"
           "Architecture: all\nSource: python-oslo.policy\nVersion: 4.3.0-0ubuntu1\nDescription: RBAC policy enforcement library for OpenStack\n\n")
    t.f("/var/lib/dpkg/status", st, 0o644, 0, 0, dp)
    t.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash"),
                               ("barbican", 64060, 64060, "", "/var/lib/barbican", "/bin/false")]), 0o644, 0, 0,
        "Ubuntu barbican-common adduser --system (uid assigned at install; 64060 is an example)")
    t.f("/etc/group", group([("root", 0, ""), ("barbican", 64060, "")]), 0o644, 0, 0, "Ubuntu barbican-common addgroup --system")
    t.write(os.path.join(out, "charm", "host"))


# ---------------------------------------------------------------------------------------------
# OpenStack-Helm (host: kubelet's volume tree; target: the barbican-api pod's root)

def helm_files():
    conf = (
        "[DEFAULT]\n"
        "host_href = https://barbican.openstack.svc.cluster.local\n"
        "log_config_append = /etc/barbican/logging.conf\n"
        "transport_url = rabbit://barbican:helm-fixture-rabbit-pw@rabbitmq-rabbitmq-0.rabbitmq.openstack.svc.cluster.local:5672/barbican\n"
        "[barbican_api]\n"
        "[database]\n"
        "connection = mysql+pymysql://barbican:helm-fixture-db-pw@mariadb.openstack.svc.cluster.local:3306/barbican\n"
        "max_retries = -1\n"
        "[keystone_authtoken]\n"
        "auth_type = password\n"
        "auth_uri = http://keystone-api.openstack.svc.cluster.local:5000/v3\n"
        "auth_url = http://keystone-api.openstack.svc.cluster.local:5000/v3\n"
        "auth_version = v3\n"
        "memcache_secret_key = helm-fixture-memcache-key\n"
        "memcache_security_strategy = ENCRYPT\n"
        "memcached_servers = memcached.openstack.svc.cluster.local:11211\n"
        "password = helm-fixture-keystone-pw\n"
        "project_domain_name = service\n"
        "project_name = service\n"
        "region_name = RegionOne\n"
        "service_type = key-manager\n"
        "user_domain_name = service\n"
        "username = barbican\n"
        "[oslo_concurrency]\n"
        "lock_path = /var/lock\n"
        "[oslo_messaging_rabbit]\n"
        "amqp_durable_queues = true\n"
        "rabbit_quorum_queues = true\n"
        "rabbit_transient_quorum_queue = true\n"
        "use_queue_manager = true\n"
        "[oslo_policy]\n"
        "policy_file = /etc/barbican/policy.yaml\n")
    paste_vals = [
        ("app:apiapp", [("paste.app_factory", "barbican.api.app:create_main_app")]),
        ("app:healthcheck", [("backends", "disable_by_file"), ("disable_by_file_path", "/etc/barbican/healthcheck_disable"), ("paste.app_factory", "oslo_middleware:Healthcheck.app_factory")]),
        ("app:versionapp", [("paste.app_factory", "barbican.api.app:create_version_app")]),
        ("composite:main", [("/", "barbican_version"), ("/healthcheck", "healthcheck"), ("/v1", "barbican-api-keystone"), ("use", "egg:Paste#urlmap")]),
        ("filter:audit", [("audit_map_file", "/etc/barbican/api_audit_map.conf"), ("paste.filter_factory", "keystonemiddleware.audit:filter_factory")]),
        ("filter:authtoken", [("paste.filter_factory", "keystonemiddleware.auth_token:filter_factory")]),
        ("filter:context", [("paste.filter_factory", "barbican.api.middleware.context:ContextMiddleware.factory")]),
        ("filter:cors", [("oslo_config_project", "barbican"), ("paste.filter_factory", "oslo_middleware.cors:filter_factory")]),
        ("filter:http_proxy_to_wsgi", [("paste.filter_factory", "oslo_middleware:HTTPProxyToWSGI.factory")]),
        ("filter:profile", [("cachegrind_filename", "cachegrind.out.myapp"), ("discard_first_request", "true"), ("flush_at_shutdown", "true"), ("log_filename", "myapp.profile"), ("path", "/__profile__"), ("unwind", "false"), ("use", "egg:repoze.profile")]),
        ("filter:simple", [("paste.filter_factory", "barbican.api.middleware.simple:SimpleFilter.factory")]),
        ("filter:unauthenticated-context", [("paste.filter_factory", "barbican.api.middleware.context:UnauthenticatedContextMiddleware.factory")]),
        ("pipeline:barbican-api-keystone", [("pipeline", "cors http_proxy_to_wsgi authtoken context apiapp")]),
        ("pipeline:barbican-api-keystone-audit", [("pipeline", "http_proxy_to_wsgi authtoken context audit apiapp")]),
        ("pipeline:barbican-profile", [("pipeline", "cors http_proxy_to_wsgi unauthenticated-context egg:Paste#cgitb egg:Paste#httpexceptions profile apiapp")]),
        ("pipeline:barbican_api", [("pipeline", "cors http_proxy_to_wsgi unauthenticated-context apiapp")]),
        ("pipeline:barbican_version", [("pipeline", "cors http_proxy_to_wsgi versionapp")]),
    ]
    paste = "".join("[%s]\n%s" % (s, "".join("%s = %s\n" % kv for kv in vals)) for s, vals in paste_vals)
    audit = ("[DEFAULT]\ntarget_endpoint_type = key-manager\n[custom_actions]\nacl/get = read\n"
             "[path_keywords]\ncas = None\ncontainers = <no value>\norders = <no value>\nproject-quotas = <no value>\nquotas = <no value>\nsecrets = <no value>\n"
             "[service_endpoints]\nkey-manager = service/security/keymanager\n")
    uwsgi = ("[uwsgi]\nadd-header = Connection: close\nbuffer-size = 65535\ndie-on-term = true\nenable-threads = true\n"
             "exit-on-reload = false\nhook-master-start = unix_signal:15 gracefully_kill_them_all\nhttp-socket = 0.0.0.0:9311\n"
             "lazy-apps = true\nlog-x-forwarded-for = true\nmaster = true\nmodule = barbican.wsgi.api:application\n"
             "procname-prefix-spaced = barbiacan-api:\nprocesses = 1\nroute-user-agent = ^kube-probe.* donotlog:\n"
             "stats = 0.0.0.0:1717\nstats-http = true\nthunder-lock = true\nworker-reload-mercy = 80\n")
    logging_conf = ("[formatter_context]\nclass = oslo_log.formatters.ContextFormatter\ndatefmt = %Y-%m-%d %H:%M:%S\n"
                    "[formatter_default]\ndatefmt = %Y-%m-%d %H:%M:%S\nformat = %(message)s\n"
                    "[formatters]\nkeys = context,default\n[handler_null]\nargs = ()\nclass = logging.NullHandler\nformatter = default\n"
                    "[handler_stderr]\nargs = (sys.stderr,)\nclass = StreamHandler\nformatter = context\n"
                    "[handler_stdout]\nargs = (sys.stdout,)\nclass = StreamHandler\nformatter = context\n"
                    "[handlers]\nkeys = stdout,stderr,null\n[logger_barbican]\nhandlers = stdout\nlevel = INFO\nqualname = barbican\n"
                    "[logger_root]\nhandlers = null\nlevel = WARNING\n[loggers]\nkeys = root,barbican\n")
    return {"barbican.conf": conf, "barbican-api-paste.ini": paste, "api_audit_map.conf": audit,
            "policy.yaml": "{}\n", "barbican-api-uwsgi.ini": uwsgi, "logging.conf": logging_conf,
            "old_keks": "dGhpcnR5X3R3b19ieXRlX2tleWJsYWhibGFoYmxhaGg="}


def helm(a, out):
    tag = "22.0.0"
    files = helm_files()
    cm = "%s:barbican/templates/configmap-etc.yaml:88-101 kind: Secret barbican-etc; barbican.conf from helm-toolkit to_oslo_conf (sections and keys sorted) of values.yaml:392-424 (no simple_crypto_plugin kek: values.yaml:425-443)" % OSH
    src = {
        "barbican.conf": cm + "; auth_uri set by configmap-etc.yaml:18-20",
        "barbican-api-paste.ini": "%s:barbican/templates/configmap-etc.yaml:97 to_ini of values.yaml:302-349" % OSH,
        "api_audit_map.conf": "%s:barbican/templates/configmap-etc.yaml:98 to_ini of values.yaml:351-372 (null values: Go text/template prints <no value>; inferred)" % OSH,
        "policy.yaml": "%s:barbican/templates/configmap-etc.yaml:99 toYaml of values.yaml:350 (policy: {})" % OSH,
        "barbican-api-uwsgi.ini": "%s:barbican/templates/configmap-etc.yaml:70-74,100 to_ini of values.yaml:373-391" % OSH,
        "logging.conf": "%s:barbican/templates/configmap-etc.yaml:96 to_oslo_conf of values.yaml:470-529 (abridged)" % OSH,
        "old_keks": "%s:barbican/templates/configmap-etc.yaml:101 values.yaml:469 old_kek default (the published code-default KEK; key in the Secret, not mounted into barbican-api)" % OSH,
    }
    pod_uid = "0b6e3c2a-6f1d-4c59-9a57-3e0f4d2c8b71"
    ts = "..2026_12_02_22_40_11.3507761234"
    pods = "/var/lib/kubelet/pods/" + pod_uid
    kub = "kubelet volume layout: pods/<uid>/volumes/kubernetes.io~<plugin>/<volume> (kubernetes pkg/volume, atomic writer ..data -> ..<timestamp>)"
    host = View()
    for p in ("/var/lib/kubelet", "/var/lib/kubelet/pods"):
        host.d(p, 0o750 if p.endswith("kubelet") else 0o750, 0, 0, kub)
    host.d(pods, 0o750, 0, 0, kub)
    host.d(pods + "/volumes", 0o750, 0, 0, kub)
    sec = pods + "/volumes/kubernetes.io~secret"
    host.d(sec, 0o750, 0, 0, kub)
    vol = sec + "/barbican-etc"
    host.d(vol, 0o1777, 0, 0, kub + " (secret volume is a tmpfs, mode 1777)")
    host.d(vol + "/" + ts, 0o755, 0, 0, kub)
    host.l(vol + "/..data", ts, kub)
    dm = "%s:barbican/templates/deployment-api.yaml:138-141 secret barbican-etc defaultMode 0444 (no fsGroup: root:root)" % OSH
    for name, content in files.items():
        host.f(vol + "/" + ts + "/" + name, content, 0o444, 0, 0, dm + "; content " + src[name])
        host.l(vol + "/" + name, "..data/" + name, kub)
    ed = pods + "/volumes/kubernetes.io~empty-dir"
    host.d(ed, 0o750, 0, 0, kub)
    em = "%s:barbican/templates/deployment-api.yaml:%s emptyDir (kubelet creates it 0777 root:root)"
    host.d(ed + "/etcbarbican", 0o777, 0, 0, em % (OSH, "136-137"))
    host.d(ed + "/barbican-etc-snippets", 0o777, 0, 0, em % (OSH, "142-149 no etcSources"))
    host.d(ed + "/pod-tmp", 0o777, 0, 0, em % (OSH, "132-133"))
    host.d(ed + "/oslo-lock-path", 0o777, 0, 0, em % (OSH, "134-135"))
    sp = pods + "/volume-subpaths/barbican-etc/barbican-api"
    subp = "kubelet subPath bind sources: volume-subpaths/<volume>/<container>/<volumeMount index> (kubernetes pkg/volume/util/subpath); mount index from %s:barbican/templates/deployment-api.yaml:90-125" % OSH
    host.d(pods + "/volume-subpaths", 0o750, 0, 0, subp)
    host.d(pods + "/volume-subpaths/barbican-etc", 0o750, 0, 0, subp)
    host.d(sp, 0o750, 0, 0, subp)
    for idx, name in ((3, "barbican-api-uwsgi.ini"), (4, "barbican.conf"), (6, "logging.conf"),
                      (7, "api_audit_map.conf"), (8, "barbican-api-paste.ini"), (9, "policy.yaml")):
        host.f("%s/%d" % (sp, idx), files[name], 0o444, 0, 0, subp + "; bind of ..data/" + name)
    host.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash")]), 0o644, 0, 0, "Kubernetes node: no barbican user (42424 is the image's)")
    host.f("/etc/group", group([("root", 0, "")]), 0o644, 0, 0, "Kubernetes node")
    host.write(os.path.join(out, "helm", "host"))

    t = View()
    t.d("/etc/barbican", 0o777, 0, 0, em % (OSH, "95-96,136-137 etcbarbican at /etc/barbican"))
    mp = "%s:barbican/templates/deployment-api.yaml:%s subPath readOnly bind of the Secret file (0444 root:root, defaultMode :141)"
    for lines, name in (("97-100", "barbican-api-uwsgi.ini"), ("101-104", "barbican.conf"), ("108-113", "logging.conf"),
                        ("114-117", "api_audit_map.conf"), ("118-121", "barbican-api-paste.ini"), ("122-125", "policy.yaml")):
        t.f("/etc/barbican/" + name, files[name], 0o444, 0, 0, (mp % (OSH, lines)) + "; content " + src[name])
    t.d("/etc/barbican/barbican.conf.d", 0o777, 0, 0, em % (OSH, "105-107,142-149 barbican-etc-snippets at /etc/barbican/barbican.conf.d/ (oslo.config loads its *.conf)"))
    lo = "%s:Dockerfile:9 ENV PATH=/var/lib/openstack/bin; scripts/helpers.sh:158 /var/lib/openstack/pyvenv.cfg; image quay.io/airshipit/barbican:2026.1-ubuntu_noble (%s:barbican/values.yaml:43)" % (LOCI, OSH)
    for p in ("/var/lib/openstack", "/var/lib/openstack/lib", "/var/lib/openstack/lib/python3.12",
              "/var/lib/openstack/lib/python3.12/site-packages"):
        t.d(p, 0o755, 0, 0, lo)
    t.f("/var/lib/openstack/pyvenv.cfg", "home = /usr/bin\ninclude-system-site-packages = true\nversion = 3.12.3\n", 0o644, 0, 0, lo)
    dist = "/var/lib/openstack/lib/python3.12/site-packages/barbican-%s.dist-info" % tag
    t.d(dist, 0o755, 0, 0, lo + "; pip install of the project")
    t.f(dist + "/METADATA", metadata(tag), 0o644, 0, 0, lo)
    t.f(dist + "/INSTALLER", "pip\n", 0o644, 0, 0, lo)
    for p in ("/var/lib/openstack/etc", "/var/lib/openstack/etc/barbican"):
        t.d(p, 0o755, 0, 0, "%s@%s:setup.cfg:26-28 data_files etc/barbican = etc/barbican/barbican-api-paste.ini (pip puts it under the venv)" % (BAR, tag))
    t.f("/var/lib/openstack/etc/barbican/barbican-api-paste.ini", git_show(a.barbican_git, tag, "etc/barbican/barbican-api-paste.ini"), 0o644, 0, 0,
        "%s@%s:setup.cfg:26-28 data_files (not served: /etc/barbican/barbican-api-paste.ini is the hard-coded path, %s@HEAD:barbican/api/app.py:116-119)" % (BAR, tag, BAR))
    t.d("/etc/image_info", 0o755, 0, 0, "%s:scripts/helpers.sh:164-180 collect_info" % LOCI)
    t.f("/etc/image_info/pip.txt", "PasteDeploy==3.1.0\nbarbican @ file:///tmp/barbican\nkeystonemiddleware==10.12.0\noslo.config==10.0.0\noslo.policy==4.6.0\n", 0o644, 0, 0,
        "%s:scripts/helpers.sh:168-171 pip freeze (abridged; a source install shows no version here)" % LOCI)
    t.f("/etc/image_info/project.txt", "PROJECT=barbican\nPROJECT_REPO=https://opendev.org/openstack/barbican\nPROJECT_REF=stable/2026.1\nPROJECT_RELEASE=2026.1\n========\ncommit f8a331a40e\n",
        0o644, 0, 0, "%s:scripts/helpers.sh:172-180 (commit line abridged)" % LOCI)
    t.d("/var/lock", 0o777, 0, 0, em % (OSH, "93-94,134-135 oslo-lock-path at conf.barbican.oslo_concurrency.lock_path /var/lock"))
    t.d("/tmp", 0o777, 0, 0, em % (OSH, "91-92,132-133 pod-tmp"))
    us = "%s:Dockerfile:39-40 ARG UID/GID 42424; scripts/helpers.sh:224-229 groupadd -g, useradd -u -M -d /var/lib/<project> -s /usr/sbin/nologin" % LOCI
    t.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash"),
                               ("barbican", 42424, 42424, "barbican user", "/var/lib/barbican", "/usr/sbin/nologin")]), 0o644, 0, 0, us)
    t.f("/etc/group", group([("root", 0, ""), ("barbican", 42424, "")]), 0o644, 0, 0, us)
    t.write(os.path.join(out, "helm", "target"))


# ---------------------------------------------------------------------------------------------
# Debian packages and RDO packages (the host is the target)

def debian(a, out):
    k = kek()
    stock = open(os.path.join(a.debian_stock, "barbican.conf")).read()
    conf = stock
    for s, key, v in (("DEFAULT", "transport_url", "rabbit://openstack:debian-fixture-rabbit-pw@192.0.2.30:5672/"),
                      ("database", "connection", "mysql+pymysql://barbican:debian-fixture-db-pw@192.0.2.31/barbican"),
                      ("keystone_authtoken", "auth_url", "https://keystone.example.test:5000"),
                      ("keystone_authtoken", "www_authenticate_uri", "https://keystone.example.test:5000"),
                      ("keystone_authtoken", "password", "debian-fixture-keystone-pw"),
                      ("simple_crypto_plugin", "kek", k)):
        conf = ini_set(conf, s, key, v)
    pk = "%s postinst pkgos_write_new_conf: install -m 0640 -o root -g barbican" % DEB
    t = View()
    t.d("/etc/barbican", 0o750, 102, 105, "%s postinst: install -g barbican -o barbican -m 0750 -d /etc/barbican" % DEB)
    t.f("/etc/barbican/barbican.conf", conf, 0o640, 0, 105, pk + "; content /usr/share/barbican-common/barbican.conf with an operator's transport_url, connection, authtoken https URLs, password and kek (barbican install guide)")
    for n in ("barbican-api-paste.ini", "api_audit_map.conf", "barbican-functional.conf"):
        t.f("/etc/barbican/" + n, open(os.path.join(a.debian_stock, n), "rb").read(), 0o640, 0, 105, pk + "; content /usr/share/barbican-common/" + n)
    t.d("/etc/barbican/policy.d", 0o755, 0, 0, "%s data.tar: etc/barbican/policy.d" % DEB)
    t.f("/etc/barbican/policy.d/00_default_policy.yaml", open(a.debian_policy, "rb").read(), 0o644, 0, 0, "%s data.tar: etc/barbican/policy.d/00_default_policy.yaml (all commented)" % DEB)
    ui = open(os.path.join(a.debian_api, "etc/barbican/barbican-api-uwsgi.ini"), "rb").read()
    t.f("/etc/barbican/barbican-api-uwsgi.ini", ui, 0o644, 0, 0, "%s data.tar: etc/barbican/barbican-api-uwsgi.ini:55 paste = config:/etc/barbican/barbican-api-paste.ini, :65 wsgi-file = /usr/bin/barbican-wsgi-api" % DEBAPI)
    t.d("/etc/init.d", 0o755, 0, 0, "sysvinit")
    t.f("/etc/init.d/barbican-api", open(os.path.join(a.debian_api, "etc/init.d/barbican-api"), "rb").read(), 0o755, 0, 0,
        "%s data.tar: etc/init.d/barbican-api:21 UWSGI_INI_PATH, :108 --ini" % DEBAPI)
    for p in ("/lib", "/lib/systemd", "/lib/systemd/system"):
        t.d(p, 0o755, 0, 0, "systemd")
    t.f("/lib/systemd/system/barbican-api.service", open(os.path.join(a.debian_api, "lib/systemd/system/barbican-api.service"), "rb").read(), 0o644, 0, 0,
        "%s data.tar: lib/systemd/system/barbican-api.service:15 ExecStart=/etc/init.d/barbican-api systemd-start" % DEBAPI)
    t.d("/var/lib/barbican", 0o755, 102, 105, "%s: home of the barbican system user" % DEB)
    t.d("/var/lib/dpkg", 0o755, 0, 0, "dpkg")
    st = ""
    for p, src in (("barbican-common", "barbican"), ("barbican-api", "barbican"), ("python3-barbican", "barbican"), ("python3-oslo.policy", "python-oslo.policy")):
        v = "4.0.0-2" if p == "python3-oslo.policy" else "1:15.0.1-2"
        st += ("Package: %s\nStatus: install ok installed\nPriority: optional\nSection: net\nInstalled-Size: 100\n"
               "Maintainer: Debian OpenStack <team+openstack@tracker.debian.org>\nArchitecture: all\nSource: %s\nVersion: %s\n"
               "Description: OpenStack Key Management Service\n\n" % (p, src, v))
    t.f("/var/lib/dpkg/status", st, 0o644, 0, 0, "dpkg status stanzas as Debian 12 writes them (versions of bookworm)")
    t.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash"),
                               ("barbican", 102, 105, "", "/var/lib/barbican", "/bin/false")]), 0o644, 0, 0, "%s postinst adduser --system (ids as on a Debian 12 node)" % DEB)
    t.f("/etc/group", group([("root", 0, ""), ("barbican", 105, "")]), 0o644, 0, 0, "%s postinst addgroup --system" % DEB)
    t.write(os.path.join(out, "debian", "host"))


def rdo(a, out):
    k = kek()
    tag = "20.0.0"
    spec = "%s:openstack-barbican.spec" % RDO
    sample = generated_sample(open(os.path.join(a.debian_stock, "barbican.conf")).read())
    conf = sample
    for s, key, v in (("DEFAULT", "transport_url", "rabbit://openstack:rdo-fixture-rabbit-pw@192.0.2.40:5672/"),
                      ("database", "connection", "mysql+pymysql://barbican:rdo-fixture-db-pw@192.0.2.41/barbican"),
                      ("keystone_authtoken", "www_authenticate_uri", "https://keystone.example.test:5000"),
                      ("keystone_authtoken", "auth_url", "https://keystone.example.test:5000"),
                      ("keystone_authtoken", "auth_type", "password"),
                      ("keystone_authtoken", "project_domain_name", "Default"),
                      ("keystone_authtoken", "user_domain_name", "Default"),
                      ("keystone_authtoken", "project_name", "service"),
                      ("keystone_authtoken", "username", "barbican"),
                      ("keystone_authtoken", "password", "rdo-fixture-keystone-pw"),
                      ("simple_crypto_plugin", "kek", k)):
        conf = ini_set(conf, s, key, v)
    t = View()
    t.d("/etc/barbican", 0o775, 0, 994, "%s:214 %%dir %%attr(0775,root,barbican)" % spec)
    t.f("/etc/barbican/barbican.conf", conf, 0o640, 0, 994, "%s:166,223 barbican.conf.sample as barbican.conf, %%attr(0640, root, barbican); sample text = oslo-config-generator output of barbican 15.0.1 (Debian's, pkgos values removed) standing in for %s's; operator values from %s@HEAD:doc/source/install/install-rdo.rst" % (spec, tag, BAR))
    paste = git_show(a.barbican_git, tag, "etc/barbican/barbican-api-paste.ini").decode() + "[server:main]\nuse = egg:gunicorn#main\n"
    t.f("/etc/barbican/barbican-api-paste.ini", paste, 0o644, 0, 0, "%s:171,174-176,242 (no %%attr: root:root, mode from the build); content %s@%s + [server:main]" % (spec, BAR, tag))
    t.f("/etc/barbican/api_audit_map.conf", git_show(a.barbican_git, tag, "etc/barbican/api_audit_map.conf"), 0o640, 0, 994, "%s:165,241" % spec)
    t.f("/etc/barbican/barbican-functional.conf", git_show(a.barbican_git, tag, "etc/barbican/barbican-functional.conf"), 0o640, 0, 994, "%s:165,243" % spec)
    t.f("/etc/barbican/gunicorn-config.py", "import multiprocessing\n\nbind = '0.0.0.0:9311'\nuser = 'barbican'\ngroup = 'barbican'\n\ntimeout = 30\nbacklog = 2048\nkeepalive = 2\n\nworkers = multiprocessing.cpu_count() * 2\n", 0o644, 0, 0,
        "%s:167,244; content shape of %s:gunicorn-config.py" % (spec, RDO))
    t.d("/etc/barbican/vassals", 0o755, 0, 0, "%s:156" % spec)
    t.f("/etc/barbican/vassals/barbican-api.ini", git_show(a.barbican_git, tag, "etc/barbican/vassals/barbican-api.ini"), 0o644, 0, 0, "%s:168,247 (shipped; not run: the unit runs gunicorn)" % spec)
    for p in ("/usr", "/usr/lib", "/usr/lib/systemd", "/usr/lib/systemd/system"):  # /usr/lib also holds python3.9
        t.d(p, 0o755, 0, 0, "systemd")
    t.f("/usr/lib/systemd/system/openstack-barbican-api.service", open(os.path.join(a.rdo_dir, "openstack-barbican-api.service"), "rb").read(), 0o644, 0, 0,
        "%s:182; content %s:openstack-barbican-api.service:12 gunicorn --paste /etc/barbican/barbican-api-paste.ini" % (spec, RDO))
    t.d("/var/lib/barbican", 0o755, 994, 994, "%s:228 %%dir %%attr(-,barbican,barbican)" % spec)
    t.d("/var/lib/rpm", 0o755, 0, 0, "rpm database directory (rpm >= 4.16 on el9)")
    t.f("/var/lib/rpm/rpmdb.sqlite", open(a.rpmdb_rdo, "rb").read(), 0o644, 0, 0,
        "SQLite rpmdb, rpm 4.18 --justdb of metadata-only stand-ins named like RDO's subpackages (%s:57-110): openstack-barbican-common, openstack-barbican-api, python3-barbican %s-1.el9s, python3-oslo-policy 4.5.1-1.el9s" % (spec, tag))
    rpm_sitelib(t, tag, spec)
    t.f("/etc/passwd", passwd([("root", 0, 0, "root", "/root", "/bin/bash"),
                               ("barbican", 994, 994, "Barbican Daemons", "/var/lib/barbican", "/sbin/nologin")]), 0o644, 0, 0,
        "%s:194-197 groupadd -r / useradd -r -g barbican -d /var/lib/barbican -s /sbin/nologin (dynamic system ids)" % spec)
    t.f("/etc/group", group([("root", 0, ""), ("barbican", 994, "")]), 0o644, 0, 0, "%s:194" % spec)
    t.write(os.path.join(out, "rdo", "host"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barbican-git", required=True)
    ap.add_argument("--debian-stock", required=True)
    ap.add_argument("--debian-policy", required=True)
    ap.add_argument("--debian-api", required=True, help="extracted barbican-api .deb root")
    ap.add_argument("--osa-templates", required=True)
    ap.add_argument("--charm-templates", required=True)
    ap.add_argument("--rdo-dir", required=True)
    ap.add_argument("--rpmdb-rdo", required=True)
    ap.add_argument("--rpmdb-tripleo", required=True)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()
    for fn in (debian, rdo, kolla, kolla_tls, tripleo, osa, osa_noauth, charm, helm):
        fn(a, a.out)


if __name__ == "__main__":
    main()
