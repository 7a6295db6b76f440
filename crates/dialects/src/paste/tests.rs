//! Tests of the PasteDeploy emulator. The fixtures are data files, `<condition>.ini` with the
//! expected outcome in `<condition>.exp`, under `tests/data/paste/` of the repository (the
//! format is in its README.md); `tests/confirm/paste_confirm.py` runs the same files through
//! the real PasteDeploy. [`every_fixture_matches_its_expectation`] checks them all; the named
//! tests below check one case each and then assert what a `.exp` cannot say.

use std::path::{Path, PathBuf};

use super::entry_point::parse_entry_point;
use super::*;

const HERE: &str = "/etc/barbican";
const FILE: &str = "/etc/barbican/barbican-api-paste.ini";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/paste")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e))
}

/// The paste file of a case, `tests/data/paste/<name>.ini`.
fn fixture(name: &str) -> String {
    read(&data_dir().join(format!("{name}.ini")))
}

/// The expected lines of a `.exp` file: split at '\n' only (as confirm.py does), blank and
/// `#` comment lines skipped, trailing (Python) whitespace cut.
fn expectation(exp: &str) -> Vec<&str> {
    exp.split('\n')
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.trim_end_matches(is_py_space))
        .filter(|l| !l.is_empty())
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn canon_chain(c: &Chain) -> String {
    let refs: Vec<&str> = c.elements.iter().map(|e| e.factory_ref.as_str()).collect();
    format!("{} => [{}] -> {}", c.url_key, refs.join(" "), c.app_factory)
}

/// The lines confirm.py also computes with the real library: the chains serving /v1 (or the
/// error), then the answers to the `.exp`'s `GET` queries.
fn canon(text: &str, want: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    match parse(text) {
        Err(e) => out.push(format!("ERROR {} line {}", e.kind, e.line)),
        Ok(f) => {
            let mut lines: Vec<String> = match served_v1_chains_at(&f, "main", HERE, FILE) {
                Ok(ch) => ch.iter().map(canon_chain).collect(),
                Err(e) => vec![format!("ERROR {}", e.python_exception())],
            };
            lines.sort();
            out.extend(lines);
            for q in want.iter().filter_map(|l| l.strip_prefix("GET [")) {
                let q = q.split(" => ").next().unwrap_or("");
                let (sec, key) = q.split_once("] ").unwrap_or((q, ""));
                let ans = match f.get(sec, key, HERE, FILE) {
                    None => "NONE".to_string(),
                    Some(Ok(v)) => esc(&v),
                    Some(Err(e)) => format!("ERROR {}", e.kind),
                };
                out.push(format!("GET [{}] {} => {}", sec, key, ans));
            }
        }
    }
    out
}

/// Where the case's outcome differs from its `.exp`, a report; None when they agree.
fn mismatch(name: &str) -> Option<String> {
    let exp = read(&data_dir().join(format!("{name}.exp")));
    let want = expectation(&exp);
    let got = canon(&fixture(name), &want);
    if got == want {
        return None;
    }
    Some(format!(
        "{name}:\n  expected: {}\n  got     : {}",
        want.join("\n            "),
        got.join("\n            ")
    ))
}

/// Checks the case against its `.exp` and returns its paste file for further asserts.
fn case(name: &str) -> String {
    if let Some(report) = mismatch(name) {
        panic!("{report}");
    }
    fixture(name)
}

