//! `troupe node --config FILE`: one sectioned file per host names every role the host runs (the
//! front, N master instances, the CA over the store, the VRRP instances and their checks).
//! This module owns that file's format (`config`: reading and checking it as a whole),
//! `--check`'s summary (`check`), and running the roles as supervised child processes (`run`).

mod check;
mod config;
mod ctl;
mod default;
mod front_checks;
mod pidfile;
mod run;
#[cfg(test)]
mod tests;

pub use run::follow_parent;

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The host's file: [main] (certname, ssldir, store settings), [master] (troupe master's
    /// settings, instances, base_port or listen), [front] (troupe front's settings),
    /// [vrrp NAME] and [check NAME] (troupe vrrp's instance and check settings). Default:
    /// /etc/troupe/troupe.conf when it exists, else the embedded default (a one-host pool on
    /// loopback: `--print-default` shows it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Check the file, print the roles it would start, and exit (0: valid, 1: not).
    #[arg(long)]
    check: bool,
    /// Print the embedded default file and exit.
    #[arg(long)]
    print_default: bool,
    /// Write this process's PID to this file while it runs (removed on exit).
    #[arg(long)]
    pidfile: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<NodeCommand>,
}

#[derive(Debug, clap::Subcommand)]
enum NodeCommand {
    /// The pool console from the command line: `status`, or `drain|disable|enable MASTER`,
    /// or `weight MASTER N`, through the front's JSON API (`/troupe/console/api`).
    Ctl(ctl::CtlArgs),
}

pub fn run(args: NodeArgs) -> Result<ExitCode> {
    let state = default::state_dir();
    let codedir = default::codedir(&state);
    if args.print_default {
        print!("{}", default::text(&state, &codedir));
        return Ok(ExitCode::SUCCESS);
    }
    let system = std::path::Path::new(default::SYSTEM_FILE);
    let embedded = args.config.is_none() && !system.exists();
    let load = || match &args.config {
        Some(p) => config::load(p),
        None if embedded => config::load_text(
            std::path::Path::new("(the embedded default)"),
            &default::text(&state, &codedir),
        ),
        None => config::load(system),
    };
    if args.check {
        return Ok(match load() {
            Ok(c) => {
                print!("{}", check::summary(&c));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("troupe node: {e:#}");
                ExitCode::from(1)
            }
        });
    }
    if let Some(NodeCommand::Ctl(a)) = args.command {
        return ctl::run(&load()?, a);
    }
    let c = load()?;
    if embedded {
        default::ensure_starter_code(&state, &codedir)?;
    }
    let _pid = match &args.pidfile {
        Some(p) => Some(pidfile::Pidfile::create(p)?),
        None => None,
    };
    run::run(c)
}
