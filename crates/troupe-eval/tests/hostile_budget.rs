//! Iteration over huge ranges is lazy, and a compile has a deadline, a memory budget and a
//! cancellation flag: exceeding any fails that compile alone, with a clear message.

mod common;
use common::{cancellable, deadline, fails_with, Env};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use troupe_compiler::Budget;

fn memory(limit: u64) -> Budget {
    Budget {
        memory_limit: Some(limit),
        timeout: Some(Duration::from_secs(60)),
        ..Budget::default()
    }
}

#[test]
fn huge_range_iteration_is_lazy() {
    // Materialized, each of these would need 9.6 GB before the first iteration.
    let env = Env::new(
        "lazy-range",
        "$r = Integer[1, 200000000]\n\
         $a = $r.reduce |$m, $x| { if $x > 1000 { break() } else { $m + $x } }\n\
         $b = $r.each |$x| { if $x > 10 { break() } }\n\
         $c = $r.map |$x| { if $x > 3 { break() } else { $x } }\n\
         $d = $r.filter |$x| { if $x > 3 { break() } else { true } }\n\
         $e = $r.reverse_each |$x| { if $x < 199999998 { break() } }\n\
         $f = 200000000.reduce |$m, $x| { if $x > 5 { break() } else { $m + $x } }\n\
         $g = Integer[1, 200000000].step(50000000) |$x| { }\n\
         notify { 'x': message => [$a, $c, $d] }\n",
    );
    let json = env
        .compile_with(memory(64 << 20))
        .expect("lazy iteration stays small");
    assert!(json.contains("[500500,[1,2,3],[1,2,3]]"), "{json}");
}

#[test]
fn huge_range_reduce_hits_the_deadline() {
    let env = Env::new(
        "range-deadline",
        "notify { 'x': message => Integer[1, 200000000].reduce |$m, $x| { $m + $x } }\n",
    );
    fails_with(
        env.compile_with(deadline(Duration::from_millis(300))),
        &["compile of n1.example.test exceeded its deadline of 300 ms"],
    );
}

#[test]
fn endless_define_generation_hits_the_deadline() {
    // Each instance declares the next (shallow); only the deadline stops it.
    let env = Env::new(
        "define-deadline",
        "define d() { Integer[1, 200000000].each |$x| { } }\nd { 'a': }\n",
    );
    fails_with(
        env.compile_with(deadline(Duration::from_millis(300))),
        &["exceeded its deadline of 300 ms"],
    );
}

#[test]
fn growing_array_hits_the_memory_budget() {
    let env = Env::new(
        "memory",
        "$big = Integer[1, 100000000].map |$x| { \"item-${x}\" }\nnotify { 'x': message => $big.length }\n",
    );
    fails_with(
        env.compile_with(memory(32 << 20)),
        &["compile of n1.example.test exceeded its memory budget of 32 MiB"],
    );
}

#[test]
fn huge_step_array_is_refused_before_allocation() {
    let env = Env::new(
        "memory-step",
        "notify { 'x': message => Integer[1, 200000000].step(1).length }\n",
    );
    fails_with(
        env.compile_with(memory(64 << 20)),
        &["exceeded its memory budget of 64 MiB"],
    );
}

#[test]
fn huge_padding_is_refused_before_allocation() {
    let env = Env::new(
        "sprintf-width",
        "notify { 'x': message => sprintf('%900000000d', 1) }\n",
    );
    fails_with(
        env.compile_with(memory(64 << 20)),
        &["exceeded its memory budget of 64 MiB"],
    );
    let env = Env::new(
        "sprintf-huge",
        "notify { 'x': message => sprintf('%99999999999d', 1) }\n",
    );
    fails_with(env.compile(), &["width too big"]);
    let env = Env::new(
        "sprintf-prec",
        "notify { 'x': message => sprintf('%.99999999999f', 1.5) }\n",
    );
    fails_with(env.compile(), &["precision too big"]);
}

#[test]
fn huge_random_string_is_refused_before_allocation() {
    let env = Env::new(
        "fqdn-rand-string",
        "notify { 'x': message => fqdn_rand_string(2000000000) }\n",
    );
    env.stdlib(&["fqdn_rand_string"]);
    fails_with(
        env.compile_with(memory(64 << 20)),
        &["exceeded its memory budget of 64 MiB"],
    );
}

#[test]
fn huge_erb_range_and_repetition_are_refused() {
    let env = Env::new(
        "erb-range",
        "notify { 'x': message => template('m/r.erb') }\n",
    );
    env.file(
        "modules/m/templates/r.erb",
        "<%= (1..2000000000).to_a.length %>\n",
    );
    fails_with(
        env.compile_with(memory(64 << 20)),
        &["exceeded its memory budget of 64 MiB"],
    );
    env.file("modules/m/templates/r.erb", "<%= 'ab' * 2000000000 %>\n");
    fails_with(
        env.compile_with(memory(64 << 20)),
        &["exceeded its memory budget of 64 MiB"],
    );
    env.file(
        "modules/m/templates/r.erb",
        "<%= 'x'.ljust(2000000000) %>\n",
    );
    fails_with(
        env.compile_with(memory(64 << 20)),
        &["exceeded its memory budget of 64 MiB"],
    );
}

#[test]
fn cancelled_compile_stops() {
    let env = Env::new(
        "cancel",
        "notify { 'x': message => Integer[1, 200000000].reduce |$m, $x| { $m + $x } }\n",
    );
    let flag = Arc::new(AtomicBool::new(false));
    let setter = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            flag.store(true, Ordering::SeqCst);
        })
    };
    fails_with(
        env.compile_with(cancellable(flag)),
        &["compile of n1.example.test cancelled: the agent closed the connection"],
    );
    setter.join().expect("setter");
}

#[test]
fn a_caught_budget_error_still_fails_the_compile() {
    // `lookup` with a default swallows errors of its own kind; the budget's must survive.
    let env = Env::new(
        "sticky",
        "$x = Integer[1, 200000000].reduce |$m, $x| { $m + $x }\nnotify { 'x': message => $x }\n",
    );
    fails_with(
        env.compile_with(deadline(Duration::from_millis(200))),
        &["exceeded its deadline of 200 ms"],
    );
}
