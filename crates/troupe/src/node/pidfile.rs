//! `troupe node --pidfile FILE`: the node's PID in a file while it runs, for init systems and
//! scripts that stop it by PID. A file naming a live `troupe` process is refused (a second
//! node would fight the first for its ports); a stale one is replaced.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The written file; removed on drop if it still holds this PID.
#[derive(Debug)]
pub struct Pidfile(PathBuf);

impl Pidfile {
    pub fn create(path: &Path) -> Result<Pidfile> {
        if let Some(pid) = read_pid(path) {
            if pid != std::process::id() && running_troupe(pid) {
                bail!(
                    "pidfile {}: troupe node already runs as PID {pid}",
                    path.display()
                );
            }
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, format!("{}\n", std::process::id()))
            .and_then(|()| std::fs::rename(&tmp, path))
            .with_context(|| format!("cannot write pidfile {}", path.display()))?;
        Ok(Pidfile(path.to_path_buf()))
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        if read_pid(&self.0) == Some(std::process::id()) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A live process (not a zombie) whose command name starts with `troupe`.
fn running_troupe(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let comm = stat
        .split_once('(')
        .and_then(|(_, r)| r.rsplit_once(')'))
        .map(|(c, rest)| (c, rest.split_whitespace().next()));
    matches!(comm, Some((c, Some(state))) if c.starts_with("troupe") && state != "Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_replaced_when_stale_refused_when_live_and_removed() {
        let dir = std::env::temp_dir().join(format!("troupe-pidfile-{}", std::process::id()));
        let p = dir.join("run/troupe.pid");
        {
            let _f = Pidfile::create(&p).expect("create");
            assert_eq!(read_pid(&p), Some(std::process::id()));
        }
        assert!(!p.exists(), "removed on drop");
        // A PID no process has (beyond pid_max) is stale.
        std::fs::create_dir_all(p.parent().expect("dir")).expect("mkdir");
        std::fs::write(&p, "4194999\n").expect("stale");
        drop(Pidfile::create(&p).expect("a stale file is replaced"));
        // A live process that is not troupe is stale too.
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        std::fs::write(&p, format!("{}\n", other.id())).expect("other");
        drop(Pidfile::create(&p).expect("a live non-troupe PID is stale"));
        let _ = other.kill();
        let _ = other.wait();
        // A live troupe process is refused.
        let fake = dir.join("troupe-node-fake");
        std::fs::copy("/bin/sleep", &fake).expect("copy sleep");
        let mut live = std::process::Command::new(&fake)
            .arg("30")
            .spawn()
            .expect("fake troupe");
        std::fs::write(&p, format!("{}\n", live.id())).expect("live");
        let e = Pidfile::create(&p).expect_err("a live troupe is refused");
        assert!(
            format!("{e:#}").contains(&format!("already runs as PID {}", live.id())),
            "{e:#}"
        );
        let _ = live.kill();
        let _ = live.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
