//! `troupe`: one binary for every role of the pool. Each subcommand is a role or a tool.

mod bench;
mod ca_cmd;
mod compile_cmd;
mod console_ca;
mod front_cmd;
mod front_discovery;
mod logging;
mod master_cmd;
mod master_registry;
mod migrate;
mod node;
mod parser_cmd;
mod pool_cmd;
mod pool_view;
mod settings_file;
mod vrrp_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Counts each thread's net allocated bytes: a compile's memory budget reads it.
#[global_allocator]
static ALLOC: troupe_alloc::Counting = troupe_alloc::Counting;

#[derive(Debug, Parser)]
#[command(
    name = "troupe",
    version,
    about = "A high-availability pool of Puppet masters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines on stderr: `text` or `json` (one object a line) [env: TROUPE_LOG_FORMAT; default: text]
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<logging::LogFormat>,
    /// Log level: off, error, warn, info, debug, trace [env: TROUPE_LOG; default: info, warn for parser, compile, ca, pool]
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Puppet language tools: validate and inspect manifests and EPP templates.
    Parser(parser_cmd::ParserArgs),
    /// Compile one node's catalog and print the JSON puppetserver would return.
    Compile(compile_cmd::CompileArgs),
    /// Serve the Puppet v3 and CA v1 APIs (HTTPS standalone, or plain HTTP behind a front).
    Master(master_cmd::MasterArgs),
    /// Administer the CA: list, sign, revoke, clean, generate.
    Ca(ca_cmd::CaArgs),
    /// The pool on the shared store: init (CA + pool certificate), join, add-name, show.
    Pool(pool_cmd::PoolArgs),
    /// Terminate TLS for agents and balance over a pool of masters.
    Front(front_cmd::FrontArgs),
    /// Float virtual IPs between hosts (VRRPv3, or v2 as keepalived's default).
    Vrrp(vrrp_cmd::VrrpArgs),
    /// Benchmarks: `bench agents` simulates Puppet agents against a server.
    Bench(bench::BenchArgs),
    /// Run every role one host's config file names, as supervised child processes (`--check`: validate and show them).
    Node(node::NodeArgs),
    /// Read a puppetserver install (/etc/puppet or /etc/puppetlabs) and write the troupe node config, keeping its CA and certificates.
    Migrate(migrate::MigrateArgs),
}

fn main() -> ExitCode {
    node::follow_parent();
    let cli = Cli::parse();
    let tool = matches!(
        cli.command,
        Command::Parser(_)
            | Command::Compile(_)
            | Command::Ca(_)
            | Command::Pool(_)
            | Command::Bench(_)
            | Command::Migrate(_)
    );
    if let Err(e) = logging::init(cli.log_format, cli.log_level.as_deref(), tool) {
        eprintln!("troupe: {e:#}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Parser(args) => parser_cmd::run(args),
        Command::Compile(args) => compile_cmd::run(args),
        Command::Master(args) => master_cmd::run(args),
        Command::Ca(args) => ca_cmd::run(args),
        Command::Pool(args) => pool_cmd::run(args),
        Command::Front(args) => front_cmd::run(args),
        Command::Vrrp(args) => vrrp_cmd::run(args),
        Command::Node(args) => node::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Migrate(args) => migrate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            logging::fatal(&e);
            ExitCode::from(2)
        }
    }
}
