//! Expectations confirmed against oslo.policy 4.0.0 / PyYAML 6.0 by `confirm.py`
//! (`/usr/bin/python3 confirm.py` prints the real library's verdict per fixture).
use std::collections::BTreeMap;

use super::yaml_scalar::implicit_tag;
use super::*;

/// Excerpt of Debian's /etc/barbican/policy.d/00_default_policy.yaml (every rule commented).
const STOCK_DEBIAN: &str = r##"#"system_reader": "role:reader and system_scope:all"

#"system_admin": "role:admin and system_scope:all"

#"secret_project_match": "project_id:%(target.secret.project_id)s"

#"observer": "role:observer"

#"creator": "role:creator"

#"admin": "role:admin"

#"service_admin": "role:key-manager:service-admin"

#"all_users": "rule:admin or rule:observer or rule:creator or rule:audit or rule:service_admin"

#"admin_or_creator": "rule:admin or rule:creator"

#"secret_private_read": "'False':%(target.secret.read_project_access)s"

# Retrieve the ACL settings for a given secret.If no ACL is defined
# for that secret, then Default ACL is returned.
# GET  /v1/secrets/{secret-id}/acl
# Intended scope(s): project
#"secret_acls:get": "True:%(enforce_new_defaults)s and (rule:secret_project_admin or (rule:secret_project_member and rule:secret_owner) or (rule:secret_project_member and rule:secret_is_not_private))"

# DEPRECATED
# "secret_acls:get":"rule:all_but_audit and rule:secret_project_match"
"##;

fn file(text: &str) -> PolicyFile {
    match parse(text) {
        Ok(f) => f,
        Err(e) => panic!("parse failed: {e} for {text:?}"),
    }
}

fn texts(f: &PolicyFile) -> BTreeMap<String, String> {
    f.rules
        .iter()
        .map(|r| (r.name.clone(), r.rule.clone()))
        .collect()
}

/// File rules over Barbican's legacy default for `creator` (what the caller does).
fn effective(files: &[PolicyFile]) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> =
        [("creator".to_string(), BARBICAN_CREATOR_DEFAULT.to_string())]
            .into_iter()
            .collect();
    for (k, (v, _, _)) in merge(files) {
        m.insert(k, v);
    }
    m
}

fn member_may_create(text: &str) -> bool {
    grants_role(&effective(&[file(text)]), "creator", "member")
}

fn verdict(text: &str) -> Verdict {
    role_verdict(
        &texts(&file(text)),
        "creator",
        &["member"],
        Some(DEFAULT_RULE_NAME),
    )
}

// ----- the BAR-008 fixtures -----

#[test]
fn stock_debian_file_all_commented_has_no_rules() {
    let f = file(STOCK_DEBIAN);
    assert!(f.rules.is_empty(), "{:?}", f.rules);
    // The real file, where barbican-common is installed.
    if let Ok(real) = std::fs::read("/etc/barbican/policy.d/00_default_policy.yaml") {
        assert_eq!(parse_bytes(&real).map(|f| f.rules.len()), Ok(0));
    }
    // No file sets creator: Barbican's legacy default decides, and it does not grant member.
    let m = effective(&[f]);
    assert_eq!(m.get("creator").map(String::as_str), Some("role:creator"));
    assert!(!grants_role(&m, "creator", "member"));
    assert!(grants_role(&m, "creator", "creator"));
}

#[test]
fn yaml_creator_role_member_grants() {
    let f = file("# SCS-0116\n\"creator\": \"role:member\"\n");
    assert_eq!(f.rules.len(), 1);
    assert_eq!(f.rules[0].name, "creator");
    assert_eq!(f.rules[0].rule, "role:member");
    assert_eq!(f.rules[0].line, 2);
    assert_eq!(f.rules[0].note, None);
    assert!(member_may_create("\"creator\": \"role:member\"\n"));
    assert!(member_may_create("creator: role:member\n"));
}

#[test]
fn creator_or_member_grants() {
    assert!(member_may_create(
        "\"creator\": \"role:creator or role:member\"\n"
    ));
    assert!(member_may_create(
        "\"creator\": \"role:member or role:creator\"\n"
    ));
    assert!(member_may_create(
        "\"creator\": \"(role:creator or role:admin) or role:member\"\n"
    ));
}

