#!/usr/bin/python3
"""Oracle for the consumers pack (KMC-*): what Debian's real nova, cinder,
glance, octavia, castellan and oslo.config make of each case in
tests/data/consumers/cases.json.

Each case names fixture files and the node paths they stand for
(/etc/nova/nova.conf, /etc/nova/nova.conf.d/50-x.conf, the service user's
home, a CA file...), the program and the arguments Debian's init script
passes. For every service one child process runs in a private mount
namespace (unshare -m); for each case it lays the fixtures over /etc and
/var/lib with overlay mounts, loads the configuration the way the service's
entry point does (project, prog, --config-file, default search, conf.d
directories) through the service's own option registrations, then asks the
real libraries: castellan's key_manager.API builds the key manager, the real
_get_barbican_client runs against a recording auth plugin and session (no
network), stevedore resolves Octavia's cert manager. The facts found are
compared with the case's "expect"; the proposed KMC verdict rules
(tests/data/consumers/README.md), applied to those facts, are compared with
the case's "checks".

Prints one line per case, "ok <name> (...)" or "MISMATCH <name>:" followed by
the differences, then a summary; exits 1 on any mismatch, 2 if it cannot run.
--dump prints every fact found, as JSON; --isolated runs one child per case
(slower; proves no case depends on state an earlier one left in CONF).

Secrets: fixed keys, tokens, passwords and passphrases are reported only as
"sha256:" + the first 12 hex digits of the SHA-256 of their decoded bytes.
Needs root (unshare, mount) and Debian's /usr/bin/python3 with python3-nova,
python3-cinder, python3-glance and python3-octavia installed.
"""
import binascii
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data", "consumers"))
OVERLAID = ["/etc", "/var/lib"]
CATALOG_URL = "https://catalog.invalid:9311"
# octavia/certificates/common/local.py: TLS_PASS_AMPS_DEFAULT's fallback
PUBLISHED_AMP_PASSPHRASE = "insecure-key-do-not-use-this-key"


def requests_verifies(verify):
    """Whether requests checks the server's certificate for a keystoneauth
    Session built with this `verify`: keystoneauth passes it on unchanged
    (session.py `kwargs.setdefault('verify', self.verify)`); requests merges
    it with the Session's default and decides in HTTPAdapter.cert_verify."""
    import requests
    import requests.adapters
    url = "https://barbican.invalid:9311/"
    merged = requests.Session().merge_environment_settings(url, {}, None, verify, None)["verify"]

    class Conn:
        pass
    conn = Conn()
    try:
        requests.adapters.HTTPAdapter().cert_verify(conn, url, merged, None)
    except OSError:
        return True  # a CA path that does not exist: requests refuses, it does not skip
    return conn.cert_reqs == "CERT_REQUIRED"
ZERO_KEY_ID = "00000000-0000-0000-0000-000000000000"


def fingerprint(raw):
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:12]


def secret_fp(value, hex_encoded=False):
    if is_error(value):
        return value
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if hex_encoded:
        try:
            return fingerprint(binascii.unhexlify(value))
        except (binascii.Error, ValueError):
            return "not-hex:" + fingerprint(value.encode())
    return fingerprint(value.encode())


def err(e):
    return "ERROR: " + type(e).__name__


def is_error(v):
    return isinstance(v, str) and v.startswith("ERROR")


def qualname(cls):
    return cls.__module__ + "." + cls.__name__


def opt(fn):
    try:
        return fn()
    except Exception as e:
        return err(e)


# --------------------------------------------------------------------------
# child: runs inside the private mount namespace, one service, many cases
# --------------------------------------------------------------------------