#[test]
fn every_fixture_matches_its_expectation() {
    let mut names: Vec<String> = Vec::new();
    let mut bad: Vec<String> = Vec::new();
    let entries = std::fs::read_dir(data_dir()).expect("tests/data/paste");
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else {
            continue;
        };
        let stem = stem.to_string_lossy().into_owned();
        match ext.to_str() {
            Some("ini") => names.push(stem),
            // An expectation without its paste file would never be checked.
            Some("exp") if !data_dir().join(format!("{stem}.ini")).exists() => {
                bad.push(format!("{stem}.exp has no {stem}.ini"));
            }
            _ => {}
        }
    }
    names.sort();
    for name in &names {
        if !data_dir().join(format!("{name}.exp")).exists() {
            bad.push(format!("{name}.ini has no {name}.exp"));
        } else if let Some(report) = mismatch(name) {
            bad.push(report);
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // 42 when the fixtures moved out of the Rust source: none may go missing unnoticed.
    assert!(names.len() >= 42, "only {} fixtures", names.len());
}

#[test]
fn expectation_format() {
    let exp = "# why\n\n/v1 => [] -> a:b  \n  \n#GET [x] y => z\nGET [a] b => c\t\n";
    assert_eq!(expectation(exp), vec!["/v1 => [] -> a:b", "GET [a] b => c"]);
    // Only '\n' splits: a form feed inside a value stays in its line, as in confirm.py.
    assert_eq!(
        expectation("GET [a] b => 3\x0c4\n"),
        vec!["GET [a] b => 3\x0c4"]
    );
}

fn chains(text: &str) -> Vec<Chain> {
    let f = parse(text).expect("fixture parses");
    served_v1_chains_at(&f, "main", HERE, FILE).expect("fixture resolves")
}

fn kinds(c: &Chain) -> Vec<Factory> {
    c.elements.iter().map(|e| e.factory.clone()).collect()
}

fn other(s: &str) -> Factory {
    Factory::Other(s.to_string())
}

// ---- One test per case of tests/data/paste/, and what its .exp cannot say ----

#[test]
fn stock_debian_file_serves_v1_with_authtoken_only() {
    let fix = case("stock-debian");
    let ch = chains(&fix);
    assert_eq!(ch.len(), 1);
    assert_eq!(
        describe(&ch[0]),
        "/v1 -> pipeline:barbican-api-keystone [cors, http_proxy_to_wsgi, \
         authtoken(keystonemiddleware.auth_token), context, microversion] -> app:apiapp"
    );
    assert_eq!(
        kinds(&ch[0]),
        vec![
            other("oslo_middleware.cors:filter_factory"),
            other("oslo_middleware:HTTPProxyToWSGI.factory"),
            Factory::AuthToken,
            Factory::Context,
            other("barbican.api.middleware.microversion:MicroversionMiddleware.factory"),
        ]
    );
    assert_eq!(ch[0].key_line, 5);
    assert_eq!(ch[0].elements[2].section, "filter:authtoken");
    assert_eq!(ch[0].elements[2].line, 50);
    assert_eq!(
        ch[0].via,
        vec![
            "composite:main",
            "pipeline:barbican-api-keystone",
            "filter:cors",
            "filter:http_proxy_to_wsgi",
            "filter:authtoken",
            "filter:context",
            "filter:microversion",
            "app:apiapp"
        ]
    );
    // cors keeps its own local_conf; [DEFAULT] (here/__file__) is the global_conf.
    assert_eq!(
        ch[0].elements[0].local_conf,
        vec![("oslo_config_project".to_string(), "barbican".to_string())]
    );
    assert!(ch[0].elements[0]
        .global_conf
        .contains(&("here".to_string(), HERE.to_string())));
}

#[test]
fn stock_debian_barbican_api_is_unauthenticated_but_unserved() {
    let f = parse(&fixture("stock-debian")).expect("parses");
    let ch = served_v1_chains(&f, "barbican_api").expect("resolves");
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].url_key, "*");
    assert!(kinds(&ch[0]).contains(&Factory::UnauthenticatedContext));
    assert!(!kinds(&ch[0]).contains(&Factory::AuthToken));
    // ... and `main` never reaches it.
    let served = served_v1_chains(&f, "main").expect("resolves");
    assert!(served.iter().all(|c| c.entry != "pipeline:barbican_api"));
    // barbican-profile names egg:repoze.profile (unknown egg: assumed present).
    let prof = served_v1_chains(&f, "barbican-profile").expect("resolves");
    assert_eq!(
        prof[0]
            .elements
            .iter()
            .map(|e| e.factory_ref.as_str())
            .collect::<Vec<_>>()[4..7],
        [
            "paste.cgitb_catcher:make_cgitb_middleware",
            "paste.httpexceptions:make_middleware",
            "egg:repoze.profile#main"
        ]
    );
    assert_eq!(check_loads(&f, "main", HERE, FILE), Ok(()));
}