#[test]
fn creator_and_member_does_not_grant() {
    assert!(!member_may_create(
        "\"creator\": \"role:creator and role:member\"\n"
    ));
    assert_eq!(
        verdict("\"creator\": \"role:creator and role:member\"\n"),
        Verdict::Denied
    );
}

#[test]
fn not_member_does_not_grant() {
    assert!(!member_may_create("\"creator\": \"not role:member\"\n"));
    // ...but `not` of a role the user lacks passes.
    assert!(member_may_create(
        "\"creator\": \"role:member and not role:admin\"\n"
    ));
}

#[test]
fn json_policy_file_grants() {
    let text = "{\n  \"observer\": \"role:observer\",\n  \"creator\": \"role:member\"\n}\n";
    let f = file(text);
    assert_eq!(
        f.rules
            .iter()
            .map(|r| (r.name.as_str(), r.line))
            .collect::<Vec<_>>(),
        vec![("observer", 2), ("creator", 3)]
    );
    assert!(member_may_create(text));
    // json.loads is tried first: tabs (not YAML-legal) are fine in a JSON file.
    assert!(member_may_create("{\t\"creator\":\t\"role:member\"}"));
}

#[test]
fn policy_d_50_scs_beats_10_a_and_policy_yaml() {
    // Load order: policy_file, then policy.d files sorted (the caller sorts).
    let files = [
        file("\"creator\": \"role:creator\"\n\"observer\": \"role:observer\"\n"),
        file("\"creator\": \"role:creator\"\n"),
        file("# SCS\n\"creator\": \"role:member\"\n"),
    ];
    let m = merge(&files);
    assert_eq!(m.get("creator"), Some(&("role:member".to_string(), 2, 2)));
    assert_eq!(
        m.get("observer"),
        Some(&("role:observer".to_string(), 0, 2))
    );
    assert!(grants_role(&effective(&files), "creator", "member"));
    // A later file can take it away again.
    let files = [
        file("creator: role:member\n"),
        file("creator: role:creator\n"),
    ];
    assert!(!grants_role(&effective(&files), "creator", "member"));
}

#[test]
fn creator_rule_indirection_grants() {
    let text = "creator: \"rule:member_role\"\nmember_role: \"role:member\"\n";
    assert!(member_may_create(text));
    // Through two hops and an `or`.
    assert!(member_may_create(
        "creator: rule:a or rule:b\na: role:x\nb: rule:c\nc: role:member\n"
    ));
    // A reference to a missing rule fails closed...
    assert!(!member_may_create("creator: rule:nope\n"));
    // ...unless the `default` rule exists (Rules.__missing__).
    assert!(member_may_create(
        "creator: rule:nope\ndefault: role:member\n"
    ));
}

#[test]
fn rule_reference_cycle_is_bounded_error() {
    let text = "creator: \"rule:a\"\na: \"rule:b\"\nb: \"rule:creator\"\n";
    assert!(!member_may_create(text));
    assert_eq!(verdict(text), Verdict::Error); // oslo.policy: enforce raises
    assert_eq!(verdict("creator: rule:creator\n"), Verdict::Error);
    // Short-circuit: the granting branch comes first, the cycle is never reached.
    assert_eq!(
        verdict("creator: role:member or rule:creator\n"),
        Verdict::Granted
    );
    // Long acyclic chains beyond the evaluation bound count as errors, without overflow.
    let mut m = BTreeMap::new();
    for i in 0..5000 {
        m.insert(format!("r{i}"), format!("rule:r{}", i + 1));
    }
    m.insert("r5000".into(), "role:member".into());
    assert_eq!(role_verdict(&m, "r0", &["member"], None), Verdict::Error);
    assert_eq!(
        role_verdict(&m, "r4990", &["member"], None),
        Verdict::Granted
    );
    // Exponential fan-out is memoised.
    let mut m = BTreeMap::new();
    for i in 0..60 {
        m.insert(format!("f{i}"), format!("rule:f{0} and rule:f{0}", i + 1));
    }
    m.insert("f60".into(), "role:member".into());
    assert_eq!(role_verdict(&m, "f0", &["member"], None), Verdict::Granted);
}

