//! Direct fan-out: a live event written straight to the sockets of the streams waiting for it, each with one
//! `write(2)` of the event's pre-encoded HTTP chunk, without waking the stream's task or going through hyper.
//!
//! A single-topic stream on a socket of its own (a GET over HTTP/1.1, see [`crate::serve`]) is **parked** while
//! its task sleeps with nothing to send: its feed has taken every live event, its body has nothing of its own due,
//! and hyper holds none of its bytes ([`Socket::hyper_holds`]). For a parked stream the fan-out writes the next
//! event (the one after the stream's position, in its epoch) and advances the position; the stream's task is not
//! woken. Anything else goes the **slow path**, the one every stream took before: the fan-out unparks the stream and
//! wakes its task, whose feed reads the event from the topic's broadcast receiver (events the fan-out wrote are
//! skipped there as duplicates) and gives it to hyper. That is the case when:
//! - the socket does not take the whole chunk: the rest is kept, and the stream's body writes it before anything
//!   else (waiting for the socket, within `--send-timeout`), then the feed catches up, or ends with `event: reset`
//!   (`lagged`) when the client fell more than `--client-buffer` events behind, as before;
//! - hyper still holds bytes, or the event is not the next one for the stream (a new epoch, a gap);
//! - the topic says so: a `reset` notice ([`FanOut::wake`]) or its end ([`FanOut::gone`]).
//!
//! A stream is unparked (under its lock, so never during a direct write) at the start of each poll of its body:
//! everything hyper writes (keep-alive comments, the end on shutdown or expiry, the last chunk) follows the direct
//! writes, never mixed with them.
//!
//! The writes are done by one fan-out thread per core ("shards"): each stream belongs to one shard, and a shard
//! takes the jobs of its topics in order, so a stream's events are written in order, and the cores share the
//! writes as the floor's threads do.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::{BufMut, Bytes, BytesMut};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::history::StoredEvent;
use crate::socket::Socket;

/// One stream's side of the direct fan-out: shared by its feed (which parks it), its body (which holds it before
/// writing) and its shard (which writes to it while it is parked).
#[derive(Debug)]
pub(crate) struct Parked {
    state: Mutex<State>,
    /// `sse_live_events_delivered_total`.
    delivered: Counter,
    /// `sse_live_events_written_directly_total`.
    written_directly: Counter,
    /// Where the socket's shared state is in memory, only to ask for it ahead of use ([`prefetch`]).
    socket_at: usize,
}

#[derive(Debug)]
struct State {
    /// `None` once the stream has ended (its socket is closed with its connection).
    socket: Option<Socket>,
    parked: bool,
    /// The sequence number of the last event the client was given, in epoch `generation`.
    position: u64,
    generation: u64,
    /// The stream's task, woken for the slow path.
    waker: Option<Waker>,
    /// What a direct write left unwritten: written before anything else.
    remainder: Bytes,
    /// When an event was last written directly (for the keep-alive comments).
    last_write: Option<Instant>,
}

impl Parked {
    /// A stream on `socket`, not parked yet, counting its direct deliveries in `delivered` and `written_directly`.
    pub(crate) fn new(socket: Socket, delivered: Counter, written_directly: Counter) -> Arc<Self> {
        let state = State {
            socket: Some(socket),
            parked: false,
            position: 0,
            generation: 0,
            waker: None,
            remainder: Bytes::new(),
            last_write: None,
        };
        let socket_at = state.socket.as_ref().map_or(0, Socket::address);
        Arc::new(Self { state: Mutex::new(state), delivered, written_directly, socket_at })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The feed took every live event up to `position` (in `generation`) and its task (`waker`) is going to sleep:
    /// the fan-out may write the next ones.
    pub(crate) fn park(&self, waker: &Waker, position: u64, generation: u64) {
        let mut state = self.lock();
        state.parked = true;
        state.position = position;
        state.generation = generation;
        if !state.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            state.waker = Some(waker.clone());
        }
    }

