//! Hostile input: nesting of every construct far beyond any real manifest. Parsing stays
//! total: one clear error naming where the limit was crossed, never a stack overflow, on an
//! ordinary 2 MiB test thread; nesting just under the limit parses and validates.

use troupe_syntax::{
    parse_epp, parse_manifest, sexpr::sexpr, Parsed, MAX_HEREDOC_NESTING, MAX_NESTING,
};

/// Far deeper than the limit: a naive recursive parser overflows its stack long before.
const HOSTILE: usize = 50_000;

fn rep(s: &str, n: usize) -> String {
    s.repeat(n)
}

/// Runs `f` on a thread with the 2 MiB stack of a default test thread.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the parser thread must not panic")
}

/// Asserts exactly one error, the nesting error, located on a line and column of the file.
fn assert_too_deep(p: &Parsed, what: &str) {
    let errors: Vec<_> = p.errors().collect();
    assert_eq!(
        errors.len(),
        1,
        "{what}: expected one error, got {:?}",
        errors.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
    let d = errors[0];
    let limit = format!("nesting deeper than {MAX_NESTING} levels");
    let heredocs = format!("heredocs nested deeper than {MAX_HEREDOC_NESTING} levels");
    assert!(
        d.message.contains(&limit) || d.message.contains(&heredocs),
        "{what}: {}",
        d.message
    );
    assert!(d.offset.is_some(), "{what}: the error must have a location");
    let rendered = d.render(&p.source);
    let lc = d.line_col(&p.source);
    assert!(
        rendered.starts_with(&format!(
            "{}:{}:{}: Syntax error: ",
            p.source.path, lc.line, lc.col
        )),
        "{what}: {rendered}"
    );
}

fn hostile_manifest(what: &'static str, text: String) {
    let p = on_small_stack(move || {
        let p = parse_manifest("/deep.pp", text);
        // The printer walks whatever tree came back.
        let _ = sexpr(&p.program);
        p
    });
    assert_too_deep(&p, what);
}

fn hostile_epp(what: &'static str, text: String) {
    let p = on_small_stack(move || parse_epp("/deep.epp", text));
    assert_too_deep(&p, what);
}

#[test]
fn parentheses_50000_deep() {
    let n = HOSTILE;
    hostile_manifest("(", format!("$x = {}1{}\n", rep("(", n), rep(")", n)));
}

#[test]
fn parentheses_unclosed_50000_deep() {
    hostile_manifest("( unclosed", rep("(", HOSTILE));
}

#[test]
fn arrays_50000_deep() {
    let n = HOSTILE;
    hostile_manifest("[", format!("$x = {}1{}\n", rep("[", n), rep("]", n)));
}

#[test]
fn hashes_50000_deep() {
    let n = HOSTILE;
    hostile_manifest("{", format!("$x = {}1{}\n", rep("{a => ", n), rep("}", n)));
}

#[test]
fn blocks_of_if_50000_deep() {
    let n = HOSTILE;
    hostile_manifest(
        "if",
        format!("{}{}\n", rep("if true {\n", n), rep("}\n", n)),
    );
}

#[test]
fn if_in_condition_50000_deep() {
    let n = HOSTILE;
    hostile_manifest(
        "if if",
        format!("{}true {}\n", rep("if ", n), rep("{} ", n)),
    );
}

#[test]
fn else_if_chain_50000_deep() {
    let n = HOSTILE;
    hostile_manifest(
        "else { if",
        format!(
            "if true {{}} {}{}\n",
            rep("else { if true {} ", n),
            rep("}", n)
        ),
    );
}

#[test]
fn elsif_chain_50000_long() {
    hostile_manifest(
        "elsif",
        format!("if true {{}}{}\n", rep(" elsif true {}", HOSTILE)),
    );
}

#[test]
fn unless_and_case_50000_deep() {
    let n = HOSTILE;
    hostile_manifest(
        "unless",
        format!("{}{}", rep("unless false {\n", n), rep("}", n)),
    );
    hostile_manifest(
        "case",
        format!("{}{}", rep("case 1 { 1: {\n", n), rep("}}", n)),
    );
}

#[test]
fn calls_50000_deep() {
    let n = HOSTILE;
    hostile_manifest("f(", format!("{}1{}\n", rep("f(", n), rep(")", n)));
}

#[test]
fn selectors_50000_deep() {
    let n = HOSTILE;
    hostile_manifest(
        "? {",
        format!("$y = {}2{}\n", rep("$x ? { 1 => ", n), rep(" }", n)),
    );
    hostile_manifest(
        "? without braces",
        format!("$y = {}2\n", rep("$x ? 1 => ", n)),
    );
}

#[test]
fn selector_chain_50000_long() {
    hostile_manifest(
        "?...?",
        format!("$y = $x{}\n", rep(" ? { 1 => 2 }", HOSTILE)),
    );
}

#[test]
fn string_interpolation_50000_deep() {
    let n = HOSTILE;
    hostile_manifest(
        "\"${",
        format!("$x = {}1{}\n", rep("\"${", n), rep("}\"", n)),
    );
}

#[test]
fn string_interpolation_unclosed_50000_deep() {
    hostile_manifest("\"${ unclosed", format!("$x = {}", rep("\"${", HOSTILE)));
}

#[test]
fn unary_chain_50000_long() {
    hostile_manifest("-!", format!("$y = {}$x\n", rep("-!", HOSTILE / 2)));
    hostile_manifest("!", format!("$y = {}$x\n", rep("!", HOSTILE)));
}

#[test]
fn method_chain_50000_long() {
    hostile_manifest(".f()", format!("$y = $x{}\n", rep(".f()", HOSTILE)));
    hostile_manifest(".f", format!("$y = $x{}\n", rep(".f", HOSTILE)));
}

#[test]
fn access_chain_50000_long() {
    hostile_manifest("[0]", format!("$y = $x{}\n", rep("[0]", HOSTILE)));
}

#[test]
fn call_chain_50000_long() {
    hostile_manifest("f()()", format!("$y = f{}\n", rep("()", HOSTILE)));
}

#[test]
fn binary_chain_50000_long() {
    hostile_manifest("+", format!("$y = 1{}\n", rep(" + 1", HOSTILE)));
    hostile_manifest("and", format!("$y = true{}\n", rep(" and true", HOSTILE)));
}

#[test]
fn nested_binary_chains() {
    // Chains inside parentheses inside chains: each level is short, the tree is not.
    let level = format!("1{}", rep(" + 1", 100));
    let mut text = String::from("1");
    for _ in 0..200 {
        text = format!("({text}) + {level}");
    }
    hostile_manifest("(... + 1 + 1)", format!("$y = {text}\n"));
}

#[test]
fn relationship_chain_50000_long() {
    hostile_manifest(
        "->",
        format!("Notify[a]{}\n", rep(" -> Notify[a]", HOSTILE)),
    );
}

#[test]
fn assignment_chain_50000_long() {
    hostile_manifest("$a = $a =", format!("{}1\n", rep("$a = ", HOSTILE)));
}

#[test]
fn virtual_chain_50000_long() {
    hostile_manifest("@ @", format!("{}notify {{ a: }}\n", rep("@ ", HOSTILE)));
}

#[test]
fn resource_bodies_50000_deep() {
    let n = HOSTILE;
    hostile_manifest(
        "resource",
        format!("{}1{}\n", rep("notify { a: message => (", n), rep(") }", n)),
    );
}

#[test]
fn class_bodies_50000_deep() {
    let n = HOSTILE;
    hostile_manifest(
        "class",
        format!("{}{}\n", rep("class a {\n", n), rep("}\n", n)),
    );
}

#[test]
fn lambdas_50000_deep() {
    let n = HOSTILE;
    hostile_manifest(
        "lambda",
        format!("{}{}\n", rep("$x.each |$y| {\n", n), rep("}\n", n)),
    );
}

#[test]
fn heredocs_50000_deep() {
    // Each heredoc's text holds the next one, in an interpolation.
    let n = HOSTILE;
    let mut text = String::from("$x = @(\"E0\")\n");
    for k in 1..n {
        text.push_str(&format!("${{@(\"E{k}\")}}\n"));
    }
    text.push_str("x\n");
    for k in (0..n).rev() {
        text.push_str(&format!("E{k}\n"));
    }
    hostile_manifest("@(", text);
}

#[test]
fn interpolation_in_heredoc_50000_deep() {
    let n = HOSTILE;
    hostile_manifest(
        "heredoc ${\"${",
        format!(
            "$x = @(\"E\")\n${{{}1{}}}\nE\n",
            rep("\"${", n),
            rep("}\"", n)
        ),
    );
}

#[test]
fn epp_expression_50000_deep() {
    let n = HOSTILE;
    hostile_epp(
        "<%= (",
        format!("a\n<%= {}1{} %>\n", rep("(", n), rep(")", n)),
    );
}

#[test]
fn epp_blocks_50000_deep() {
    let n = HOSTILE;
    hostile_epp(
        "<% if",
        format!("{}{}", rep("<% if true { %>x\n", n), rep("<% } %>\n", n)),
    );
}

#[test]
fn epp_interpolation_50000_deep() {
    let n = HOSTILE;
    hostile_epp(
        "<%= \"${",
        format!("<%= {}1{} %>\n", rep("\"${", n), rep("}\"", n)),
    );
}

/// Nesting just under the limit parses and validates cleanly, and its tree can be printed,
/// compared and dropped on a 2 MiB thread.
fn fine(what: &'static str, text: String) {
    let ok = on_small_stack(move || {
        let p = parse_manifest("/ok.pp", text);
        let errors: Vec<String> = p.errors().map(|d| d.render(&p.source)).collect();
        let depth = p.program.depth();
        let printed = sexpr(&p.program).len();
        let copy = p.program.clone();
        assert!(copy == p.program);
        drop(copy);
        (errors, depth, printed)
    });
    assert!(ok.0.is_empty(), "{what}: {:?}", ok.0);
    assert!(ok.1 <= MAX_NESTING + 1, "{what}: depth {}", ok.1);
    assert!(ok.1 > MAX_NESTING / 2, "{what}: depth {} (not deep)", ok.1);
    assert!(ok.2 > 0);
}

#[test]
fn nesting_just_under_the_limit_parses() {
    let n = MAX_NESTING as usize - 5;
    let h = n / 2;
    fine("(", format!("$x = {}1{}\n", rep("(", n), rep(")", n)));
    fine("[", format!("$x = {}1{}\n", rep("[", n), rep("]", n)));
    fine("{", format!("$x = {}1{}\n", rep("{a => ", n), rep("}", n)));
    fine("if", format!("{}{}\n", rep("if $x {\n", n), rep("}\n", n)));
    fine("f(", format!("$x = {}1{}\n", rep("f(", n), rep(")", n)));
    fine(
        "\"${",
        format!("$x = {}1{}\n", rep("\"${", n), rep("}\"", n)),
    );
    fine("!", format!("$y = {}$x\n", rep("!", n)));
    fine(".f()", format!("$y = $x{}\n", rep(".f()", n)));
    fine("[0]", format!("$y = $x{}\n", rep("[0]", n)));
    fine("+", format!("$y = 1{}\n", rep(" + 1", n)));
    fine("->", format!("Notify[a]{}\n", rep(" -> Notify[a]", n)));
    fine("elsif", format!("if $x {{}}{}\n", rep(" elsif $x {}", n)));
    fine(
        "? {",
        format!("$y = {}2{}\n", rep("$x ? { 1 => ", n), rep(" }", n)),
    );
    fine(
        "resource",
        format!("{}1{}\n", rep("notify { a: message => (", h), rep(") }", h)),
    );
    fine(
        "lambda",
        format!("{}{}\n", rep("$x.each |$y| {\n", n), rep("}\n", n)),
    );
    fine(
        "class",
        format!("{}{}\n", rep("class a {\n", n), rep("}\n", n)),
    );
}

#[test]
fn nesting_just_over_the_limit_is_an_error() {
    let n = MAX_NESTING as usize + 5;
    for (what, text) in [
        ("(", format!("$x = {}1{}\n", rep("(", n), rep(")", n))),
        ("!", format!("$y = {}$x\n", rep("!", n))),
        (".f()", format!("$y = $x{}\n", rep(".f()", n))),
        ("+", format!("$y = 1{}\n", rep(" + 1", n))),
        (
            "\"${",
            format!("$x = {}1{}\n", rep("\"${", n), rep("}\"", n)),
        ),
    ] {
        let p = on_small_stack(move || parse_manifest("/deep.pp", text));
        assert_too_deep(&p, what);
    }
}

#[test]
fn nesting_error_names_the_line_where_the_limit_was_crossed() {
    let n = HOSTILE;
    let text = format!("{}{}\n", rep("if true {\n", n), rep("}\n", n));
    let p = on_small_stack(move || parse_manifest("/deep.pp", text));
    assert_too_deep(&p, "if");
    let lc = p.errors().next().expect("error").line_col(&p.source);
    // The first levels are fine; the error is reported about MAX_NESTING lines down.
    assert!(
        (MAX_NESTING - 5..=MAX_NESTING + 5).contains(&lc.line),
        "line {}",
        lc.line
    );
}

#[test]
fn an_earlier_syntax_error_is_still_reported_first() {
    let text = format!(
        "$a = = 1\n$x = {}1{}\n",
        rep("(", HOSTILE),
        rep(")", HOSTILE)
    );
    let p = on_small_stack(move || parse_manifest("/deep.pp", text));
    let first = p.errors().next().expect("an error");
    assert!(
        first.message.contains("Syntax error at '='"),
        "{}",
        first.message
    );
}
