//! Values nested 100,000 deep (built by a `reduce`) are printed, compared, serialized,
//! inferred and dropped without overflowing a 2 MiB stack; a catalog parameter too deep for
//! the catalog's JSON writer is an error naming the resource.

mod common;
use common::{fails_with, Env};

const DEEP_ARRAY: &str = "$d = Integer[1, 100000].reduce([]) |$m, $x| { [$m] }\n";
const DEEP_HASH: &str = "$d = Integer[1, 100000].reduce({}) |$m, $x| { { 'k' => $m } }\n";

#[test]
fn deep_array_walked_and_dropped() {
    let env = Env::new(
        "deep-array",
        &format!(
            "{DEEP_ARRAY}$s = String($d)\n$p = sprintf('%p', $d)\nnotify {{ 'x': message => [$s.length, $p.length, $d == $d, $d =~ Array, type($d, 'generalized') == Array[Array]] }}\n"
        ),
    );
    let json = env.compile().expect("compiles");
    assert!(json.contains("[200002,200002,true,true,false]"), "{json}");
}

#[test]
fn deep_hash_to_json_and_inspect() {
    let env = Env::new(
        "deep-hash",
        &format!(
            "{DEEP_HASH}notify {{ 'x': message => [to_json($d).length, inspect($d).length > 0, $d in [$d], {{ $d => 1 }}.length] }}\n"
        ),
    );
    env.stdlib(&["to_json"]);
    let out = env.compile();
    // inspect is not a builtin everywhere: accept its absence, but never a crash.
    match out {
        Ok(json) => assert!(json.contains("true"), "{json}"),
        Err(e) => assert!(e.contains("inspect"), "{e}"),
    }
    let env2 = Env::new(
        "deep-hash-json",
        &format!("{DEEP_HASH}notify {{ 'x': message => to_json($d).length }}\n"),
    );
    env2.stdlib(&["to_json"]);
    let json = env2.compile().expect("compiles");
    assert!(json.contains("\"message\":"), "{json}");
}

#[test]
fn deep_value_inferred() {
    let env = Env::new(
        "deep-infer",
        &format!("{DEEP_ARRAY}notify {{ 'x': message => String(type($d)).length > 0 }}\n"),
    );
    // The inferred type of a 100,000-deep array is itself that deep: an error or a
    // verdict, never a crash.
    let _ = env.compile();
}

#[test]
fn deep_value_in_a_catalog_parameter() {
    let env = Env::new(
        "deep-param",
        &format!("{DEEP_ARRAY}notify {{ 'x': message => $d }}\n"),
    );
    fails_with(
        env.compile(),
        &[
            "the value of parameter 'message' of Notify[x] is nested deeper than 1000 levels",
            "site.pp, line: 2",
        ],
    );
}

#[test]
fn deep_yaml_and_json_data() {
    let n = 50_000;
    for f in ["parseyaml", "parsejson"] {
        let env = Env::new(
            &format!("deep-{f}"),
            &format!(
                "$y = {f}('{}1{}')\nnotify {{ 'x': message => $y =~ Array }}\n",
                "[".repeat(n),
                "]".repeat(n)
            ),
        );
        env.stdlib(&[f]);
        fails_with(env.compile(), &[f, "recursion limit exceeded"]);
    }
    let env = Env::new(
        "deep-hiera",
        "notify { 'x': message => lookup('deep') =~ Array }\n",
    );
    env.file(
        "hiera.yaml",
        "---\nversion: 5\nhierarchy:\n  - name: common\n    path: common.yaml\n",
    );
    env.file(
        "data/common.yaml",
        &format!("---\ndeep: {}1{}\n", "[".repeat(n), "]".repeat(n)),
    );
    fails_with(env.compile(), &["common.yaml", "recursion limit exceeded"]);
}