    /// Stops direct writes, and gives the position the client has reached if it is in `generation`.
    pub(crate) fn unpark(&self, generation: u64) -> Option<u64> {
        let mut state = self.lock();
        state.parked = false;
        (state.generation == generation).then_some(state.position)
    }

    /// Stops direct writes and writes what the last one left (waiting for the socket with `cx`); then nothing but
    /// the stream's own task writes until it parks again. Gives the time of the last direct write since the last
    /// call.
    pub(crate) fn poll_hold(&self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Instant>>> {
        let mut state = self.lock();
        state.parked = false;
        while !state.remainder.is_empty() {
            let Some(socket) = state.socket.clone() else { break };
            let written = match socket.poll_write(cx, &state.remainder) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(written)) => written,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            };
            let rest = state.remainder.slice(written..);
            state.remainder = rest;
        }
        Poll::Ready(Ok(state.last_write.take()))
    }

    /// How many bytes of the last direct write are still to be written by the stream's body.
    pub(crate) fn remainder(&self) -> usize {
        self.lock().remainder.len()
    }

    /// The stream's socket, until it ends.
    pub(crate) fn socket(&self) -> Option<Socket> {
        self.lock().socket.clone()
    }

    /// The stream ended: no more direct writes, and its socket and its task's waker (which holds the task's
    /// memory) are let go; its shard forgets it at the topic's next event or when streams join the topic.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.parked = false;
        state.socket = None;
        state.waker = None;
        state.remainder = Bytes::new();
    }

    fn ended(&self) -> bool {
        self.lock().socket.is_none()
    }

    /// Unparks the stream and wakes its task (the slow path).
    fn wake(&self) {
        let mut state = self.lock();
        self.wake_locked(&mut state);
    }

    fn wake_locked(&self, state: &mut State) {
        state.parked = false;
        if let Some(waker) = &state.waker {
            waker.wake_by_ref();
        }
    }

    /// Writes `chunk` if the stream is parked and it is the stream's next event (see the module docs).
    fn write(&self, chunk: &Chunk) -> Written {
        let mut state = self.lock();
        let Some(socket) = &state.socket else { return Written::Ended };
        if !state.parked || (chunk.generation == state.generation && chunk.last <= state.position) {
            // Not parked: its task reads the event from its receiver. At or below its position: given already.
            return Written::No;
        }
        if chunk.generation != state.generation || chunk.first != state.position + 1 || socket.hyper_holds() {
            self.wake_locked(&mut state);
            return Written::No;
        }
        match socket.try_write(&chunk.bytes) {
            Ok(0) | Err(_) => {
                self.wake_locked(&mut state);
                Written::No
            }
            Ok(written) => {
                state.position = chunk.last;
                state.last_write = Some(chunk.at);
                if written < chunk.bytes.len() {
                    state.remainder = chunk.bytes.slice(written..);
                    self.wake_locked(&mut state);
                }
                Written::Yes
            }
        }
    }

    /// Counts `events` written directly (to any stream: every stream of a server counts into the same metrics, so a
    /// shard counts an event's writes once, not once per stream on a counter the other shards write too).
    fn count(&self, events: u64) {
        self.delivered.inc_by(events);
        self.written_directly.inc_by(events);
    }
}

/// What [`Parked::write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// The event went out (all of it, or the rest is kept for the body).
    Yes,
    /// Not written: not parked, given already, or sent the slow way.
    No,
    /// The stream has ended: the shard forgets it.
    Ended,
}

/// The most bytes of queued events a shard joins into one write (as the floor does).
const MAX_BATCH: usize = 256 * 1024;

/// How many events of one topic the shards may have yet to write, for a client buffer (`--client-buffer`) of
/// `client_buffer` events: a quarter of it (at least one). A publisher waits beyond it
/// ([`Topic::reserve`](super::Topic::reserve)). A stream that drops to its task (its socket took part of a write) is
/// then at most this many events behind the topic's newest because of the shards, and has the rest of its buffer to
/// catch up in.
pub(crate) fn max_backlog(client_buffer: usize) -> usize {
    (client_buffer / 4).max(1)
}