#[test]
fn yaml_list_top_level_is_error() {
    let e = parse("- \"creator\"\n- \"role:member\"\n").err();
    assert!(
        e.as_ref().is_some_and(|e| e.message.contains("list")),
        "{e:?}"
    );
    assert!(parse("\"creator\"\n").is_err()); // a string
    assert!(parse("5\n").is_err());
    // `parsed or {}`: falsy top levels are just empty.
    for empty in [
        "", "# c\n", "---\n", "[]\n", "{}\n", "0\n", "false\n", "~\n", "null",
    ] {
        assert_eq!(file(empty).rules, vec![], "{empty:?}");
    }
}

#[test]
fn duplicate_yaml_key_last_wins() {
    let f = file("creator: role:member\nother: role:x\ncreator: role:creator\n");
    // dict semantics: first key keeps its place, last value (and its line) wins
    assert_eq!(
        f.rules
            .iter()
            .map(|r| (r.name.as_str(), r.rule.as_str(), r.line))
            .collect::<Vec<_>>(),
        vec![("creator", "role:creator", 3), ("other", "role:x", 2)]
    );
    assert!(!member_may_create(
        "creator: role:member\ncreator: role:creator\n"
    ));
    assert!(member_may_create(
        "creator: role:creator\ncreator: role:member\n"
    ));
    assert!(member_may_create(
        "{\"creator\": \"role:creator\", \"creator\": \"role:member\"}"
    ));
}

#[test]
fn garbage_binary_input_is_error_without_panic() {
    let e = parse_bytes(b"creator: ok\n\xff\xfe\x00\x01binary\x80\x81\n").err();
    assert_eq!(e.map(|e| e.line), Some(Some(2)));
    let e = parse("creator: role:member\u{0}\u{1}\u{2}\n").err();
    assert!(e.is_some_and(|e| e.message.contains("#x0000")));
    // Pseudo-random bytes and YAML-ish fragments: any result, never a panic.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let frags = [
        "creator",
        "role:member",
        ":",
        ": ",
        " ",
        "\n",
        "\n  ",
        "- ",
        "\"",
        "'",
        "#",
        "\t",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "&a ",
        "*a",
        "!!str ",
        "|\n  ",
        ">-\n  ",
        "? ",
        "---\n",
        "yes",
        "0",
        "~",
        "%",
        "<<: ",
        "\\",
        "x",
        "(",
        ")",
        " or ",
        " and ",
        "not ",
        "\u{e9}",
        "\r",
    ];
    for _ in 0..3000 {
        let n = (next() % 16) as usize;
        let s: String = (0..n)
            .map(|_| frags[(next() % frags.len() as u64) as usize])
            .collect();
        let _ = parse(&s);
        let _ = parse_rule(&s);
        let bytes: Vec<u8> = (0..(next() % 64)).map(|_| next() as u8).collect();
        let _ = parse_bytes(&bytes);
    }
}

#[test]
fn ten_megabyte_file_parses_quickly() {
    let mut yaml = String::new();
    let mut json = String::from("{\n");
    let mut i = 0;
    while yaml.len() < 10 * 1024 * 1024 {
        yaml.push_str(&format!(
            "\"rule_{i:06}\": \"role:r{i} or (role:s and not role:t)\"\n"
        ));
        json.push_str(&format!(
            "\"rule_{i:06}\": \"role:r{i} or (role:s and not role:t)\",\n"
        ));
        i += 1;
    }
    yaml.push_str("\"creator\": \"role:creator or role:member\"\n");
    json.push_str("\"creator\": \"role:creator or role:member\"\n}\n");
    for text in [&yaml, &json] {
        let t = std::time::Instant::now();
        let f = file(text);
        assert_eq!(f.rules.len(), i + 1);
        assert!(grants_role(&texts(&f), "creator", "member"));
        // Generous (debug build, shared 2-core machine); linear code takes a few seconds.
        assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
    }
    // Nested block collections and block scalars (marks that step back, header lookups).
    let t = std::time::Instant::now();
    let mut nested = String::from("creator: role:member\nx:\n");
    while nested.len() < 10 * 1024 * 1024 {
        nested.push_str("- a: b\n  c: [d, {e: f}]\n  g: |\n    h\n");
    }
    assert_eq!(file(&nested).rules.len(), 2);
    assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
    // One 10 MB rule, and 10 MB of garbage: linear, no deep recursion.
    let t = std::time::Instant::now();
    let long = "role:a or ".repeat(1 << 20) + "role:member";
    assert!(matches!(parse_rule(&long), Check::Or(v) if v.len() == (1 << 20) + 1));
    assert_eq!(parse_rule(&"x ".repeat(5 << 20)), Check::Never);
    assert_eq!(parse_rule(&"(".repeat(10 << 20)), Check::Never);
    assert_eq!(
        parse_rule(&format!(
            "{}role:a{}",
            "(".repeat(5 << 20),
            ")".repeat(5 << 20)
        )),
        Check::Role("a".into())
    );
    assert_eq!(try_parse_rule(&"not ".repeat(2 << 20)), Ok(Check::Never));
    assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
}

