//! Key order prediction for the fast path: the lines of one log come from one
//! producer and name their keys in the same order, so the `n`-th key of a line is most
//! likely the `n`-th key of the line before. The fast path checks that guess with one
//! masked 16-byte compare of `"key":` and, when it holds, takes the remembered
//! [`Field`] and goes on at the value, instead of finding the key's closing quote,
//! looking its name up and checking the colon.
//!
//! A guess is only ever confirmed by the line's own bytes (`"`, the key, `"` and `:`),
//! so a wrong or stale guess costs the compare and nothing else: the result is the same
//! with or without this file. `"key":` is compared in its first 16 bytes and, for keys of
//! 14 to 29 bytes, its last 16 as well; longer keys are not remembered.

use crate::raw::Field;
use std::cell::RefCell;

/// How many leading keys of a line are remembered.
const KEYS: usize = 16;

/// One remembered key: the bytes of `"key":` (little-endian, zero-padded), their
/// mask, their length (0: none remembered) and the key's field.
#[derive(Clone, Copy)]
struct Key {
    bytes: u128,
    mask: u128,
    /// The last 16 bytes of `"key":` when it is longer than 16.
    tail: u128,
    len: u8,
    field: Field,
}

const NONE: Key = Key {
    bytes: 0,
    mask: 0,
    tail: 0,
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

    /// If `b` holds, at `i`, the key remembered at position `n` followed by its colon:
    /// the key's field and the index after the colon.
    #[inline(always)]
    pub(crate) fn guess(&self, n: usize, b: &[u8], i: usize) -> Option<(Field, usize)> {
        let k = self.keys.get(n)?;
        let word = match b.get(i..i + 16) {
            Some(w) => u128::from_le_bytes(w.try_into().ok()?),
            // The end of the line (`"attempt":1}`): its bytes, zero-padded. A padded
            // byte never matches: every key's last byte is its colon.
            None => {
                let rest = b.len().checked_sub(i).filter(|&n| n > 0)?;
                match b.len().checked_sub(16) {
                    // The line's last 16 bytes, shifted down to start at `i` (a copy
                    // of a length known only at run time is a call to `memcpy`).
                    Some(last) => {
                        let w: [u8; 16] = b[last..].try_into().ok()?;
                        u128::from_le_bytes(w) >> (8 * (16 - rest))
                    }
                    None => {
                        let mut w = [0u8; 16];
                        w[..rest].copy_from_slice(&b[i..]);
                        u128::from_le_bytes(w)
                    }
                }
            }
        };
        // An empty slot has mask 0 and length 0: it would match anything.
        if (word ^ k.bytes) & k.mask != 0 || k.len == 0 {
            return None;
        }
        let end = i + usize::from(k.len);
        if k.len > 16 {
            let tail: [u8; 16] = b.get(end - 16..end)?.try_into().ok()?;
            if u128::from_le_bytes(tail) != k.tail {
                return None;
            }
        }
        Some((k.field, end))
    }

    /// Remembers `key` (found by name, and followed by its colon right after the
    /// closing quote) as the key at position `n`.
    #[inline]
    pub(crate) fn learn(&mut self, n: usize, key: &str, field: Field) {
        let Some(slot) = self.keys.get_mut(n) else {
            return;
        };
        let len = key.len() + 3;
        *slot = if len <= 32 {
            let mut bytes = [0u8; 32];
            bytes[0] = b'"';
            bytes[1..len - 2].copy_from_slice(key.as_bytes());
            bytes[len - 2] = b'"';
            bytes[len - 1] = b':';
            let word = |at: usize| u128::from_le_bytes(bytes[at..at + 16].try_into().expect("16"));
            Key {
                bytes: word(0),
                mask: u128::MAX >> (128 - 8 * len.min(16)),
                tail: if len > 16 { word(len - 16) } else { 0 },
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
        o.learn(2, "a_key_of_thirty_bytes_is_long_", Field::Other);
        let pad = "                ";
        let line =
            format!(r#"{{"status":200,"client_id":"c","a_key_of_thirty_bytes_is_long_":1}}{pad}"#);
        let b = line.as_bytes();
        assert_eq!(o.guess(0, b, 1), Some((Field::Status, 10)));
        let at = line.find(r#""client_id""#).unwrap();
        assert_eq!(o.guess(1, b, at), Some((Field::ClientId, at + 12)));
        // Another key, a longer key with the same start, a shorter one, a space before
        // the colon, a position never learnt and a key too long to remember: no guess.
        assert_eq!(o.guess(1, b, 1), None);
        for other in [r#"{"statuses":1}"#, r#"{"statu":1}"#, r#"{"status" :1}"#] {
            let l = format!("{other}{pad}");
            assert_eq!(o.guess(0, l.as_bytes(), 1), None, "{other}");
        }
        assert_eq!(o.guess(3, b, 1), None);
        let at = line.find(r#""a_key"#).unwrap();
        assert_eq!(o.guess(2, b, at), None);
    }

    /// The last key of a line, with fewer than 16 bytes left: guessed from the bytes
    /// there are, never from past the end.
    #[test]
    fn keys_at_the_end_of_a_line() {
        let mut o = order();
        o.learn(0, "status", Field::Status);
        o.learn(1, "code", Field::Code);
        assert_eq!(o.guess(0, br#"{"status":1}"#, 1), Some((Field::Status, 10)));
        assert_eq!(o.guess(0, br#"{"status":"#, 1), Some((Field::Status, 10)));
        for short in [
            &br#"{"status""#[..],
            br#"{"status"#,
            br#"{"statu"#,
            b"{",
            b"",
        ] {
            assert_eq!(o.guess(0, short, 1), None, "{short:?}");
        }
        assert_eq!(o.guess(1, br#","code":5}"#, 1), Some((Field::Code, 8)));
        assert_eq!(o.guess(1, br#","code"}"#, 1), None);
        assert_eq!(o.guess(1, br#","cod":5}"#, 1), None);
    }

    /// In a line of 16 bytes or more, a key among its last 16 bytes is read from the
    /// line's last word: found where it is whole, never where the line ends inside it,
    /// whatever precedes it.
    #[test]
    fn keys_in_the_last_word_of_a_long_line() {
        let mut o = order();
        o.learn(0, "code", Field::Code);
        for lead in 9..30 {
            let head = format!(r#"{{"{}":1"#, "k".repeat(lead - 5));
            assert_eq!(head.len(), lead);
            for tail in [
                r#","code":5}"#,
                r#","code":"#,
                r#","code""#,
                r#","code"#,
                ",",
                "",
            ] {
                let line = format!("{head}{tail}");
                let b = line.as_bytes();
                let want = tail
                    .starts_with(r#","code":"#)
                    .then_some((Field::Code, lead + 8));
                assert_eq!(o.guess(0, b, lead + 1), want, "{line}");
                // A position past the end guesses nothing.
                assert_eq!(o.guess(0, b, b.len()), None, "{line}");
                assert_eq!(o.guess(0, b, b.len() + 1), None, "{line}");
            }
        }
    }

    /// Keys of 14 to 29 bytes are compared in two overlapping words: a change anywhere
    /// in them is seen.
    #[test]
    fn long_keys_are_compared_whole() {
        let key = "status_message_and_more_bytes";
        assert_eq!(key.len(), 29);
        for len in [14, 15, 20, 29] {
            let k = &key[..len];
            let mut o = order();
            o.learn(0, k, Field::StatusMessage);
            let line = format!(r#"{{"{k}":"x"}}"#);
            assert_eq!(
                o.guess(0, line.as_bytes(), 1),
                Some((Field::StatusMessage, len + 4)),
                "{k}"
            );
            for at in 0..len {
                let mut changed = line.clone().into_bytes();
                changed[2 + at] ^= 0x20;
                assert_eq!(o.guess(0, &changed, 1), None, "{k} changed at {at}");
            }
            let longer = format!(r#"{{"{k}x":"x"}}"#);
            assert_eq!(o.guess(0, longer.as_bytes(), 1), None, "{k}x");
        }
        let mut o = order();
        o.learn(0, "a_key_of_thirty_bytes_is_long_", Field::Message);
        assert_eq!(
            o.guess(0, br#"{"a_key_of_thirty_bytes_is_long_":1}"#, 1),
            None
        );
    }

    #[test]
    fn thirteen_byte_keys_are_remembered_whole() {
        let mut o = order();
        o.learn(0, "thirteen_byte", Field::Message);
        let l = br#"{"thirteen_byte":"x","more":"padding padding"}"#;
        assert_eq!(o.guess(0, l, 1), Some((Field::Message, 17)));
        let l = br#"{"thirteen_bytE":"x","more":"padding padding"}"#;
        assert_eq!(o.guess(0, l, 1), None);
    }
}
