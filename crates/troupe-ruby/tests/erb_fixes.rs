//! ERB constructs that once rendered wrong text without an error, the unsupported-construct
//! error kind, NUL-free error texts, and `scope.function_x` reaching any function. These hold
//! without Ruby installed (the probe suite, `erb_probes.rs`, checks the rest against Ruby).

use troupe_ruby::erb::{render, render_checked, RenderError, RubyScope};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

#[derive(Default)]
struct Scope {
    vars: Map,
    calls: Vec<(String, Vec<Value>)>,
}

impl RubyScope for Scope {
    fn lookupvar(&mut self, name: &str) -> EResult<Value> {
        Ok(self
            .vars
            .get(&Value::str(name))
            .cloned()
            .unwrap_or(Value::Undef))
    }
    fn setvar(&mut self, name: &str, v: Value) {
        self.vars.insert(Value::str(name), v);
    }
    fn replace_var(&mut self, name: &str, v: Value) {
        self.vars.insert(Value::str(name), v);
    }
    fn to_hash(&self) -> Map {
        self.vars.clone()
    }
    fn call_function(&mut self, name: &str, args: Vec<Value>) -> EResult<Value> {
        self.calls.push((name.to_string(), args.clone()));
        match name {
            "upcase" | "my_module_fn" => Ok(Value::str(format!("{name}:{}", args.len()))),
            _ => Err(EvalError::new(format!("Unknown function: '{name}'."))),
        }
    }
}

fn erb(src: &str) -> Result<String, String> {
    render(&mut Scope::default(), src, "t.erb").map_err(|e| e.msg)
}

#[test]
fn gsub_with_a_block_uses_the_blocks_value_and_sets_match_globals() {
    assert_eq!(
        erb("<%= 'a1b2'.gsub(/\\d/) { |d| (d.to_i * 2).to_s } %>").as_deref(),
        Ok("a2b4")
    );
    assert_eq!(
        erb("<%= 'x=1 y=2'.gsub(/(\\w)=(\\d)/) { \"#{$2}:#{$1}\" } %>").as_deref(),
        Ok("1:x 2:y")
    );
    assert_eq!(
        erb("<%= 'ab'.gsub(/b/) { $~[0].upcase } %>").as_deref(),
        Ok("aB")
    );
    assert_eq!(
        erb("<%= 'a1b2'.sub(/\\d/) { |d| '<' + d + '>' } %>").as_deref(),
        Ok("a<1>b2")
    );
}

#[test]
fn sort_with_a_block_orders_by_the_block() {
    assert_eq!(
        erb("<%= [3, 1, 2].sort { |a, b| b <=> a }.inspect %>").as_deref(),
        Ok("[3, 2, 1]")
    );
    assert_eq!(
        erb("<%= ['bb', 'a', 'ccc'].sort_by { |x| -x.length }.inspect %>").as_deref(),
        Ok("[\"ccc\", \"bb\", \"a\"]")
    );
    // Items Ruby cannot compare are an error, not an order made up.
    assert!(erb("<%= [1, 'a'].sort.inspect %>").is_err());
}

#[test]
fn bang_methods_answer_nil_when_nothing_changes_and_change_the_receiver_otherwise() {
    assert_eq!(
        erb("<% t = 'abc' %><%= t.gsub!('z', 'y').inspect %> <%= t %>").as_deref(),
        Ok("nil abc")
    );
    assert_eq!(
        erb("<% t = 'abc' %><%= t.gsub!('b', 'y').inspect %> <%= t %>").as_deref(),
        Ok("\"ayc\" ayc")
    );
    assert_eq!(
        erb("<% t = 'abc' %><%= t.sub!(/z/, 'y').inspect %>").as_deref(),
        Ok("nil")
    );
    assert_eq!(
        erb("<% a = [1] %><%= a.compact!.inspect %> <%= a.uniq!.inspect %>").as_deref(),
        Ok("nil nil")
    );
    assert_eq!(
        erb("<% a = ' x ' %><%= a.strip!.inspect %> <%= a %>").as_deref(),
        Ok("\"x\" x")
    );
}

