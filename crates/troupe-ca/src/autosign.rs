//! Autosign: Puppet's whitelist globs and policy executables, and the re-judging of pending
//! requests on open (a crash between storing a request and signing it must not leave the
//! node waiting for a human).

use crate::csr::parse_csr;
use crate::{Autosign, Ca, CaResult};
use std::fs;
use std::io::Write;

/// How long an autosign command may take.
const AUTOSIGN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One line of an autosign whitelist against a certname.
pub fn glob_matches(line: &str, name: &str) -> bool {
    if line.is_empty() || line.starts_with('#') || line.contains('#') || line.contains(' ') {
        return false;
    }
    if line == "*" {
        return true;
    }
    if let Some(domain) = line.strip_prefix('*') {
        let domain = domain.trim_start_matches('.').to_lowercase();
        let name = name.to_lowercase();
        let want: Vec<&str> = domain.split('.').rev().collect();
        let have: Vec<&str> = name.split('.').rev().collect();
        return have.len() >= want.len() && want.iter().zip(have.iter()).all(|(a, b)| a == b);
    }
    line == name
}

impl Ca {
    /// Whether the autosign policy signs `name`'s request `pem` (the decision is logged).
    pub(crate) fn autosign(&self, name: &str, pem: &str) -> bool {
        let (yes, why) = self.autosign_why(name, pem);
        tracing::info!(
            node = name,
            autosign = yes,
            reason = %why,
            "autosign {} {name}: {why}",
            if yes { "accepts" } else { "does not accept" }
        );
        yes
    }

    /// The autosign decision and its reason.
    fn autosign_why(&self, name: &str, pem: &str) -> (bool, String) {
        match &self.settings.autosign {
            Autosign::Off => (false, "autosign is off".into()),
            Autosign::All => (true, "autosign = true".into()),
            Autosign::Globs(p) => match fs::read_to_string(p) {
                Ok(text) => match text.lines().find(|l| glob_matches(l, name)) {
                    Some(l) => (true, format!("matches '{l}' in {}", p.display())),
                    None => (false, format!("no line of {} matches", p.display())),
                },
                Err(e) => (false, format!("cannot read {}: {e}", p.display())),
            },
            Autosign::Command(cmd) => {
                let child = std::process::Command::new(cmd)
                    .arg(name)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn();
                let mut child = match child {
                    Ok(c) => c,
                    Err(e) => return (false, format!("cannot run {}: {e}", cmd.display())),
                };
                // Fed from a thread: a command that does not read stdin must not block us.
                if let Some(mut stdin) = child.stdin.take() {
                    let data = pem.as_bytes().to_vec();
                    std::thread::spawn(move || {
                        let _ = stdin.write_all(&data);
                    });
                }
                let deadline = std::time::Instant::now() + AUTOSIGN_TIMEOUT;
                loop {
                    match child.try_wait() {
                        Ok(Some(st)) => return (st.success(), format!("{} {st}", cmd.display())),
                        Ok(None) if std::time::Instant::now() < deadline => {
                            std::thread::sleep(std::time::Duration::from_millis(10))
                        }
                        other => {
                            let _ = child.kill();
                            let _ = child.wait();
                            let why = match other {
                                Err(e) => format!("{}: {e}", cmd.display()),
                                _ => format!(
                                    "{} did not answer within {} s: killed",
                                    cmd.display(),
                                    AUTOSIGN_TIMEOUT.as_secs()
                                ),
                            };
                            return (false, why);
                        }
                    }
                }
            }
        }
    }

    /// Signs every pending request (one without a signed certificate) that the autosign
    /// policy accepts and the signing policy allows; with the lock held. Returns what it
    /// signed, as repair notes. A request the policy refuses stays pending, as on intake.
    pub(crate) fn autosign_pending_locked(&self) -> CaResult<Vec<String>> {
        if self.settings.autosign == Autosign::Off {
            return Ok(vec![]);
        }
        let names = self.pem_names("requests")?;
        let mut signed = vec![];
        for name in names {
            let Some(pem) = self.csr_pem(&name) else {
                continue;
            };
            if self.backend.exists(&crate::backend::signed_key(&name))? {
                continue;
            }
            let Ok(csr) = parse_csr(&pem) else { continue };
            if csr.cn != name || !self.autosign(&name, &pem) {
                continue;
            }
            if self.check_policy(&csr, 409).is_err() {
                continue;
            }
            self.sign_locked(&name, &csr, None)?;
            signed.push(format!(
                "requests/{name}.pem: pending, and autosign accepts it; signed"
            ));
        }
        Ok(signed)
    }
}
