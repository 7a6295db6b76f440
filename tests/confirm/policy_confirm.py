#!/usr/bin/python3
"""Confirm the oslo.policy model (crates/dialects/src/policy/) against the real oslo.policy
(Debian python3-oslo.policy 4.0.0, python3-yaml 6.0). Run with /usr/bin/python3 (not the pyenv
python3 on PATH):

    /usr/bin/python3 policy_confirm.py          # the cases of tests/data/policy/, checked
    /usr/bin/python3 policy_confirm.py --big    # also the 10 MB YAML file (PyYAML is slow)
    /usr/bin/python3 policy_confirm.py --corpus corpus.json [--seed N]
                                                # differential corpus (real verdicts, no check)

The cases are data files read by both this script and the Rust tests (format:
tests/data/policy/README.md): files/<case>.yaml|.json (or a directory with policy.yaml and
policy.d/) with their expectations in files.expected, and rule strings in rules.tsv.

Each file case is loaded the way Barbican's enforcer loads it: an oslo.policy Enforcer on a
cfg.ConfigOpts whose [oslo_policy] policy_file is the case's file (policy_dirs its policy.d, if
any), load_rules(), then enforce('creator', {}, {'roles': ['member'], 'project_id': 'p'}).
Verdicts: granted / denied / load-error (load_rules raised) / enforce-error (enforce raised:
Barbican answers 500, nobody passes).

Surprises found (all reproduced in the model and held by the cases):
  * parse_file_contents tries json.loads FIRST, then yaml.safe_load (so a JSON file with tabs, or
    with NaN, is read by json, not YAML).
  * `creator:` with no value (YAML null), `false`, `0`, `[]`, `{}` => _parse_list_rule => TrueCheck:
    ALWAYS ALLOW. `creator: 5` / `yes` / a date => TypeError: the whole policy fails to load.
  * The legacy list syntax still works: `creator: [["role:member"]]` grants.
  * Duplicate keys: last wins silently, in YAML and JSON.
  * Non-string keys (`5:`, `~:`) are accepted and ignored; a top-level list/str fails
    (AttributeError: no attribute 'items'); a top-level `[]`, `0`, `null` is "no rules".
  * A trailing TAB after a YAML value (`creator: role:member<TAB>`) makes PyYAML fail.
  * Malformed rule text => FalseCheck with a logged warning, never an exception; but a rule that is
    one bare keyword/paren/quoted string ("and", "(", "'x'") is kept as that *string* and enforce
    raises AttributeError("'str' object has no attribute '__call__'").
  * A truthy non-string value under a NON-string key (`yes: yes`) still fails the whole load:
    Rules.load parses every value.
  * PyYAML differs from YAML 1.2 parsers: a quoted rule wrapped onto a continuation line at column 0
    is fine, `"x"#comment` is fine, `: x` (empty key) and tabs as separators are errors.
  * A rule of only whitespace is FalseCheck ("" is TrueCheck).
  * `Role:member` is a GenericCheck (kind is case-sensitive), `role:MEMBER` matches member (match is
    lower-cased), `ROLE` likewise generic; `AND`/`Or`/`NOT` are operators (lower-cased).
  * A rule:x cycle is only a logged warning at load; enforce then raises (RecursionError surfaces
    as TypeError('unsupported callable') from inspect).
  * rule:<missing> falls back to the `default` rule when one exists (Rules.__missing__).
  * `role:mem%ber` raises ValueError at enforce (`match % target`).
"""
import json
import logging
import os
import random
import sys
import tempfile
import time
import warnings

warnings.simplefilter("ignore")
logging.basicConfig(level=logging.CRITICAL)
logging.disable(logging.CRITICAL)

import yaml  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_policy import _parser, policy  # noqa: E402

CREDS = {'roles': ['member'], 'project_id': 'p'}


def enforcer(main_path, dirs=()):
    conf = cfg.ConfigOpts()
    conf([], project='barbican-audit-confirm', default_config_files=[], default_config_dirs=[])
    e = policy.Enforcer(conf, policy_file=main_path)
    conf.set_override('policy_dirs', list(dirs), 'oslo_policy')
    return e


DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data', 'policy')
FILES = os.path.join(DATA, 'files')
# Keys of files.expected; the Rust-only ones are about what barbican-audit reports (lines, the
# text it shows, notes, messages), which oslo.policy has no counterpart for.
KEYS = {'verdict', 'model', 'rules', 'rule', 'raises'}
RUST_ONLY = {'text', 'line', 'note', 'names', 'message', 'error-line'}


def load(main, dirs=(), rule='creator'):
    """-> (verdict, rules {str name: str(check)} or None, exception type name, info)"""
    e = enforcer(main, dirs)
    try:
        e.load_rules()
    except BaseException as ex:  # noqa: B902  (RecursionError, TypeError, ValueError, ...)
        return 'load-error', None, type(ex).__name__, str(ex).splitlines()[0][:80] if str(ex) else ''
    rules = {k: str(v) for k, v in e.rules.items() if isinstance(k, str)}
    try:
        v = e.enforce(rule, {}, dict(CREDS))
        return ('granted' if v else 'denied'), rules, '', ''
    except BaseException as ex:  # noqa: B902
        return 'enforce-error', rules, type(ex).__name__, str(ex)[:80]


def run(content):
    """Load text (the corpus) from a temporary policy file."""
    d = tempfile.mkdtemp()
    main = os.path.join(d, 'policy.yaml')
    with open(main, 'wb') as f:
        f.write(content if isinstance(content, bytes) else content.encode('utf-8', 'surrogatepass'))
    return load(main)


