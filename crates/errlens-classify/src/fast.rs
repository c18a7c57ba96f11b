//! The tables behind [`Registry::classify`](crate::Registry::classify), built from the
//! definitions when a registry is loaded: one [`Lane`] per provider (the unknown one
//! included).
//!
//! A lane holds, per HTTP status, the verdict of a record with nothing else to go by
//! (the plain verdicts), and per error row the verdict the row decides. Both are made
//! by calling [`Registry::judge`] at load time, so the classifier only picks one and
//! patches what the record adds: a success flag saying false, an echoed status that
//! disagrees, a code or message row met under another status than its own. Error ids
//! and messages are found in a small open-addressing table keyed by the text's length
//! and its first, middle and last eight bytes — for texts up to 24 bytes, the whole
//! text, so the hot path compares no strings.
//!
//! Building the lanes of the built-in providers plus `providers/*.toml` costs about
//! 155,000 instructions, 130,000 of them for the plain verdicts (one `judge` per
//! status and lane); the error rows' verdicts, the code index and the text tables add
//! about 24,000 (callgrind, `errlens report`).

use crate::classify::{Envelope, ErrorLabel, Verdict};
use crate::def::{ErrorKey, ErrorsBy, Provider};
use crate::registry::Registry;
use crate::tables::{Class, RetryPolicy};
use errlens_parse::{ProviderId, Record, StatusSource};

/// Statuses the plain verdicts cover (a record's status is 100–599).
const PLAIN_STATUSES: usize = 600;

/// Own codes below this are found by index in a lane; others ask the provider.
const CODE_INDEX: i64 = 1024;

/// One provider's classification tables.
#[derive(Debug, Clone)]
pub(crate) struct Lane {
    /// What error rows are matched against.
    by: ErrorsBy,
    /// A false success flag with no failure row is a failure.
    false_is_failure: bool,
    /// The body echoes the HTTP status: a different one is a mismatch.
    echoes_status: bool,
    /// A 429 blocks POSTs.
    blocks_posts: bool,
    /// Error rows are matched by id or message.
    by_text: bool,
    /// Error rows are matched by own code.
    by_code: bool,
    /// The verdict of each status 0..600 with no error, own code or success flag.
    plain: Box<[Verdict]>,
    /// Per error row, its verdict under the row's status (for an id row, the status it
    /// matches with; for a code or message row, patched to the record's status).
    rows: Box<[RowVerdict]>,
    /// Row + 1 by own code, for codes up to the largest the provider lists below
    /// [`CODE_INDEX`]; 0: no row.
    codes: Box<[u32]>,
    /// Error ids or messages.
    texts: TextTable,
}

/// A row verdict and the status the row comes with.
#[derive(Debug, Clone, Copy)]
struct RowVerdict {
    verdict: Verdict,
    /// The row's status (0: none).
    status: u16,
}

impl Lane {
    /// The lanes of a registry: its providers', then the unknown provider's, by index.
    pub(crate) fn build(reg: &Registry) -> Vec<Lane> {
        (0..=reg.providers().len())
            .map(|i| {
                let id = ProviderId::new(u8::try_from(i).expect("at most 255 providers"));
                Lane::of(reg, id)
            })
            .collect()
    }

    fn of(reg: &Registry, id: ProviderId) -> Lane {
        let plain = (0..PLAIN_STATUSES as u16)
            .map(|status| reg.judge(id, status, Envelope::default()))
            .collect();
        let Some(p) = reg.get(id) else {
            return Lane {
                by: ErrorsBy::None,
                false_is_failure: false,
                echoes_status: false,
                blocks_posts: false,
                by_text: false,
                by_code: false,
                plain,
                rows: Box::new([]),
                codes: Box::new([]),
                texts: TextTable::default(),
            };
        };
        // Each row's verdict, from the envelope that selects it under its own status.
        let rows = p
            .errors
            .iter()
            .map(|row| {
                let status = row.status.unwrap_or(0);
                let env = match &row.key {
                    ErrorKey::Id(t) | ErrorKey::Message(t) => Envelope {
                        error: Some(t),
                        ..Envelope::default()
                    },
                    ErrorKey::Code(c) => Envelope {
                        own_code: Some(*c),
                        ..Envelope::default()
                    },
                };
                RowVerdict {
                    verdict: reg.judge(id, status, env),
                    status,
                }
            })
            .collect();
        let mut codes = Vec::new();
        for (i, row) in p.errors.iter().enumerate() {
            if let ErrorKey::Code(c) = row.key {
                if (0..CODE_INDEX).contains(&c) {
                    let c = c as usize;
                    if codes.len() <= c {
                        codes.resize(c + 1, 0);
                    }
                    codes[c] = u32::try_from(i + 1).expect("at most 65,535 error rows");
                }
            }
        }
        Lane {
            by: p.envelope.errors_by,
            false_is_failure: p.envelope.false_is_failure,
            echoes_status: p.envelope.echoes_status,
            blocks_posts: p.rate_limit.post_after_429_extends_block,
            by_text: matches!(p.envelope.errors_by, ErrorsBy::Id | ErrorsBy::Message),
            by_code: p.envelope.errors_by == ErrorsBy::Code,
            plain,
            rows,
            codes: codes.into(),
            texts: TextTable::of(p),
        }
    }

