//! `troupe vrrp --config FILE`: floats virtual IPs between hosts (VRRPv3/v2, keepalived-compatible).

use anyhow::{anyhow, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct VrrpArgs {
    /// The configuration: `[instance NAME]` and `[check NAME]` sections (see ARCHITECTURE.md).
    #[arg(long)]
    config: PathBuf,
    /// Parse and check the configuration, print a summary, and exit.
    #[arg(long)]
    check: bool,
}

pub fn run(args: VrrpArgs) -> Result<ExitCode> {
    let file = args.config.display().to_string();
    let text = std::fs::read_to_string(&args.config).map_err(|e| anyhow!("{file}: {e}"))?;
    let cfg = troupe_vrrp::config::parse(&text, &file).map_err(|e| anyhow!("{e}"))?;
    if args.check {
        for i in &cfg.instances {
            println!(
                "instance {}: {} vrid {} priority {} advert {} ms v{} addresses {}",
                i.name,
                i.interface,
                i.vrid,
                i.priority,
                u64::from(i.advert_cs) * 10,
                i.version,
                i.addresses
                    .iter()
                    .map(|(a, p)| format!("{a}/{p}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        for c in &cfg.checks {
            println!(
                "check {}: {:?} every {} ms weight {}",
                c.name, c.kind, c.interval_ms, c.weight
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    troupe_vrrp::driver::run(cfg).map_err(|e| anyhow!("{e}"))?;
    Ok(ExitCode::SUCCESS)
}