def read_expected():
    """files.expected -> [(case, [(key, name or None, value)])]"""
    cases = []
    with open(os.path.join(DATA, 'files.expected'), encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            if line.startswith('[') and line.endswith(']'):
                cases.append((line[1:-1], []))
                continue
            head, sep, value = line.partition(': ')
            if not sep and line.endswith(':'):
                head, value = line[:-1], ''
            key, _, name = head.partition(' ')
            if not cases or key not in KEYS | RUST_ONLY:
                raise SystemExit('files.expected:%d: cannot read %r' % (n, line))
            cases[-1][1].append((key, name or None, value))
    return cases


def case_paths(name):
    """The case's policy_file and policy_dirs."""
    d = os.path.join(FILES, name)
    if os.path.isdir(d):
        pd = os.path.join(d, 'policy.d')
        return os.path.join(d, 'policy.yaml'), [pd] if os.path.isdir(pd) else []
    found = [os.path.join(FILES, name + ext) for ext in ('.yaml', '.json')
             if os.path.isfile(os.path.join(FILES, name + ext))]
    if len(found) != 1:
        raise SystemExit('case %s: want one of files/%s.yaml, .json or a directory' % (name, name))
    return found[0], []


def check_case(name, expect):
    """-> list of mismatches"""
    main, dirs = case_paths(name)
    verdict, rules, exc, info = load(main, dirs)
    bad = []
    for key, rname, want in expect:
        if key == 'verdict' and verdict != want:
            bad.append('verdict %s, expected %s [%s: %s]' % (verdict, want, exc, info))
        elif key == 'rules' and (rules is None or len(rules) != int(want)):
            bad.append('%s rules, expected %s' % (None if rules is None else len(rules), want))
        elif key == 'rule' and (rules or {}).get(rname) != want:
            bad.append('rule %s is %r, expected %r' % (rname, (rules or {}).get(rname), want))
        elif key == 'raises' and exc != want:
            bad.append('raised %r, expected %s' % (exc, want))
        elif key == 'model' and (want != 'depends' or verdict not in ('granted', 'denied')):
            bad.append('model: %s only says where the verdict depends on the target' % want)
    return verdict, exc, bad


def unescape(field):
    r"""A rules.tsv field: ASCII with \\, \t, \n, \xNN and \uNNNN escapes."""
    return field.encode('ascii').decode('unicode_escape')


def check_rules():
    bad = 0
    with open(os.path.join(DATA, 'rules.tsv'), encoding='ascii') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if line.startswith('#'):
                continue
            rule, cls, want = line.split('\t')
            c = _parser.parse_rule(unescape(rule))
            got = (type(c).__name__, str(c))
            ok = got == (cls, want)
            bad += not ok
            print('rules.tsv:%-3d %-48r %s %r%s' % (n, unescape(rule)[:48], got[0], got[1],
                                                     '' if ok else '  MISMATCH: expected %s %r' % (cls, want)))
    return bad


STOCK = '/etc/barbican/policy.d/00_default_policy.yaml'


def big_yaml():
    lines = ['"rule_%06d": "role:r%d or (role:s and not role:t)"' % (i, i) for i in range(200000)]
    lines.append('"creator": "role:creator or role:member"')
    return '\n'.join(lines) + '\n'


def big_json():
    rules = ['"rule_%06d": "role:r%d or (role:s and not role:t)"' % (i, i) for i in range(200000)]
    rules.append('"creator": "role:creator or role:member"')
    return '{\n' + ',\n'.join(rules) + '\n}\n'


def main_fixtures(big):
    bad = 0
    cases = read_expected()
    names = [c for c, _ in cases]
    on_disk = sorted(os.path.splitext(f)[0] if os.path.isfile(os.path.join(FILES, f)) else f
                     for f in os.listdir(FILES))
    if sorted(names) != on_disk or len(set(names)) != len(names):
        print('files/ and files.expected disagree: %s' % sorted(set(names) ^ set(on_disk)))
        bad += 1
    for name, expect in cases:
        t0 = time.time()
        verdict, exc, mismatches = check_case(name, expect)
        dt = time.time() - t0
        bad += bool(mismatches)
        print('%-56s %-13s %s%s%s' % (name, verdict, 'OK' if not mismatches else 'MISMATCH: ' + '; '.join(mismatches),
                                      ('  [%s]' % exc) if exc else '', ('  (%.1fs)' % dt) if dt > 1 else ''))
    # Generated, too big for the repository (the Rust tests generate the same files).
    generated = [('ten_megabyte_json_file', big_json())]
    if big:
        generated.append(('ten_megabyte_yaml_file', big_yaml()))
    if os.path.exists(STOCK):  # the real stock file, where barbican-common is installed
        generated.append(('installed_' + os.path.basename(STOCK), open(STOCK, 'rb').read()))
    for name, content in generated:
        t0 = time.time()
        verdict, rules, exc, info = run(content)
        want = 'granted' if name.startswith('ten_') else 'denied'
        ok = verdict == want and (name.startswith('ten_') or rules == {})
        bad += not ok
        print('%-56s %-13s %s%s' % (name, verdict, 'OK' if ok else 'MISMATCH: expected %s, no rules' % want,
                                    '  (%.1fs)' % (time.time() - t0)))
    bad += check_rules()
    print('%d mismatch(es)' % bad)
    return bad


# ---------------------------------------------------------------------------------------------
# Differential corpus
# ---------------------------------------------------------------------------------------------

class LineLoader(yaml.SafeLoader):
    pass


def key_lines(text):
    """Line (1-based) of each top-level str key as PyYAML sees it (after merge keys); None if
    the content is JSON (json.loads wins) or not a mapping."""
    try:
        json.loads(text)
        return None
    except ValueError:
        pass
    except RecursionError:
        return None
    try:
        loader = LineLoader(text)
        node = loader.get_single_node()
        if not isinstance(node, yaml.MappingNode):
            return None
        loader.flatten_mapping(node)
        out = {}
        for k, _v in node.value:
            key = loader.construct_object(k, deep=True)
            if isinstance(key, str):
                out[key] = k.start_mark.line + 1
        return out
    except Exception:  # noqa: B902
        return None


SCALARS = ['role:member', 'yes', 'no', 'on', 'Off', 'TRUE', 'y', 'n', '~', 'null', 'Null', 'nULL',
           '0', '00', '0o17', '017', '08', '0x1F', '0x', '0b101', '0b', '0b_', '1_000', '1:20',
           '1:60', '-0', '+0', '0.0', '.0', '0.', '-.inf', '.NaN', '.nan ', '1e5', '1.0e5',
           '1.0e+5', '1.0e-999', '1:30.5', '0:0.0', '._', '.5_', '2001-01-01', '2001-1-1',
           '2001-13-01', '2001-02-29', '2000-02-29', '0000-01-01', '2001-12-14t21:59:43.10-05:00',
           '2001-12-14 21:59:43.10 Z', '2001-12-14 25:59:43', '2001-12-14T21:59:43+25', '=', '<<',
           '"0"', "'yes'", '! 0', '! yes', '!!str 0', '!!int "0"', '!!int "12"', '!!int x',
           '!!float "0"', '!!bool "maybe"', '!!bool "NO"', '!!null x', '!!binary aGVsbG8=',
           '!!binary ""', '!!binary aGVsbG8', '!!timestamp 2001-1-1', '!!timestamp x', '!foo x',
           '!!set {}', '!!set {role:member}', '!!omap []', '!!omap [{role:member: 1}]',
           '!!pairs [{a: 1}, {b: 2}]', '!!omap [1]', '!!str [a]', '!!seq {}', '!!map []',
           '[]', '{}', '[[]]', '[""]', '[~]', '[0]', '[1]', '[[1]]', '[[~, role:member]]',
           '["role:member", "role:creator"]', '[["role:creator", "role:member"]]',
           '[["role:a b"]]', '[["(role:member"]]', '["@"]', '[["!"]]', '{role:member: 1}',
           '{role:member: 1, 2: 3}', '{0: 1}', '{~: 1}', '[{role:member: 1}]', '[!!binary aGk=]',
           '[[!!binary aGk=]]', '!!binary AAAA', '[!!binary AAAA]', '!!binary "a=b"', '!!binary "aG=k"', '!!binary "aGk"', '!!binary "a"', '&a [*a]', '|\n  role:member\n', '>\n  role:creator\n  or role:member\n',
           '|-\n', '|\n', '"role:member\\tor role:x"', "'role:member'' or x'",
           '"\\u0072ole:member"', '"role:member\\x20"']

YAML_DOCS = [
    '', '#c\n', '---\n', '---\n...\n', '---\n---\n', '...\n', 'creator: role:member\n...\n',
    '%YAML 1.1\n---\ncreator: role:member\n', '%YAML 1.2\n---\ncreator: role:member\n',
    '%YAML 2.0\n---\ncreator: role:member\n', '%TAG !e! tag:example.com,2000:\n---\ncreator: !e!x y\n',
    '\ufeffcreator: role:member\n', 'creator: role:member # c\n', 'creator: role:member#c\n',
    'creator:\trole:member\n', '\tcreator: role:member\n', 'creator: role:member\t# c\n',
    'creator: "role:member\t"\n', 'creator: |\n  role:member\tx\n', 'creator: [role:member,\trole:x]\n',
    '# a\tb\ncreator: role:member\n', 'creator: role:member\n\t\n', 'creator: role:member\x85a: b\n',
    'a: b\u2028creator: role:member\n', 'creator: role:member\u2029', 'k' * 1100 + ': x\ncreator: role:member\n',
    '"' + 'k' * 1100 + '": x\ncreator: role:member\n', 'creator: role:member\n  continued\n',
    'creator: role:creator\n  or role:member\n', 'creator: "role:creator\n  or role:member"\n',
    "creator: 'role:creator\n\n  or role:member'\n", '? creator\n: role:member\n', '? [a]\n: b\n',
    '? {a: 1}\n: b\n', 'a: &x role:a\nb: &x role:b\ncreator: role:member\n', 'creator: *nope\n',
    'x: &r role:member\ncreator: *r\n', 'x: &m {creator: role:member}\ny: *m\n',
    'a: &a {creator: role:creator}\nb: &b {creator: role:member}\n<<: [*b, *a]\n',
    'a: &a {creator: role:creator}\n<<: *a\ncreator: role:member\n', '<<: 1\n', '<<: [1]\n',
    '=: role:member\ncreator: role:member\n', 'creator: =\n', '!!map {creator: role:member}\n',
    '!!set {creator}\n', '!!omap [{creator: role:member}]\n', '!!str x\n', 'x\n', '5\n', '0\n',
    'false\n', '[]\n', '{}\n', '~\n', '"x"\n', '[creator]\n', '{creator: role:member}\n',
    '{creator: role:member,}\n', '{"creator": "role:member",}', '{"creator": "role:member"} x',
    '{"creator": NaN}', '{"creator": Infinity}', '{"creator": -0.0}', '{"creator": 0e5}',
    '{"creator": 1e400}', '{"creator": "\\ud800"}', '{"creator": "x\x01"}', '{"creator": "a\tb"}',
    '{"creator": "role:member", "x": [["role:a"], "role:b", {}, 0]}', '[["creator", "role:member"]]',
    '{"a": {"b": {"c": 1}}, "creator": "role:member"}', '{creator: "role:member"}', "{'creator': 'role:member'}",
    '{"creator": "role:member"}\n\n', ' {"creator": "role:member"}', '\ufeff{"creator": "role:member"}',
    'creator: role:member\ncreator: role:creator\n', '1: role:a\ntrue: role:b\ncreator: role:member\n',
    '2001-13-01: x\ncreator: role:member\n', '2001-12-01: x\ncreator: role:member\n',
    '0b_: x\ncreator: role:member\n', 'creator: @x\n', 'creator: `x\n', 'creator: %x\n',
    'creator: -x\n', 'creator: - x\n', 'creator: ?x\n', 'creator: :x\n', 'creator: role:member:\n',
    'creator: {a: b\n', 'creator: [a, b\n', 'creator: "x\n', "creator: 'x\n", ': x\n',
    '- a\nb: c\n', 'a:\n  - b\n c: d\n', 'a: b: c\n', 'creator: &a1.x role:member\n',
    'creator: &a! role:member\n', 'creator: !!str\n', 'creator: &x\n', 'creator: !<tag:yaml.org,2002:str> 5\n',
    'creator: "\\N\\_\\L\\P\\e\\a\\v\\0\\/"\n', 'creator: "\\z"\n', 'creator: "\\x4"\n',
    'creator: "\\ud800"\n', 'creator:\n- - role:member\n', 'creator: !!python/name:os.system\n',
    '# creator: role:member\n"creator": "role:creator"\n',
    'a: 1\n  b: 2\n', 'a:\n b: 1\n  c: 2\n', '[a, b]: c\n', 'creator: [a]: b\n',
    'x: "' + 'not ' * 995 + 'role:member"\ncreator: role:member\n',
    'creator: "' + '(' * 950 + 'role:member' + ')' * 950 + '"\n',
]


def rule_corpus(rng):
    toks = ['role:a', 'role:member', 'rule:x', '@', '!', 'not', 'and', 'or', '(', ')', 'AND', 'Or',
            'NOT', "'q'", '"q"', 'a', 'role:c)', '(role:d', '((role:e', 'role:f))', "('x')",
            'True:%(x)s', '"@"', 'role:', ':', 'rule:', "''", '()']
    out = set()
    for _ in range(3000):
        n = rng.randint(0, 8)
        out.add(' '.join(rng.choice(toks) for _ in range(n)))
    out.update(['', ' ', '\x1c', 'role:a\x1crole:b', 'role:a\u3000or\u3000role:b', 'role:a\x85or role:b',
                'not ' * 100 + 'role:a', 'not ' * 2000 + 'role:a', 'a ' * 5000 + 'not ' * 1000 + 'role:a',
                '(' * 3000 + 'role:a' + ')' * 3000, '(' * 3000 + 'role:a',
                ' and '.join(['role:a'] * 3000), 'role:a and (' * 300 + 'role:b' + ')' * 300])
    res = {}
    for r in sorted(out):
        try:
            c = _parser.parse_rule(r)
        except RecursionError:
            res[r] = 'RecursionError'
            continue
        try:
            res[r] = str(c)
        except RecursionError:  # str() of a deep tree, not a parse failure
            res[r] = 'StrRecursionError'
    return res


def fuzz_docs(rng):
    frags = ['creator', 'role:member', 'a', ':', ': ', ' ', '  ', '\n', '\n  ', '- ', '"', "'", '#',
             '\t', '[', ']', '{', '}', ', ', '&a ', '*a', '!!str ', '|\n  ', '>\n  ', '? ', '---\n',
             'yes', '0', '~', '%', '<<: ', '\\', 'x']
    docs = set()
    for _ in range(2500):
        docs.add(''.join(rng.choice(frags) for _ in range(rng.randint(1, 12))))
    # Mutations of plausible policy files: insert/delete/replace a few characters.
    bases = ['"creator": "role:creator or role:member"\n"observer": "role:observer"\n',
             'creator: role:member\nadmin: role:admin  # c\n- x\n',
             '{"creator": "role:member", "a": ["role:x"]}\n',
             'creator: |\n  role:member\n  or role:x\nb: >-\n  y\n',
             'a: &x {creator: role:member}\n<<: *x\nc: [1, "2", {d: e}]\n',
             '---\ncreator: "rule:x"\nx: \'role:member\'\n...\n']
    alphabet = ' \n\t:-#"\'[]{},&*!|>?%@`<=~\\' + 'ax0'
    for _ in range(6000):
        t = list(rng.choice(bases))
        for _ in range(rng.randint(1, 4)):
            op = rng.randint(0, 2)
            i = rng.randint(0, len(t))
            if op == 0:
                t.insert(i, rng.choice(alphabet))
            elif t and i < len(t):
                if op == 1:
                    del t[i]
                else:
                    t[i] = rng.choice(alphabet)
        docs.add(''.join(t))
    return sorted(docs)


def corpus(path, seed=1234):
    rng = random.Random(seed)
    docs = []
    inputs = [('creator: ' + s + ('' if s.endswith('\n') else '\n')) for s in SCALARS]
    inputs += ['{"creator": ' + json.dumps(v) + '}' for v in [None, 0, 1, 0.0, [], {}, [[]], ['role:member'], [['role:a', 'role:member']], {'role:member': 1}, '', ' ']]
    inputs += YAML_DOCS
    for name, _ in read_expected():  # the single-file cases
        main, dirs = case_paths(name)
        if not dirs and not os.path.isdir(os.path.join(FILES, name)):
            with open(main, 'rb') as f:
                try:
                    inputs.append(f.read().decode('utf-8'))
                except UnicodeDecodeError:
                    pass  # the corpus holds text
    inputs += fuzz_docs(rng)
    for text in inputs:
        verdict, rules, _exc, info = run(text)
        # The corpus keeps its format: True / False / "error".
        verdict = {'granted': True, 'denied': False}.get(verdict, 'error')
        docs.append({'text': text, 'verdict': verdict, 'rules': rules,
                     'lines': key_lines(text) if rules is not None else None, 'info': info})
    data = {'docs': docs, 'rules': rule_corpus(rng)}
    with open(path, 'w') as f:
        json.dump(data, f, indent=0, ensure_ascii=True)
    print('wrote %s: %d documents, %d rules' % (path, len(docs), len(data['rules'])))


if __name__ == '__main__':
    sys.setrecursionlimit(1000)
    if '--corpus' in sys.argv:
        seed = int(sys.argv[sys.argv.index('--seed') + 1]) if '--seed' in sys.argv else 1234
        corpus(sys.argv[sys.argv.index('--corpus') + 1], seed)
    else:
        sys.exit(1 if main_fixtures('--big' in sys.argv) else 0)
