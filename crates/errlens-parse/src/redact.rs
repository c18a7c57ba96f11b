//! `--redact-clients`: client ids replaced by a stable keyed hash before any consumer
//! sees them, so no report, summary or metric label carries the id itself (Simkl's
//! `client_id` is the app's API key).
//!
//! The hash is HMAC-SHA256 (RustCrypto's `hmac` and `sha2`) of the id under a key, cut
//! to 48 bits: `client-` and 12 hex digits. The same id gives the same name in every
//! run with the same key, so reports stay comparable; without the key, the id cannot be
//! recovered from the name. The key is `ERRLENS_REDACT_KEY` when set, else a fixed key
//! built into errlens (stable everywhere, but anyone with errlens can test a guessed
//! id against a name: set a key of your own when ids must not be confirmable).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Environment variable holding the redaction key.
pub const KEY_VAR: &str = "ERRLENS_REDACT_KEY";

/// A redaction key.
#[derive(Clone)]
pub struct Redactor {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor(…)")
    }
}

impl Redactor {
    /// A redactor with `key`.
    pub fn new(key: &[u8]) -> Redactor {
        Redactor {
            mac: Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length"),
        }
    }

    /// The key from [`KEY_VAR`], else errlens' built-in key.
    pub fn from_env() -> Redactor {
        match std::env::var_os(KEY_VAR) {
            Some(k) if !k.is_empty() => Redactor::new(k.as_encoded_bytes()),
            _ => Redactor::new(b"errlens redact-clients v1"),
        }
    }

    /// The stable name of client id `id`.
    pub fn name(&self, id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(19);
        out.push_str("client-");
        for b in &digest[..6] {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_keyed_and_opaque() {
        let a = Redactor::new(b"k1");
        let b = Redactor::new(b"k2");
        assert_eq!(a.name("abc"), a.name("abc"));
        assert_ne!(a.name("abc"), a.name("abd"));
        assert_ne!(a.name("abc"), b.name("abc"));
        let n = a.name("9f3c1d0e2b");
        assert!(n.starts_with("client-") && n.len() == 19 && !n.contains("9f3c1d0e2b"));
    }
}