    /// The plain verdict of `status`, when the table covers it (a record's status is
    /// 100–599).
    #[inline]
    pub(crate) fn plain(&self, status: u16) -> Option<&Verdict> {
        self.plain.get(usize::from(status))
    }

    /// A record's verdict, from the plain verdict of its status.
    #[inline]
    pub(crate) fn classify(&self, reg: &Registry, r: &Record<'_>, plain: &Verdict) -> Verdict {
        let status = r.status;
        // Only the field the provider matches rows by is read, branching on the kind
        // of provider first. On the bench (a log that mixes providers, its records
        // out of L2) another record field costs more than this branch mispredicting:
        // testing the error and the own code of every record first measured 1 ns a
        // record slower, and choosing a code's verdict with selects instead of
        // branches 1 ns slower again (the verdict load then waits for the record).
        let mut v = if self.by_code {
            match r.tmdb_code {
                None => *plain,
                Some(c) => self.by_code(reg, r.provider, plain, status, c),
            }
        } else if self.by_text {
            match r.error.as_deref() {
                None => *plain,
                Some(e) => self.by_text(plain, status, e),
            }
        } else {
            *plain
        };
        // A body that says it failed, with nothing else to go by. The provider's flag
        // is tested first: a success flag is there on some records and not others.
        if self.false_is_failure && r.success == Some(false) && !v.failure {
            v.failure = true;
            v.class = Class::Unknown;
            v.retry = RetryPolicy::Never;
            v.hidden_failure = status < 400;
        }
        // An echoed status that disagrees with the logged one.
        v.status_mismatch |= self.echoes_status
            & (r.status_source == StatusSource::Status)
            & r.code.is_some_and(|c| c != i64::from(status));
        v
    }

    /// An error id or message.
    #[inline]
    fn by_text(&self, plain: &Verdict, status: u16, e: &str) -> Verdict {
        match self.texts.get(e) {
            // Most ids have one row: its status is checked before looking further.
            Some(s) if s.status == status => self.rows[usize::from(s.first)].verdict,
            Some(s) if self.by == ErrorsBy::Message => self.row(usize::from(s.first), status),
            Some(s) => self.other_id_row(plain, status, s),
            None if self.by == ErrorsBy::Message => unmatched(plain),
            None => {
                let mut v = *plain;
                v.error = ErrorLabel::Other;
                v
            }
        }
    }

    /// A known error id under a status other than its first row's: the row listing
    /// it under this status, else the status verdict labelled with the id's first row.
    fn other_id_row(&self, plain: &Verdict, status: u16, s: &TextSlot) -> Verdict {
        if s.more != 0 {
            if let Some(&(_, i)) = self.texts.more[s.more as usize - 1..]
                .iter()
                .take_while(|(st, _)| *st != 0)
                .find(|(st, _)| *st == status)
            {
                return self.rows[usize::from(i)].verdict;
            }
        }
        let mut v = *plain;
        v.error = ErrorLabel::Known(s.first);
        v
    }

    /// An own code: its row, else the status verdict marked as outside the table.
    #[inline]
    fn by_code(
        &self,
        reg: &Registry,
        provider: ProviderId,
        plain: &Verdict,
        status: u16,
        c: i64,
    ) -> Verdict {
        let i = match usize::try_from(c).ok().and_then(|c| self.codes.get(c)) {
            Some(&i) => (i as usize).checked_sub(1),
            None => far_code(reg, provider, c),
        };
        match i {
            Some(i) => self.row(i, status),
            None => unmatched(plain),
        }
    }

    /// Row `i`'s verdict (a code or message row) under the record's status.
    #[inline]
    fn row(&self, i: usize, status: u16) -> Verdict {
        let r = &self.rows[i];
        let mut v = r.verdict;
        if r.status != status {
            v.status = status;
            v.status_mismatch = r.status != 0;
            v.blocks_posts = status == 429 && self.blocks_posts;
            v.hidden_failure = v.failure && status < 400;
        }
        v
    }
}

/// A code or message no row lists: the status verdict, labelled `other` and marked as
/// outside the provider's table.
#[inline]
fn unmatched(plain: &Verdict) -> Verdict {
    let mut v = *plain;
    v.error = ErrorLabel::Other;
    v.in_table = false;
    v
}

/// The row of an own code outside a lane's index (negative, or above the largest the
/// provider lists below [`CODE_INDEX`]).
#[cold]
fn far_code(reg: &Registry, provider: ProviderId, c: i64) -> Option<usize> {
    reg.get(provider)?.row_by_code(c).map(|(i, _)| i)
}

/// Error ids or messages by text: open addressing with linear probing, at most half
/// full.
#[derive(Debug, Clone)]
struct TextTable {
    /// A power of two long (one empty slot for a provider without texts).
    slots: Box<[TextSlot]>,
    /// Each slot's text, for texts longer than [`WORDS_COVER`] (empty otherwise).
    long: Box<[Box<str>]>,
    /// Further `(status, row)` pairs of ids listed under several statuses, each list
    /// ended by a `(0, 0)`.
    more: Box<[(u16, u16)]>,
}

