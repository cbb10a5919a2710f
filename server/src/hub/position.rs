//! The composite event id of multi-topic streams (`GET /events?topic=a&topic=b`): one id that says how far the
//! client has got in EVERY topic of its stream, so that one `Last-Event-ID` resumes all of them.
//!
//! # Format
//!
//! `topic:id` pairs joined by `,`, in the order the stream's topics were requested, then `@` and the epoch (see
//! [`super::epoch`]), e.g. `temperatures:12,random-numbers:40@k3f9x2`. `id` is the sequence number of the last
//! event of that topic the stream has given the client (0: none yet). Topic names cannot contain `:`, `,` or `@`,
//! so the format needs no escaping. Every event of a multi-topic stream carries the whole position (its own topic
//! advanced), so whichever event a client saw last, its id resumes every topic exactly there.
//!
//! Reading one back: a topic of the stream missing from it starts like a new client (its latest event); a topic in
//! it that the stream does not carry is ignored (the client changed its topics); a position of another epoch resets
//! the topics it names with an id other than 0 (reason `restarted`); 0 means "nothing seen yet" in any epoch, and
//! a position without an epoch is accepted when every id in it is 0 (`a:0,b:0`: the whole history of each); a value
//! that is not such a list at all is invalid for every topic (each gets `event: reset`, reason `invalid`).

use std::collections::HashMap;

use super::epoch::{self, Epoch};
use super::history::LastEventId;
use super::name::TopicName;

/// Formats positions in `epoch` as a composite id: `a:3,b:0@k3f9x2`.
pub(crate) fn format<'a>(positions: impl IntoIterator<Item = (&'a str, u64)>, epoch: &Epoch) -> String {
    let mut out = String::new();
    for (topic, id) in positions {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(topic);
        out.push(':');
        out.push_str(&id.to_string());
    }
    out.push(epoch::SEPARATOR);
    out.push_str(epoch.name());
    out
}

/// Where a client resumes in each of `topics`, read in `epoch` from the composite id it sent (`None`: it sent
/// none).
pub(crate) fn resume_points(value: Option<&str>, topics: &[TopicName], epoch: &Epoch) -> Vec<LastEventId> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let Some(value) = value else { return vec![LastEventId::Absent; topics.len()] };
    let invalid = || vec![LastEventId::Invalid(value.to_owned()); topics.len()];
    let (list, name) = epoch::split(value);
    let Some(ids) = parse(list) else { return invalid() };
    let each = |at: &dyn Fn(u64) -> LastEventId| {
        topics.iter().map(|t| ids.get(t.as_str()).map_or(LastEventId::Absent, |&id| at(id))).collect()
    };
    match name {
        Some(name) if name == epoch.name() => each(&LastEventId::Id),
        Some(name) if Epoch::is_valid(name) => each(&|id| match id {
            0 => LastEventId::Id(0),
            _ => LastEventId::Restarted(value.to_owned()),
        }),
        None if ids.values().all(|&id| id == 0) => each(&LastEventId::Id),
        _ => invalid(),
    }
}

/// Parses `a:3,b:0` into a map; `None` when anything in it is malformed (a bad name, a non-decimal id, a topic
/// twice).
fn parse(value: &str) -> Option<HashMap<&str, u64>> {
    let mut ids = HashMap::new();
    for pair in value.split(',') {
        let (topic, id) = pair.rsplit_once(':')?;
        TopicName::parse(topic).ok()?;
        let LastEventId::Id(id) = LastEventId::parse(id) else { return None };
        if ids.insert(topic, id).is_some() {
            return None;
        }
    }
    Some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(names: &[&str]) -> Vec<TopicName> {
        names.iter().map(|n| TopicName::parse(n).unwrap()).collect()
    }

    fn e() -> Epoch {
        Epoch::first("e").unwrap()
    }

    #[test]
    fn format_lists_topics_in_order_then_the_epoch() {
        assert_eq!(format([("b", 3), ("a/x", 0)], &e()), "b:3,a/x:0@e");
    }

    #[test]
    fn a_formatted_position_reads_back() {
        let ts = topics(&["a", "b/c"]);
        let id = format([("a", 7), ("b/c", 0)], &e());
        assert_eq!(resume_points(Some(&id), &ts, &e()), [LastEventId::Id(7), LastEventId::Id(0)]);
    }

    #[test]
    fn missing_topics_start_new_and_extra_ones_are_ignored() {
        let ts = topics(&["a", "b"]);
        assert_eq!(resume_points(Some("b:4,z:9@e"), &ts, &e()), [LastEventId::Absent, LastEventId::Id(4)]);
        assert_eq!(resume_points(None, &ts, &e()), [LastEventId::Absent, LastEventId::Absent]);
        assert_eq!(resume_points(Some(" "), &ts, &e()), [LastEventId::Absent, LastEventId::Absent]);
    }

    #[test]
    fn another_epoch_restarts_the_topics_it_names_and_zeros_need_none() {
        let ts = topics(&["a", "b"]);
        let restarted = LastEventId::Restarted("a:4,b:0@old".to_owned());
        assert_eq!(resume_points(Some("a:4,b:0@old"), &ts, &e()), [restarted, LastEventId::Id(0)]);
        assert_eq!(resume_points(Some("a:0,b:0"), &ts, &e()), [LastEventId::Id(0), LastEventId::Id(0)]);
    }

    #[test]
    fn malformed_ids_are_invalid_for_every_topic() {
        let ts = topics(&["a", "b"]);
        let bad_ones = [
            "5",
            "a:x@e",
            "a:-1@e",
            "a:1,a:2@e",
            "a 1@e",
            "a:1,@e",
            ":1@e",
            "a:1;b:2@e",
            "bad name:1@e",
            "a:1",
            "a:1@E",
        ];
        for bad in bad_ones {
            let invalid = LastEventId::Invalid(bad.trim().to_owned());
            assert_eq!(resume_points(Some(bad), &ts, &e()), [invalid.clone(), invalid], "{bad:?}");
        }
    }
}
