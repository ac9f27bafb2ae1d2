//! Exported resources with storeconfigs on, against a store that answers as PuppetDB's query
//! API does: the filter built from the collector's query, what is collected (local and other
//! nodes' exports), the duplicate check, and the catalog PuppetDB gets.

use serde_json::{json, Value as J};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use troupe_compiler::{
    compile_json, load_facts, CompileOutput, CompileRequest, ParseCache, Settings,
};

#[derive(Debug, Default)]
struct Store {
    rows: Vec<J>,
    asked: Mutex<Vec<(String, String, Option<J>)>>,
    fail: bool,
}

impl troupe_eval::code::Storeconfigs for Store {
    fn search(&self, t: &str, host: &str, filter: Option<&J>) -> Result<Vec<J>, String> {
        if let Ok(mut a) = self.asked.lock() {
            a.push((t.to_string(), host.to_string(), filter.cloned()));
        }
        if self.fail {
            return Err("Could not retrieve resources from the PuppetDB at https://pdb:8081: [connect] refused".into());
        }
        Ok(self
            .rows
            .iter()
            .filter(|r| r["type"] == json!(t) && r["certname"] != json!(host))
            .cloned()
            .collect())
    }
}

fn env(name: &str, site: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("troupe-storeconfigs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("environments/production/manifests")).expect("mkdir");
    std::fs::write(d.join("environments/production/manifests/site.pp"), site).expect("write");
    d
}

fn compile(dir: &PathBuf, store: Option<Arc<Store>>, node: &str) -> CompileOutput {
    let mut settings = Settings::new(dir);
    settings.ruby = None;
    settings.storeconfigs = store.map(|s| s as Arc<dyn troupe_eval::code::Storeconfigs>);
    let req = CompileRequest {
        environment: "production",
        certname: node,
        facts: load_facts(r#"{"values": {}}"#).expect("facts"),
        extensions: troupe_eval::Value::hash(Default::default()),
        server_facts: &[],
        node: Default::default(),
    };
    compile_json(&settings, &ParseCache::default(), &req, "uuid-1", json!(7))
}

fn row(node: &str, t: &str, title: &str, params: J) -> J {
    json!({"certname": node, "type": t, "title": title, "exported": true,
           "tags": [t.to_lowercase()], "parameters": params})
}

const SITE: &str = r#"
class db { @@notify { "db-${trusted['certname']}": message => '10.0.0.9', tag => ['db'] } }
class web {
  Notify <<| tag == 'db' and message != '10.9.9.9' |>> { loglevel => 'warning' }
}
node default { include db, web }
"#;

#[test]
fn collects_other_nodes_exports_through_the_store() {
    let dir = env("collect", SITE);
    let store = Arc::new(Store {
        rows: vec![
            row(
                "a.example.test",
                "Notify",
                "db-a.example.test",
                json!({"message": "10.0.0.1", "tag": ["db"]}),
            ),
            row(
                "b.example.test",
                "Notify",
                "db-b.example.test",
                json!({"message": "10.0.0.2", "tag": ["db"]}),
            ),
        ],
        ..Default::default()
    });
    let out = compile(&dir, Some(store.clone()), "c.example.test");
    let cat: J = serde_json::from_str(&out.json.expect("compile")).expect("json");
    let asked = store.asked.lock().map(|a| a.clone()).unwrap_or_default();
    assert_eq!(
        asked.len(),
        1,
        "one query per collector per compile: {asked:?}"
    );
    assert_eq!(asked[0].0, "Notify");
    assert_eq!(asked[0].1, "c.example.test");
    assert_eq!(
        asked[0].2,
        Some(json!([
            "and",
            ["=", "tag", "db"],
            ["not", ["=", ["parameter", "message"], "10.9.9.9"]]
        ]))
    );
    let hosts: Vec<&J> = cat["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["type"] == "Notify")
        .collect();
    // The node's own export (collected, still exported) and the two others' (not exported,
    // no file or line), all overridden by the collector.
    assert_eq!(hosts.len(), 3, "{hosts:?}");
    let other = hosts
        .iter()
        .find(|r| r["title"] == "db-a.example.test")
        .expect("a");
    assert_eq!(other["exported"], json!(false));
    assert!(other.get("file").is_none() && other.get("line").is_none());
    assert_eq!(other["parameters"]["loglevel"], json!("warning"));
    assert!(
        other["tags"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("web"))),
        "{other}"
    );
    let own = hosts
        .iter()
        .find(|r| r["title"] == "db-c.example.test")
        .expect("own");
    assert_eq!(own["exported"], json!(true));
    let edges = cat["edges"].as_array().cloned().unwrap_or_default();
    assert!(edges.contains(&json!({"source": "Class[Web]", "target": "Notify[db-a.example.test]"})));
    // PuppetDB gets the same resources, its own export included.
    let pdb = out.puppetdb.expect("the PuppetDB catalog");
    assert_eq!(pdb["certname"], json!("c.example.test"));
    assert_eq!(pdb["version"], json!("7"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_uncollected_export_goes_to_the_store_only() {
    let dir = env(
        "export",
        "class db { @@notify { 'db1': message => '10.0.0.9' } }\ninclude db\nnotify { \"storeconfigs ${settings::storeconfigs}\": }\n",
    );
    let store = Arc::new(Store::default());
    let out = compile(&dir, Some(store), "a.example.test");
    let cat = out.json.expect("compile");
    assert!(!cat.contains("db1"), "the agent does not get it: {cat}");
    assert!(cat.contains("storeconfigs true"), "{cat}");
    let pdb = out.puppetdb.expect("pdb");
    let host = pdb["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["title"] == "db1")
        .cloned()
        .expect("the store gets it");
    assert_eq!(host["exported"], json!(true));
    assert!(
        pdb["edges"].as_array().is_some_and(|e| e.contains(&json!({
        "source": {"type": "Class", "title": "Db"}, "target": {"type": "Notify", "title": "db1"},
        "relationship": "contains"}))),
        "{pdb}"
    );
    // Without storeconfigs: no store catalog, and `$settings::storeconfigs` is false.
    let off = compile(&dir, None, "a.example.test");
    assert!(off.puppetdb.is_none());
    assert!(off.json.expect("compile").contains("storeconfigs false"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_local_resource_of_the_same_title_is_a_duplicate() {
    let dir = env(
        "dup",
        "notify { 'db-a': message => '1.1.1.1' }\nNotify <<| |>>\n",
    );
    let store = Arc::new(Store {
        rows: vec![row(
            "a.example.test",
            "Notify",
            "db-a",
            json!({"message": "10.0.0.1"}),
        )],
        ..Default::default()
    });
    let err = compile(&dir, Some(store), "c.example.test")
        .json
        .expect_err("duplicate");
    assert!(
        err.contains("A duplicate resource was found while collecting exported resources, with the type and title Notify[db-a]"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_store_that_cannot_answer_fails_the_compile_with_its_message() {
    let dir = env("down", "Notify <<| |>>\n");
    let store = Arc::new(Store {
        fail: true,
        ..Default::default()
    });
    let err = compile(&dir, Some(store), "c.example.test")
        .json
        .expect_err("down");
    assert!(
        err.contains("Could not retrieve resources from the PuppetDB at https://pdb:8081"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exported_defined_types_are_evaluated_where_they_are_collected() {
    let dir = env(
        "define",
        "define frag($content) { notify { \"frag ${title}\": message => $content } }\nclass collect { Frag <<| |>> }\ninclude collect\n",
    );
    let store = Arc::new(Store {
        rows: vec![row(
            "a.example.test",
            "Frag",
            "a1",
            json!({"content": "from a"}),
        )],
        ..Default::default()
    });
    let cat = compile(&dir, Some(store), "c.example.test")
        .json
        .expect("compile");
    assert!(
        cat.contains(r#""title":"frag a1""#) && cat.contains("from a"),
        "{cat}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
