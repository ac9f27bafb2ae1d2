//! `troupe node --config FILE`: one sectioned file per host names every role the host runs (the
//! front, N master instances, the CA over the store, the VRRP instances and their checks).
//! This module owns that file's format (`config`: reading and checking it as a whole),
//! `--check`'s summary (`check`), and running the roles as supervised child processes (`run`).

mod check;
mod config;
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
    /// [vrrp NAME] and [check NAME] (troupe vrrp's instance and check settings).
    #[arg(long, default_value = "/etc/troupe/troupe.conf")]
    config: PathBuf,
    /// Check the file, print the roles it would start, and exit (0: valid, 1: not).
    #[arg(long)]
    check: bool,
}

pub fn run(args: NodeArgs) -> Result<ExitCode> {
    if args.check {
        return Ok(match config::load(&args.config) {
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
    run::run(config::load(&args.config)?)
}