/// Events `first..=last` of one epoch as HTTP/1.1 chunks (`<size in hex>\r\n<frame>\r\n` each, as hyper writes a
/// body's data frames), written with one `write(2)`.
#[derive(Debug)]
struct Chunk {
    first: u64,
    last: u64,
    generation: u64,
    bytes: Bytes,
    at: Instant,
    /// The topic's backlog permit ([`max_backlog`]): let go when the last shard has written the event (drops it).
    _permit: Option<OwnedSemaphorePermit>,
}

impl Chunk {
    fn new(event: &StoredEvent, permit: Option<OwnedSemaphorePermit>) -> Self {
        let frame = &event.frame;
        let mut bytes = BytesMut::with_capacity(frame.len() + 20);
        put_hex(&mut bytes, frame.len());
        bytes.put_slice(b"\r\n");
        bytes.put_slice(frame);
        bytes.put_slice(b"\r\n");
        let (id, generation) = (event.id, event.epoch.generation());
        Self { first: id, last: id, generation, bytes: bytes.freeze(), at: Instant::now(), _permit: permit }
    }

    /// Whether `next` is the event after `self`'s last, in the same epoch.
    fn followed_by(&self, next: &Self) -> bool {
        next.generation == self.generation && next.first == self.last + 1
    }

    fn events(&self) -> u64 {
        self.last - self.first + 1
    }
}

/// Writes `n` in upper-case hexadecimal, as hyper writes a chunk's size (no `format!` and its allocation per event).
fn put_hex(bytes: &mut BytesMut, mut n: usize) {
    let mut digits = [0; 2 * std::mem::size_of::<usize>()];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b"0123456789ABCDEF"[n & 0xF];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    bytes.put_slice(&digits[start..]);
}

/// Events of one topic that queued while a shard was writing, joined into one [`Chunk`] when written: each event's
/// bytes are copied once (joining them two at a time copied the batch again for every event: quadratic in a backlog,
/// which at full speed made a shard fall further behind the more it had to catch up).
#[derive(Debug)]
struct Batch {
    topic: u64,
    chunks: Vec<Arc<Chunk>>,
    len: usize,
}

impl Batch {
    fn new(topic: u64, chunk: Arc<Chunk>) -> Self {
        let len = chunk.bytes.len();
        Self { topic, chunks: vec![chunk], len }
    }

    /// Adds `chunk` if it is the next event of the same topic and the batch stays within [`MAX_BATCH`]; gives it
    /// back otherwise.
    fn push(&mut self, topic: u64, chunk: Arc<Chunk>) -> Result<(), Arc<Chunk>> {
        let follows = self.chunks.last().is_some_and(|last| last.followed_by(&chunk));
        if topic != self.topic || !follows || self.len + chunk.bytes.len() > MAX_BATCH {
            return Err(chunk);
        }
        self.len += chunk.bytes.len();
        self.chunks.push(chunk);
        Ok(())
    }

    /// The batch as one chunk (the event itself when it is alone). The joined chunk holds no permit: the batch's
    /// events keep theirs until it is written.
    fn joined(&self) -> Arc<Chunk> {
        if self.chunks.len() == 1 {
            return self.chunks[0].clone();
        }
        let mut bytes = BytesMut::with_capacity(self.len);
        for chunk in &self.chunks {
            bytes.put_slice(&chunk.bytes);
        }
        let (first, last) = (&self.chunks[0], &self.chunks[self.chunks.len() - 1]);
        Arc::new(Chunk {
            first: first.first,
            last: last.last,
            generation: first.generation,
            bytes: bytes.freeze(),
            at: last.at,
            _permit: None,
        })
    }

    /// Writes the batch to the parked streams of its topic, then lets its events' permits go.
    fn write(self, topics: &mut HashMap<u64, Vec<Arc<Parked>>>) {
        write(topics, self.topic, &self.joined());
    }
}

