//! One connection's frames over one or several topics: `reset` notices, the replay, then live events, without gap
//! or duplicate; and how it ends when the client falls behind.
//!
//! The feed keeps the client's position in each topic (the id of the last event it was given). Live events at or
//! below it are duplicates of the replay and are skipped. When a topic's live queue overtakes the client (more
//! than `--client-buffer` events behind), the feed sends `event: reset` with reason `lagged` and the id to resume
//! from, and ends: the client reconnects with that id and gets the rest from the history.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, SelectAll, Stream, StreamExt};
use sse_live_protocol::wire::{Reset, ResetReason, RESET_EVENT};
use sse_live_protocol::EventBuilder;
use tokio::sync::broadcast::error::RecvError;

use super::history::StoredEvent;
use super::{position, Subscription};
use crate::metrics::Metrics;

/// How a feed writes its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One topic (`/events/{topic}`): plain `message` events with the topic's own ids (`id: 41`).
    Single,
    /// Several topics (`/events?topic=a&topic=b`): `event: <topic>`, and a composite id ([`position`]).
    Multi,
}

/// The frames for one connection; see the module docs.
#[derive(Debug)]
pub struct Feed {
    layout: Layout,
    subscriptions: Vec<Subscription>,
    metrics: Arc<Metrics>,
}

/// What a live receiver yields: an event, or how many events the client missed.
type Live = (usize, Result<StoredEvent, u64>);

impl Feed {
    /// A feed over `subscriptions` (in the order of their topics in composite ids), counting into `metrics`.
    pub fn new(layout: Layout, subscriptions: Vec<Subscription>, metrics: Arc<Metrics>) -> Self {
        Self { layout, subscriptions, metrics }
    }

    /// The frames, in order: a `reset` per topic that needs one, each topic's replay, then live events until the
    /// client falls behind (a final `reset`, reason `lagged`) or every topic goes away.
    pub fn into_stream(self) -> impl Stream<Item = Bytes> + Send + 'static {
        let Self { layout, subscriptions, metrics } = self;
        let mut writer = Writer {
            layout,
            topics: subscriptions.iter().map(|s| s.topic.as_str().to_owned()).collect(),
            positions: subscriptions.iter().map(|s| s.replay.start()).collect(),
        };
        let mut head = Vec::new();
        for (topic, reason) in subscriptions.iter().filter_map(|s| Some((s.topic.as_str(), s.replay.reset?))) {
            metrics.reset(reason);
            head.extend(writer.reset(topic, reason, false));
        }
        for (index, s) in subscriptions.iter().enumerate() {
            for event in &s.replay.events {
                writer.positions[index] = event.id;
                head.extend(writer.event(index, event));
            }
            metrics.replayed.inc_by(s.replay.events.len() as u64);
            metrics.delivered.inc_by(s.replay.events.len() as u64);
        }
        let lives: SelectAll<BoxStream<'static, Live>> =
            stream::select_all(subscriptions.into_iter().enumerate().map(|(index, s)| live(index, s)));
        let state = (lives, writer, metrics, false);
        let live = stream::unfold(state, |(mut lives, mut writer, metrics, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let (index, received) = lives.next().await?;
                match received {
                    Ok(event) if event.id <= writer.positions[index] => continue,
                    Ok(event) => {
                        writer.positions[index] = event.id;
                        let Some(frame) = writer.event(index, &event) else { continue };
                        metrics.delivered.inc();
                        return Some((frame, (lives, writer, metrics, false)));
                    }
                    Err(skipped) => {
                        let topic = writer.topics[index].clone();
                        let resume_from = writer.resume_from();
                        tracing::info!(
                            topic,
                            skipped,
                            resume_from,
                            "a client fell behind its buffer; telling it to reconnect and closing its stream"
                        );
                        metrics.lagged.inc();
                        metrics.reset(ResetReason::Lagged);
                        let frame = writer.reset(&topic, ResetReason::Lagged, true)?;
                        return Some((frame, (lives, writer, metrics, true)));
                    }
                }
            }
        });
        stream::iter(head).chain(live)
    }
}

/// A subscription's live events, tagged with its index. The lease is dropped after the receiver.
fn live(index: usize, subscription: Subscription) -> BoxStream<'static, Live> {
    let (receiver, lease) = subscription.into_live();
    stream::unfold((receiver, lease), move |(mut receiver, lease)| async move {
        let received = match receiver.recv().await {
            Ok(event) => Ok(event),
            Err(RecvError::Lagged(skipped)) => Err(skipped),
            Err(RecvError::Closed) => return None,
        };
        Some(((index, received), (receiver, lease)))
    })
    .boxed()
}

/// Encodes a feed's frames from its positions.
struct Writer {
    layout: Layout,
    topics: Vec<String>,
    positions: Vec<u64>,
}

impl Writer {
    /// The id a client reconnects with to continue exactly here.
    fn resume_from(&self) -> String {
        match self.layout {
            Layout::Single => self.positions.first().copied().unwrap_or(0).to_string(),
            Layout::Multi => {
                position::format(self.topics.iter().map(String::as_str).zip(self.positions.iter().copied()))
            }
        }
    }

    /// The frame of `event` of topic `index` (positions already advanced past it).
    fn event(&self, index: usize, event: &StoredEvent) -> Option<Bytes> {
        match self.layout {
            Layout::Single => Some(event.frame.clone()),
            Layout::Multi => {
                let frame = EventBuilder::new().event(&self.topics[index]).id(self.resume_from()).data(&*event.data);
                encode(frame)
            }
        }
    }

