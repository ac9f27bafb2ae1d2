//! Runaway recursion fails the compile with a clear error naming what recursed and where,
//! on a 2 MiB thread, instead of overflowing the stack (which aborts the whole process).

mod common;
use common::{fails_with, Env};

#[test]
fn recursive_function() {
    let env = Env::new(
        "recursive-function",
        "function f($x) {\n  f($x + 1)\n}\nf(1)\n",
    );
    fails_with(
        env.compile(),
        &[
            "recursion deeper than 1000 levels in function 'f'",
            "site.pp, line: 2",
        ],
    );
}

#[test]
fn mutually_recursive_functions_through_lambdas() {
    let env = Env::new(
        "lambda-recursion",
        "function a($n) { [1].each |$x| { b($n + $x) } }\nfunction b($n) { [$n].map |$y| { a($y) } }\na(0)\n",
    );
    fails_with(
        env.compile(),
        &["recursion deeper than 1000 levels in function"],
    );
}

#[test]
fn recursion_just_under_the_limit_works() {
    let env = Env::new(
        "deep-but-legal",
        "function f($n) { if $n > 0 { f($n - 1) + 1 } else { 0 } }\nnotify { 'depth': message => f(990) }\n",
    );
    let json = env.compile().expect("990 levels are allowed");
    assert!(json.contains("\"message\":990"), "{json}");
}

#[test]
fn define_declaring_itself() {
    let env = Env::new(
        "recursive-define",
        "define d() {\n  $n = Integer($title) + 1\n  d { \"${n}\": }\n}\nd { '1': }\n",
    );
    fails_with(
        env.compile(),
        &[
            "recursion deeper than 1000 levels in define 'd'",
            "site.pp, line: 3",
        ],
    );
}

#[test]
fn epp_template_rendering_itself() {
    let env = Env::new(
        "recursive-epp",
        "notify { 'x': message => epp('m/self.epp') }\n",
    );
    env.file(
        "modules/m/templates/self.epp",
        "a<%= epp('m/self.epp') %>\n",
    );
    fails_with(
        env.compile(),
        &["recursion deeper than 1000 levels in template", "self.epp"],
    );
}

#[test]
fn erb_template_rendering_itself() {
    let env = Env::new(
        "recursive-erb",
        "notify { 'x': message => template('m/self.erb') }\n",
    );
    env.file(
        "modules/m/templates/self.erb",
        "a<%= scope.call_function('template', ['m/self.erb']) %>\n",
    );
    fails_with(
        env.compile(),
        &["recursion deeper than 1000 levels in template", "self.erb"],
    );
}

#[test]
fn erb_expression_nested_too_deep() {
    let depth = 50_000;
    let env = Env::new(
        "deep-erb",
        "notify { 'x': message => template('m/deep.erb') }\n",
    );
    env.file(
        "modules/m/templates/deep.erb",
        &format!("<%= {}1{} %>\n", "(".repeat(depth), ")".repeat(depth)),
    );
    fails_with(
        env.compile(),
        &["nested deeper than 1000 levels", "deep.erb"],
    );
    let chain = format!("<%= 1{} %>\n", " + 1".repeat(depth));
    env.file("modules/m/templates/deep.erb", &chain);
    fails_with(env.compile(), &["nested deeper than 1000 levels"]);
}

#[test]
fn hiera_interpolation_recursion() {
    let env = Env::new(
        "recursive-hiera",
        "notify { 'x': message => lookup('a') }\n",
    );
    env.file(
        "hiera.yaml",
        "---\nversion: 5\nhierarchy:\n  - name: common\n    path: common.yaml\n",
    );
    env.file(
        "data/common.yaml",
        "---\na: \"%{lookup('b')}\"\nb: \"%{lookup('a')}\"\n",
    );
    fails_with(env.compile(), &["Recursive lookup detected"]);
}

#[test]
fn recursive_type_alias() {
    let env = Env::new(
        "recursive-alias",
        "type Tree = Array[Variant[Integer, Tree]]\n$t = [1, [2, [3]]]\nnotify { 'x': message => $t =~ Tree }\n",
    );
    // Either a verdict or an error, never a crash.
    let _ = env.compile();
    let env = Env::new(
        "self-alias",
        "type A = A\nnotify { 'x': message => 1 =~ A }\n",
    );
    let _ = env.compile();
}

#[test]
fn type_built_deeper_than_the_limit() {
    let env = Env::new(
        "deep-type",
        "$t = Integer[1, 100000].reduce(Integer) |$m, $x| { Array[$m] }\nnotify { 'x': message => \"${t}\" }\n",
    );
    fails_with(env.compile(), &["type nested deeper than 1000 levels"]);
}

#[test]
fn hiera_interpolation_chain_too_long() {
    let env = Env::new("hiera-chain", "notify { 'x': message => lookup('k0') }\n");
    env.file(
        "hiera.yaml",
        "---\nversion: 5\nhierarchy:\n  - name: common\n    path: common.yaml\n",
    );
    let mut data = String::from("---\n");
    for i in 0..1500 {
        data.push_str(&format!("k{i}: \"%{{lookup('k{}')}}\"\n", i + 1));
    }
    data.push_str("k1500: end\n");
    env.file("data/common.yaml", &data);
    fails_with(
        env.compile(),
        &["recursion deeper than 1000 levels in lookup"],
    );
}