/// What a shard is asked to do, in order.
enum Job {
    /// A stream of `topic` joins the shard.
    Add { topic: u64, parked: Arc<Parked> },
    /// Write an event of `topic` to its parked streams.
    Event { topic: u64, chunk: Arc<Chunk> },
    /// Send every stream of `topic` the slow way (a `reset` notice is in their receivers).
    Wake { topic: u64 },
    /// `topic` is gone: wake its streams (their receivers are closed) and forget them.
    Gone { topic: u64 },
}

/// The shards, started on first use; cheap to share (see [`Topic`](super::Topic)).
#[derive(Debug, Default)]
pub(crate) struct FanOut {
    shards: OnceLock<Vec<Sender<Job>>>,
    /// The shard of the next stream (round robin).
    next: AtomicUsize,
}

/// A topic's place in a [`FanOut`]: its id, and which shards have streams of it.
#[derive(Debug)]
pub(crate) struct TopicFanOut {
    fan_out: Arc<FanOut>,
    id: u64,
    /// Shards that were given a stream of this topic (they get its events).
    used: Vec<bool>,
}

impl FanOut {
    /// No shards until the first stream is added.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A place for a new topic.
    pub(crate) fn topic(self: &Arc<Self>) -> TopicFanOut {
        static IDS: AtomicU64 = AtomicU64::new(0);
        TopicFanOut { fan_out: self.clone(), id: IDS.fetch_add(1, Ordering::Relaxed), used: Vec::new() }
    }

    fn shards(&self) -> &[Sender<Job>] {
        self.shards.get_or_init(|| {
            let count = std::thread::available_parallelism().map_or(1, usize::from);
            (0..count).filter_map(spawn_shard).collect()
        })
    }

    fn send(&self, shard: usize, job: Job) {
        if let Some(sender) = self.shards().get(shard) {
            // A shard only stops if its thread panicked: its streams then stay on the slow path.
            let _ = sender.send(job);
        }
    }
}

impl TopicFanOut {
    /// Adds a stream (to the next shard in turn).
    pub(crate) fn add(&mut self, parked: Arc<Parked>) {
        let shards = self.fan_out.shards().len();
        if shards == 0 {
            return;
        }
        let shard = self.fan_out.next.fetch_add(1, Ordering::Relaxed) % shards;
        if self.used.len() < shards {
            self.used.resize(shards, false);
        }
        self.used[shard] = true;
        self.fan_out.send(shard, Job::Add { topic: self.id, parked });
    }

    /// Writes `event` to the topic's parked streams; `permit` (see [`max_backlog`]) is let go once every shard has.
    pub(crate) fn event(&self, event: &StoredEvent, permit: Option<OwnedSemaphorePermit>) {
        if !self.used.contains(&true) {
            return;
        }
        let chunk = Arc::new(Chunk::new(event, permit));
        self.each(|topic| Job::Event { topic, chunk: chunk.clone() });
    }

    /// Sends every stream of the topic the slow way (see [`Job::Wake`]).
    pub(crate) fn wake(&self) {
        self.each(|topic| Job::Wake { topic });
    }

    fn each(&self, job: impl Fn(u64) -> Job) {
        for (shard, _) in self.used.iter().enumerate().filter(|(_, used)| **used) {
            self.fan_out.send(shard, job(self.id));
        }
    }
}

impl Drop for TopicFanOut {
    fn drop(&mut self) {
        self.each(|topic| Job::Gone { topic });
    }
}

/// Starts shard `index`'s thread; `None` (logged) if the system refuses a thread.
fn spawn_shard(index: usize) -> Option<Sender<Job>> {
    let (sender, receiver) = mpsc::channel();
    let spawned = std::thread::Builder::new().name(format!("sse-fan-out-{index}")).spawn(move || run_shard(&receiver));
    match spawned {
        Ok(_) => Some(sender),
        Err(error) => {
            tracing::error!(%error, "cannot start a fan-out thread; streams take the slow path");
            None
        }
    }
}