// ----- what oslo.policy does with odd values (confirmed with the real library) -----

#[test]
fn falsy_non_string_value_means_always_allow() {
    for text in [
        "creator:\n",
        "creator: ~\n",
        "creator: false\n",
        "creator: 0\n",
        "creator: []\n",
        "creator: {}\n",
        "{\"creator\": null}",
    ] {
        let f = file(text);
        assert_eq!(f.rules[0].rule, "", "{text:?}");
        assert!(f.rules[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("always-allow")));
        assert!(member_may_create(text), "{text:?}");
    }
}

#[test]
fn truthy_non_string_value_fails_the_whole_file() {
    for text in [
        "creator: 5\n",
        "creator: yes\n",
        "creator: on\n",
        "creator: 1:20\n",
        "creator: 2001-01-01\n",
        "creator: 1.5\n",
        "{\"creator\": 1}",
        "{\"creator\": NaN}",
        "a: 5\ncreator: role:member\n",
    ] {
        let e = parse(text).err();
        assert!(
            e.as_ref().is_some_and(|e| e.message.contains("TypeError")),
            "{text:?}: {e:?}"
        );
    }
    // Overridden duplicates are never parsed as rules: no error.
    assert!(member_may_create("creator: 5\ncreator: role:member\n"));
    // YAML 1.1 strings that look typed in 1.2 only stay strings.
    assert_eq!(file("creator: 0o17\n").rules[0].rule, "0o17");
    assert_eq!(file("creator: 1e5\n").rules[0].rule, "1e5");
}

#[test]
fn legacy_list_syntax_is_a_rule() {
    let f = file("creator: [[\"role:member\"]]\n");
    assert_eq!(f.rules[0].rule, "role:member");
    assert!(f.rules[0].note.is_some());
    assert!(member_may_create("creator: [[\"role:member\"]]\n"));
    assert!(member_may_create(
        "creator: [\"role:creator\", \"role:member\"]\n"
    ));
    assert!(!member_may_create(
        "creator: [[\"role:creator\", \"role:member\"]]\n"
    ));
    assert_eq!(
        file("creator: [[\"role:a\", \"role:b\"], \"role:c\"]\n").rules[0].rule,
        "((role:a and role:b) or role:c)"
    );
    assert_eq!(file("creator: [[]]\n").rules[0].rule, "!");
    assert!(parse("creator: [5]\n").is_err());
    assert_eq!(
        file("creator: [[5], role:member]\n").rules[0].rule,
        "(! or role:member)"
    );
    assert_eq!(
        file("creator: [!!binary aGk=]\n").rules[0].rule,
        "(! and !)"
    );
    // A check the text language cannot spell is replaced by `!` and flagged.
    let f = file("creator: [[\"role:a b\"]]\n");
    assert_eq!(f.rules[0].rule, "!");
    assert!(f.rules[0]
        .note
        .as_deref()
        .is_some_and(|n| n.contains("replaced")));
}

#[test]
fn non_string_keys_are_left_out() {
    let f = file("5: role:a\n~: role:b\ntrue: role:c\ncreator: role:member\n");
    assert_eq!(
        f.rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["creator"]
    );
    assert!(parse("? [a]\n: b\n").is_err()); // unhashable key
    assert!(parse("yes: yes\ncreator: role:member\n").is_err()); // every value is parsed
    assert!(parse("2001-13-01: x\n").is_err()); // invalid date
}