#[test]
fn ipaddr_to_i_is_the_whole_address() {
    assert_eq!(
        erb("<%= IPAddr.new('192.168.1.10').to_i %>").as_deref(),
        Ok("3232235786")
    );
    assert_eq!(
        erb("<%= IPAddr.new('2001:db8::1').to_i %>").as_deref(),
        Ok("42540766411282592856903984951653826561")
    );
    assert_eq!(
        erb("<%= IPAddr.new('10.1.2.3/8').to_s %>").as_deref(),
        Ok("10.0.0.0")
    );
    assert_eq!(
        erb("<%= IPAddr.new('10.0.0.0/8').include?('10.2.3.4') %> <%= IPAddr.new('::1').ipv6? %>")
            .as_deref(),
        Ok("true true")
    );
}

#[test]
fn unsupported_constructs_are_their_own_error_kind() {
    let mut s = Scope::default();
    match render_checked(&mut s, "a\n<%= 'x'.unpack('C*') %>", "t.erb") {
        Err(RenderError::Unsupported(u)) => {
            assert!(u.what.contains("unpack"), "{u:?}");
            assert_eq!((u.file.as_str(), u.line), ("t.erb", 2));
        }
        other => panic!("{other:?}"),
    }
    // Syntax this interpreter does not read is unsupported too (Ruby may read it).
    assert!(matches!(
        render_checked(&mut s, "<%= ->(x) { x }.call(1) %>", "t.erb"),
        Err(RenderError::Unsupported(_))
    ));
    // A template's own failure is not.
    assert!(matches!(
        render_checked(&mut s, "<% raise 'boom' %>", "t.erb"),
        Err(RenderError::Failed(e)) if e.msg.contains("boom")
    ));
}

#[test]
fn error_texts_carry_no_nul_byte() {
    for src in [
        "<%= scope.nope %>",
        "<%= IPAddr.frobnicate %>",
        "<%= String.nope(1) %>",
        "<%= [1].each(&:nope) %>",
        "<%= scope + 1 %>",
    ] {
        let mut s = Scope::default();
        let e = match render_checked(&mut s, src, "t.erb") {
            Err(RenderError::Unsupported(u)) => u.what,
            Err(RenderError::Failed(e)) => e.msg,
            Ok(out) => panic!("{src} rendered {out:?}"),
        };
        assert!(!e.contains('\0'), "{src}: {e:?}");
        let e = render(&mut s, src, "t.erb")
            .err()
            .map(|e| e.msg)
            .unwrap_or_default();
        assert!(!e.contains('\0'), "{src}: {e:?}");
    }
}

#[test]
fn scope_function_x_reaches_any_function_with_its_array_splatted() {
    let mut s = Scope::default();
    let out = render(
        &mut s,
        "<%= scope.function_my_module_fn([1, 'a']) %> <%= scope.call_function('upcase', ['x']) %>",
        "t.erb",
    );
    assert_eq!(
        out.map_err(|e| e.msg).as_deref(),
        Ok("my_module_fn:2 upcase:1")
    );
    assert_eq!(s.calls[0].1, vec![Value::Int(1), Value::str("a")]);
    let e = render(&mut s, "<%= scope.function_nosuch([1]) %>", "t.erb")
        .err()
        .map(|e| e.msg);
    assert!(e.is_some_and(|m| m.contains("undefined method `function_nosuch'")));
    let e = render(&mut s, "<%= scope.call_function('nosuch', [1]) %>", "t.erb")
        .err()
        .map(|e| e.msg);
    assert!(e.is_some_and(|m| m.contains("Unknown function 'nosuch'")));
    let e = render(&mut s, "<%= scope.function_upcase('x') %>", "t.erb")
        .err()
        .map(|e| e.msg);
    assert!(e.is_some_and(|m| m.contains("custom functions must be called with a single array")));
    let e = render(&mut s, "<%= scope.function_each([[1]]) %>", "t.erb")
        .err()
        .map(|e| e.msg);
    assert!(e.is_some_and(|m| m.contains("each() can only be called using the 4.x function API")));
}