def load_service(service):
    """Import the service's option registrations once; return its CONF and
    a function that parses a case's configuration the way the service's
    entry point does."""
    from oslo_config import cfg
    if service == "nova":
        import nova.conf
        from nova import config as nova_config
        from nova import version
        conf = nova.conf.CONF

        def parse(args, prog, default_files=None):
            # nova/config.py parse_args: CONF(argv[1:], project='nova',
            # default_config_files=...); prog = basename(argv[0]). nova-api
            # under uwsgi passes [api-paste.ini, nova.conf] from /etc/nova
            # (nova/api/openstack/wsgi_app.py:34-49,101) and uwsgi's argv[0].
            nova_config.set_lib_defaults()
            conf(args, project="nova", prog=prog, version=version.version_string(),
                 default_config_files=default_files)
    elif service == "cinder":
        import cinder.opts  # noqa: F401  imports every module that registers options
        import cinder.keymgr  # noqa: F401  castellan set_defaults(CONF)
        import cinder.keymgr.conf_key_mgr  # noqa: F401  [key_manager] fixed_key
        from cinder import version
        conf = cfg.CONF

        def parse(args, prog, default_files=None):
            # cinder/cmd/volume.py:175 and cinder/wsgi/wsgi.py:39 CONF(sys.argv[1:], project='cinder', ...)
            conf(args, project="cinder", prog=prog, version=version.version_string())
    elif service == "glance":
        from glance.common import config as glance_config
        conf = cfg.CONF

        def parse(args, prog, default_files=None):
            # glance/common/config.py:675 parse_args: CONF(args, project='glance');
            # prog = basename(argv[0]).
            saved = sys.argv
            sys.argv = ["/usr/bin/" + prog] + args
            try:
                glance_config.parse_args(args=args)
            finally:
                sys.argv = saved
    elif service == "octavia":
        from octavia.common import config as octavia_config  # noqa: F401  registers options
        conf = cfg.CONF

        def parse(args, prog, default_files=None):
            # octavia/common/config.py:909 cfg.CONF(args=args, project='octavia', ...)
            conf(args=args, project="octavia", prog=prog)
    else:
        raise SystemExit(f"unknown service {service}")
    return conf, parse


class FileSpy:
    """Records the files oslo.config really parses (wraps, does not replace,
    ConfigParser._parse_file)."""

    def __init__(self):
        from oslo_config import cfg
        self.files = []
        original = cfg.ConfigParser._parse_file.__func__

        def spy(cls, config_file, namespace):
            self.files.append(config_file)
            return original(cls, config_file, namespace)
        cfg.ConfigParser._parse_file = classmethod(spy)


def fixed_key_values(files):
    """How many fixed_key assignments with a non-empty value the files hold
    under [key_manager]/[keymgr], read with oslo.config's own ini parser
    (whether or not the service reads that group or that file's value wins)."""
    from oslo_config import iniparser
    count = 0

    class P(iniparser.BaseParser):
        section = None

        def new_section(self, section):
            self.section = section

        def assignment(self, key, value):
            nonlocal count
            if (self.section in ("key_manager", "keymgr") and key == "fixed_key"
                    and any(v.strip() for v in value)):
                count += 1

        def parse_exc(self, msg, lineno, line=None):
            return ValueError(msg)

    for path in files:
        with open(path) as f:
            P().parse(f)
    return count


class RecordingAuth:
    """Auth plugin with a service catalog: records the interface castellan
    asks for and answers with a fixed URL; never touches the network."""

    def __init__(self):
        self.interfaces = []
        outer = self

        class Data:
            url = CATALOG_URL
            api_version = "v1"

        class Catalog:
            def endpoint_data_for(self, service_type=None, interface=None, region_name=None):
                outer.interfaces.append(interface)
                return Data()
        self.service_catalog = Catalog()


def barbican_run(km):
    """Run castellan's real _get_barbican_client with a RequestContext-named
    context whose get_auth_plugin returns a RecordingAuth; record the verify
    argument of the keystoneauth Session it builds."""
    from castellan.key_manager import barbican_key_manager as bkm
    auth = RecordingAuth()
    seen = {}
    real_session = bkm.session.Session

    class SpySession(real_session):
        def __init__(self, *a, **kw):
            seen["verify"] = kw.get("verify")
            super().__init__(*a, **kw)

    ctx_cls = type("RequestContext", (), {"get_auth_plugin": lambda self: auth,
                                          "project_id": "p", "auth_token": "t"})
    bkm.session.Session = SpySession
    try:
        km._barbican_client = None
        km._get_barbican_client(ctx_cls())
        out = {"session_verify": seen.get("verify"),
               "catalog_interface": (auth.interfaces[0] if auth.interfaces else None)
               if km._barbican_endpoint == CATALOG_URL else None}
    except Exception as e:  # castellan wraps every failure in KeyManagerError
        cause = e.__cause__ or e.__context__
        name = type(cause).__name__ if cause is not None else type(e).__name__
        out = {"session_verify": seen.get("verify", "ERROR: " + name),
               "catalog_interface": "ERROR: " + name}
    finally:
        bkm.session.Session = real_session
    return out


