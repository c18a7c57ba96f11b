//! Key order prediction for the fast path: the lines of one log come from one
//! producer and name their keys in the same order, so the `n`-th key of a line is most
//! likely the `n`-th key of the line before. The fast path checks that guess with one
//! masked 16-byte compare and, when it holds, takes the remembered [`Field`] instead of
//! finding the key's closing quote and looking its name up.
//!
//! A guess is only ever confirmed by the line's own bytes (`"` + the key + `"`), so a
//! wrong or stale guess costs the compare and nothing else: the result is the same
//! with or without this file. Keys longer than 16 bytes are not remembered.

use crate::raw::Field;
use std::cell::RefCell;

/// How many leading keys of a line are remembered.
const KEYS: usize = 16;

/// One remembered key: its bytes (little-endian, zero-padded), their mask, its length
/// (0: none remembered) and its field.
#[derive(Clone, Copy)]
struct Key {
    bytes: u128,
    mask: u128,
    len: u8,
    field: Field,
}

const NONE: Key = Key {
    bytes: 0,
    mask: 0,
    len: 0,
    field: Field::Other,
};

/// The keys of the last line scanned, by position.
pub(crate) struct KeyOrder {
    keys: [Key; KEYS],
}

thread_local! {
    /// One per thread: each of the audit's threads reads its own part of a log.
    static ORDER: RefCell<KeyOrder> = const { RefCell::new(KeyOrder { keys: [NONE; KEYS] }) };
}

impl KeyOrder {
    /// Runs `f` with this thread's key order.
    #[inline(always)]
    pub(crate) fn with<R>(f: impl FnOnce(&mut KeyOrder) -> R) -> R {
        ORDER.with_borrow_mut(f)
    }

    /// If the key at `i` (its opening quote) of `b` is the one remembered at position
    /// `n`: its field and the index after its closing quote.
    #[inline(always)]
    pub(crate) fn guess(&self, n: usize, b: &[u8], i: usize) -> Option<(Field, usize)> {
        let k = self.keys.get(n)?;
        let len = usize::from(k.len);
        let word: [u8; 16] = b.get(i + 1..i + 17)?.try_into().ok()?;
        let end = i + 1 + len;
        // `len > 0` and the quote at `end`: the key is exactly the remembered bytes.
        (len > 0
            && (u128::from_le_bytes(word) ^ k.bytes) & k.mask == 0
            && b.get(i) == Some(&b'"')
            && b.get(end) == Some(&b'"'))
        .then_some((k.field, end + 1))
    }

    /// Remembers `key` (found by name) as the key at position `n`.
    #[inline]
    pub(crate) fn learn(&mut self, n: usize, key: &str, field: Field) {
        let Some(slot) = self.keys.get_mut(n) else {
            return;
        };
        let len = key.len();
        *slot = if (1..=16).contains(&len) {
            let mut bytes = [0u8; 16];
            bytes[..len].copy_from_slice(key.as_bytes());
            Key {
                bytes: u128::from_le_bytes(bytes),
                mask: u128::MAX >> (128 - 8 * len),
                len: len as u8,
                field,
            }
        } else {
            NONE
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> KeyOrder {
        KeyOrder { keys: [NONE; KEYS] }
    }

    #[test]
    fn a_guess_holds_only_for_the_exact_key() {
        let mut o = order();
        o.learn(0, "status", Field::Status);
        o.learn(1, "client_id", Field::ClientId);
        o.learn(2, "a_key_of_17_bytes", Field::Other);
        let pad = "                ";
        let line = format!(r#"{{"status":200,"client_id":"c","a_key_of_17_bytes":1}}{pad}"#);
        let b = line.as_bytes();
        assert_eq!(o.guess(0, b, 1), Some((Field::Status, 9)));
        let at = line.find(r#""client_id""#).unwrap();
        assert_eq!(o.guess(1, b, at), Some((Field::ClientId, at + 11)));
        // Another key, a longer key with the same start, a shorter one, a position
        // never learnt and a key too long to remember: no guess.
        assert_eq!(o.guess(1, b, 1), None);
        for other in [r#"{"statuses":1}"#, r#"{"statu":1}"#] {
            let l = format!("{other}{pad}");
            assert_eq!(o.guess(0, l.as_bytes(), 1), None, "{other}");
        }
        assert_eq!(o.guess(3, b, 1), None);
        let at = line.find(r#""a_key"#).unwrap();
        assert_eq!(o.guess(2, b, at), None);
        // Too close to the end of the line to load 16 bytes: no guess either.
        assert_eq!(o.guess(0, br#"{"status":1}"#, 1), None);
    }

    #[test]
    fn sixteen_byte_keys_are_remembered_whole() {
        let mut o = order();
        o.learn(0, "sixteen_bytes_ok", Field::Message);
        let l = br#"{"sixteen_bytes_ok":"x","more":"padding padding"}"#;
        assert_eq!(o.guess(0, l, 1), Some((Field::Message, 19)));
        let l = br#"{"sixteen_bytes_oK":"x","more":"padding padding"}"#;
        assert_eq!(o.guess(0, l, 1), None);
    }
}
