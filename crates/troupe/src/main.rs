//! `troupe`: one binary for every role of the pool. Each subcommand is a role or a tool.

mod compile_cmd;
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
    /// Compile one node's catalog and print the JSON puppetserver would return.
    Compile(compile_cmd::CompileArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Parser(args) => parser_cmd::run(args),
        Command::Compile(args) => compile_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("troupe: {e:#}");
            ExitCode::from(2)
        }
    }
}
