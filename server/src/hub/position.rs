//! The composite event id of multi-topic streams (`GET /events?topic=a&topic=b`): one id that says how far the
//! client has got in EVERY topic of its stream, so that one `Last-Event-ID` resumes all of them.
//!
//! # Format
//!
//! `topic:id` pairs joined by `,`, in the order the stream's topics were requested, e.g.
//! `temperatures:12,random-numbers:40`. `id` is the last event of that topic the stream has given the client (0:
//! none yet). Topic names cannot contain `:` or `,`, so the format needs no escaping. Every event of a multi-topic
//! stream carries the whole position (its own topic advanced), so whichever event a client saw last, its id resumes
//! every topic exactly there.
//!
//! Reading one back: a topic of the stream missing from it starts like a new client (its latest event); a topic in
//! it that the stream does not carry is ignored (the client changed its topics); a value that is not such a list at
//! all is invalid for every topic (each gets `event: reset`, reason `invalid`).

use std::collections::HashMap;

use super::history::LastEventId;
use super::name::TopicName;

/// Formats positions as a composite id: `a:3,b:0`.
pub fn format<'a>(positions: impl IntoIterator<Item = (&'a str, u64)>) -> String {
    let mut out = String::new();
    for (topic, id) in positions {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(topic);
        out.push(':');
        out.push_str(&id.to_string());
    }
    out
}

/// Where a client resumes in each of `topics`, read from the composite id it sent (`None`: it sent none).
pub fn resume_points(value: Option<&str>, topics: &[TopicName]) -> Vec<LastEventId> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let Some(value) = value else { return vec![LastEventId::Absent; topics.len()] };
    match parse(value) {
        Some(ids) => {
            topics.iter().map(|t| ids.get(t.as_str()).map_or(LastEventId::Absent, |&id| LastEventId::Id(id))).collect()
        }
        None => vec![LastEventId::Invalid(value.to_owned()); topics.len()],
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

    #[test]
    fn format_lists_topics_in_order() {
        assert_eq!(format([("b", 3), ("a/x", 0)]), "b:3,a/x:0");
        assert_eq!(format([]), "");
    }

    #[test]
    fn a_formatted_position_reads_back() {
        let ts = topics(&["a", "b/c"]);
        let id = format([("a", 7), ("b/c", 0)]);
        assert_eq!(resume_points(Some(&id), &ts), [LastEventId::Id(7), LastEventId::Id(0)]);
    }

    #[test]
    fn missing_topics_start_new_and_extra_ones_are_ignored() {
        let ts = topics(&["a", "b"]);
        assert_eq!(resume_points(Some("b:4,z:9"), &ts), [LastEventId::Absent, LastEventId::Id(4)]);
        assert_eq!(resume_points(None, &ts), [LastEventId::Absent, LastEventId::Absent]);
        assert_eq!(resume_points(Some(" "), &ts), [LastEventId::Absent, LastEventId::Absent]);
    }

    #[test]
    fn malformed_ids_are_invalid_for_every_topic() {
        let ts = topics(&["a", "b"]);
        for bad in ["5", "a:x", "a:-1", "a:1,a:2", "a 1", "a:1,", ":1", "a:1;b:2", "bad name:1"] {
            let invalid = LastEventId::Invalid(bad.trim().to_owned());
            assert_eq!(resume_points(Some(bad), &ts), [invalid.clone(), invalid], "{bad:?}");
        }
    }
}
