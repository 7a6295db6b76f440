#!/usr/bin/python3
"""Confirm src/policy.rs expectations against the real oslo.policy (Debian python3-oslo.policy
4.0.0, python3-yaml 6.0). Run with /usr/bin/python3 (not the pyenv python3 on PATH):

    /usr/bin/python3 confirm.py                 # fixtures of the Rust tests, verdict per fixture
    /usr/bin/python3 confirm.py --big           # also the 10 MB YAML fixture (PyYAML is slow)
    /usr/bin/python3 confirm.py --corpus fixtures/corpus.json [--seed N]
                                                # differential corpus for tests/differential.rs

Each fixture is loaded the way Barbican's enforcer loads it: an oslo.policy Enforcer on a
cfg.ConfigOpts whose [oslo_policy] policy_file points at the fixture (policy_dirs at a temporary
policy.d when the fixture has one), load_rules(), then
enforce('creator', {}, {'roles': ['member'], 'project_id': 'p'}).
Verdicts: True / False / "error" (load_rules or enforce raised: Barbican answers 500, nobody passes).

Surprises found (all reproduced in policy.rs and its tests):
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


def run(content, policy_d=None, rule='creator'):
    """-> (verdict, rules {str name: str(check)} or None)"""
    d = tempfile.mkdtemp()
    main = os.path.join(d, 'policy.yaml')
    with open(main, 'wb') as f:
        f.write(content if isinstance(content, bytes) else content.encode('utf-8', 'surrogatepass'))
    dirs = []
    if policy_d:
        pd = os.path.join(d, 'policy.d')
        os.mkdir(pd)
        for name, text in policy_d.items():
            with open(os.path.join(pd, name), 'w') as f:
                f.write(text)
        dirs = [pd]
    e = enforcer(main, dirs)
    try:
        e.load_rules()
    except BaseException as ex:  # noqa: B902  (RecursionError, TypeError, ValueError, ...)
        return 'error', None, '%s: %s' % (type(ex).__name__, str(ex).splitlines()[0][:80])
    rules = {k: str(v) for k, v in e.rules.items() if isinstance(k, str)}
    try:
        v = e.enforce(rule, {}, dict(CREDS))
        return bool(v), rules, ''
    except BaseException as ex:  # noqa: B902
        return 'error', rules, 'enforce %s: %s' % (type(ex).__name__, str(ex)[:80])


STOCK = '/etc/barbican/policy.d/00_default_policy.yaml'

# (name, content, policy.d files, expected verdict) -- same names/expectations as the Rust tests.
FIXTURES = [
    ('stock_debian_file_all_commented_has_no_rules', open(STOCK).read() if os.path.exists(STOCK) else '#"creator": "role:creator"\n', None, False),
    ('yaml_creator_role_member_grants', '"creator": "role:member"\n', None, True),
    ('creator_or_member_grants', '"creator": "role:creator or role:member"\n', None, True),
    ('creator_and_member_does_not_grant', '"creator": "role:creator and role:member"\n', None, False),
    ('not_member_does_not_grant', '"creator": "not role:member"\n', None, False),
    ('json_policy_file_grants', '{\n  "creator": "role:member",\n  "observer": "role:observer"\n}\n', None, True),
    ('policy_d_50_scs_beats_10_a_and_policy_yaml', '"creator": "role:creator"\n',
     {'10-a.yaml': '"creator": "role:creator"\n', '50-scs.yaml': '"creator": "role:member"\n'}, True),
    ('policy_d_later_file_can_take_it_away', '"creator": "role:member"\n',
     {'10-scs.yaml': '"creator": "role:member"\n', '50-a.yaml': '"creator": "role:creator"\n'}, False),
    ('creator_rule_indirection_grants', 'creator: "rule:member_role"\nmember_role: "role:member"\n', None, True),
    ('rule_reference_cycle_is_error', 'creator: "rule:a"\na: "rule:b"\nb: "rule:creator"\n', None, 'error'),
    ('cycle_after_granting_branch_still_grants', 'creator: "role:member or rule:creator"\n', None, True),
    ('yaml_list_top_level_is_error', '- "creator"\n- "role:member"\n', None, 'error'),
    ('duplicate_yaml_key_last_wins_deny', 'creator: role:member\ncreator: role:creator\n', None, False),
    ('duplicate_yaml_key_last_wins_grant', 'creator: role:creator\ncreator: role:member\n', None, True),
    ('duplicate_json_key_last_wins', '{"creator": "role:creator", "creator": "role:member"}', None, True),
    ('garbage_invalid_utf8_is_error', b'\xff\xfe\x00\x01binary\x80\x81\n', None, 'error'),
    ('garbage_control_chars_is_error', 'creator: role:member\x00\x01\x02\n', None, 'error'),
    ('null_value_means_always_allow', 'creator:\n', None, True),
    ('false_value_means_always_allow', 'creator: false\n', None, True),
    ('int_value_fails_whole_file', 'creator: 5\nother: role:x\n', None, 'error'),
    ('yaml11_yes_value_fails_whole_file', 'creator: yes\n', None, 'error'),
    ('legacy_list_rule_grants', 'creator: [["role:member"]]\n', None, True),
    ('legacy_list_and_does_not_grant', 'creator: [["role:creator", "role:member"]]\n', None, False),
    ('role_match_is_case_insensitive', 'creator: role:MEMBER\n', None, True),
    ('role_kind_is_case_sensitive', 'creator: Role:member\n', None, False),
    ('uppercase_or_operator', 'creator: role:creator OR role:member\n', None, True),
    ('trailing_tab_fails_yaml', 'creator: role:member\t\n', None, 'error'),
    ('json_with_tabs_is_fine', '{\t"creator":\t"role:member"}', None, True),
    ('whitespace_only_rule_denies', 'creator: "   "\n', None, False),
    ('empty_rule_allows', 'creator: ""\n', None, True),
    ('bare_keyword_rule_raises_at_enforce', 'creator: "and"\n', None, 'error'),
    ('malformed_rule_denies', 'creator: "role:member or"\n', None, False),
    ('missing_reference_falls_back_to_default', 'creator: rule:nope\ndefault: role:member\n', None, True),
    ('missing_reference_without_default_denies', 'creator: rule:nope\n', None, False),
    ('yaml_merge_key_grants', 'base: &b {creator: role:member}\n<<: *b\n', None, True),
    ('empty_file_has_no_rules', '', None, False),
    ('multiple_documents_is_error', 'creator: role:member\n---\na: b\n', None, 'error'),
    ('percent_in_role_raises_at_enforce', 'creator: role:mem%ber\n', None, 'error'),
    ('crlf_line_endings', 'a: role:x\r\ncreator: role:member\r\n', None, True),
    ('wrapped_quoted_rule_at_column_0', '"creator": "role:creator or\nrole:member"\n', None, True),
    ('non_string_key_with_truthy_value_fails_load', 'yes: yes\ncreator: role:member\n', None, 'error'),
    ('percent_key_format_then_member_grants', 'creator: "role:%(x)s or role:member"\n', None, True),
]


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
    fixtures = list(FIXTURES)
    fixtures.append(('ten_megabyte_json_file', big_json(), None, True))
    if big:
        fixtures.append(('ten_megabyte_yaml_file', big_yaml(), None, True))
    for name, content, pd, expected in fixtures:
        t0 = time.time()
        verdict, _rules, info = run(content, pd)
        dt = time.time() - t0
        ok = verdict == expected
        bad += not ok
        print('%-48s oslo.policy=%-5s expected=%-5s %s%s%s' % (
            name, verdict, expected, 'OK' if ok else 'MISMATCH',
            ('  [%s]' % info) if info else '', ('  (%.1fs)' % dt) if dt > 1 else ''))
    # The rule language itself, via _parser.parse_rule (str() of the check tree).
    for r in ['role:creator or role:member', 'role:a or role:b and role:c',
              '(role:a) and role:b and role:c or role:d', 'not role:a and role:b',
              'role:a and not (role:b or role:c)', '', '   ', '@', '!', 'and', "'x'",
              'role:a role:b', 'role:a or', 'True:%(enforce_new_defaults)s and role:member']:
        c = _parser.parse_rule(r)
        print('parse_rule(%r) -> %s %r' % (r, type(c).__name__, str(c)))
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
    inputs += YAML_DOCS + [c for _, c, pd, _ in FIXTURES if pd is None and isinstance(c, str)]
    inputs += fuzz_docs(rng)
    for text in inputs:
        verdict, rules, info = run(text)
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