# the context class each service hands to castellan
SERVICE_CONTEXT = {"nova": ("nova.context", "RequestContext"),
                   "cinder": ("cinder.context", "RequestContext"),
                   "glance": ("glance.context", "RequestContext"),
                   "octavia": ("octavia.common.context", "Context")}


def key_manager_facts(conf, service):
    from castellan import key_manager
    from castellan.common import utils as cutils
    from castellan.key_manager import barbican_key_manager as bkm
    from oslo_config import cfg
    f = {}
    km = base = None
    try:
        km = key_manager.API(conf)
        cls = type(km)
        base = cls.__mro__[1] if cls.__name__ == "MigrationKeyManager" else cls
        f["key_manager_class"] = (f"MigrationKeyManager<{qualname(base)}>"
                                  if base is not cls else qualname(cls))
    except Exception as e:
        f["key_manager_class"] = err(e)
    f["conf_key_manager"] = base is not None and base.__name__ == "ConfKeyManager"
    f["backend"] = opt(lambda: conf.key_manager.backend)
    # castellan migration.py:31 (and cinder/keymgr/migration.py:57-59) decide
    # "ConfKeyManager" on the name alone, whether or not the class loads.
    f["backend_names_conf_key_manager"] = (not is_error(f["backend"])
                                           and str(f["backend"]).endswith("ConfKeyManager"))
    try:  # as castellan/key_manager/migration.py:26 does
        conf.register_opt(cfg.StrOpt("fixed_key"), group="key_manager")
    except cfg.DuplicateOptError:
        pass
    f["fixed_key"] = secret_fp(opt(lambda: conf.key_manager.fixed_key), hex_encoded=True)
    served = False
    if km is not None and (f["conf_key_manager"] or type(km).__name__ == "MigrationKeyManager"):
        try:  # the real get() for the fixed key's id; no network for this id
            served = len(km.get(object(), ZERO_KEY_ID).get_encoded()) > 0
        except Exception:
            served = False
    f["fixed_key_served"] = served

    # [key_manager] credentials as castellan's credential_factory reads them
    try:
        conf.register_opts(cutils.credential_opts, group="key_manager")
    except cfg.DuplicateOptError:
        pass
    f["km_auth_type"] = opt(lambda: conf.key_manager.auth_type)
    f["km_static_token"] = secret_fp(opt(lambda: conf.key_manager.token))
    f["km_static_password"] = secret_fp(opt(lambda: conf.key_manager.password))

    f["is_barbican"] = base is not None and issubclass(base, bkm.BarbicanKeyManager)
    if not f["is_barbican"]:
        return f
    b = conf.barbican
    ep = opt(lambda: b.barbican_endpoint)
    f["barbican_endpoint"] = ep if ep else "catalog"
    f["endpoint_scheme"] = (urllib.parse.urlsplit(ep).scheme
                            if ep and not is_error(ep) else "catalog")
    f["auth_endpoint"] = opt(lambda: b.auth_endpoint)
    mod, name = SERVICE_CONTEXT[service]
    ctx_cls = getattr(__import__(mod, fromlist=[name]), name)
    # barbican_key_manager.py:166-213: a context named RequestContext uses its
    # get_auth_plugin() when it has one, else a Token at [barbican]
    # auth_endpoint; any other class name is refused (Forbidden).
    f["context_accepted"] = ctx_cls.__name__ in ("RequestContext", "KeystonePassword", "KeystoneToken")
    f["auth_endpoint_used"] = (ctx_cls.__name__ == "RequestContext"
                               and not hasattr(ctx_cls, "get_auth_plugin"))
    if service == "octavia":
        # Octavia hands castellan its own Context class (octavia/common/context.py:25):
        # ask the real _get_keystone_auth whether it accepts one.
        from castellan.common import exception as cexc
        try:
            km._get_keystone_auth(ctx_cls.__new__(ctx_cls))
            f["castellan_accepts_service_context"] = True
        except cexc.Forbidden:
            f["castellan_accepts_service_context"] = False
        except Exception as e:
            f["castellan_accepts_service_context"] = err(e)
    f["verify_ssl"] = opt(lambda: b.verify_ssl)
    f["verify_ssl_path"] = opt(lambda: b.verify_ssl_path)
    p = f["verify_ssl_path"]
    f["verify_ssl_path_exists"] = os.path.exists(p) if p and not is_error(p) else None
    f["barbican_endpoint_type"] = opt(lambda: b.barbican_endpoint_type)
    # With send_service_user_token castellan loads [barbican_service_user]'s
    # auth plugin, which registers that plugin's options (some required) on
    # the shared CONF; they are dropped again below so the next case parses
    # as the service would. (Its ServiceTokenAuthWrapper also hides the stub
    # catalog, so catalog_interface is not observed in those cases.)
    group = conf._groups["barbican_service_user"]
    before = set(group._opts)
    f.update(barbican_run(km))
    f["send_service_user_token"] = opt(lambda: b.send_service_user_token)
    if f["send_service_user_token"] is True:
        from keystoneauth1 import loading
        try:
            f["service_user_auth_loads"] = loading.load_auth_from_conf_options(
                conf, "barbican_service_user") is not None
        except Exception as e:
            f["service_user_auth_loads"] = err(e)
    added = [group._opts[n]["opt"] for n in set(group._opts) - before]
    if added:
        conf.clear()
        conf.unregister_opts(added, group="barbican_service_user")
    return f