#[test]
fn yaml_syntax_pyyaml_refuses_is_an_error() {
    for text in [
        "creator: role:member\t\n",          // trailing tab
        "creator:\trole:member\n",           // tab separator
        "creator: role:member\n---\na: b\n", // two documents
        ": role:member\n",                   // empty key
        "a: &x role:a\nb: &x role:b\n",      // duplicate anchor
        "%YAML 2.0\n---\na: b\n",
        "...\n",
        "creator: !foo x\n",
        "creator: =\n",
        "creator: !!python/name:os.system\n",
        "{\"creator\n\": \"role:member\"",
    ] {
        assert!(parse(text).is_err(), "{text:?}");
    }
    // Tabs inside quotes, block scalars and comments are fine.
    assert!(member_may_create(
        "creator: \"role:member\"  # a\tb\nx: |\n  a\tb\n"
    ));
}

#[test]
fn yaml_quirks_pyyaml_accepts() {
    // A rule wrapped inside quotes with a continuation line at column 0.
    assert_eq!(
        file("\"creator\": \"role:creator or\nrole:member\"\n").rules[0].rule,
        "role:creator or role:member"
    );
    assert!(member_may_create(
        "creator: \"role:creator or\nrole:member\"\n"
    ));
    // Merge keys, anchors and aliases.
    assert!(member_may_create(
        "base: &b {creator: role:member}\n<<: *b\n"
    ));
    assert!(member_may_create("x: &r role:member\ncreator: *r\n"));
    // CRLF, BOM, NEL line breaks.
    let f = file("a: role:x\r\ncreator: role:member\r\n");
    assert_eq!((f.rules[1].name.as_str(), f.rules[1].line), ("creator", 2));
    assert!(member_may_create("\u{feff}creator: role:member\n"));
    assert!(member_may_create("a: b\u{85}creator: role:member\n"));
    // Empty block scalar is "" (always allow), as in PyYAML.
    assert_eq!(file("creator: |\n").rules[0].rule, "");
    assert_eq!(
        file("creator: >-\n  role:creator\n  or role:member\n").rules[0].rule,
        "role:creator or role:member"
    );
}

#[test]
fn implicit_yaml11_types() {
    let cases = [
        ("yes", "bool"),
        ("Off", "bool"),
        ("y", "str"),
        ("~", "null"),
        ("", "null"),
        ("nULL", "str"),
        ("0", "int"),
        ("0o17", "str"),
        ("017", "int"),
        ("08", "str"),
        ("0x1F", "int"),
        ("0b101", "int"),
        ("1_000", "int"),
        ("1:20", "int"),
        ("1:60", "str"),
        ("0.0", "float"),
        (".5", "float"),
        ("1e5", "str"),
        ("1.0e+5", "float"),
        ("1.0e5", "str"),
        ("-.inf", "float"),
        (".NaN", "float"),
        ("1:30.5", "float"),
        ("2001-01-01", "timestamp"),
        ("2001-1-1", "str"),
        ("2001-12-14t21:59:43.10-05:00", "timestamp"),
        ("2001-12-14 21:59:43.10 Z", "timestamp"),
        ("=", "value"),
        ("<<", "merge"),
        ("role:member", "str"),
    ];
    for (v, want) in cases {
        assert_eq!(
            implicit_tag(v),
            format!("tag:yaml.org,2002:{want}"),
            "{v:?}"
        );
    }
}

// ----- the rule language -----