#[test]
fn v1_mapped_to_barbican_api_is_unauthenticated() {
    let fix = case("v1-unauthenticated");
    let ch = chains(&fix);
    assert_eq!(
        describe(&ch[0]),
        "/v1 -> pipeline:barbican_api [cors, http_proxy_to_wsgi, \
         unauthenticated-context(UnauthenticatedContextMiddleware), microversion] -> app:apiapp"
    );
}

#[test]
fn host_keyed_v1_entries_are_served_too() {
    let fix = case("host-keyed-v1");
    let ch = chains(&fix);
    assert_eq!(ch.len(), 3);
    assert_eq!(ch[0].url_key, "/v1");
    assert_eq!(ch[1].url_key, "domain api.example.com /v1");
    assert_eq!(ch[1].key_line, 5);
}

#[test]
fn longer_key_below_v1_is_served() {
    let fix = case("longer-key-below-v1");
    let keys: Vec<String> = chains(&fix).into_iter().map(|c| c.url_key).collect();
    assert_eq!(keys, vec!["/v1", "/v1/secrets", "/v1//secrets/deep/"]);
}

#[test]
fn no_v1_key_root_serves_it() {
    case("root-serves-v1");
}

#[test]
fn renamed_authtoken_filter_counts_as_authtoken() {
    let fix = case("renamed-authtoken");
    let ch = chains(&fix);
    assert_eq!(kinds(&ch[0])[..2], [Factory::AuthToken, Factory::AuthToken]);
    assert_eq!(ch[0].elements[0].name, "kstoken");
    assert_eq!(ch[0].elements[1].name, "ks2");
    assert_eq!(
        ch[0].elements[1].local_conf,
        vec![("delay_auth_decision".to_string(), "false".to_string())]
    );
    assert_eq!(
        describe(&ch[0]),
        "* -> pipeline:main [kstoken(keystonemiddleware.auth_token), ks2(keystonemiddleware.auth_token), context] -> app:apiapp"
    );
}

#[test]
fn filter_named_authtoken_with_other_factory_is_not_authtoken() {
    let fix = case("fake-authtoken");
    let ch = chains(&fix);
    assert_eq!(
        kinds(&ch[0])[0],
        other("barbican.api.middleware.simple:SimpleFilter.factory")
    );
    assert!(
        describe(&ch[0]).contains("authtoken(barbican.api.middleware.simple:SimpleFilter.factory)")
    );
}

#[test]
fn filter_app_wraps_next() {
    let fix = case("filter-app");
    let ch = chains(&fix);
    assert_eq!(kinds(&ch[0]), vec![Factory::AuthToken, Factory::Context]);
    assert_eq!(ch[0].elements[0].section, "filter-app:authed");
    assert_eq!(
        ch[0].via,
        vec![
            "composite:main",
            "filter-app:authed",
            "filter-app:withctx",
            "app:apiapp"
        ]
    );
}

#[test]
fn filter_with_on_app_and_filter() {
    let fix = case("filter-with");
    let ch = chains(&fix);
    assert_eq!(kinds(&ch[0])[1..], [Factory::AuthToken, Factory::Context]);
    assert_eq!(ch[0].app, "app:apiapp");
}

#[test]
fn nested_pipelines_flatten_outermost_first() {
    let fix = case("nested-pipelines");
    let ch = chains(&fix);
    assert_eq!(ch[0].entry, "pipeline:barbican_api");
    let names: Vec<&str> = ch[0].elements.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "cors",
            "http_proxy_to_wsgi",
            "authtoken",
            "context",
            "microversion",
            "withsimple"
        ]
    );
}

