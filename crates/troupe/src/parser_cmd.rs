//! `troupe parser validate|dump`: check Puppet files as `puppet parser validate` does.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use troupe_syntax::{parse_epp, parse_manifest, Parsed, Phase, Severity};

#[derive(Debug, Args)]
pub struct ParserArgs {
    #[command(subcommand)]
    command: ParserCommand,
}

#[derive(Debug, Subcommand)]
enum ParserCommand {
    /// Validate manifests (.pp) and EPP templates (.epp). Prints `FILE:LINE:COL: message`
    /// for each error on stderr and exits 1 if there is any; silent with exit 0 otherwise.
    /// A directory is searched for .pp and .epp files.
    Validate {
        /// Files or directories to validate.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also print warnings (such as unrecognized escapes).
        #[arg(long)]
        warnings: bool,
        /// Print a summary line (files, lines, errors, time) on stderr.
        #[arg(long)]
        stats: bool,
    },
    /// Print the syntax tree of one file (debugging aid).
    Dump {
        /// The file to parse.
        file: PathBuf,
    },
}

pub fn run(args: ParserArgs) -> Result<ExitCode> {
    match args.command {
        ParserCommand::Validate {
            files,
            warnings,
            stats,
        } => validate(&files, warnings, stats),
        ParserCommand::Dump { file } => {
            let parsed = parse_path(&file)?;
            println!("{:#?}", parsed.program);
            for d in &parsed.diagnostics {
                eprintln!("{}", d.render(&parsed.source));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_path(path: &Path) -> Result<Parsed> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not valid UTF-8 at byte {}",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let name = path.display().to_string();
    Ok(if path.extension().is_some_and(|e| e == "epp") {
        parse_epp(name, text)
    } else {
        parse_manifest(name, text)
    })
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read directory {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                collect(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "pp" || e == "epp") {
                out.push(p);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn validate(paths: &[PathBuf], warnings: bool, stats: bool) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files)?;
    }
    let (mut failed, mut lines, mut bytes, mut errors) = (0usize, 0usize, 0usize, 0usize);
    for f in &files {
        let parsed = match parse_path(f) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e:#}");
                failed += 1;
                errors += 1;
                continue;
            }
        };
        lines += parsed.source.line_count();
        bytes += parsed.source.text.len();
        let mut bad = false;
        for d in &parsed.diagnostics {
            // Like Puppet, stop at the first lexical or syntax error: what recovery finds
            // after it may be an echo of it. Validation errors are all reported.
            if bad && d.phase != Phase::Validate {
                continue;
            }
            if d.severity == Severity::Error {
                bad = true;
                errors += 1;
                eprintln!("{}", d.render(&parsed.source));
            } else if warnings {
                eprintln!("{}", d.render(&parsed.source));
            }
        }
        failed += usize::from(bad);
    }
    if stats {
        eprintln!(
            "troupe parser validate: {} files, {} lines, {} bytes, {} files with errors, {} errors, {:.3} s",
            files.len(),
            lines,
            bytes,
            failed,
            errors,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
