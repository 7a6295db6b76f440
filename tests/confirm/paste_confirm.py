#!/usr/bin/python3
"""Run every fixture of tests/data/paste/ (<condition>.ini, expected outcome in <condition>.exp,
format in tests/data/paste/README.md) through the REAL PasteDeploy 3.0.1 / paste.urlmap and compare
with the expectation the Rust tests of crates/dialects/src/paste/ check against the same files.
Run with Debian's interpreter: /usr/bin/python3 tests/confirm/paste_confirm.py

How PasteDeploy's conclusion is obtained (no factory is called):
* parse errors: ConfigLoader(path) (NicerConfigParser.read_file), exception class + lineno;
* contexts: loadwsgi.loadcontext(APP, 'config:<path>') and loader.get_context(APP, name,
  global_conf=...) for urlmap values, walking .filter_contexts / .app_context / .filter_context /
  .next_context (this imports factory modules, as PasteDeploy does);
* routing: a real paste.urlmap.URLMap filled from the urlmap context's local_conf through
  parse_path_expression (what urlmap_factory does), every entry a stub recording its chain, then
  called with many (Host, PATH_INFO) probes; chains reached by a path under /v1 are "served";
* the one create()-time check we mirror is the protocol assertion of _App/_Filter.invoke: for a
  context whose protocol would not be accepted we call ctx.create() to get the real exception
  (it raises before calling any factory).
Factory identity: each factory reference printed by the Rust side is loaded (module:attr or
egg:dist#name) and compared with == to the object PasteDeploy resolved.

Expectation changes after running this (kept as comments in the .exp files and listed here):
* bare [app]/[composite] sections never act as `main` via loadapp/loadcontext (name is always
  'main' there, `_find_sections` only takes a bare section when name is None) -> bare-app.
* `use = filter:x` is not a section reuse: "filter:" matches _absolute_re and is an unknown URI
  scheme -> use-filter-prefix.
* `call:mod:obj.attr` fails (lookup_object does ONE getattr with the dotted target): a first
  probe for inline-call used such a target and got AttributeError, not the AssertionError
  of the protocol-less inline context the fixture now shows.
"""
import importlib
import importlib.metadata as md
import os
import re
import shutil
import sys
import tempfile

from paste.deploy.loadwsgi import (APP, FILTER_APP, FILTER_WITH, PIPELINE, ConfigLoader,
                                   loadcontext)
from paste.urlmap import URLMap, parse_path_expression, urlmap_factory

HERE_RUST = '/etc/barbican'
NAME = 'barbican-api-paste.ini'
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data', 'paste')
sys.setrecursionlimit(400)  # cycles fail fast; real nesting in fixtures is shallow

APP_PROTOCOLS = ('paste.app_factory', 'paste.composite_factory', 'paste.composit_factory')
FILTER_PROTOCOLS = ('paste.filter_factory', 'paste.filter_app_factory')


def load_ref(ref):
    if ref.startswith('egg:'):
        dist, name = ref[4:].split('#', 1)
        for ep in md.distribution(dist).entry_points:
            if ep.name == name and ep.group.startswith('paste.'):
                return ep.load()
        raise LookupError(ref)
    mod, _, attr = ref.partition(':')
    obj = importlib.import_module(mod)
    for a in [a for a in attr.split('.') if a]:
        obj = getattr(obj, a)
    return obj


def flatten_filter(ctx):
    if ctx.object_type is FILTER_WITH:
        return flatten_filter(ctx.filter_context) + flatten_filter(ctx.next_context)
    if ctx.protocol not in FILTER_PROTOCOLS:
        ctx.create()  # raises the real AssertionError ("Protocol ... unknown")
    return [ctx.object]


def flatten_app(ctx):
    """-> (filter objects outermost first, ('app', obj) | ('urlmap', ctx))"""
    t = ctx.object_type
    if t is PIPELINE:
        els = []
        for f in ctx.filter_contexts:
            els += flatten_filter(f)
        e2, term = flatten_app(ctx.app_context)
        return els + e2, term
    if t is FILTER_APP or t is FILTER_WITH:
        e2, term = flatten_app(ctx.next_context)
        return flatten_filter(ctx.filter_context) + e2, term
    if ctx.protocol in ('paste.composite_factory', 'paste.composit_factory'):
        if ctx.object is urlmap_factory:
            return [], ('urlmap', ctx)
        raise NotImplementedError('composite other than urlmap')
    if ctx.protocol not in APP_PROTOCOLS:
        ctx.create()
    return [], ('app', ctx.object)


ALL_URLS = set()
ALL_DOMAINS = set()


