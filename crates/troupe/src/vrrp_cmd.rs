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
        if let Some(p) = &cfg.state_file {
            println!("state file: {}", p.display());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("troupe-vrrp-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn check_accepts_a_valid_file_and_names_file_line_and_key_on_errors() {
        let good = file(
            "good.conf",
            "[instance VI_1]\ninterface = eth0\nvrid = 51\nvirtual_address = 10.0.0.21/24\ntrack = front\n\n[check front]\nhttp = http://127.0.0.1:8140/status/v1/simple\nweight = 0\n",
        );
        let r = run(VrrpArgs {
            config: good.clone(),
            check: true,
        });
        assert!(matches!(r, Ok(c) if c == ExitCode::SUCCESS), "{r:?}");
        let bad = file(
            "bad.conf",
            "[instance VI_1]\ninterface = eth0\nvrid = 51\nprioriti = 100\n",
        );
        let err = run(VrrpArgs {
            config: bad.clone(),
            check: true,
        })
        .expect_err("an unknown key is an error")
        .to_string();
        assert!(
            err.contains("bad.conf line 4") && err.contains("prioriti"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(good.parent().expect("dir"));
    }
}