#[test]
fn use_cycle_is_a_cycle_error() {
    let fix = case("use-cycle");
    let f = parse(&fix).expect("parses");
    match served_v1_chains(&f, "main") {
        Err(ResolveError::Cycle { line, message }) => {
            assert_eq!(line, Some(12));
            assert!(
                message.contains("app:a -> app:b -> app:c -> app:a"),
                "{}",
                message
            );
        }
        other => panic!("{:?}", other),
    }
}

#[test]
fn pipeline_cycle_is_a_cycle_error() {
    case("pipeline-cycle");
}

#[test]
fn urlmap_cycle_is_a_cycle_error() {
    case("urlmap-cycle");
}

#[test]
fn duplicate_key_is_an_error_with_line() {
    let fix = case("duplicate-key");
    let e = parse(&fix).expect_err("duplicate");
    assert_eq!(
        e.to_string(),
        "line 8: option 'auth_url' in section 'filter:authtoken' already exists (duplicate key)"
    );
}

#[test]
fn duplicate_section_is_an_error_with_line() {
    case("duplicate-section");
}

#[test]
fn duplicate_default_key_across_repeated_default_headers() {
    case("duplicate-default-key");
}

#[test]
fn here_interpolation_and_bad_percent() {
    let fix = case("interpolation");
    let f = parse(&fix).expect("parses");
    let e = f
        .get("app:unused", "bad", HERE, FILE)
        .expect("present")
        .expect_err("bad %");
    assert_eq!(e.line, 21);
    let ch = chains(&fix);
    // Keys keep case; local_conf holds the interpolated values.
    let lc = &ch[0].elements[0].local_conf;
    assert!(lc.contains(&(
        "policy".to_string(),
        "/etc/barbican/conf/policy.yaml".to_string()
    )));
    assert!(lc.contains(&("Auth_Url".to_string(), "https://upper".to_string())));
}

#[test]
fn bad_interpolation_on_served_path_fails_resolution() {
    let fix = case("bad-interpolation-served");
    let f = parse(&fix).expect("parses");
    let e = served_v1_chains(&f, "main").expect_err("bad %");
    assert_eq!(e.line(), Some(10));
    assert_eq!(
        check_loads(&f, "main", HERE, FILE).map_err(|e| e.line()),
        Err(Some(10))
    );
}

#[test]
fn continuation_lines_comments_blank_lines() {
    let fix = case("continuation-lines");
    let f = parse(&fix).expect("parses");
    assert!(f.section("notasection").is_none());
    let s = f.section("pipeline:api").expect("section");
    assert_eq!(s.entries[0].line, 6);
}

#[test]
fn value_starting_on_continuation_line_keeps_leading_newline() {
    case("value-on-continuation-line");
}

#[test]
fn not_found_app_serves_uncovered_v1() {
    case("not-found-app");
}

#[test]
fn default_key_hides_section_key() {
    case("default-hides-key");
}

#[test]
fn default_pipeline_key_breaks_pipelines() {
    case("default-pipeline");
}

#[test]
fn use_with_section_prefix_is_an_unknown_uri_scheme() {
    let fix = case("use-filter-prefix");
    let f = parse(&fix).expect("parses");
    let e = served_v1_chains(&f, "main").expect_err("scheme");
    assert_eq!(e.line(), Some(5));
    assert!(e.message().contains("URI scheme not known"), "{}", e);
}

#[test]
fn ambiguous_section_names() {
    let fix = case("ambiguous-section");
    let f = parse(&fix).expect("parses");
    match served_v1_chains(&f, "main") {
        Err(ResolveError::Ambiguous {
            line: Some(3),
            message,
        }) => {
            assert!(
                message.contains("[app:api] (line 8), [pipeline:api] (line 5)"),
                "{}",
                message
            )
        }
        other => panic!("{:?}", other),
    }
}

#[test]
fn app_prefix_beats_application_prefix() {
    case("app-beats-application");
}

#[test]
fn missing_section_reports_referencing_line() {
    let fix = case("missing-section");
    let f = parse(&fix).expect("parses");
    let e = served_v1_chains(&f, "main").expect_err("missing");
    assert!(
        matches!(e, ResolveError::MissingSection { line: Some(4), .. }),
        "{:?}",
        e
    );
}

