//! One connection's frames over one or several topics: `reset` notices, the replay, then live events, without gap
//! or duplicate; and how it ends when the client falls behind.
//!
//! The feed keeps the client's position in each topic (the id of the last event it was given). Live events at or
//! below it are duplicates of the replay and are skipped. When a topic's live queue overtakes the client (more
//! than `--client-buffer` events behind), the feed sends `event: reset` with reason `lagged` and the id to resume
//! from, and ends: the client reconnects with that id and gets the rest from the history.
//!
//! A single-topic stream with a socket of its own is written to directly while it waits (see [`super::direct`]):
//! its feed reads its receiver without waiting on it and parks the stream when it is empty, and on its next poll
//! takes up from the position the direct writes reached. A receiver left unread while parked may be overtaken
//! by events that were written directly: the client lagged only if the oldest event the receiver still holds is
//! past the one after the client's position.
//!
//! Every notice carries its epoch (see [`super::epoch`]): the feed skips what is older than the epoch it is in,
//! and a newer one (Redis came back empty) resets every topic of the stream (`restarted`) and starts them from
//! nothing in the new epoch.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, BoxStream, SelectAll, Stream, StreamExt};
use sse_live_protocol::wire::{Reset, ResetReason, RESET_EVENT};
use sse_live_protocol::EventBuilder;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::broadcast::Receiver;

use super::direct::Parked;
use super::epoch::Epoch;
use super::history::StoredEvent;
use super::topic::Live;
use super::{position, Lease, Subscription};
use crate::metrics::Metrics;

/// How a feed writes its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One topic (`/events/{topic}`): plain `message` events with the topic's own ids (`id: 41`).
    Single,
    /// Several topics (`/events?topic=a&topic=b`): `event: <topic>`, and a composite id ([`position`]).
    Multi,
}

/// The frames for one connection; see the module docs.
#[derive(Debug)]
pub(crate) struct Feed {
    layout: Layout,
    subscriptions: Vec<Subscription>,
    metrics: Arc<Metrics>,
    direct: Option<Arc<Parked>>,
}

/// What a live receiver yields: a notice, or how many the client missed.
type Received = (usize, Result<Live, u64>);

/// What the feed does with one live notice.
enum Step {
    /// Nothing to send (a duplicate, or a notice of an epoch already handled).
    Skip,
    /// Send this and go on.
    Send(Bytes),
    /// Send this and end the stream.
    End(Bytes),
}

impl Feed {
    /// A feed over `subscriptions` (in the order of their topics in composite ids), counting into `metrics`.
    pub(crate) fn new(layout: Layout, subscriptions: Vec<Subscription>, metrics: Arc<Metrics>) -> Self {
        Self { layout, subscriptions, metrics, direct: None }
    }

    /// Parks the stream on `direct` while it waits (see the module docs): single-topic feeds only, subscribed with
    /// the same `direct`.
    pub(crate) fn with_direct(mut self, direct: Option<Arc<Parked>>) -> Self {
        self.direct = direct.filter(|_| self.layout == Layout::Single && self.subscriptions.len() == 1);
        self
    }

    /// The frames, in order: a `reset` per topic that needs one, each topic's replay, then live events until the
    /// client falls behind (a final `reset`, reason `lagged`) or every topic goes away. A new epoch while the
    /// stream is open (Redis came back empty) sends a `reset` (reason `restarted`) for every topic and goes on
    /// from the new epoch's first events; a gap in a topic's ids sends a `reset` (reason `expired`) for it.
    pub(crate) fn into_stream(self) -> impl Stream<Item = Bytes> + Send + 'static {
        let Self { layout, subscriptions, metrics, direct } = self;
        let epoch = subscriptions.first().map_or_else(Epoch::random, |s| s.replay.epoch.clone());
        let mut writer = Writer {
            layout,
            topics: subscriptions.iter().map(|s| s.topic.as_str().to_owned()).collect(),
            positions: subscriptions.iter().map(|s| s.replay.start()).collect(),
            epoch,
            metrics,
        };
        let mut head = Vec::new();
        for (topic, reason) in subscriptions.iter().filter_map(|s| Some((s.topic.as_str(), s.replay.reset?))) {
            head.extend(writer.reset(topic, reason, false));
        }
        for (index, s) in subscriptions.iter().enumerate() {
            for event in &s.replay.events {
                writer.positions[index] = event.id;
                head.extend(writer.event(index, event));
            }
            writer.metrics.replayed.inc_by(s.replay.events.len() as u64);
            writer.metrics.delivered.inc_by(s.replay.events.len() as u64);
        }
        let mut subscriptions = subscriptions;
        let lives = match direct {
            Some(parked) if subscriptions.len() == 1 => {
                let (receiver, lease) = subscriptions.remove(0).into_live();
                Lives::Direct(Box::new(DirectLive { receiver, _lease: lease, parked, lagged: None }))
            }
            _ => {
                let mut lives: Vec<BoxStream<'static, Received>> =
                    subscriptions.into_iter().enumerate().map(|(index, s)| live(index, s)).collect();
                if lives.len() == 1 {
                    Lives::One(lives.remove(0))
                } else {
                    Lives::Many(stream::select_all(lives))
                }
            }
        };
        FeedStream { head: head.into_iter(), lives, writer, ended: false }
    }
}