def octavia_facts(conf):
    from octavia.certificates.common.auth import barbican_acl
    from octavia.common import keystone
    from stevedore import driver
    f = {}
    c = conf.certificates
    f["cert_manager"] = opt(lambda: c.cert_manager)
    try:  # how octavia loads it (octavia/api/v2/controllers/base.py:41)
        cls = driver.DriverManager(namespace="octavia.cert_manager", name=c.cert_manager,
                                   invoke_on_load=False).driver
        f["cert_manager_class"] = qualname(cls)
    except Exception as e:
        f["cert_manager_class"] = err(e)
    f["barbican_auth"] = opt(lambda: c.barbican_auth)
    f["endpoint_type"] = opt(lambda: c.endpoint_type)
    f["ca_certificates_file"] = opt(lambda: c.ca_certificates_file)
    ca = f["ca_certificates_file"]
    f["ca_certificates_file_exists"] = os.path.exists(ca) if ca and not is_error(ca) else None
    f["certificates_insecure"] = opt(lambda: c.insecure)
    keystone.KeystoneSession()  # registers [service_auth] auth and session options
    f["service_auth_insecure"] = opt(lambda: conf.service_auth.insecure)
    f["service_auth_cafile"] = opt(lambda: conf.service_auth.cafile)
    pp = opt(lambda: c.server_certs_key_passphrase)
    f["server_certs_key_passphrase"] = secret_fp(pp)
    f["server_certs_key_passphrase_is_default"] = pp == PUBLISHED_AMP_PASSPHRASE

    # The user-token session BarbicanACLAuth builds (barbican_acl.py:81-98):
    # the real method runs; only the service auth is a stub with an auth_url
    # (no [service_auth] credentials are needed to see what verify it gets).
    seen = {}
    real_session = barbican_acl.session.Session
    real_get_auth = keystone.KeystoneSession.get_auth

    class SpySession(real_session):
        def __init__(self, *a, **kw):
            seen["verify"] = kw.get("verify")
            super().__init__(*a, **kw)

    class Ctx:
        auth_token = "t"
        project_id = "p"
    barbican_acl.session.Session = SpySession
    keystone.KeystoneSession.get_auth = lambda self: type("A", (), {"auth_url": "https://ks.invalid/v3"})()
    try:
        barbican_acl.BarbicanACLAuth.get_barbican_client_user_auth(Ctx())
        f["user_session_verify"] = seen.get("verify")
        f["user_session_verifies"] = requests_verifies(seen.get("verify"))
    except Exception as e:
        f["user_session_verify"] = err(e)
    finally:
        barbican_acl.session.Session = real_session
        keystone.KeystoneSession.get_auth = real_get_auth

    if f["cert_manager_class"].endswith("CastellanCertManager"):
        f.update(key_manager_facts(conf, "octavia"))
    return f


