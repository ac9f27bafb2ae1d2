//! `troupe bench agents`: simulated Puppet agents against a server (troupe or puppetserver),
//! for an agents-per-host figure. Runs arrive at random (a Poisson process at `agents /
//! runinterval` runs per second); each run is what an agent does: a new TLS connection with
//! its own client certificate, `node`, the plugin sync's `file_metadatas`, a catalog POST with
//! its facts (varied per agent) and a report PUT. It prints runs per second, p50/p99 run time
//! and errors, every second and at the end.

mod identities;
mod run;
mod server_verify;
mod stats;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchCmd,
}

#[derive(Debug, Subcommand)]
enum BenchCmd {
    /// Simulated agents with random arrival against HOST:PORT.
    Agents(AgentArgs),
}

#[derive(Debug, Args, Clone)]
pub struct AgentArgs {
    /// The server: HOST:PORT (a master, a front or a VIP).
    #[arg(long)]
    server: String,
    /// The name the server's certificate must carry (default: the host of --server).
    #[arg(long)]
    server_name: Option<String>,
    /// How many agents run.
    #[arg(long)]
    agents: u64,
    /// Each agent's run interval in seconds (Puppet's runinterval).
    #[arg(long, default_value = "300")]
    runinterval: f64,
    /// How long to run, in seconds.
    #[arg(long, default_value = "30")]
    duration: f64,
    /// The agents' facts (an agent's facts object or a flat map); hostname, fqdn and the
    /// addresses are varied per agent.
    #[arg(long)]
    facts: Option<PathBuf>,
    /// The environment the agents ask for.
    #[arg(long, default_value = "production")]
    environment: String,
    /// Distinct certificates (agents share them in turn; each run still makes its own TLS
    /// handshake). Obtained once through the CA API (autosign must accept `*.DOMAIN`;
    /// a troupe master's `csr_rate_limit` slows this down: set it to 0 for the bench) and
    /// kept in --certs. Each one runs agents × 60 / runinterval / identities times a minute:
    /// keep that within the server's per-node report limit (troupe: `report_rate_limit`).
    #[arg(long, default_value = "2000")]
    identities: usize,
    /// The domain of the agents' names (`bench-00000.DOMAIN`, ...): the server's autosign
    /// must accept them.
    #[arg(long, default_value = "bench.test")]
    domain: String,
    /// Where the agents' keys and certificates are kept between runs.
    #[arg(long, default_value = "/tmp/troupe-bench-agents")]
    certs: PathBuf,
    /// The agents' key type: rsa (2048 bits) or ec (P-256).
    #[arg(long, default_value = "rsa")]
    key: String,
    /// Runs in flight at most; an arrival beyond it is counted as dropped by the client.
    #[arg(long, default_value = "2000")]
    max_inflight: usize,
    /// A run taking longer than this fails (seconds).
    #[arg(long, default_value = "60")]
    timeout: f64,
    /// Client threads (the simulated agents' own CPU; the server's is what is measured).
    #[arg(long, default_value = "1")]
    threads: usize,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
}

pub fn run(a: BenchArgs) -> Result<ExitCode> {
    match a.what {
        BenchCmd::Agents(a) => agents(a),
    }
}

fn agents(a: AgentArgs) -> Result<ExitCode> {
    if a.agents == 0 || a.runinterval <= 0.0 || a.duration <= 0.0 {
        return Err(anyhow!(
            "--agents, --runinterval and --duration must be more than 0"
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the client runtime")?;
    let facts = match &a.facts {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let j: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not JSON", p.display()))?;
            match j.get("values") {
                Some(v) if v.is_object() => v.clone(),
                _ => j,
            }
        }
        None => {
            serde_json::json!({"os": {"family": "Debian", "name": "Debian"}, "kernel": "Linux"})
        }
    };
    let server_name = a.server_name.clone().unwrap_or_else(|| {
        a.server
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(&a.server)
            .to_string()
    });
    let ids = rt.block_on(identities::obtain(&a, &server_name))?;
    let plan = Arc::new(run::Plan::new(&a, server_name, facts, ids)?);
    let summary = rt.block_on(drive(&a, plan));
    if a.json {
        println!("{}", summary.to_json());
    } else {
        println!("{}", summary.line());
    }
    Ok(ExitCode::SUCCESS)
}

/// Arrivals for `duration` seconds, then waits for the runs in flight.
async fn drive(a: &AgentArgs, plan: Arc<run::Plan>) -> stats::Summary {
    let rate = a.agents as f64 / a.runinterval;
    let stats = Arc::new(stats::Stats::new());
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(a.duration);
    let progress = (!a.quiet).then(|| stats::progress(stats.clone(), start));
    let mut next = start;
    let mut seq: u64 = 0;
    let mut rng = stats::Rng::seeded();
    while next < end {
        tokio::time::sleep_until(next.into()).await;
        seq += 1;
        if stats.inflight() >= a.max_inflight {
            stats.dropped();
        } else {
            let (plan, stats) = (plan.clone(), stats.clone());
            stats.started();
            tokio::spawn(async move {
                let t = Instant::now();
                let r = plan.agent_run(seq).await;
                stats.finished(t.elapsed(), r.err());
            });
        }
        // Exponential inter-arrival times: a Poisson process of `rate` runs per second.
        next += Duration::from_secs_f64(-(1.0 - rng.unit()).ln() / rate);
    }
    let offered = start.elapsed();
    while stats.inflight() > 0
        && start.elapsed() < offered + Duration::from_secs_f64(a.timeout + 5.0)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Some(p) = progress {
        p.abort();
    }
    stats.summary(a, offered, start.elapsed())
}
