//! Shared by the hostile-input suite: a scratch environment on disk, compiled on a thread
//! with a 2 MiB stack (as small as a default spawned thread) so that only what the
//! evaluator does about depth keeps it alive.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use troupe_compiler::{
    compile_json_with, load_facts, Budget, CompileRequest, ParseCache, Settings,
};

#[global_allocator]
static ALLOC: troupe_alloc::Counting = troupe_alloc::Counting;

pub struct Env {
    pub dir: PathBuf,
}

impl Env {
    /// An environment `production` whose site.pp is `site`.
    pub fn new(name: &str, site: &str) -> Env {
        let dir =
            std::env::temp_dir().join(format!("troupe-hostile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let env = Env { dir };
        env.file("manifests/site.pp", site);
        env
    }

    /// Writes `rel` under the environment's directory.
    pub fn file(&self, rel: &str, text: &str) -> &Env {
        let p = self.dir.join("environments/production").join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        self
    }

    /// Makes the stdlib functions named available (as a module that ships them).
    pub fn stdlib(&self, functions: &[&str]) -> &Env {
        for f in functions {
            self.file(
                &format!("modules/stdlib/lib/puppet/functions/{f}.rb"),
                &format!("Puppet::Functions.create_function(:{f}) do\nend\n"),
            );
        }
        self
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join("environments/production").join(rel)
    }

    pub fn compile(&self) -> Result<String, String> {
        self.compile_with(Budget {
            timeout: Some(Duration::from_secs(60)),
            memory_limit: Some(1 << 30),
            ..Budget::default()
        })
    }

    /// Compiles on a 2 MiB thread within `budget` (memory measured by the counting
    /// allocator).
    pub fn compile_with(&self, budget: Budget) -> Result<String, String> {
        self.compile_facts_with(
            r#"{"values": {"networking": {"fqdn": "n1.example.test"}}}"#,
            budget,
        )
    }

    /// Compiles with the given facts (the agent's `{"values": ...}` object).
    #[allow(dead_code)]
    pub fn compile_facts(&self, facts: &str) -> Result<String, String> {
        self.compile_facts_with(
            facts,
            Budget {
                timeout: Some(Duration::from_secs(60)),
                memory_limit: Some(1 << 30),
                ..Budget::default()
            },
        )
    }

    fn compile_facts_with(&self, facts: &str, mut budget: Budget) -> Result<String, String> {
        budget.memory_probe = Some(troupe_alloc::thread_net_bytes);
        let dir = self.dir.clone();
        let facts = facts.to_string();
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || compile_dir(&dir, &facts, &budget))
            .expect("spawn")
            .join()
            .expect("the compile thread panicked or overflowed")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn compile_dir(dir: &Path, facts: &str, budget: &Budget) -> Result<String, String> {
    let settings = Settings::new(dir);
    let cache = ParseCache::default();
    let req = CompileRequest {
        environment: "production",
        certname: "n1.example.test",
        facts: load_facts(facts).expect("facts"),
        extensions: troupe_eval::Value::hash(Default::default()),
        server_facts: &[],
        node: Default::default(),
    };
    compile_json_with(
        &settings,
        &cache,
        &req,
        "uuid",
        serde_json::Value::from(0),
        budget,
    )
    .json
}

/// A budget with only a deadline.
pub fn deadline(d: Duration) -> Budget {
    Budget {
        timeout: Some(d),
        ..Budget::default()
    }
}

/// A budget with only a cancellation flag.
pub fn cancellable(flag: Arc<AtomicBool>) -> Budget {
    Budget {
        cancel: Some(flag),
        ..Budget::default()
    }
}

/// Asserts `r` failed with a message containing every one of `parts`.
pub fn fails_with(r: Result<String, String>, parts: &[&str]) -> String {
    let e = match r {
        Ok(j) => panic!("expected an error, got a catalog of {} bytes", j.len()),
        Err(e) => e,
    };
    for p in parts {
        assert!(e.contains(p), "error {e:?} does not contain {p:?}");
    }
    e
}
