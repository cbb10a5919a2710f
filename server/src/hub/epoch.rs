//! What an event id belongs to: one run of the server (topics in this process) or one life of its Redis
//! (`--redis-url`), so that an id from another run is recognised instead of matching the new run's events.
//!
//! # The id format
//!
//! An event id is `<sequence>@<epoch>`, e.g. `41@k3f9x2`: the topic's sequence number (1 for its first event, then
//! one more per event) and the epoch, a short name of `[0-9a-z]`. Without Redis the epoch is drawn at random when
//! the process starts; with Redis it is stored in Redis (`SET sse-live:epoch <random> NX`, read back by every
//! instance after every (re)connection), so every instance shares it, and a Redis that comes back empty gets a new
//! one. Multi-topic positions carry it once at the end: `a:12,b:40@k3f9x2` (see [`super::position`]).
//!
//! Clients treat ids as opaque strings: they only send the last one back (`Last-Event-ID` or `?lastEventId=`).
//! One id needs no epoch: `0` (or `a:0,b:0`) means "nothing seen yet: send your whole history", whatever the run.
//! An id with another epoch gets `event: reset` with reason `restarted`, then the whole history.

use std::fmt;
use std::sync::Arc;

use rand::Rng;

/// The separator between the sequence (or multi-topic position) and the epoch.
pub(crate) const SEPARATOR: char = '@';
/// The length of a random epoch: 36⁶ (about 2 × 10⁹) names, so two runs share one with negligible odds.
pub(crate) const RANDOM_LEN: usize = 6;
/// The longest epoch name accepted (from Redis, or in a client's id).
pub(crate) const MAX_LEN: usize = 16;

/// One epoch: its name, and a generation number local to this process that orders the epochs it has been through
/// (0 for the first; a Redis that comes back empty makes the next), so a stream can tell an old event from a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Epoch {
    generation: u64,
    name: Arc<str>,
}

impl Epoch {
    /// A random epoch name (see [`RANDOM_LEN`]).
    pub(crate) fn random_name() -> String {
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut rng = rand::rng();
        (0..RANDOM_LEN).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
    }

    /// The first epoch of this process, named `name` (`None` when it is not a valid name, see [`Epoch::is_valid`]).
    #[cfg(test)]
    pub(crate) fn first(name: &str) -> Option<Self> {
        Self::is_valid(name).then(|| Self { generation: 0, name: Arc::from(name) })
    }

    /// A random first epoch.
    pub(crate) fn random() -> Self {
        Self { generation: 0, name: Arc::from(Self::random_name()) }
    }

    /// The epoch after this one, named `name` (`None` when it is not a valid name).
    pub(crate) fn next(&self, name: &str) -> Option<Self> {
        Self::is_valid(name).then(|| Self { generation: self.generation + 1, name: Arc::from(name) })
    }

    /// Whether `name` can be an epoch: 1 to [`MAX_LEN`] of `[0-9a-z]`.
    pub(crate) fn is_valid(name: &str) -> bool {
        (1..=MAX_LEN).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    }

    /// The name, as it appears in ids.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The generation in this process (see the type's docs).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The id of event `sequence` of a topic: `41@k3f9x2`.
    pub(crate) fn id(&self, sequence: u64) -> String {
        format!("{sequence}{SEPARATOR}{}", self.name)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Splits a client's id into what comes before the epoch and the epoch (`None` when it has no [`SEPARATOR`]).
pub(crate) fn split(value: &str) -> (&str, Option<&str>) {
    match value.rsplit_once(SEPARATOR) {
        Some((head, epoch)) => (head, Some(epoch)),
        None => (value, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_epochs_are_short_valid_and_differ() {
        let (a, b) = (Epoch::random(), Epoch::random());
        assert_eq!(a.name().len(), RANDOM_LEN);
        assert!(Epoch::is_valid(a.name()), "{a}");
        assert_ne!(a, b, "36^6 names: a repeat would be a broken random source");
    }

    #[test]
    fn ids_are_the_sequence_at_the_epoch() {
        let epoch = Epoch::first("k3f9x2").unwrap();
        assert_eq!(epoch.id(41), "41@k3f9x2");
        assert_eq!(split("41@k3f9x2"), ("41", Some("k3f9x2")));
        assert_eq!(split("a:1,b:2@e"), ("a:1,b:2", Some("e")));
        assert_eq!(split("0"), ("0", None));
    }

    #[test]
    fn names_are_checked_and_generations_count_up() {
        for bad in ["", "UPPER", "a-b", "a@b", "12345678901234567"] {
            assert_eq!(Epoch::first(bad), None, "{bad:?}");
        }
        let first = Epoch::first("a").unwrap();
        let next = first.next("b").unwrap();
        assert_eq!((first.generation(), next.generation(), next.name()), (0, 1, "b"));
    }
}