def child(service):
    cases = json.load(sys.stdin)
    conf, parse = load_service(service)
    spy = FileSpy()
    out = {}
    for case in cases:
        work = tempfile.mkdtemp(prefix="kmc-")
        mounted = []
        try:
            for top in OVERLAID:
                os.makedirs(os.path.join(work, "u" + top))
                os.makedirs(os.path.join(work, "w" + top))
            for node_path, fixture in case["files"].items():
                top = next(t for t in OVERLAID if node_path.startswith(t + "/"))
                dst = os.path.join(work, "u" + top, os.path.relpath(node_path, top))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(os.path.join(DATA, fixture), dst)
            for top in OVERLAID:
                subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                                f"lowerdir={top},upperdir={work}/u{top},workdir={work}/w{top}", top],
                               check=True)
                mounted.append(top)
            os.environ["HOME"] = case["home"]
            spy.files.clear()
            facts = {}
            try:
                parse(list(case["args"]), case["prog"], case.get("default_config_files"))
                facts["files_read"] = list(spy.files)
                facts["fixed_key_values"] = fixed_key_values(spy.files)
                if service == "nova":
                    facts["verify_glance_signatures"] = opt(lambda: conf.glance.verify_glance_signatures)
                if service == "octavia":
                    facts.update(octavia_facts(conf))
                else:
                    facts.update(key_manager_facts(conf, service))
            except Exception as e:
                facts["load"] = err(e)
            out[case["name"]] = facts
        finally:
            for top in reversed(mounted):
                subprocess.run(["umount", top], check=False)
            shutil.rmtree(work, ignore_errors=True)
    json.dump(out, sys.stdout, default=str)


# --------------------------------------------------------------------------
# the proposed verdict rules (tests/data/consumers/README.md), on the facts
# --------------------------------------------------------------------------

def worst(*parts):
    for s in ("fail", "error", "pass"):
        if s in parts:
            return s
    return "na"


def kmc002(f):
    fk = f["fixed_key"]
    if is_error(fk):
        return "error"
    if fk not in ("unset", "empty"):
        return "fail"  # an effective key (castellan serves it)
    # no effective key: fail while a fixed_key with a value is still written
    # in a file the program reads (shadowed, blanked later, or in a group the
    # service does not read); empty assignments leave nothing behind.
    return "fail" if f["fixed_key_values"] > 0 else "pass"


def kmc004(f):
    if is_error(f["verify_ssl"]) or is_error(f["verify_ssl_path"]):
        return "error"
    if f["verify_ssl"] is False:
        return "fail"
    if f["verify_ssl_path"] and f["verify_ssl_path_exists"] is False:
        return "fail"
    return "pass"


def kmc005(f):
    if f["barbican_endpoint"] != "catalog":
        return "na"
    t = f["barbican_endpoint_type"]
    if is_error(t):
        return "error"
    return "fail" if t == "public" else "pass"


