//! `troupe`: one binary for every role of the pool. Each subcommand is a role or a tool.

mod parser_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "troupe",
    version,
    about = "A high-availability pool of Puppet masters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Puppet language tools: validate and inspect manifests and EPP templates.
    Parser(parser_cmd::ParserArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Parser(args) => parser_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("troupe: {e:#}");
            ExitCode::from(2)
        }
    }
}
