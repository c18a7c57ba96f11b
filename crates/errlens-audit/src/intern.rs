//! A bounded string interner for raw values (error ids) seen in logs.
//!
//! Looking a `&str` up never allocates; a new string is copied once. The number of
//! distinct strings is capped so that a log full of garbage ids cannot grow memory
//! without bound: past the cap every new string maps to [`Interner::OVERFLOW`].

use rustc_hash::FxHashMap as HashMap;

/// Interned strings with a cap on how many distinct ones are kept.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// Distinct strings kept before new ones fold into [`Interner::OVERFLOW`].
    pub(crate) const CAP: usize = 100_000;
    /// The id every string past the cap gets.
    pub(crate) const OVERFLOW: u32 = u32::MAX;
    /// How [`Interner::OVERFLOW`] is rendered.
    pub(crate) const OVERFLOW_NAME: &'static str = "<other>";

    /// The id of `s`, interning it if it is new and there is room.
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        if self.names.len() >= Self::CAP {
            return Self::OVERFLOW;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// The string behind `id`.
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names
            .get(id as usize)
            .map_or(Self::OVERFLOW_NAME, |s| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_and_caps() {
        let mut i = Interner::default();
        let a = i.intern("a");
        assert_eq!(i.intern("a"), a);
        assert_eq!(i.name(a), "a");
        for n in 0..Interner::CAP {
            i.intern(&n.to_string());
        }
        assert_eq!(i.intern("one-too-many"), Interner::OVERFLOW);
        assert_eq!(i.name(Interner::OVERFLOW), "<other>");
    }
}