/// A shard: its topics' streams, and the jobs in order, until every sender is gone. Events that queued up while
/// it was writing are joined (per topic, in order) and written with one `write(2)` per stream.
fn run_shard(jobs: &Receiver<Job>) {
    let mut topics: HashMap<u64, Vec<Arc<Parked>>> = HashMap::new();
    while let Ok(first) = jobs.recv() {
        let mut pending: Option<Batch> = None;
        let mut next = Some(first);
        while let Some(job) = next {
            match job {
                Job::Event { topic, chunk } => {
                    let refused = match &mut pending {
                        Some(batch) => batch.push(topic, chunk).err(),
                        None => Some(chunk),
                    };
                    if let Some(chunk) = refused {
                        if let Some(batch) = pending.replace(Batch::new(topic, chunk)) {
                            batch.write(&mut topics);
                        }
                    }
                }
                other => {
                    if let Some(batch) = pending.take() {
                        batch.write(&mut topics);
                    }
                    match other {
                        Job::Add { topic, parked } => add(topics.entry(topic).or_default(), parked),
                        Job::Wake { topic } => topics.get(&topic).into_iter().flatten().for_each(|p| p.wake()),
                        Job::Gone { topic } => topics.remove(&topic).into_iter().flatten().for_each(|p| p.wake()),
                        Job::Event { .. } => {}
                    }
                }
            }
            next = jobs.try_recv().ok();
        }
        if let Some(batch) = pending.take() {
            batch.write(&mut topics);
        }
    }
}

/// Adds `parked` to a topic's `streams`, first forgetting those that ended whenever their number reaches a power of
/// two (from 64): a topic without events does not keep every stream that ever came and went (amortized, each
/// stream is looked at a constant number of times).
fn add(streams: &mut Vec<Arc<Parked>>, parked: Arc<Parked>) {
    if streams.len() >= 64 && streams.len().is_power_of_two() {
        streams.retain(|parked| !parked.ended());
    }
    streams.push(parked);
}

/// Writes `chunk` to the parked streams of `topic`, forgetting those that ended, and counts what went out.
///
/// Each write is a system call between two streams' memory, so the CPU cannot overlap one stream's cache misses
/// with another's: the streams [`AHEAD`] and twice that further on are asked for in advance (their lock and state,
/// then their socket's), which the floor's loop over a plain array of descriptors does not need.
fn write(topics: &mut HashMap<u64, Vec<Arc<Parked>>>, topic: u64, chunk: &Chunk) {
    let Some(streams) = topics.get_mut(&topic) else { return };
    let mut written = 0;
    let mut ended = Vec::new();
    for (index, parked) in streams.iter().enumerate() {
        if let Some(far) = streams.get(index + 2 * AHEAD) {
            let at = Arc::as_ptr(far) as usize;
            (0..std::mem::size_of::<Parked>()).step_by(64).for_each(|offset| prefetch(at + offset));
        }
        if let Some(near) = streams.get(index + AHEAD) {
            prefetch(near.socket_at);
            prefetch(near.socket_at + 64);
        }
        match parked.write(chunk) {
            Written::Yes => written += 1,
            Written::No => {}
            Written::Ended => ended.push(index),
        }
    }
    if !ended.is_empty() {
        let (mut index, mut ended) = (0, ended.into_iter().peekable());
        streams.retain(|_| {
            let keep = ended.next_if_eq(&index).is_none();
            index += 1;
            keep
        });
    }
    match streams.first() {
        Some(parked) => parked.count(written * chunk.events()),
        None => drop(topics.remove(&topic)),
    }
}

/// How many streams ahead [`write`] asks for a stream's socket (and twice that for the stream itself).
const AHEAD: usize = 4;

