//! What the process-level tests of `troupe` share: a child killed (by its PID) on drop, and a
//! `troupe master` started on an ephemeral port whose address is read from its log.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A child process killed (by its PID) on drop.
#[derive(Debug)]
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` (a `troupe master --listen 127.0.0.1:0 ...`) and waits for its
/// `listening on ADDR` line; returns the child and ADDR. Its log is drained afterwards, so the
/// child never blocks on a full pipe.
pub fn start_listening(cmd: &mut Command) -> (Proc, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start troupe master");
    let stderr = child.stderr.take().expect("stderr");
    let proc = Proc(child);
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("master exited before listening")
            .expect("read stderr");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    std::thread::spawn(move || for _ in lines.by_ref() {});
    (proc, addr)
}