#[test]
fn bare_app_section_is_not_main() {
    case("bare-app");
}

#[test]
fn nested_urlmap_routes_remaining_path() {
    let fix = case("nested-urlmap");
    assert_eq!(chains(&fix)[0].entry, "composite:inner");
}

#[test]
fn nested_urlmap_sees_only_what_outer_keys_leave() {
    case("nested-urlmap-exclusion");
}

#[test]
fn later_key_normalising_to_same_url_replaces_earlier() {
    case("duplicate-normalized-url");
}

#[test]
fn value_before_any_section_is_missing_section_header() {
    case("missing-section-header");
}

#[test]
fn line_without_delimiter_is_parsing_error() {
    case("parsing-error");
}

#[test]
fn parsing_error_is_deferred_behind_duplicate() {
    case("parsing-error-then-duplicate");
}

#[test]
fn inline_egg_in_pipeline_is_other_factory() {
    let fix = case("inline-egg");
    let ch = chains(&fix);
    assert_eq!(ch[0].elements[0].section, "egg:Paste#httpexceptions");
    assert_eq!(
        ch[0].elements[0].factory,
        other("paste.httpexceptions:make_middleware")
    );
    assert_eq!(ch[0].elements[0].line, 2);
}

#[test]
fn inline_keystonemiddleware_egg_is_authtoken() {
    let fix = case("inline-egg-authtoken");
    assert_eq!(kinds(&chains(&fix)[0]), vec![Factory::AuthToken]);
}

#[test]
fn egg_entry_point_of_wrong_type_is_lookup_error() {
    case("egg-wrong-type");
}

#[test]
fn get_and_set_keys() {
    let fix = case("get-use");
    let ch = chains(&fix);
    assert!(ch[0].elements[0].global_conf.contains(&(
        "service_token_roles_required".to_string(),
        "true".to_string()
    )));
}

#[test]
fn inline_call_in_pipeline_cannot_be_invoked() {
    case("inline-call");
}

#[test]
fn use_call_urlmap_and_filter() {
    let fix = case("use-call");
    assert_eq!(kinds(&chains(&fix)[0]), vec![Factory::AuthToken]);
}

#[test]
fn section_name_part_is_stripped_prefix_is_case_sensitive() {
    let fix = case("section-name-strip");
    let ch = chains(&fix);
    assert_eq!(ch[0].elements[0].section, "filter: authtoken ");
    assert_eq!(ch[0].elements[0].name, "authtoken");
}

#[test]
fn keys_keep_case() {
    case("key-case");
}

// ---- Rust-only tests (no Python counterpart or not expressible as a fixture) ----

#[test]
fn bom_is_not_stripped() {
    // open() decodes with utf-8, not utf-8-sig: the BOM is part of the first line.
    let text = format!("\u{feff}{}", &fixture("app-beats-application"));
    let e = parse(&text).expect_err("bom");
    assert_eq!((e.kind, e.line), ("MissingSectionHeaderError", 1));
}

#[test]
fn universal_newlines_only() {
    let f = parse("[a]\rx=1\r\n  2\ry=3\x0c4\u{2028}5").expect("parses");
    let s = f.section("a").expect("a");
    assert_eq!(s.entries[0].value, "1\n2");
    assert_eq!(s.entries[1].value, "3\x0c4\u{2028}5");
    assert_eq!(s.entries[1].line, 4);
    // U+001C is whitespace for Python, so it indents a continuation line.
    let f = parse("[a]\nx=1\n\u{1c}2\n").expect("parses");
    assert_eq!(f.sections[0].entries[0].value, "1\n2");
}

