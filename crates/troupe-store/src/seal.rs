//! Sealing secrets kept in a shared store: the CA private key and the pool's private key are
//! never written to etcd in plaintext. They are sealed with the pool's join secret (32 random
//! bytes, handed to a joining host as a token or a file) under AES-256-GCM from aws-lc-rs, with
//! a key derived by HKDF-SHA256 and the store key's name as associated data, so a sealed value
//! cannot be moved to another key unnoticed.
//!
//! Sealed format: `troupe-sealed-v1\n` + 12-byte random nonce + ciphertext and 16-byte tag.
//! Token format: `troupe-join-v1:` + 64 hex digits.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::fmt;

const MAGIC: &[u8] = b"troupe-sealed-v1\n";
const TOKEN_PREFIX: &str = "troupe-join-v1:";
const SALT: &[u8] = b"troupe pool seal v1";

/// Why sealing or unsealing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealError(pub String);

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SealError {}

/// The pool's join secret. Its `Debug` form never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; 32]);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(id {})", self.id())
    }
}

impl Secret {
    /// A new random secret.
    pub fn generate() -> Result<Secret, SealError> {
        let mut b = [0u8; 32];
        SystemRandom::new()
            .fill(&mut b)
            .map_err(|_| SealError("the system random generator failed".into()))?;
        Ok(Secret(b))
    }

    /// The token form: `troupe-join-v1:` and 64 hex digits.
    pub fn token(&self) -> String {
        let mut s = String::from(TOKEN_PREFIX);
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// Reads a token (surrounding whitespace ignored, as in a file with a final newline).
    pub fn parse(token: &str) -> Result<Secret, SealError> {
        let t = token.trim();
        let hex = t.strip_prefix(TOKEN_PREFIX).ok_or_else(|| {
            SealError(format!(
                "a join secret starts with {TOKEN_PREFIX:?} followed by 64 hex digits"
            ))
        })?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SealError(format!(
                "a join secret has 64 hex digits after {TOKEN_PREFIX:?}, this one has {} characters",
                hex.len()
            )));
        }
        let mut b = [0u8; 32];
        for (i, out) in b.iter_mut().enumerate() {
            *out = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| SealError("a join secret has non-hex digits".into()))?;
        }
        Ok(Secret(b))
    }

    /// Reads a token from a file, refusing one that others can read.
    pub fn read_file(path: &std::path::Path) -> Result<Secret, SealError> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| SealError(format!("join secret file {}: {e}", path.display())))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(SealError(format!(
                "join secret file {} is readable by others (mode {:o}); chmod 600 it",
                path.display(),
                meta.permissions().mode() & 0o777
            )));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| SealError(format!("join secret file {}: {e}", path.display())))?;
        Secret::parse(&text)
            .map_err(|e| SealError(format!("join secret file {}: {e}", path.display())))
    }

    /// Writes the token to a new file with mode 0600 (never over an existing one).
    pub fn write_file(&self, path: &std::path::Path) -> Result<(), SealError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let err =
            |e: std::io::Error| SealError(format!("join secret file {}: {e}", path.display()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(err)?;
        f.write_all(format!("{}\n", self.token()).as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(err)
    }

    /// A short public name of the secret (16 hex digits of a derived value): shows which
    /// secret a pool was sealed with without revealing it.
    pub fn id(&self) -> String {
        let k = self.derive(b"id");
        k[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn derive(&self, info: &[u8]) -> [u8; 32] {
        let prk = Salt::new(HKDF_SHA256, SALT).extract(&self.0);
        let mut out = [0u8; 32];
        let infos = [info];
        // 32 bytes from HKDF-SHA256 cannot fail (the limit is 255 * 32).
        if let Ok(okm) = prk.expand(&infos, HKDF_SHA256) {
            let _ = okm.fill(&mut out);
        }
        out
    }

    fn aead_key(&self) -> Result<LessSafeKey, SealError> {
        let k = self.derive(b"aead key");
        UnboundKey::new(&AES_256_GCM, &k)
            .map(LessSafeKey::new)
            .map_err(|_| SealError("cannot make the sealing key".into()))
    }

    /// Seals `plain` for the store key `label`.
    pub fn seal(&self, label: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let key = self.aead_key()?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError("the system random generator failed".into()))?;
        let mut buf = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(label.as_bytes()),
            &mut buf,
        )
        .map_err(|_| SealError(format!("cannot seal {label}")))?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + buf.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens a value `seal` made for `label`.
    pub fn unseal(&self, label: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(MAGIC).ok_or_else(|| {
            SealError(format!(
                "{label} is not a sealed value (no troupe-sealed-v1 header)"
            ))
        })?;
        if rest.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(SealError(format!("{label}: the sealed value is truncated")));
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(nonce);
        let mut buf = ct.to_vec();
        let key = self.aead_key()?;
        let plain = key
            .open_in_place(Nonce::assume_unique_for_key(n), Aad::from(label.as_bytes()), &mut buf)
            .map_err(|_| {
                SealError(format!(
                    "cannot unseal {label}: the join secret (id {}) is not this pool's, or the value was altered",
                    self.id()
                ))
            })?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_binds_the_label() {
        let s = Secret::generate().expect("test");
        let sealed = s.seal("ca_key.pem", b"private").expect("test");
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        assert_eq!(s.unseal("ca_key.pem", &sealed).expect("test"), b"private");
        assert!(s.unseal("pool/key.pem", &sealed).is_err());
        let other = Secret::generate().expect("test");
        let e = other.unseal("ca_key.pem", &sealed).expect_err("test");
        assert!(e.0.contains("not this pool's"), "{e}");
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(s.unseal("ca_key.pem", &bad).is_err());
        assert!(s.unseal("ca_key.pem", &sealed[..20]).is_err());
        assert!(s.unseal("ca_key.pem", b"plain").is_err());
    }

    #[test]
    fn tokens_round_trip_and_bad_ones_are_named() {
        let s = Secret::generate().expect("test");
        let t = s.token();
        assert_eq!(Secret::parse(&format!(" {t}\n")).expect("test"), s);
        assert!(!format!("{s:?}").contains(&t[15..]));
        assert!(Secret::parse("abc")
            .expect_err("test")
            .0
            .contains("starts with"));
        assert!(Secret::parse("troupe-join-v1:zz")
            .expect_err("test")
            .0
            .contains("64 hex"));
        let g = format!("troupe-join-v1:{}", "g".repeat(64));
        assert!(Secret::parse(&g).is_err());
    }

    #[test]
    fn secret_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("troupe-seal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("test");
        let p = d.join("join.secret");
        let s = Secret::generate().expect("test");
        s.write_file(&p).expect("test");
        assert!(s.write_file(&p).is_err(), "never overwrites");
        assert_eq!(Secret::read_file(&p).expect("test"), s);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("test");
        assert!(Secret::read_file(&p)
            .expect_err("test")
            .0
            .contains("readable by others"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