def verdicts(service, f):
    v = {}
    if "load" in f:
        return {k: "error" for k in ("KMC-001", "KMC-002", "KMC-003", "KMC-004", "KMC-005",
                                     "KMC-006", "KMC-009", "KMC-010", "KMC-011", "KMC-012")}
    if service == "octavia":
        cm = f["cert_manager_class"]
        barbican_cm = cm.endswith(".BarbicanCertManager")
        castellan_cm = cm.endswith(".CastellanCertManager")
        if is_error(cm):
            v["KMC-010"] = "error"
        elif barbican_cm:
            v["KMC-010"] = "pass"
        elif castellan_cm:
            v["KMC-010"] = "pass" if f.get("is_barbican") else "fail"
        else:
            v["KMC-010"] = "fail"
        if barbican_cm:
            et = f["endpoint_type"]
            v["KMC-005"] = "error" if is_error(et) else (
                "fail" if et in ("public", "publicURL") else "pass")
            bad = (f["service_auth_insecure"] is True or f["ca_certificates_file_exists"] is False
                   or f["user_session_verifies"] is False)
            v["KMC-011"] = "fail" if bad else "pass"
        elif castellan_cm and f.get("is_barbican"):
            v["KMC-005"] = kmc005(f)
            v["KMC-011"] = kmc004(f)
        else:
            v["KMC-005"] = v["KMC-011"] = "na"
        pp = f["server_certs_key_passphrase"]
        v["KMC-012"] = "error" if is_error(pp) else (
            "fail" if f["server_certs_key_passphrase_is_default"] else "pass")
        return v
    if service == "nova":
        v["KMC-009"] = "pass" if f["verify_glance_signatures"] is True else "fail"
    kmc = f["key_manager_class"]
    if f["conf_key_manager"] or f["backend_names_conf_key_manager"]:
        v["KMC-001"] = "fail"
    else:
        v["KMC-001"] = "error" if is_error(kmc) else "pass"
    v["KMC-002"] = kmc002(f)
    static = any(f[k] not in ("unset", "empty") for k in ("km_static_token", "km_static_password"))
    if is_error(kmc):
        v["KMC-003"] = v["KMC-004"] = v["KMC-005"] = "error"
        v["KMC-006"] = "fail" if static else "error"
        return v
    if not f["is_barbican"]:
        v["KMC-003"] = v["KMC-004"] = v["KMC-005"] = "na"
        v["KMC-006"] = "fail" if static else "pass"
        return v
    parts = []
    if f["barbican_endpoint"] != "catalog":
        parts.append("pass" if f["endpoint_scheme"] == "https" else "fail")
    if f["auth_endpoint_used"]:
        ae = f["auth_endpoint"]
        parts.append("error" if is_error(ae) else (
            "pass" if urllib.parse.urlsplit(ae).scheme == "https" else "fail"))
    v["KMC-003"] = worst(*parts)
    v["KMC-004"] = kmc004(f)
    v["KMC-005"] = kmc005(f)
    sut = f["send_service_user_token"]
    if static or (sut is True and f.get("service_user_auth_loads") is not True):
        v["KMC-006"] = "fail"
    else:
        v["KMC-006"] = "error" if is_error(sut) else "pass"
    return v


# --------------------------------------------------------------------------
# parent
# --------------------------------------------------------------------------

def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return 0
    dump = "--dump" in sys.argv
    if os.geteuid() != 0:
        print("consumers_confirm: needs root (unshare -m, overlay mounts)", file=sys.stderr)
        return 2
    cases = json.load(open(os.path.join(DATA, "cases.json")))
    groups = []
    if "--isolated" in sys.argv:  # one child per case: no state shared between cases
        groups = [(c["service"], [c]) for c in cases]
    else:
        by_service = {}
        for c in cases:
            by_service.setdefault(c["service"], []).append(c)
        groups = list(by_service.items())
    facts = {}
    for service, group in groups:
        r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable,
                            os.path.abspath(__file__), "--child", service],
                           input=json.dumps(group), capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-4000:])
            print(f"consumers_confirm: {service} child failed (status {r.returncode})",
                  file=sys.stderr)
            return 2
        facts.update(json.loads(r.stdout))
    if dump:
        json.dump(facts, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    bad = nfacts = nverdicts = 0
    for c in cases:
        f = facts[c["name"]]
        problems = []
        for k, want in c["expect"].items():
            got = f.get(k, "<absent>")
            if got != want:
                problems.append(f"{k}: expected {want!r}, got {got!r}")
        got_v = verdicts(c["service"], f)
        for k, want in c["checks"].items():
            if got_v.get(k) != want:
                problems.append(f"{k}: expected {want}, rules give {got_v.get(k)}")
        nfacts += len(c["expect"])
        nverdicts += len(c["checks"])
        if problems:
            bad += 1
            print(f"MISMATCH {c['name']}:")
            for p in problems:
                print("    " + p)
        else:
            print(f"ok {c['name']} ({len(c['expect'])} facts, {len(c['checks'])} verdicts)")
    print(f"{len(cases) - bad}/{len(cases)} cases agree; {nfacts} facts and {nverdicts} verdicts checked")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
