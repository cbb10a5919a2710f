//! One client's subscription to a topic, as the frames to write: a reset if any, the replay, then live events
//! without gap or duplicate.

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use sse_live_protocol::EventBuilder;
use tokio::sync::broadcast::{self, error::RecvError};

use super::history::{Replay, ResetReason, StoredEvent};

/// A live receiver plus what to replay before it; made by [`Topic::subscribe`](super::Topic::subscribe).
#[derive(Debug)]
pub struct Subscription {
    topic: String,
    replay: Replay,
    receiver: broadcast::Receiver<StoredEvent>,
}

impl Subscription {
    /// Pairs a replay with a receiver subscribed before the replay was read.
    pub(crate) fn new(topic: String, replay: Replay, receiver: broadcast::Receiver<StoredEvent>) -> Self {
        Self { topic, replay, receiver }
    }

    /// What is replayed before live events.
    pub fn replay(&self) -> &Replay {
        &self.replay
    }

    /// The frames to write, in order. Live events with an id not above the last replayed one are skipped. The
    /// stream ends when the client falls further behind than the topic's queue (logged; the client reconnects with
    /// its last id and replays) or when the topic goes away.
    pub fn into_stream(self) -> impl Stream<Item = Bytes> + Send + 'static {
        let Self { topic, replay, receiver } = self;
        let reset = replay.reset.and_then(|reason| reset_frame(&topic, reason));
        let replayed = reset.into_iter().chain(replay.events.into_iter().map(|e| e.frame));
        let live = stream::unfold((receiver, replay.last_id, topic), |(mut receiver, mut last_id, topic)| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) if event.id <= last_id => continue,
                    Ok(event) => {
                        last_id = event.id;
                        return Some((event.frame, (receiver, last_id, topic)));
                    }
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::warn!(
                            topic,
                            skipped,
                            last_id,
                            "a client fell behind the live queue; ending its stream so it reconnects and replays"
                        );
                        return None;
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        });
        stream::iter(replayed).chain(live)
    }
}

/// `event: reset` with data `{"reason":"<code>"}`, no id (it is not one of the topic's events).
fn reset_frame(topic: &str, reason: ResetReason) -> Option<Bytes> {
    match EventBuilder::new().event("reset").data(reason.to_json()).build() {
        Ok(frame) => Some(Bytes::from(frame.into_bytes())),
        Err(error) => {
            tracing::error!(topic, %error, "cannot encode a reset event");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{LastEventId, Topic};

    async fn take(stream: impl Stream<Item = Bytes>, n: usize) -> Vec<String> {
        let frames: Vec<Bytes> = stream.take(n).collect().await;
        frames.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()
    }

    #[tokio::test]
    async fn replay_then_live_without_gap() {
        let topic = Topic::new("t", 10);
        (1..=3).for_each(|i| drop(topic.publish(&i.to_string())));
        let stream = topic.subscribe(&LastEventId::Id(1)).into_stream();
        topic.publish("4").unwrap();
        topic.publish("5").unwrap();
        let frames = take(stream, 4).await;
        let expected: Vec<String> = (2..=5).map(|i| format!("id: {i}\ndata: {i}\n\n")).collect();
        assert_eq!(frames, expected);
    }

    #[tokio::test]
    async fn a_reset_comes_first() {
        let topic = Topic::new("t", 2);
        (1..=5).for_each(|i| drop(topic.publish(&i.to_string())));
        let frames = take(topic.subscribe(&LastEventId::Id(1)).into_stream(), 3).await;
        assert_eq!(
            frames,
            ["event: reset\ndata: {\"reason\":\"expired\"}\n\n", "id: 4\ndata: 4\n\n", "id: 5\ndata: 5\n\n"]
        );
    }

    #[tokio::test]
    async fn live_duplicates_of_the_replay_are_skipped() {
        let (sender, receiver) = broadcast::channel(8);
        let event = |id: u64| StoredEvent { id, frame: Bytes::from(format!("id: {id}\n\n")) };
        let replay = Replay { reset: None, events: vec![event(4), event(5)], last_id: 5 };
        let stream = Subscription::new("t".into(), replay, receiver).into_stream();
        for id in [4, 5, 6, 7] {
            sender.send(event(id)).unwrap();
        }
        drop(sender);
        let frames = take(stream, 10).await;
        assert_eq!(frames, ["id: 4\n\n", "id: 5\n\n", "id: 6\n\n", "id: 7\n\n"]);
    }

    #[tokio::test]
    async fn a_lagging_client_is_cut_off() {
        let topic = Topic::new("t", 2);
        topic.publish("1").unwrap();
        let stream = topic.subscribe(&LastEventId::Absent).into_stream();
        (2..=10).for_each(|i| drop(topic.publish(&i.to_string())));
        // The latest event at subscription time, then the end: nothing of the overflowed queue.
        assert_eq!(take(stream, 10).await, ["id: 1\ndata: 1\n\n"]);
    }

    #[tokio::test]
    async fn the_stream_ends_with_the_topic() {
        let topic = Topic::new("t", 2);
        let stream = topic.subscribe(&LastEventId::Absent).into_stream();
        drop(topic);
        assert!(take(stream, 1).await.is_empty());
    }
}