#[test]
fn header_and_delimiter_details() {
    let f = parse("[a] junk\nx: a=b\ny = c:d\n[b]]\n[DEFAULT]\nz=1\n[default]\n").expect("parses");
    let names: Vec<&str> = f.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["a", "b]", "default"]);
    assert_eq!(f.sections[0].entries[0].value, "a=b");
    assert_eq!(f.sections[0].entries[1].value, "c:d");
    assert_eq!(f.defaults[0].key, "z");
    assert_eq!(
        parse("[a]\n[]\n").map_err(|e| (e.kind, e.line)),
        Err(("ParsingError", 2))
    );
    assert_eq!(
        parse("[a]\n= v\n: w\n").map_err(|e| (e.kind, e.line)),
        Err(("DuplicateOptionError", 3))
    );
    assert_eq!(parse("").map(|f| f.sections.len()), Ok(0));
}

#[test]
fn default_here_override_and_percent_in_here() {
    let f = parse("[DEFAULT]\nhere = /x\n[a]\nk = %(here)s/y\n").expect("parses");
    assert_eq!(f.get("a", "k", HERE, FILE), Some(Ok("/x/y".to_string())));
    // here itself is interpolated when referenced: a '%' in the directory breaks loading.
    let f = parse(&fixture("renamed-authtoken")).expect("parses");
    let e = served_v1_chains_at(&f, "main", "/tmp/100%", "/tmp/100%/p.ini").expect_err("%");
    assert_eq!(e.python_exception(), "InterpolationSyntaxError");
}

#[test]
fn config_uri_is_reported_not_followed() {
    let f = parse("[composite:main]\nuse = egg:Paste#urlmap\n/v1 = config:other.ini#api\n")
        .expect("parses");
    let e = served_v1_chains(&f, "main").expect_err("config:");
    assert!(
        matches!(e, ResolveError::Unsupported { line: Some(3), .. }),
        "{:?}",
        e
    );
}

#[test]
fn unknown_composite_is_unsupported() {
    let f = parse("[composite:main]\nuse = egg:Paste#cascade\napp1 = a\n").expect("parses");
    assert!(matches!(
        served_v1_chains(&f, "main"),
        Err(ResolveError::Unsupported { .. })
    ));
}

#[test]
fn check_loads_sees_unserved_broken_entries() {
    let text = "[composite:main]\nuse = egg:Paste#urlmap\n/v1 = api\n/other = nothere\n\
                [app:api]\npaste.app_factory = barbican.api.app:create_main_app\n";
    let f = parse(text).expect("parses");
    assert_eq!(served_v1_chains(&f, "main").map(|c| c.len()), Ok(1));
    let e = check_loads(&f, "main", HERE, FILE).expect_err("nothere");
    assert_eq!(e.line(), Some(4));
    let bad_key =
        "[composite:main]\nuse = egg:Paste#urlmap\nv1 = api\n[app:api]\npaste.app_factory = a:b\n";
    let f = parse(bad_key).expect("parses");
    let e = check_loads(&f, "main", HERE, FILE).expect_err("assert");
    assert_eq!(e.python_exception(), "AssertionError");
}

#[test]
fn entry_point_syntax() {
    let ok = |s: &str| parse_entry_point(s).map(|o| o.reference());
    assert_eq!(
        ok("keystonemiddleware.auth_token : filter_factory."),
        Some("keystonemiddleware.auth_token:filter_factory".into())
    );
    assert_eq!(ok("a.b:c [extra]"), Some("a.b:c".into()));
    assert_eq!(ok("a.b"), Some("a.b".into()));
    assert_eq!(ok("a.b:"), None);
    assert_eq!(ok("a b"), None);
    // Same object, other spelling: judged by the full dotted path.
    assert_eq!(
        parse_entry_point("keystonemiddleware:auth_token.filter_factory").map(|o| o.factory()),
        Some(Factory::AuthToken)
    );
}

#[test]
fn deep_use_chain_is_bounded() {
    let mut text = String::from(
        "[pipeline:main]\npipeline = f0 apiapp\n[app:apiapp]\npaste.app_factory = a:b\n",
    );
    for i in 0..200 {
        text.push_str(&format!("[filter:f{}]\nuse = f{}\n", i, i + 1));
    }
    let f = parse(&text).expect("parses");
    assert!(matches!(
        served_v1_chains(&f, "main"),
        Err(ResolveError::TooComplex { .. })
    ));
}