/// The live receivers of a feed: one topic's directly, several merged.
enum Lives {
    One(BoxStream<'static, Received>),
    Many(SelectAll<BoxStream<'static, Received>>),
    /// One topic, its stream parked while it waits.
    Direct(Box<DirectLive>),
}

/// The live side of a parked single-topic feed (see the module docs).
struct DirectLive {
    // Dropped before the lease (see `Subscription::into_live`).
    receiver: Receiver<Live>,
    _lease: Lease,
    parked: Arc<Parked>,
    /// The receiver was overtaken by this many events: the next one it holds tells whether the client missed any.
    lagged: Option<u64>,
}

impl DirectLive {
    /// The next live notice for a client at `position` in `generation`: `Pending` (the stream parked) when there
    /// is none.
    fn poll_next(&mut self, cx: &Context<'_>, position: u64, generation: u64) -> Poll<Option<Result<Live, u64>>> {
        loop {
            let live = match self.receiver.try_recv() {
                Ok(live) => live,
                Err(TryRecvError::Lagged(skipped)) => {
                    self.lagged = Some(skipped);
                    continue;
                }
                Err(TryRecvError::Closed) => return Poll::Ready(None),
                Err(TryRecvError::Empty) => {
                    if let Some(skipped) = self.lagged.take() {
                        return Poll::Ready(Some(Err(skipped)));
                    }
                    self.parked.park(cx.waker(), position, generation);
                    // An event sent before the stream parked was not written directly: take it now.
                    if self.receiver.is_empty() && !self.receiver.is_closed() {
                        return Poll::Pending;
                    }
                    self.parked.unpark(generation);
                    continue;
                }
            };
            if let Some(skipped) = self.lagged.take() {
                let next = matches!(&live, Live::Event(event) if event.epoch.generation() == generation && event.id <= position + 1);
                if !next {
                    return Poll::Ready(Some(Err(skipped)));
                }
            }
            return Poll::Ready(Some(Ok(live)));
        }
    }
}

/// A feed's frames: the head (resets and replay), then live ones as the writer makes them. Written by hand rather
/// than with combinators: it is polled once per delivery.
struct FeedStream {
    head: std::vec::IntoIter<Bytes>,
    lives: Lives,
    writer: Writer,
    ended: bool,
}

impl Stream for FeedStream {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        if let Some(frame) = this.head.next() {
            return Poll::Ready(Some(frame));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        if let Lives::Direct(live) = &this.lives {
            // Take up from where the direct writes left the client.
            if let Some(position) = live.parked.unpark(this.writer.epoch.generation()) {
                this.writer.positions[0] = this.writer.positions[0].max(position);
            }
        }
        loop {
            let next = match &mut this.lives {
                Lives::One(live) => live.poll_next_unpin(cx),
                Lives::Many(lives) => lives.poll_next_unpin(cx),
                Lives::Direct(live) => {
                    let (position, generation) = (this.writer.positions[0], this.writer.epoch.generation());
                    live.poll_next(cx, position, generation).map(|next| next.map(|received| (0, received)))
                }
            };
            let Some((index, received)) = ready!(next) else { return Poll::Ready(None) };
            match this.writer.step(index, received) {
                Step::Skip => continue,
                Step::Send(frame) => return Poll::Ready(Some(frame)),
                Step::End(frame) => {
                    this.ended = true;
                    return Poll::Ready(Some(frame));
                }
            }
        }
    }
}

/// A subscription's live notices, tagged with its index. The lease is dropped after the receiver.
fn live(index: usize, subscription: Subscription) -> BoxStream<'static, Received> {
    let (receiver, lease) = subscription.into_live();
    stream::unfold((receiver, lease), move |(mut receiver, lease)| async move {
        let received = match receiver.recv().await {
            Ok(live) => Ok(live),
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
    /// The sequence number of the last event given of each topic, in `epoch`.
    positions: Vec<u64>,
    epoch: Epoch,
    metrics: Arc<Metrics>,
}

impl Writer {
    /// What to send for a live notice of topic `index`.
    fn step(&mut self, index: usize, received: Result<Live, u64>) -> Step {
        let generation = self.epoch.generation();
        match received {
            Ok(Live::Event(event)) if event.epoch.generation() < generation => Step::Skip,
            Ok(Live::Event(event)) => {
                // A new epoch's first event comes after the resets of the restart.
                let restart = (event.epoch.generation() > generation).then(|| self.restart(event.epoch.clone()));
                let mut frame = None;
                if event.id > self.positions[index] {
                    self.positions[index] = event.id;
                    frame = self.event(index, &event);
                    if frame.is_some() {
                        self.metrics.delivered.inc();
                    }
                }
                // The common case, an event and no restart, sends the event's shared frame as it is: no copy.
                match (restart.filter(|r| !r.is_empty()), frame) {
                    (None, None) => Step::Skip,
                    (Some(only), None) | (None, Some(only)) => Step::Send(only),
                    (Some(restart), Some(frame)) => {
                        let mut out = BytesMut::with_capacity(restart.len() + frame.len());
                        out.extend_from_slice(&restart);
                        out.extend_from_slice(&frame);
                        Step::Send(out.freeze())
                    }
                }
            }
            Ok(Live::Reset { epoch, .. }) if epoch.generation() > generation => Step::Send(self.restart(epoch)),
            Ok(Live::Reset { epoch, reason })
                if epoch.generation() == generation && reason != ResetReason::Restarted =>
            {
                let topic = self.topics[index].clone();
                self.reset(&topic, reason, false).map_or(Step::Skip, Step::Send)
            }
            Ok(Live::Reset { .. }) => Step::Skip,
            Err(skipped) => {
                let topic = self.topics[index].clone();
                let resume_from = self.resume_from();
                tracing::info!(
                    topic,
                    skipped,
                    resume_from,
                    "a client fell behind its buffer; telling it to reconnect and closing its stream"
                );
                self.metrics.lagged.inc();
                self.reset(&topic, ResetReason::Lagged, true).map_or(Step::Skip, Step::End)
            }
        }
    }

    /// Moves to `epoch` (newer than the writer's): every topic starts from nothing, each with a `reset`
    /// (`restarted`).
    fn restart(&mut self, epoch: Epoch) -> Bytes {
        self.epoch = epoch;
        self.positions.iter_mut().for_each(|p| *p = 0);
        let mut out = BytesMut::new();
        for topic in self.topics.clone() {
            if let Some(frame) = self.reset(&topic, ResetReason::Restarted, false) {
                out.extend_from_slice(&frame);
            }
            if self.layout == Layout::Single {
                break;
            }
        }
        out.freeze()
    }

    /// The id a client reconnects with to continue exactly here.
    fn resume_from(&self) -> String {
        match self.layout {
            Layout::Single => self.epoch.id(self.positions.first().copied().unwrap_or(0)),
            Layout::Multi => position::format(
                self.topics.iter().map(String::as_str).zip(self.positions.iter().copied()),
                &self.epoch,
            ),
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

    /// `event: reset` for `topic` (counted); with the id to resume from when the stream ends after it.
    fn reset(&self, topic: &str, reason: ResetReason, ending: bool) -> Option<Bytes> {
        self.metrics.reset(reason);
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

    fn hub(history: usize, buffer: usize) -> Hub {
        Hub::with_epoch(history, buffer, usize::MAX, Epoch::first("e").unwrap())
    }

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
        let hub = hub(10, 10);
        let t = &names(&["t"])[0];
        (1..=3).for_each(|i| drop(hub.publish(t, &i.to_string())));
        let mut stream = feed(&hub, Layout::Single, &["t"], &[LastEventId::Id(1)]);
        hub.publish(t, "4").unwrap();
        let expected: Vec<String> = (2..=4).map(|i| format!("id: {i}@e\ndata: {i}\n\n")).collect();
        assert_eq!(take(&mut stream, 3).await, expected);
    }

    #[tokio::test]
    async fn single_reset_comes_first_without_a_topic() {
        let hub = hub(2, 10);
        let t = &names(&["t"])[0];
        (1..=5).for_each(|i| drop(hub.publish(t, &i.to_string())));
        let mut stream = feed(&hub, Layout::Single, &["t"], &[LastEventId::Id(1)]);
        assert_eq!(
            take(&mut stream, 3).await,
            ["event: reset\ndata: {\"reason\":\"expired\"}\n\n", "id: 4@e\ndata: 4\n\n", "id: 5@e\ndata: 5\n\n"]
        );
    }

    #[tokio::test]
    async fn multi_events_name_their_topic_and_carry_every_position() {
        let hub = hub(10, 10);
        let [a, b] = [names(&["a"]).remove(0), names(&["b"]).remove(0)];
        hub.publish(&a, "a1").unwrap();
        hub.publish(&a, "a2").unwrap();
        hub.publish(&b, "b1").unwrap();
        let mut stream = feed(&hub, Layout::Multi, &["a", "b"], &[LastEventId::Id(1), LastEventId::Absent]);
        hub.publish(&b, "b2").unwrap();
        assert_eq!(
            take(&mut stream, 3).await,
            [
                "event: a\nid: a:2,b:0@e\ndata: a2\n\n",
                "event: b\nid: a:2,b:1@e\ndata: b1\n\n",
                "event: b\nid: a:2,b:2@e\ndata: b2\n\n",
            ]
        );
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_gets_a_reset_with_its_resume_id_then_the_end() {
        let hub = hub(100, 2);
        let t = &names(&["t"])[0];
        let mut stream = feed(&hub, Layout::Single, &["t"], &[LastEventId::Absent]);
        hub.publish(t, "1").unwrap();
        assert_eq!(take(&mut stream, 1).await, ["id: 1@e\ndata: 1\n\n"]);
        (2..=6).for_each(|i| drop(hub.publish(t, &i.to_string())));
        assert_eq!(
            take(&mut stream, 1).await,
            ["event: reset\ndata: {\"reason\":\"lagged\",\"resumeFrom\":\"1@e\"}\n\n"]
        );
        assert!(stream.next().await.is_none(), "the stream ends after the reset");
    }

    #[tokio::test]
    async fn live_duplicates_of_the_replay_are_skipped() {
        let hub = hub(10, 10);
        let t = &names(&["t"])[0];
        hub.publish(t, "1").unwrap();
        let mut subscription = hub.subscribe(&names(&["t"]), &[LastEventId::Id(0)]).unwrap().remove(0);
        // Event 1 arrives live too, as a receiver taken before the replay would see it.
        let (sender, receiver) = tokio::sync::broadcast::channel(8);
        subscription.receiver = receiver;
        let epoch = Epoch::first("e").unwrap();
        let event = |id: u64| StoredEvent {
            id,
            epoch: epoch.clone(),
            data: "x".into(),
            frame: Bytes::from(format!("id: {id}@e\n\n")),
        };
        sender.send(Live::Event(Arc::new(event(1)))).unwrap();
        sender.send(Live::Event(Arc::new(event(2)))).unwrap();
        let mut stream = Feed::new(Layout::Single, vec![subscription], Arc::new(Metrics::new())).into_stream().boxed();
        assert_eq!(take(&mut stream, 2).await, ["id: 1@e\ndata: 1\n\n", "id: 2@e\n\n"]);
    }

    #[tokio::test]
    async fn a_new_epoch_resets_every_topic_once_and_goes_on_from_its_first_events() {
        let hub = hub(10, 10);
        let [a, b] = [names(&["a"]).remove(0), names(&["b"]).remove(0)];
        hub.publish(&a, "a1").unwrap();
        hub.publish(&b, "b1").unwrap();
        let mut stream = feed(&hub, Layout::Multi, &["a", "b"], &[LastEventId::Id(1), LastEventId::Id(1)]);
        assert!(hub.set_epoch("f").is_some());
        hub.publish(&b, "b-new").unwrap();
        let frames = take(&mut stream, 2).await;
        assert_eq!(
            frames[0],
            "event: reset\ndata: {\"reason\":\"restarted\",\"topic\":\"a\"}\n\n\
             event: reset\ndata: {\"reason\":\"restarted\",\"topic\":\"b\"}\n\n"
        );
        assert_eq!(frames[1], "event: b\nid: a:0,b:1@f\ndata: b-new\n\n", "once, with positions from nothing");
    }

    #[tokio::test]
    async fn a_gap_sends_an_expired_reset_and_the_stream_goes_on() {
        let hub = hub(10, 10);
        let t = &names(&["t"])[0];
        hub.deliver(t, 1, None, "1").await.unwrap();
        let mut stream = feed(&hub, Layout::Single, &["t"], &[LastEventId::Id(1)]);
        hub.deliver(t, 5, None, "5").await.unwrap();
        assert_eq!(
            take(&mut stream, 2).await,
            ["event: reset\ndata: {\"reason\":\"expired\"}\n\n", "id: 5@e\ndata: 5\n\n"]
        );
    }
}
