//! Running a site's helper program (an external node classifier, a `code_id_command`) with
//! no input, a deadline and a cap on what it may print: its pipes are read on threads, so a
//! chatty program never blocks on a full pipe, and a program past the deadline is killed.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a finished program left.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    /// At most the cap's bytes of standard output.
    pub stdout: Vec<u8>,
    /// At most the cap's bytes of standard error (empty unless asked for).
    pub stderr: Vec<u8>,
    /// It printed more than the cap.
    pub truncated: bool,
}

/// Why a program left no output.
#[derive(Debug)]
pub enum Failure {
    /// It could not be started (or waited for).
    Run(String),
    /// It was still running at the deadline, and was killed.
    Timeout,
}

/// Runs `argv` with no input. Keeps at most `cap` bytes of each pipe; past the cap the rest
/// is read and dropped when `drain`, else the pipe is closed (the program gets SIGPIPE).
/// Standard error is kept when `stderr`, else discarded.
pub fn run(
    argv: &[&str],
    timeout: Duration,
    cap: u64,
    drain: bool,
    stderr: bool,
) -> Result<Output, Failure> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Failure::Run("no program".into()));
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .map_err(|e| Failure::Run(format!("cannot run {program}: {e}")))?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut truncated = false;
            if let Some(mut r) = pipe {
                let _ = (&mut r).take(cap + 1).read_to_end(&mut buf);
                if buf.len() as u64 > cap {
                    buf.truncate(cap as usize);
                    truncated = true;
                    if drain {
                        let _ = std::io::copy(&mut r, &mut std::io::sink());
                    }
                }
            }
            (buf, truncated)
        })
    };
    let out = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::Timeout);
            }
            Err(e) => return Err(Failure::Run(format!("cannot wait for {program}: {e}"))),
        }
    };
    let (stdout, truncated) = out.join().unwrap_or_default();
    let (stderr, _) = err.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
        truncated,
    })
}