    /// `event: reset` for `topic`; with the id to resume from when the stream ends after it.
    fn reset(&self, topic: &str, reason: ResetReason, ending: bool) -> Option<Bytes> {
        let reset = Reset {
            reason,
            topic: (self.layout == Layout::Multi).then(|| topic.to_owned()),
            resume_from: ending.then(|| self.resume_from()),
        };
        let data = serde_json::to_string(&reset).ok()?;
        encode(EventBuilder::new().event(RESET_EVENT).data(data))
    }
}

fn encode(builder: EventBuilder) -> Option<Bytes> {
    match builder.build() {
        Ok(frame) => Some(Bytes::from(frame.into_bytes())),
        Err(error) => {
            tracing::error!(%error, "cannot encode a frame");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{Hub, LastEventId, TopicName};

    fn names(list: &[&str]) -> Vec<TopicName> {
        list.iter().map(|n| TopicName::parse(n).unwrap()).collect()
    }

    fn feed(hub: &Hub, layout: Layout, topics: &[&str], last: &[LastEventId]) -> BoxStream<'static, Bytes> {
        let subscriptions = hub.subscribe(&names(topics), last).unwrap();
        Feed::new(layout, subscriptions, Arc::new(Metrics::new())).into_stream().boxed()
    }

    async fn take(stream: &mut BoxStream<'static, Bytes>, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(String::from_utf8_lossy(&stream.next().await.unwrap()).into_owned());
        }
        out
    }

    #[tokio::test]
    async fn single_replay_then_live_without_gap() {
        let hub = Hub::new(10, 10);
        let t = &names(&["t"])[0];
        (1..=3).for_each(|i| drop(hub.publish(t, &i.to_string())));
        let mut stream = feed(&hub, Layout::Single, &["t"], &[LastEventId::Id(1)]);
        hub.publish(t, "4").unwrap();
        let expected: Vec<String> = (2..=4).map(|i| format!("id: {i}\ndata: {i}\n\n")).collect();
        assert_eq!(take(&mut stream, 3).await, expected);
    }

    #[tokio::test]
    async fn single_reset_comes_first_without_a_topic() {
        let hub = Hub::new(2, 10);
        let t = &names(&["t"])[0];
        (1..=5).for_each(|i| drop(hub.publish(t, &i.to_string())));
        let mut stream = feed(&hub, Layout::Single, &["t"], &[LastEventId::Id(1)]);
        assert_eq!(
            take(&mut stream, 3).await,
            ["event: reset\ndata: {\"reason\":\"expired\"}\n\n", "id: 4\ndata: 4\n\n", "id: 5\ndata: 5\n\n"]
        );
    }

    #[tokio::test]
    async fn multi_events_name_their_topic_and_carry_every_position() {
        let hub = Hub::new(10, 10);
        let [a, b] = [names(&["a"]).remove(0), names(&["b"]).remove(0)];
        hub.publish(&a, "a1").unwrap();
        hub.publish(&a, "a2").unwrap();
        hub.publish(&b, "b1").unwrap();
        let mut stream = feed(&hub, Layout::Multi, &["a", "b"], &[LastEventId::Id(1), LastEventId::Absent]);
        hub.publish(&b, "b2").unwrap();
        assert_eq!(
            take(&mut stream, 3).await,
            [
                "event: a\nid: a:2,b:0\ndata: a2\n\n",
                "event: b\nid: a:2,b:1\ndata: b1\n\n",
                "event: b\nid: a:2,b:2\ndata: b2\n\n",
            ]
        );
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_gets_a_reset_with_its_resume_id_then_the_end() {
        let hub = Hub::new(100, 2);
        let t = &names(&["t"])[0];
        let mut stream = feed(&hub, Layout::Single, &["t"], &[LastEventId::Absent]);
        hub.publish(t, "1").unwrap();
        assert_eq!(take(&mut stream, 1).await, ["id: 1\ndata: 1\n\n"]);
        (2..=6).for_each(|i| drop(hub.publish(t, &i.to_string())));
        assert_eq!(
            take(&mut stream, 1).await,
            ["event: reset\ndata: {\"reason\":\"lagged\",\"resumeFrom\":\"1\"}\n\n"]
        );
        assert!(stream.next().await.is_none(), "the stream ends after the reset");
    }

    #[tokio::test]
    async fn live_duplicates_of_the_replay_are_skipped() {
        let hub = Hub::new(10, 10);
        let t = &names(&["t"])[0];
        hub.publish(t, "1").unwrap();
        let mut subscription = hub.subscribe(&names(&["t"]), &[LastEventId::Id(0)]).unwrap().remove(0);
        // Event 1 arrives live too, as a receiver taken before the replay would see it.
        let (sender, receiver) = tokio::sync::broadcast::channel(8);
        subscription.receiver = receiver;
        let event = |id: u64| StoredEvent { id, data: "x".into(), frame: Bytes::from(format!("id: {id}\n\n")) };
        sender.send(event(1)).unwrap();
        sender.send(event(2)).unwrap();
        let mut stream = Feed::new(Layout::Single, vec![subscription], Arc::new(Metrics::new())).into_stream().boxed();
        assert_eq!(take(&mut stream, 2).await, ["id: 1\ndata: 1\n\n", "id: 2\n\n"]);
    }
}