#[test]
fn exponential_urlmap_fanout_is_bounded() {
    // Each level maps /v1 and / to the next level: 2^40 paths without a budget.
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!(
            "[composite:m{i}]\nuse = egg:Paste#urlmap\n/v1 = p{i}\n/v1/x = p{i}\n/v1/x/y = p{i}\n\
             [pipeline:p{i}]\npipeline = f m{n}\n",
            i = i,
            n = i + 1
        ));
    }
    text.push_str(
        "[composite:m40]\nuse = egg:Paste#urlmap\n/ = a\n[app:a]\npaste.app_factory = a:b\n",
    );
    text.push_str("[filter:f]\npaste.filter_factory = a:b\n[pipeline:main]\npipeline = m0\n");
    let f = parse(&text).expect("parses");
    assert!(served_v1_chains(&f, "m0").is_err());
}

#[test]
fn interpolation_blowup_is_bounded() {
    let mut text = String::from(
        "[a]\nv0 = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
    );
    for i in 1..10 {
        let r = format!("%(v{})s", i - 1);
        text.push_str(&format!("v{} = {}\n", i, r.repeat(40)));
    }
    let f = parse(&text).expect("parses");
    assert!(matches!(f.get("a", "v9", HERE, FILE), Some(Err(_))));
}

#[test]
fn garbage_input_never_panics() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let alphabet: &[&str] = &[
        "[",
        "]",
        "=",
        ":",
        "%",
        "(",
        ")s",
        "\n",
        "\r",
        " ",
        "\t",
        "#",
        ";",
        "pipeline",
        "use",
        "main",
        "composite:",
        "app:",
        "filter:",
        "pipeline:",
        "filter-app:",
        "egg:Paste#urlmap",
        "/v1",
        "/",
        "domain",
        "port",
        "next",
        "filter-with",
        "x",
        "\u{1c}",
        "\u{feff}",
        "get ",
        "set ",
        "\u{3000}",
    ];
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..60 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        if let Ok(f) = parse(&s) {
            let _ = served_v1_chains(&f, "main");
            let _ = check_loads(&f, "main", HERE, FILE);
            for sec in &f.sections {
                for e in &sec.entries {
                    let _ = f.get(&sec.name, &e.key, HERE, FILE);
                }
            }
        }
    }
    // Raw bytes made valid UTF-8 by the caller.
    let bytes: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let text = String::from_utf8_lossy(&bytes);
    let _ = parse(&text);
}

#[test]
fn large_input_is_linear() {
    let mut text = String::with_capacity(8 << 20);
    text.push_str(&fixture("stock-debian"));
    let mut i = 0;
    while text.len() < (8 << 20) {
        text.push_str(&format!(
            "[filter:pad{}]\npaste.filter_factory = a:b\nk = v\n  {}\n\n  continued\n",
            i,
            "x".repeat(200)
        ));
        i += 1;
    }
    let f = parse(&text).expect("parses");
    assert_eq!(served_v1_chains(&f, "main").map(|c| c.len()), Ok(1));
}

#[test]
#[ignore] // ~100 MB inputs; run with `cargo test --release -- --ignored` (a few seconds)
fn hundred_megabytes() {
    // One 100 MB value (continuation lines), then ~100 MB of distinct sections.
    let mut text = String::from("[a]\nk = v\n");
    while text.len() < 100 << 20 {
        text.push_str("  cont %(here)s\n");
    }
    let f = parse(&text).expect("parses");
    // The expansion exceeds our 16 MiB interpolation cap: an error, not a hang.
    assert!(matches!(f.get("a", "k", HERE, FILE), Some(Err(_))));
    let mut many = String::with_capacity(110 << 20);
    let mut i = 0u64;
    while many.len() < 100 << 20 {
        many.push_str(&format!("[s{}]\nk=v\n", i));
        i += 1;
    }
    // ~14 M items: refused at the size limit, not parsed into GBs of structs.
    assert_eq!(
        parse(&many).map_err(|e| (e.kind, e.line)),
        Err(("AuditLimit", MAX_ITEMS + 1))
    );
}