/// Asks the CPU to bring the cache line at `address` closer, ahead of use.
#[inline(always)]
fn prefetch(address: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults and reads nothing back, whatever the address (a stream's
    // socket may be gone since its address was taken).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Epoch;

    fn event(id: u64, epoch: &Epoch, data: &str) -> StoredEvent {
        let frame = Bytes::from(format!("id: {id}\ndata: {data}\n\n"));
        StoredEvent { id, epoch: epoch.clone(), data: Arc::from(data), frame }
    }

    /// A server's end of a connection on 127.0.0.1, and the client's end (kept open while the test runs).
    async fn connected() -> (Socket, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        (Socket::new(listener.accept().await.unwrap().0), client)
    }

    #[tokio::test]
    async fn a_shard_forgets_ended_streams_of_a_topic_without_events_as_others_join() {
        let (socket, _client) = connected().await;
        let stream = || Parked::new(socket.clone(), Counter::default(), Counter::default());
        let mut streams = Vec::new();
        for _ in 0..1000 {
            let parked = stream();
            add(&mut streams, parked.clone());
            parked.close();
        }
        let open = stream();
        add(&mut streams, open.clone());
        assert!(streams.len() < 1000 / 2, "{} kept of 1,000 ended", streams.len());
        assert!(streams.iter().any(|p| Arc::ptr_eq(p, &open)), "an open stream is kept");
    }

    #[tokio::test]
    async fn a_write_forgets_exactly_the_ended_streams_and_keeps_the_others_in_order() {
        let (socket, _client) = connected().await;
        let streams: Vec<_> =
            (0..20).map(|_| Parked::new(socket.clone(), Counter::default(), Counter::default())).collect();
        for index in [0, 2, 3, 11, 19] {
            streams[index].close();
        }
        let mut topics = HashMap::from([(7, streams.clone())]);
        let chunk = Chunk::new(&event(1, &Epoch::first("e").unwrap(), "a"), None);
        write(&mut topics, 7, &chunk);
        let kept: Vec<usize> =
            topics[&7].iter().map(|p| streams.iter().position(|s| Arc::ptr_eq(s, p)).unwrap()).collect();
        assert_eq!(kept, [1, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18]);
        for stream in &streams {
            stream.close();
        }
        write(&mut topics, 7, &chunk);
        assert!(!topics.contains_key(&7), "a topic whose streams all ended is forgotten");
    }

    #[test]
    fn a_chunk_is_the_frame_as_hyper_chunks_it_and_only_the_next_events_join_it() {
        let e = Epoch::first("e").unwrap();
        let chunk = |id, epoch: &Epoch, data: &str| Arc::new(Chunk::new(&event(id, epoch, data), None));
        let one = chunk(1, &e, "a");
        assert_eq!(one.bytes, "F\r\nid: 1\ndata: a\n\n\r\n");
        for size in [0, 9, 16, 255, 4096, 70_000] {
            let frame = event(1, &e, &"y".repeat(size)).frame;
            let expected = format!("{:X}\r\n{}\r\n", frame.len(), std::str::from_utf8(&frame).unwrap());
            assert_eq!(chunk(1, &e, &"y".repeat(size)).bytes, expected, "{size}");
        }
        let alone = Batch::new(7, one.clone()).joined();
        assert!(Arc::ptr_eq(&alone, &one), "an event alone is written as it is, not copied");
        let (two, three) = (chunk(2, &e, "b"), chunk(3, &e, "c"));
        let mut batch = Batch::new(7, one.clone());
        assert!(batch.push(7, two.clone()).is_ok() && batch.push(7, three.clone()).is_ok());
        assert!(batch.push(8, chunk(4, &e, "d")).is_err(), "another topic");
        assert!(batch.push(7, chunk(5, &e, "e")).is_err(), "not the next event");
        assert!(batch.push(7, two.clone()).is_err(), "an older event");
        let f = e.next("f").unwrap();
        assert!(batch.push(7, chunk(4, &f, "d")).is_err(), "another epoch");
        assert!(batch.push(7, chunk(4, &e, &"x".repeat(MAX_BATCH))).is_err(), "over the batch size");
        let joined = batch.joined();
        assert_eq!((joined.first, joined.last, joined.events()), (1, 3, 3));
        assert_eq!(joined.bytes, [one.bytes.clone(), two.bytes.clone(), three.bytes.clone()].concat());
    }
}
