//! Hostile input to heredocs: looking for the end line must stay linear in the text.

use std::sync::mpsc;
use std::time::Duration;
use troupe_syntax::parse_manifest;

/// Parses on another thread; a parse that does not end within a very generous time fails
/// the test instead of hanging it.
fn parse_in_time(text: String) -> troupe_syntax::Parsed {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(parse_manifest("/heredoc.pp", text));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the heredoc must be lexed in linear time")
}

#[test]
fn heredoc_end_search_over_a_long_blank_line() {
    // Every start position on a line of blanks used to rescan the rest of the line.
    let text = format!("$x = @(E)\n{}Ex\nE\nnotice($x)\n", " ".repeat(1_000_000));
    let p = parse_in_time(text);
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
}

#[test]
fn heredoc_end_search_over_many_lines_without_the_tag() {
    let text = format!("$x = @(END)\n{}END\nnotice($x)\n", "x\n".repeat(500_000));
    let p = parse_in_time(text);
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
}
