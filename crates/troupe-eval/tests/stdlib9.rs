//! puppetlabs-stdlib 9's namespaced functions, served natively where the stdlib module on the
//! modulepath ships them (here: stub `.rb` files). Expected values are those stdlib 9.7 gave
//! on Puppet 7.23 for the same calls.

mod common;
use common::Env;

const FUNCTIONS: &[&str] = &[
    "stdlib/to_toml",
    "stdlib/to_yaml",
    "stdlib/to_json_pretty",
    "stdlib/merge",
    "stdlib/batch_escape",
    "stdlib/powershell_escape",
    "stdlib/start_with",
    "stdlib/end_with",
    "stdlib/crc32",
    "stdlib/sha256",
    "stdlib/nested_values",
    "stdlib/ip_in_range",
    "stdlib/seeded_rand",
    "stdlib/os_version_gte",
    "stdlib/has_interface_with",
    "stdlib/xml_encode",
    "stdlib/to_python",
    "stdlib/sort_by",
    "stdlib/type_of",
    "stdlib/ensure_packages",
    "stdlib/fqdn_rotate",
];

fn message(json: &str, title: &str) -> serde_json::Value {
    let c: serde_json::Value = serde_json::from_str(json).expect("catalog JSON");
    c["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["type"] == "Notify" && r["title"] == title)
        .map(|r| r["parameters"]["message"].clone())
        .unwrap_or(serde_json::Value::Null)
}

#[test]
fn stdlib9_text_and_data_functions_match_puppet() {
    let site = "\
notify { 'toml': message => stdlib::to_toml({'name' => 'x', 'port' => 8080, 'list' => ['a', 'b'], 'server' => {'host' => 'h', 'opts' => {'x' => 1}}, 'dot.key' => 'v', 'peers' => [{'n' => 'a'}, {'n' => 'b'}], 'empty' => {}}) }
notify { 'yaml': message => stdlib::to_yaml({'b' => ['x', 'y'], 'f' => '01', 'g' => 'yes'}) }
notify { 'json': message => stdlib::to_json_pretty({'z' => {}, 'y' => []}) }
notify { 'merge': message => stdlib::merge({'a' => 1, 'b' => 2}, {'b' => 3}, undef, '', {'c' => 4}) }
notify { 'merge2': message => stdlib::merge(['a', 'b']) |$acc, $v| { { $v => $acc.length } } }
notify { 'merge3': message => stdlib::merge({'x' => 1, 'y' => 2}) |$acc, $k, $v| { { \"${k}2\" => $v * 10 } } }
notify { 'batch': message => stdlib::batch_escape('a \"b\" $c \\\\d') }
notify { 'ps': message => stdlib::powershell_escape(\"a b'c`d|e\\$f\\\"g\") }
notify { 'affix': message => [stdlib::start_with('foobar', ['x', 'fo']), stdlib::end_with('foobar', ['x', 'y'])] }
notify { 'digest': message => [stdlib::crc32('hello'), stdlib::crc32(''), stdlib::crc32(Sensitive('secret')), stdlib::sha256(42)] }
notify { 'nested': message => stdlib::nested_values({'a' => 1, 'b' => {'c' => 2, 'd' => {'e' => [3]}}, 'f' => undef}) }
notify { 'range': message => [stdlib::ip_in_range('10.1.2.3', ['192.168.0.0/16', '10.1.2.0/24']), stdlib::ip_in_range('fe80::1', 'fe80::/64'), stdlib::ip_in_range('10.1.2.3', '10.1.2.4')] }
notify { 'rand': message => [stdlib::seeded_rand(100, 'seed'), stdlib::seeded_rand(1000000, 'n1.example.test')] }
notify { 'xml': message => [stdlib::xml_encode('a < b & \"c\" > d'), stdlib::xml_encode('a < b & \"c\"', 'attr')] }
notify { 'python': message => stdlib::to_python({'a' => [1, 2.5, true, false, undef, 'x']}) }
notify { 'sort': message => [stdlib::sort_by([3, 1, 2]) |$x| { -$x }, stdlib::sort_by({'b' => 1, 'a' => 2}) |$kv| { $kv[1] }] }
notify { 'type': message => String(stdlib::type_of([1, true])) }
";
    let env = Env::new("stdlib9-text", site);
    env.stdlib(FUNCTIONS);
    let json = env.compile().expect("compiles");
    let m = |t: &str| message(&json, t);
    assert_eq!(
        m("toml"),
        "\"dot.key\" = \"v\"\nlist = [\"a\", \"b\"]\nname = \"x\"\nport = 8080\n[empty]\n[server]\nhost = \"h\"\n[server.opts]\nx = 1\n[[peers]]\nn = \"a\"\n[[peers]]\nn = \"b\"\n"
    );
    assert_eq!(m("yaml"), "---\nb:\n- x\n- \"y\"\nf: '01'\ng: 'yes'\n");
    assert_eq!(m("json"), "{\n  \"z\": {\n  },\n  \"y\": [\n\n  ]\n}\n");
    assert_eq!(m("merge"), serde_json::json!({"a": 1, "b": 3, "c": 4}));
    assert_eq!(m("merge2"), serde_json::json!({"a": 0, "b": 1}));
    assert_eq!(m("merge3"), serde_json::json!({"x2": 10, "y2": 20}));
    assert_eq!(m("batch"), "\"a \"\"b\"\" \\$c \\\\d\"");
    assert_eq!(m("ps"), "a` b`'c``d`|e`$f\\`\"g");
    assert_eq!(m("affix"), serde_json::json!([true, false]));
    assert_eq!(
        m("digest"),
        serde_json::json!([
            "3610a686",
            "0",
            "5ca2e8e5",
            "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049"
        ])
    );
    assert_eq!(m("nested"), serde_json::json!([1, 2, [3], null]));
    assert_eq!(m("range"), serde_json::json!([true, true, false]));
    assert_eq!(m("rand"), serde_json::json!([73, 710613]));
    assert_eq!(
        m("xml"),
        serde_json::json!([
            "a &lt; b &amp; \"c\" &gt; d",
            "\"a &lt; b &amp; &quot;c&quot;\""
        ])
    );
    assert_eq!(m("python"), "{\"a\": [1, 2.5, True, False, None, \"x\"]}");
    assert_eq!(m("sort"), serde_json::json!([[3, 2, 1], {"b": 1, "a": 2}]));
    assert_eq!(m("type"), "Tuple[Integer[1, 1], Boolean[true]]");
}

#[test]
fn stdlib9_node_and_catalog_functions_match_puppet() {
    let site = "\
package { 'pre': ensure => present }
stdlib::ensure_packages(['pre', 'a1'])
stdlib::ensure_packages('b1', {'ensure' => 'present', 'provider' => 'apt'})
stdlib::ensure_packages({'c1' => {'ensure' => '1.2'}, 'c2' => {}}, {'tag' => 'x'})
notify { 'os': message => [stdlib::os_version_gte('Debian', '11'), stdlib::os_version_gte('Debian', '13'), stdlib::os_version_gte('Ubuntu', '11')] }
notify { 'if': message => [stdlib::has_interface_with('eth0'), stdlib::has_interface_with('wlan0'), stdlib::has_interface_with('ipaddress', '10.1.2.3'), stdlib::has_interface_with('ip', '10.9.9.9')] }
notify { 'rotate': message => [stdlib::fqdn_rotate(['a', 'b', 'c', 'd']), stdlib::fqdn_rotate('abcdef', 'seed')] }
";
    let env = Env::new("stdlib9-node", site);
    env.stdlib(FUNCTIONS);
    let json = env
        .compile_facts(
            r#"{"values": {"networking": {"fqdn": "n1.example.test", "interfaces": {"eth0": {"ip": "10.1.2.3"}, "lo": {"ip": "127.0.0.1"}}}, "os": {"name": "Debian", "release": {"major": "12"}}}}"#,
        )
        .expect("compiles");
    let c: serde_json::Value = serde_json::from_str(&json).expect("catalog JSON");
    let pkg = |t: &str| {
        c["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["type"] == "Package" && r["title"] == t)
            .map(|r| r["parameters"].clone())
            .unwrap_or(serde_json::Value::Null)
    };
    assert_eq!(pkg("pre"), serde_json::json!({"ensure": "present"}));
    assert_eq!(pkg("a1"), serde_json::json!({"ensure": "installed"}));
    assert_eq!(
        pkg("b1"),
        serde_json::json!({"ensure": "installed", "provider": "apt"})
    );
    assert_eq!(pkg("c1"), serde_json::json!({"ensure": "1.2", "tag": "x"}));
    assert_eq!(
        pkg("c2"),
        serde_json::json!({"ensure": "installed", "tag": "x"})
    );
    assert_eq!(
        message(&json, "os"),
        serde_json::json!([true, false, false])
    );
    assert_eq!(
        message(&json, "if"),
        serde_json::json!([true, false, true, false])
    );
    assert_eq!(
        message(&json, "rotate"),
        serde_json::json!([["d", "a", "b", "c"], "defabc"])
    );
}

#[test]
fn stdlib9_functions_need_the_module_that_ships_them() {
    let env = Env::new(
        "stdlib9-absent",
        "notify { 'x': message => stdlib::to_toml({'a' => 1}) }\n",
    );
    let err = env.compile().expect_err("no stdlib on the modulepath");
    assert!(err.contains("Unknown function: 'stdlib::to_toml'"), "{err}");
}
