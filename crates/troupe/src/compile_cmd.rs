//! `troupe compile`: one catalog from a code directory, a certname and facts.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use troupe_compiler::{
    compile_json_with, load_facts, Budget, CompileRequest, ParseCache, Settings,
};

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The code directory: it holds environments/ENV/{manifests,modules,hiera.yaml}.
    #[arg(long)]
    codedir: PathBuf,
    #[arg(long, default_value = "production")]
    environment: String,
    /// The node's certname.
    #[arg(long)]
    certname: String,
    /// The agent's facts object ({"name","values",...}) or a flat {fact: value} map.
    #[arg(long)]
    facts: PathBuf,
    /// The environments directory (default: CODEDIR/environments).
    #[arg(long)]
    environmentpath: Option<PathBuf>,
    /// Module directories shared by every environment, colon-separated
    /// (default: CODEDIR/modules).
    #[arg(long)]
    basemodulepath: Option<String>,
    /// The global hiera.yaml.
    #[arg(long)]
    hiera_config: Option<PathBuf>,
    /// How long an environment's code is reused without looking at the disk after its last
    /// compile (Puppet's `environment_timeout`: 0, seconds, 30s/3m/2h/1d/1y, unlimited);
    /// matters with --repeat.
    #[arg(long, default_value = "0")]
    environment_timeout: String,
    /// `$trusted['extensions']`, as a JSON object.
    #[arg(long)]
    extensions: Option<String>,
    /// Overrides a `$server_facts` entry (repeatable).
    #[arg(long = "server-fact", value_name = "K=V")]
    server_fact: Vec<String>,
    /// Zero `version`, fixed `catalog_uuid`, pretty JSON (for diffs).
    #[arg(long)]
    normalize: bool,
    /// Wall time the compile may take (60s, 500ms, 2m; 0: unlimited).
    #[arg(long, default_value = "60s")]
    compile_timeout: String,
    /// Memory the compile may hold (1g, 512m; 0: unlimited).
    #[arg(long, default_value = "1g")]
    compile_memory_limit: String,
    /// An external node classifier (Puppet's `node_terminus = exec` with this
    /// `external_nodes` command): its classes, parameters and environment.
    #[arg(long, value_name = "COMMAND")]
    external_nodes: Option<String>,
    /// Compile this many times and report timings instead of printing the catalog.
    #[arg(long, hide = true)]
    repeat: Option<u32>,
}

pub fn run(a: CompileArgs) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::new(&a.codedir);
    if let Some(p) = a.environmentpath {
        settings.environmentpath = p;
    }
    if let Some(b) = &a.basemodulepath {
        settings.basemodulepath = b
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    settings.hiera_config = a.hiera_config;
    settings.environment_timeout =
        troupe_compiler::EnvironmentTimeout::parse(&a.environment_timeout, "environment_timeout")
            .map_err(|e| anyhow::anyhow!("--environment-timeout: {e}"))?;
    let text = std::fs::read_to_string(&a.facts)
        .with_context(|| format!("reading {}", a.facts.display()))?;
    let facts = load_facts(&text).map_err(|e| anyhow::anyhow!("{}: {e}", a.facts.display()))?;
    let extensions = match &a.extensions {
        Some(j) => {
            let v: serde_json::Value =
                serde_json::from_str(j).context("--extensions is not valid JSON")?;
            troupe_eval::value::from_json(&v)
        }
        None => troupe_eval::Value::hash(Default::default()),
    };
    let mut sf = Vec::new();
    for kv in &a.server_fact {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--server-fact expects K=V, got '{kv}'"))?;
        sf.push((k.to_string(), v.to_string()));
    }
    let mut environment = a.environment.clone();
    let mut node = troupe_eval::NodeData::default();
    if let Some(cmd) = &a.external_nodes {
        let timeout = std::time::Duration::from_secs(30);
        match troupe_compiler::enc::classify(cmd, &a.certname, timeout) {
            Ok(Some(c)) => {
                if let Some(e) = c.environment {
                    environment = e;
                }
                node = c.node;
            }
            Ok(None) => {
                eprintln!(
                    "Error: Could not find node '{}'; cannot compile",
                    a.certname
                );
                return Ok(ExitCode::from(1));
            }
            Err(e) => {
                eprintln!("Error: Failed when searching for node {}: {e}", a.certname);
                return Ok(ExitCode::from(1));
            }
        }
    }
    let req = CompileRequest {
        environment: &environment,
        certname: &a.certname,
        facts,
        extensions,
        server_facts: &sf,
        node,
    };
    let cache = ParseCache::default();
    let budget = Budget {
        timeout: troupe_eval::limits::parse_timeout(&a.compile_timeout)
            .map_err(|e| anyhow::anyhow!("--compile-timeout: {e}"))?,
        memory_limit: troupe_eval::limits::parse_size(&a.compile_memory_limit)
            .map_err(|e| anyhow::anyhow!("--compile-memory-limit: {e}"))?,
        cancel: None,
        memory_probe: Some(troupe_alloc::thread_net_bytes),
    };
    let compile_json = |settings: &Settings,
                        cache: &ParseCache,
                        req: &CompileRequest<'_>,
                        uuid: &str,
                        version: serde_json::Value| {
        compile_json_with(settings, cache, req, uuid, version, &budget)
    };
    if let Some(n) = a.repeat {
        let mut times = Vec::new();
        for _ in 0..n.max(1) {
            let t = std::time::Instant::now();
            // As the master's per-request path: the facts arrive as JSON text each time.
            let facts = load_facts(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
            let req = CompileRequest {
                environment: req.environment,
                certname: req.certname,
                facts,
                extensions: req.extensions.clone(),
                server_facts: req.server_facts,
                node: req.node.clone(),
            };
            let out = compile_json(&settings, &cache, &req, "x", serde_json::Value::from(0));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            if let Err(e) = out.json {
                eprintln!("Error: {e}");
                return Ok(ExitCode::from(1));
            }
        }
        let first = times[0];
        times.sort_by(|x, y| x.total_cmp(y));
        println!(
            "compiles={} first_ms={:.3} median_ms={:.3} min_ms={:.3}",
            times.len(),
            first,
            times[times.len() / 2],
            times[0]
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (uuid, version) = if a.normalize {
        (
            "00000000-0000-0000-0000-000000000000".to_string(),
            serde_json::Value::from(0),
        )
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        (
            format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                (now >> 32) as u32,
                (now >> 16) as u16,
                now as u16 & 0xfff,
                (now >> 12) as u16 & 0xfff,
                now as u64 & 0xffff_ffff_ffff
            ),
            serde_json::Value::from((now / 1_000_000_000) as u64),
        )
    };
    let out = compile_json(&settings, &cache, &req, &uuid, version);
    for w in &out.warnings {
        eprintln!("Warning: {w}");
    }
    match out.json {
        Ok(j) => {
            if a.normalize {
                let v: serde_json::Value = serde_json::from_str(&j)?;
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{j}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("Error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