impl Default for TextTable {
    fn default() -> TextTable {
        TextTable {
            slots: Box::new([TextSlot::EMPTY]),
            long: Box::new([Box::from("")]),
            more: Box::new([]),
        }
    }
}

/// One text: its key, its first row (the label), and the rows it decides by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TextSlot {
    /// The first eight bytes (see [`words`]).
    a: u64,
    /// The middle eight bytes.
    m: u64,
    /// The last eight bytes.
    b: u64,
    /// The text's length; `u32::MAX` for an empty slot.
    len: u32,
    /// The text's first row.
    first: u16,
    /// The status of the first row (an id's match; 0 for none).
    status: u16,
    /// 1 + where the text's further rows start in [`TextTable::more`] (0: none).
    more: u32,
}

impl TextSlot {
    const EMPTY: TextSlot = TextSlot {
        a: 0,
        m: 0,
        b: 0,
        len: u32::MAX,
        first: 0,
        status: 0,
        more: 0,
    };
}

impl TextTable {
    fn of(p: &Provider) -> TextTable {
        let mut texts: Vec<(&str, &[u16])> = Vec::new();
        for (i, row) in p.errors.iter().enumerate() {
            if let ErrorKey::Id(t) | ErrorKey::Message(t) = &row.key {
                let rows = p.rows_by_text(t);
                if usize::from(rows[0]) == i {
                    texts.push((t, rows));
                }
            }
        }
        let size = (texts.len() * 2).next_power_of_two();
        let mut slots = vec![TextSlot::EMPTY; size];
        let mut long: Vec<Box<str>> = vec![Box::from(""); size];
        let mut more = Vec::new();
        let status = |i: u16| p.errors[usize::from(i)].status.unwrap_or(0);
        for (t, rows) in texts {
            let (a, m, b) = words(t.as_bytes());
            let mut k = slot(t.len(), a, b, size - 1);
            while slots[k].len != u32::MAX {
                k = (k + 1) & (size - 1);
            }
            let more_at = if rows.len() > 1 {
                let at = more.len();
                more.extend(rows[1..].iter().map(|&i| (status(i), i)));
                more.push((0, 0));
                u32::try_from(at + 1).expect("at most 65,535 error rows")
            } else {
                0
            };
            slots[k] = TextSlot {
                a,
                m,
                b,
                len: u32::try_from(t.len()).expect("a definition's text fits in memory"),
                first: rows[0],
                status: status(rows[0]),
                more: more_at,
            };
            if t.len() > WORDS_COVER {
                long[k] = t.into();
            }
        }
        TextTable {
            slots: slots.into(),
            long: long.into(),
            more: more.into(),
        }
    }

    /// The slot of `text`.
    #[inline]
    fn get(&self, text: &str) -> Option<&TextSlot> {
        let t = text.as_bytes();
        let (a, m, b) = words(t);
        let mask = self.slots.len() - 1;
        let mut k = slot(t.len(), a, b, mask);
        loop {
            let s = &self.slots[k];
            // Up to 24 bytes, length and words are the whole text.
            if s.len as usize == t.len()
                && s.a == a
                && s.b == b
                && s.m == m
                && (t.len() <= WORDS_COVER || *self.long[k] == *text)
            {
                return Some(s);
            }
            if s.len == u32::MAX {
                return None;
            }
            k = (k + 1) & mask;
        }
    }
}

/// The longest text [`words`] covers whole.
const WORDS_COVER: usize = 24;

/// Three words of a text — its first, middle and last eight bytes (overlapping; zero
/// for the middle up to 16 bytes; four and four bytes below eight, and the first,
/// middle and last byte below four) — that with its length are the whole text when it
/// is at most [`WORDS_COVER`] bytes long.
#[inline]
fn words(t: &[u8]) -> (u64, u64, u64) {
    let n = t.len();
    if n >= 8 {
        let word = |at: usize| u64::from_le_bytes(t[at..at + 8].try_into().expect("8 bytes"));
        // The middle word is read whatever the length (it is in bounds from 8 bytes
        // on) and kept above 16: a select, not a branch.
        let m = word(n / 2 - 4);
        (word(0), if n > 16 { m } else { 0 }, word(n - 8))
    } else if n >= 4 {
        let a = u32::from_le_bytes(t[..4].try_into().expect("4 bytes"));
        let b = u32::from_le_bytes(t[n - 4..].try_into().expect("4 bytes"));
        (u64::from(a), 0, u64::from(b))
    } else if n > 0 {
        let a = u64::from(t[0]) | u64::from(t[n / 2]) << 8 | u64::from(t[n - 1]) << 16;
        (a, 0, 0)
    } else {
        (0, 0, 0)
    }
}

/// The home slot of a text.
#[inline]
fn slot(len: usize, a: u64, b: u64, mask: usize) -> usize {
    let h = (a ^ b.rotate_left(31) ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 40) as usize & mask
}
