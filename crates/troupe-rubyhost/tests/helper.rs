//! The helper against real Ruby and Puppet: 4.x and 3.x functions with callbacks, lambdas,
//! nested requests, errors with their module file, a killed helper replaced, a deadline, and
//! Ruby missing. Skipped (with a note) where Puppet's Ruby library is absent, unless CI=true.

use serde_json::{json, Map, Value as J};
use std::path::{Path, PathBuf};
use std::time::Duration;
use troupe_rubyhost::{Callbacks, Config, Failure, Pool, Session};

fn have_puppet() -> bool {
    let ok = std::process::Command::new("ruby")
        .args(["-e", "require 'puppet'"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have ruby and Puppet's library"
        );
        eprintln!("skipped: ruby with Puppet's library is not installed");
    }
    ok
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// A modulepath with one module `mine` of our own.
fn fixture(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("troupe-rubyhost-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let lib = dir.join("mine/lib/puppet");
    write(
        &lib.join("functions/mine/wrap.rb"),
        "Puppet::Functions.create_function(:'mine::wrap') do\n  dispatch :wrap do\n    param 'String[1]', :text\n    optional_block_param 'Callable[1,1]', :blk\n  end\n  def wrap(text, &blk)\n    puts 'noise a function prints'\n    $stdout.flush\n    up = call_function('upcase', text)\n    up = blk.call(up) if blk\n    \"<#{up}|#{closure_scope['facts']['os']}>\"\n  end\nend\n",
    );
    write(
        &lib.join("functions/mine/boom.rb"),
        "Puppet::Functions.create_function(:'mine::boom') do\n  def boom(x)\n    raise Puppet::ParseError, \"boom #{x}\"\n  end\nend\n",
    );
    write(
        &lib.join("functions/mine/nap.rb"),
        "Puppet::Functions.create_function(:'mine::nap') do\n  def nap\n    sleep 30\n  end\nend\n",
    );
    write(
        &lib.join("parser/functions/mine_join.rb"),
        "module Puppet::Parser::Functions\n  newfunction(:mine_join, type: :rvalue, arity: -2) do |args|\n    Puppet.warning('joining')\n    [lookupvar('::osfamily'), function_join([args[0], '-'])]\n  end\nend\n",
    );
    dir
}

fn env(dir: &Path) -> J {
    json!({"name": "production", "modulepath": [dir]})
}

fn call(kind: &str, name: &str, dir: &Path, args: J, lambda: Option<u64>) -> Map<String, J> {
    let mut m = Map::new();
    m.insert("op".into(), json!("call"));
    m.insert("kind".into(), json!(kind));
    m.insert("name".into(), json!(name));
    let lib = dir.join("mine/lib/puppet");
    let file = match kind {
        "3x" => lib.join(format!("parser/functions/{name}.rb")),
        _ => lib.join(format!("functions/{}.rb", name.replace("::", "/"))),
    };
    m.insert("file".into(), json!(file));
    m.insert("env".into(), env(dir));
    m.insert("args".into(), args);
    m.insert("lambda".into(), json!(lambda));
    m
}

/// Answers like a tiny compile: `upcase`/`join` natively, `mine::wrap` by a nested request.
#[derive(Default)]
struct Answers {
    /// How long running the lambda takes (troupe's time, which the deadline does not count).
    slow: Duration,
    seen: Vec<String>,
    logs: Vec<String>,
    dir: PathBuf,
}

impl Callbacks for Answers {
    fn callback(&mut self, s: &Session, what: &str, msg: &Map<String, J>) -> Result<J, String> {
        let name = msg.get("name").and_then(J::as_str).unwrap_or("");
        if what == "call_lambda" {
            std::thread::sleep(self.slow);
        }
        self.seen.push(format!("{what}:{name}"));
        let args = msg.get("args").cloned().unwrap_or(json!([]));
        match (what, name) {
            ("call_function", "upcase") => Ok(json!(args[0].as_str().unwrap_or("").to_uppercase())),
            ("call_function", "join") => {
                let a: Vec<&str> = args[0]
                    .as_array()
                    .map(|a| a.iter().filter_map(J::as_str).collect())
                    .unwrap_or_default();
                Ok(json!(a.join(args[1].as_str().unwrap_or(""))))
            }
            ("call_function", "mine::wrap") => {
                let dir = self.dir.clone();
                s.request(call("4x", "mine::wrap", &dir, args, None), self)
                    .map_err(|e| e.to_string())
            }
            ("call_lambda", _) => Ok(json!(format!("{}!", args[0].as_str().unwrap_or("")))),
            ("lookupvar", "facts") => Ok(json!({"os": "linux"})),
            ("lookupvar", "::osfamily") => Ok(json!("Debian")),
            _ => Err(format!("no answer for {what} {name}")),
        }
    }
    fn log(&mut self, level: &str, message: &str) {
        self.logs.push(format!("{level}: {message}"));
    }
}

#[test]
fn functions_callbacks_errors_and_restarts() {
    if !have_puppet() {
        return;
    }
    let dir = fixture("main");
    let pool = std::sync::Arc::new(Pool::new(Config::default()));
    let mut cb = Answers {
        dir: dir.clone(),
        ..Answers::default()
    };
    let s = pool.session().expect("a helper starts");
    let first = s.pid();
    // A 4.x function: a callback for upcase, its lambda, and the facts.
    let v = s
        .request(
            call("4x", "mine::wrap", &dir, json!(["ab"]), Some(1)),
            &mut cb,
        )
        .expect("wrap");
    assert_eq!(v, json!("<AB!|linux>"));
    assert_eq!(
        cb.seen,
        ["call_function:upcase", "call_lambda:", "lookupvar:facts"]
    );
    // A 3.x function: lookupvar, function_join through troupe, and its warning.
    let v = s
        .request(
            call("3x", "mine_join", &dir, json!([["a", "b"]]), None),
            &mut cb,
        )
        .expect("mine_join");
    assert_eq!(v, json!(["Debian", "a-b"]));
    assert_eq!(cb.logs, ["warning: joining"]);
    // Nested: Ruby asks troupe for mine::wrap, which troupe serves by a nested request.
    let mut m = call("4x", "mine::wrap", &dir, json!(["x"]), None);
    m.insert("name".into(), json!("mine::wrap"));
    let v = s.request(m, &mut cb).expect("nested");
    assert_eq!(v, json!("<X|linux>"));
    // Dispatch type errors carry Puppet's own text.
    match s.request(call("4x", "mine::wrap", &dir, json!([""]), None), &mut cb) {
        Err(Failure::Raised { class, message, .. }) => {
            assert_eq!(class, "ArgumentError");
            assert_eq!(
                message,
                "'mine::wrap' parameter 'text' expects a String[1] value, got String"
            );
        }
        other => panic!("expected a dispatch error, got {other:?}"),
    }
    // A raise in the module names its file and line.
    match s.request(call("4x", "mine::boom", &dir, json!([7]), None), &mut cb) {
        Err(Failure::Raised {
            message,
            file,
            line,
            ..
        }) => {
            assert_eq!(message, "boom 7");
            assert!(file.is_some_and(|f| f.ends_with("mine/boom.rb")));
            assert_eq!(line, Some(3));
        }
        other => panic!("expected a raise, got {other:?}"),
    }
    drop(s);
    // The warm helper is reused.
    let s = pool.session().expect("again");
    assert_eq!(s.pid(), first);
    // A helper killed from outside: the request fails naming it, the next one restarts.
    let pid = s.pid().expect("pid");
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    std::thread::sleep(Duration::from_millis(200));
    match s.request(call("4x", "mine::wrap", &dir, json!(["ab"]), None), &mut cb) {
        Err(Failure::Helper(m)) => assert!(m.contains("Ruby helper"), "{m}"),
        other => panic!("expected a helper failure, got {other:?}"),
    }
    drop(s);
    let s = pool.session().expect("a new helper");
    assert_ne!(s.pid(), Some(pid));
    let v = s
        .request(call("4x", "mine::wrap", &dir, json!(["cd"]), None), &mut cb)
        .expect("after restart");
    assert_eq!(v, json!("<CD|linux>"));
    drop(s);
    assert_eq!(pool.stats().started, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_request_that_overruns_is_killed() {
    if !have_puppet() {
        return;
    }
    let dir = fixture("nap");
    let pool = std::sync::Arc::new(Pool::new(Config {
        call_timeout: Duration::from_millis(1500),
        ..Config::default()
    }));
    let s = pool.session().expect("start");
    let mut cb = Answers::default();
    let t = std::time::Instant::now();
    match s.request(call("4x", "mine::nap", &dir, json!([]), None), &mut cb) {
        Err(Failure::Helper(m)) => assert!(m.contains("overran its deadline"), "{m}"),
        other => panic!("expected a deadline failure, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(10));
    drop(s);
    assert_eq!(pool.stats().running, 0);
    // Time troupe spends answering callbacks is not Ruby's: a lambda that runs longer than
    // the deadline does not get the helper killed.
    let s = pool.session().expect("a new helper");
    let mut slow = Answers {
        slow: Duration::from_millis(2500),
        ..Answers::default()
    };
    let v = s
        .request(
            call("4x", "mine::wrap", &dir, json!(["ab"]), Some(1)),
            &mut slow,
        )
        .expect("slow callbacks are not Ruby's time");
    assert_eq!(v, json!("<AB!|linux>"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ruby_missing_is_named() {
    let pool = std::sync::Arc::new(Pool::new(Config {
        ruby: PathBuf::from("/nonexistent/ruby"),
        ..Config::default()
    }));
    match pool.session() {
        Err(Failure::Helper(m)) => {
            assert!(m.contains("Ruby is not installed"), "{m}");
            assert!(m.contains("/nonexistent/ruby"), "{m}");
        }
        other => panic!("expected a clear failure, got {:?}", other.map(|s| s.pid())),
    }
    assert_eq!(pool.stats().running, 0);
}

#[test]
fn a_changed_function_file_is_loaded_again() {
    if !have_puppet() {
        return;
    }
    let dir = fixture("reload");
    let file = dir.join("mine/lib/puppet/functions/mine/boom.rb");
    let pool = std::sync::Arc::new(Pool::new(Config::default()));
    let s = pool.session().expect("start");
    let mut cb = Answers::default();
    match s.request(call("4x", "mine::boom", &dir, json!([1]), None), &mut cb) {
        Err(Failure::Raised { message, .. }) => assert_eq!(message, "boom 1"),
        other => panic!("expected a raise, got {other:?}"),
    }
    // A deploy changes the file (and its modification time): the next call runs the new code.
    write(
        &file,
        "Puppet::Functions.create_function(:'mine::boom') do\n  def boom(x)\n    \"calm #{x}\"\n  end\nend\n",
    );
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_modified(later))
        .expect("mtime");
    let v = s
        .request(call("4x", "mine::boom", &dir, json!([2]), None), &mut cb)
        .expect("the new code");
    assert_eq!(v, json!("calm 2"));
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