def build(ctx, key, prefix):
    """A WSGI stub for ctx: calling it returns (url_key, filter objects, app object)."""
    els, term = flatten_app(ctx)
    els = prefix + els
    if term[0] == 'app':
        app = term[1]
        return lambda environ, start_response: (key or '*', tuple(els), app)
    uctx = term[1]
    local = dict(uctx.local_conf)
    nf = local.pop('not_found_app', None) if 'not_found_app' in local else uctx.global_conf.get('not_found_app')
    join = (lambda k: k) if not key else (lambda k: key + ' >> ' + k)
    if nf:
        nfapp = build(uctx.loader.get_context(APP, nf, global_conf=uctx.global_conf), join('not_found_app'), els)
    else:
        nfapp = lambda environ, start_response: None
    m = URLMap(not_found_app=nfapp)
    for k, v in local.items():
        path = parse_path_expression(k)
        sub = build(uctx.loader.get_context(APP, v, global_conf=uctx.global_conf), join(k), els)
        m[path] = sub
    for (domain, url) in m.keys():
        ALL_URLS.add(url)
        if domain:
            ALL_DOMAINS.add(domain)
    return m


def in_v1(path):
    p = re.sub('//+', '/', path)
    return p == '/v1' or p.startswith('/v1/')


def served(top):
    hosts = {'nomatch.invalid'}
    for d in ALL_DOMAINS:
        h = d.split(':')[0]
        hosts |= {d, d.lower(), h, h + ':80', h + ':443', h + ':9311', h + ':8443'}
    urls = sorted(ALL_URLS | {''})
    paths = {'/v1', '/v1/', '/v1/zz', '/v1//zz/', '/v1x', '/', '/v1/secrets'}
    for a in urls:
        for b in urls:
            for s in ('', '/', '/zz'):
                paths.add(a + b + s)
    out = set()
    for h in sorted(hosts):
        for p in sorted(paths):
            if not in_v1(p):
                continue
            env = {'HTTP_HOST': h, 'PATH_INFO': p, 'SCRIPT_NAME': '', 'wsgi.url_scheme': 'http'}
            r = top(env, None)
            if r is not None:
                out.add(r)
    return out


def name_of(obj, refs):
    for r in refs:
        try:
            if load_ref(r) == obj:
                return r
        except Exception:
            pass
    return repr(obj)


def esc(s):
    return s.replace('\\', '\\\\').replace('\n', '\\n')


def python_view(text, exp):
    ALL_URLS.clear()
    ALL_DOMAINS.clear()
    refs = set(re.findall(r'[\w.]+:[\w.]+|egg:[\w.]+#\w+', exp))
    d = tempfile.mkdtemp()
    path = os.path.join(d, NAME)
    with open(path, 'w', newline='', encoding='utf-8') as f:
        f.write(text)
    out = []
    try:
        try:
            loader = ConfigLoader(path)
        except Exception as e:
            line = getattr(e, 'lineno', None)
            if line is None and getattr(e, 'errors', None):
                line = e.errors[0][0]
            return ['ERROR %s line %s' % (type(e).__name__, line)]
        try:
            top = build(loadcontext(APP, 'config:' + path), '', [])
            lines = []
            for key, els, app in served(top):
                lines.append('%s => [%s] -> %s' % (key, ' '.join(name_of(o, refs) for o in els), name_of(app, refs)))
            out.extend(sorted(lines))
        except (Exception, RecursionError) as e:
            out.append('ERROR %s' % type(e).__name__)
        for q in [l for l in exp.splitlines() if l.startswith('GET [')]:
            q = q.split(' => ')[0]
            sec, key = q[5:].split('] ', 1)
            try:
                ans = esc(loader.parser.get(sec, key)).replace(d, HERE_RUST)
            except Exception as e:
                ans = 'NONE' if type(e).__name__ in ('NoOptionError', 'NoSectionError') else 'ERROR ' + type(e).__name__
            out.append('GET [%s] %s => %s' % (sec, key, ans))
        return out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def expectation(text):
    """The expected lines of a .exp file: split at '\\n' only (as the Rust side does), blank and
    '#' comment lines skipped, trailing whitespace cut."""
    return [l.rstrip() for l in text.split('\n') if l.strip() and not l.startswith('#')]


def read(path):
    with open(path, encoding='utf-8', newline='') as f:
        return f.read()


def main():
    files = sorted(os.listdir(DATA))
    names = [f[:-4] for f in files if f.endswith('.ini')]
    orphans = [f for f in files if f.endswith('.exp') and f[:-4] not in names]
    bad = 0
    for f in orphans:
        bad += 1
        print('DIFF %s: no %s.ini' % (f, f[:-4]))
    for n in names:
        exp_path = os.path.join(DATA, n + '.exp')
        if not os.path.exists(exp_path):
            bad += 1
            print('DIFF %s: no %s.exp' % (n, n))
            continue
        want = expectation(read(exp_path))
        got = python_view(read(os.path.join(DATA, n + '.ini')), '\n'.join(want))
        if got == want:
            print('OK   %-30s %s' % (n, ' | '.join(got)[:150]))
        else:
            bad += 1
            print('DIFF %s\n  expected: %s\n  python  : %s' % (n, '\n            '.join(want), '\n            '.join(got)))
    print('%d fixtures, %d differ' % (len(names), bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