#[test]
fn parse_rule_matches_oslo_str_forms() {
    // (rule, str(_parser.parse_rule(rule))) printed by confirm.py
    let cases = [
        (
            "role:creator or role:member",
            "(role:creator or role:member)",
        ),
        (
            "role:a or role:b and role:c",
            "(role:a or (role:b and role:c))",
        ),
        (
            "(role:a) and role:b and role:c or role:d",
            "((role:a and role:b and role:c) or role:d)",
        ),
        ("not role:a and role:b", "(not role:a and role:b)"),
        (
            "role:a and not (role:b or role:c)",
            "(role:a and not (role:b or role:c))",
        ),
        ("", "@"),
        ("   ", "!"),
        ("@", "@"),
        ("!", "!"),
        ("and", "and"),
        ("'x'", "x"),
        ("role:a role:b", "!"),
        ("role:a or", "!"),
        (
            "True:%(enforce_new_defaults)s and role:member",
            "(True:%(enforce_new_defaults)s and role:member)",
        ),
        ("NOT role:a", "not role:a"),
        ("role:a AND role:b", "(role:a and role:b)"),
        ("Or", "Or"),
        ("not not @", "not not @"),
        ("('x')", "!"),
        ("a:b)", "!"),
    ];
    for (r, want) in cases {
        assert_eq!(parse_rule(r).to_string(), want, "{r:?}");
    }
    assert_eq!(
        parse_rule("role:a or role:b and role:c"),
        Check::Or(vec![
            Check::Role("a".into()),
            Check::And(vec![Check::Role("b".into()), Check::Role("c".into())]),
        ])
    );
    assert_eq!(parse_rule("rule:x"), Check::Rule("x".into()));
    assert_eq!(
        parse_rule("Role:member"),
        Check::Generic("Role".into(), "member".into())
    );
    assert_eq!(parse_rule("and"), Check::Invalid("and".into()));
    assert_eq!(
        parse_rule("role:a\u{1c}or\u{3000}role:b").to_string(),
        "(role:a or role:b)"
    );
}

#[test]
fn roles_compare_case_insensitively_kinds_do_not() {
    assert!(member_may_create("creator: role:MEMBER\n"));
    assert!(grants_role(
        &effective(&[file("creator: role:member\n")]),
        "creator",
        "Member"
    ));
    assert!(!member_may_create("creator: Role:member\n"));
    assert!(member_may_create("creator: role:creator OR role:member\n"));
}

#[test]
fn verdicts_for_target_dependent_and_broken_rules() {
    assert_eq!(
        verdict("creator: \"True:%(enforce_new_defaults)s and role:member\"\n"),
        Verdict::Depends
    );
    assert_eq!(
        verdict("creator: \"project_id:%(project_id)s or role:member\"\n"),
        Verdict::Granted
    );
    assert_eq!(
        verdict("creator: \"project_id:%(project_id)s and role:member\"\n"),
        Verdict::Depends
    );
    assert_eq!(verdict("creator: role:mem%ber\n"), Verdict::Error); // ValueError
    assert_eq!(
        verdict("creator: \"role:%(x)s or role:member\"\n"),
        Verdict::Granted
    );
    assert_eq!(
        verdict("creator: \"role:%(x)d or role:member\"\n"),
        Verdict::Depends
    );
    assert_eq!(verdict("creator: \"and\"\n"), Verdict::Error);
    assert_eq!(verdict("creator: \"@\"\n"), Verdict::Granted);
    assert_eq!(verdict("creator: \"\"\n"), Verdict::Granted);
    assert_eq!(verdict("creator: \"   \"\n"), Verdict::Denied);
    assert_eq!(verdict("creator: \"role:member or\"\n"), Verdict::Denied); // malformed: `!`
    assert_eq!(verdict("other: role:member\n"), Verdict::Denied); // no creator, no default
    let m: BTreeMap<String, String> = [("creator".to_string(), "role:reader".to_string())]
        .into_iter()
        .collect();
    assert_eq!(
        role_verdict(&m, "creator", &["member", "reader"], None),
        Verdict::Granted
    );
}

#[test]
fn too_deep_rules_fail_like_python_recursion() {
    assert_eq!(
        try_parse_rule(&format!("{}role:a", "not ".repeat(2000))),
        Err(RuleError::TooDeep)
    );
    assert!(try_parse_rule(&format!("{}role:a", "not ".repeat(100))).is_ok());
    let deep = format!("{}role:b{}", "role:a and (".repeat(1000), ")".repeat(1000));
    assert_eq!(try_parse_rule(&deep), Err(RuleError::TooDeep));
    assert!(parse(&format!(
        "creator: \"{}role:member\"\n",
        "not ".repeat(2000)
    ))
    .is_err());
    // Parseable but deeper than enforcement can go: Error, no stack overflow.
    let m: BTreeMap<String, String> = [(
        "creator".to_string(),
        format!(
            "{}role:member{}",
            "(role:member and ".repeat(300),
            ")".repeat(300)
        ),
    )]
    .into_iter()
    .collect();
    assert_eq!(
        role_verdict(&m, "creator", &["member"], None),
        Verdict::Error
    );
}
