//! The floor: an SSE server that does only what the kernel must, the benchmark's lower bound for any server.
//!
//! No async runtime, no HTTP library: std threads and blocking `accept(2)` (nix only to raise the listen backlog). One thread accepts, reads each request
//! head (at most [`MAX_HEAD`] bytes, [`HEAD_TIMEOUT`] to arrive) and answers it:
//!
//! - `GET /events/{topic}`: a fixed response head ([`SSE_HEAD`]: `text/event-stream`, no chunked encoding, the body
//!   ends with the connection), then the socket is made nonblocking and handed to one of the fan-out threads in
//!   turn, which owns it from then on.
//! - `POST /events/{topic}` (`Authorization: Bearer KEY` when a key is set; a `Content-Length` body, not empty):
//!   the connection gets a thread of its own that answers `201 {"id":N}` to each request on it (keep-alive), as
//!   publishers reuse their connection.
//! - `GET /stats`: `{"streams":..,"dropped":..,"closed":..,"published":..,"writes":..}`, for tests.
//!
//! Publishing encodes the event once (`id: N` and its data, with the project's encoder) and hands the same bytes to
//! every fan-out thread; each writes them to each of its sockets of that topic with exactly one `write(2)` (events
//! that queued up while it was writing go out together, one write per socket for all of them). A socket whose send
//! buffer cannot take the whole frame (`EAGAIN`, or a short write) is dropped and counted as `dropped`, like a slow
//! client; one the peer closed (`EPIPE`, `ECONNRESET`) is dropped and counted as `closed`. There are as many
//! fan-out threads as cores by default. No keep-alive comments, no history, no replay.
//!
//! With a ticker ([`Floor::spawn_ticker`]) a thread publishes `{"sentAtUs":..,"seq":..}` to the topic `ticks` at a
//! fixed interval, exactly as the bare peer's does: the benchmark drives the three servers the same way.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sse_live_protocol::EventBuilder;

/// The longest request head read (request line and headers).
pub const MAX_HEAD: usize = 8 * 1024;
/// The longest `POST` body accepted.
pub const MAX_BODY: usize = 1024 * 1024;
/// How long a client may take to send its request head (and a publisher its body).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// The response head of every stream, written once per connection.
pub const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";

/// What a fan-out thread is told.
enum Command {
    /// Own this (nonblocking) socket, subscribed to topic number `topic`.
    Subscribe { topic: usize, socket: TcpStream },
    /// Write `frame` to every socket of topic number `topic`.
    Event { topic: usize, frame: Arc<[u8]> },
}

/// A topic: its number (the fan-out threads' key) and the id of its next event.
struct Topic {
    number: usize,
    next_id: u64,
}

/// Counters, readable while the server runs ([`Floor::stats`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// Streams open now.
    pub streams: u64,
    /// Streams dropped because a frame did not fit in their send buffer.
    pub dropped: u64,
    /// Streams the peer closed (found on a write).
    pub closed: u64,
    /// Events published.
    pub published: u64,
    /// `write(2)` calls to streams.
    pub writes: u64,
}

#[derive(Default)]
struct Counters {
    streams: AtomicU64,
    dropped: AtomicU64,
    closed: AtomicU64,
    published: AtomicU64,
    writes: AtomicU64,
}

/// The floor server: its topics, its fan-out threads and the publish key.
#[derive(Clone)]
pub struct Floor {
    inner: Arc<Inner>,
}

struct Inner {
    key: Option<String>,
    topics: Mutex<HashMap<String, Topic>>,
    workers: Vec<Sender<Command>>,
    next_worker: AtomicUsize,
    counters: Arc<Counters>,
}

impl Floor {
    /// A server whose `POST`s need `key` (none: open), with `threads` fan-out threads (at least one), started now.
    pub fn new(key: Option<String>, threads: usize) -> Self {
        let counters = Arc::new(Counters::default());
        let workers = (0..threads.max(1))
            .map(|i| {
                let (sender, receiver) = mpsc::channel();
                let counters = counters.clone();
                std::thread::Builder::new()
                    .name(format!("floor-fanout-{i}"))
                    .spawn(move || fan_out(&receiver, &counters))
                    .expect("cannot start a fan-out thread");
                sender
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                key,
                topics: Mutex::default(),
                workers,
                next_worker: AtomicUsize::new(0),
                counters,
            }),
        }
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            streams: c.streams.load(Ordering::SeqCst),
            dropped: c.dropped.load(Ordering::SeqCst),
            closed: c.closed.load(Ordering::SeqCst),
            published: c.published.load(Ordering::SeqCst),
            writes: c.writes.load(Ordering::SeqCst),
        }
    }

    /// The number of `topic`, made on first use.
    fn topic_number(&self, topic: &str) -> usize {
        let mut topics = self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner);
        let count = topics.len();
        topics.entry(topic.to_owned()).or_insert(Topic { number: count, next_id: 1 }).number
    }

    /// Publishes `data` to `topic` and returns its id: encoded once, handed to every fan-out thread.
    pub fn publish(&self, topic: &str, data: &str) -> u64 {
        // The lock is held until every thread has the event, so each sees a topic's events in id order.
        let mut topics = self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner);
        let count = topics.len();
        let t = topics.entry(topic.to_owned()).or_insert(Topic { number: count, next_id: 1 });
        let id = t.next_id;
        t.next_id += 1;
        let frame = EventBuilder::new().id(id.to_string()).data(data).build().expect("a numeric id is valid");
        let frame: Arc<[u8]> = frame.into_bytes().into();
        for worker in &self.inner.workers {
            // A fan-out thread never ends while the server lives.
            let _ = worker.send(Command::Event { topic: t.number, frame: frame.clone() });
        }
        self.inner.counters.published.fetch_add(1, Ordering::Relaxed);
        id
    }

    /// Hands a stream (its head written) to the next fan-out thread in turn.
    fn subscribe(&self, topic: &str, socket: TcpStream) {
        let number = self.topic_number(topic);
        let workers = &self.inner.workers;
        let worker = self.inner.next_worker.fetch_add(1, Ordering::Relaxed) % workers.len();
        self.inner.counters.streams.fetch_add(1, Ordering::SeqCst);
        let _ = workers[worker].send(Command::Subscribe { topic: number, socket });
    }

    /// Publishes `{"sentAtUs":..,"seq":..}` to the topic `ticks` every `period`, for ever, from a thread of its own
    /// (a tick that comes late delays the next ones, as the bare peer's `MissedTickBehavior::Delay`).
    pub fn spawn_ticker(&self, period: Duration) {
        let floor = self.clone();
        std::thread::Builder::new()
            .name("floor-ticker".into())
            .spawn(move || {
                let mut next = Instant::now();
                for seq in 0_u64.. {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    } else {
                        next = now;
                    }
                    next += period;
                    let sent = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
                    floor.publish("ticks", &format!(r#"{{"sentAtUs":{sent},"seq":{seq}}}"#));
                }
            })
            .expect("cannot start the ticker thread");
    }

    /// Accepts connections on `listener` for ever (until accepting fails for good). Its backlog is raised to the
    /// system's largest first: std listens with 128, and a load generator opening hundreds of streams at once would
    /// see SYNs dropped and retried a second later.
    pub fn serve(&self, listener: &TcpListener) -> io::Result<()> {
        nix::sys::socket::listen(listener, nix::sys::socket::Backlog::MAXCONN).map_err(io::Error::from)?;
        loop {
            let socket = match listener.accept() {
                Ok((socket, _)) => socket,
                // Out of descriptors, or a connection reset before it was accepted: go on with the next.
                Err(error) if is_transient(&error) => {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                Err(error) => return Err(error),
            };
            // An error here is one client's (it closed, or sent garbage and got its 400): the others go on.
            let _ = self.accept(socket);
        }
    }

    /// Reads the first request on `socket` and answers it.
    fn accept(&self, mut socket: TcpStream) -> io::Result<()> {
        socket.set_read_timeout(Some(HEAD_TIMEOUT))?;
        socket.set_write_timeout(Some(HEAD_TIMEOUT))?;
        let mut buffer = Vec::new();
        let head = match read_head(&mut socket, &mut buffer)? {
            Some(head) => head,
            None => return Ok(()),
        };
        match head {
            Ok(head) if head.method == "GET" && head.path == "/stats" => {
                let body = serde_json::to_string(&self.stats()).unwrap_or_default();
                respond(&mut socket, "200 OK", "application/json", &body, false)
            }
            Ok(head) if head.method == "GET" => match topic_of(&head.path) {
                Some(topic) => {
                    socket.write_all(SSE_HEAD)?;
                    socket.set_nodelay(true)?;
                    socket.set_nonblocking(true)?;
                    self.subscribe(topic, socket);
                    Ok(())
                }
                None => respond(&mut socket, "404 Not Found", "text/plain", "no such stream\n", false),
            },
            Ok(head) if head.method == "POST" => {
                let floor = self.clone();
                std::thread::Builder::new().name("floor-publisher".into()).spawn(move || {
                    let _ = floor.publisher(socket, buffer, head);
                })?;
                Ok(())
            }
            Ok(_) => respond(&mut socket, "405 Method Not Allowed", "text/plain", "GET or POST\n", false),
            Err(message) => respond(&mut socket, "400 Bad Request", "text/plain", &format!("{message}\n"), false),
        }
    }

    /// A publisher's connection: answers its requests, the first of which is `head`, until it closes.
    fn publisher(&self, mut socket: TcpStream, mut buffer: Vec<u8>, mut head: Head) -> io::Result<()> {
        // Its own thread: it may wait between requests as long as the publisher likes.
        socket.set_read_timeout(None)?;
        loop {
            let length = head.content_length.unwrap_or(0);
            if length > MAX_BODY {
                return respond(&mut socket, "413 Payload Too Large", "text/plain", "body too large\n", false);
            }
            while buffer.len() < length {
                let mut chunk = [0_u8; 16 * 1024];
                let n = socket.read(&mut chunk)?;
                if n == 0 {
                    return Ok(());
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let body: Vec<u8> = buffer.drain(..length).collect();
            self.answer_publish(&mut socket, &head, &body)?;
            head = match read_head(&mut socket, &mut buffer)? {
                Some(Ok(head)) => head,
                Some(Err(message)) => {
                    return respond(&mut socket, "400 Bad Request", "text/plain", &format!("{message}\n"), false)
                }
                None => return Ok(()),
            };
        }
    }

    fn answer_publish(&self, socket: &mut TcpStream, head: &Head, body: &[u8]) -> io::Result<()> {
        let keep = true;
        if head.method != "POST" {
            return respond(socket, "405 Method Not Allowed", "text/plain", "POST only on this connection\n", false);
        }
        let Some(topic) = topic_of(&head.path) else {
            return respond(socket, "404 Not Found", "text/plain", "no such topic\n", keep);
        };
        if let Some(key) = &self.inner.key {
            let given = head.authorization.as_deref().and_then(|v| v.strip_prefix("Bearer "));
            if given != Some(key.as_str()) {
                return respond(socket, "401 Unauthorized", "text/plain", "missing or wrong bearer key\n", keep);
            }
        }
        let Ok(data) = std::str::from_utf8(body) else {
            return respond(socket, "400 Bad Request", "text/plain", "the body is not UTF-8\n", keep);
        };
        if data.is_empty() {
            return respond(socket, "400 Bad Request", "text/plain", "an event needs a body\n", keep);
        }
        let id = self.publish(topic, data);
        respond(socket, "201 Created", "application/json", &format!(r#"{{"id":{id}}}"#), keep)
    }
}

/// A fan-out thread: owns its share of the streams and writes to each of them with one `write(2)` per wake-up.
///
/// At a pace it keeps up with, a wake-up is one event: one frame, one write per stream. When events come faster than
/// it writes, those waiting in its queue when it wakes go out together (up to [`MAX_BATCH`] bytes), still one write
/// per stream, as a server that coalesces its writes would; a stream subscribed between two of them gets only the
/// later ones.
fn fan_out(commands: &Receiver<Command>, counters: &Counters) {
    let mut streams: HashMap<usize, Vec<TcpStream>> = HashMap::new();
    let mut pending = Pending::default();
    while let Ok(first) = commands.recv() {
        let mut next = Some(first);
        while let Some(command) = next {
            match command {
                Command::Subscribe { topic, socket } => {
                    pending.flush(&mut streams, counters);
                    streams.entry(topic).or_default().push(socket);
                }
                Command::Event { topic, frame } => {
                    if pending.push(topic, frame) >= MAX_BATCH {
                        pending.flush(&mut streams, counters);
                    }
                }
            }
            next = commands.try_recv().ok();
        }
        pending.flush(&mut streams, counters);
    }
}

/// The most bytes of frames a fan-out thread writes to a stream at once.
pub const MAX_BATCH: usize = 256 * 1024;

/// Frames a fan-out thread has taken from its queue and not written yet, by topic.
#[derive(Default)]
struct Pending {
    topics: Vec<(usize, Vec<Arc<[u8]>>)>,
    bytes: usize,
}

impl Pending {
    /// Adds `frame` to `topic`'s and returns the bytes pending in all.
    fn push(&mut self, topic: usize, frame: Arc<[u8]>) -> usize {
        self.bytes += frame.len();
        match self.topics.iter_mut().find(|(t, _)| *t == topic) {
            Some((_, frames)) => frames.push(frame),
            None => self.topics.push((topic, vec![frame])),
        }
        self.bytes
    }

    /// Writes each topic's frames to each of its streams with one `write(2)`: the frame as published when it is
    /// alone, else the frames joined once.
    fn flush(&mut self, streams: &mut HashMap<usize, Vec<TcpStream>>, counters: &Counters) {
        for (topic, frames) in self.topics.drain(..) {
            let Some(sockets) = streams.get_mut(&topic) else { continue };
            let joined;
            let bytes: &[u8] = if let [frame] = &frames[..] {
                frame
            } else {
                joined = frames.concat();
                &joined
            };
            sockets.retain(|socket| write_once(socket, bytes, counters));
        }
        self.bytes = 0;
    }
}

/// One `write(2)` of `bytes` to `socket`; false (and counted) when the stream is to be dropped.
fn write_once(mut socket: &TcpStream, bytes: &[u8], counters: &Counters) -> bool {
    let outcome = loop {
        match socket.write(bytes) {
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    counters.writes.fetch_add(1, Ordering::Relaxed);
    let counter = match outcome {
        Ok(n) if n == bytes.len() => return true,
        // A short write or a full buffer: the client is not keeping up.
        Ok(_) => &counters.dropped,
        Err(error) if error.kind() == ErrorKind::WouldBlock => &counters.dropped,
        Err(_) => &counters.closed,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    counters.streams.fetch_sub(1, Ordering::SeqCst);
    false
}

fn is_transient(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted)
        || matches!(error.raw_os_error(), Some(code) if code == 24 || code == 23)
    // EMFILE, ENFILE
}

/// The parts of a request head the floor looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target, query included.
    pub path: String,
    /// The `Content-Length` header.
    pub content_length: Option<usize>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
}

/// Parses a request head at the start of `bytes`: `Ok(None)` while it is incomplete, else the head and its length
/// (through the blank line); an error says what is wrong with it.
pub fn parse_head(bytes: &[u8]) -> Result<Option<(Head, usize)>, &'static str> {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if bytes.len() > MAX_HEAD { Err("request head too large") } else { Ok(None) };
    };
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| "request head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let mut request = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (request.next(), request.next(), request.next(), request.next())
    else {
        return Err("malformed request line");
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !path.starts_with('/') {
        return Err("malformed request line");
    }
    let mut head = Head { method: method.to_owned(), path: path.to_owned(), content_length: None, authorization: None };
    for line in lines {
        let (name, value) = line.split_once(':').ok_or("malformed header line")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            head.content_length = Some(value.parse().map_err(|_| "malformed Content-Length")?);
        } else if name.eq_ignore_ascii_case("authorization") {
            head.authorization = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("chunked request bodies are not supported");
        }
    }
    Ok(Some((head, end + 4)))
}

/// Reads from `socket` into `buffer` until it holds a whole head, which is removed from it and returned (what
/// follows it stays in `buffer`); `None` when the peer closed first.
fn read_head(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<Option<Result<Head, &'static str>>> {
    loop {
        match parse_head(buffer) {
            Ok(Some((head, length))) => {
                buffer.drain(..length);
                return Ok(Some(Ok(head)));
            }
            Err(message) => return Ok(Some(Err(message))),
            Ok(None) => {}
        }
        let mut chunk = [0_u8; 4096];
        let n = socket.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// The topic of `/events/{topic}` (one path segment, not empty; a query is ignored).
fn topic_of(path: &str) -> Option<&str> {
    let topic = path.split('?').next()?.strip_prefix("/events/")?;
    (!topic.is_empty() && !topic.contains(['/', '%'])).then_some(topic)
}

fn respond(socket: &mut TcpStream, status: &str, content_type: &str, body: &str, keep_alive: bool) -> io::Result<()> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: {connection}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(response.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_head_is_parsed_once_complete() {
        let get = b"GET /events/a HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
        assert_eq!(parse_head(&get[..20]), Ok(None));
        let (head, length) = parse_head(get).unwrap().unwrap();
        assert_eq!((head.method.as_str(), head.path.as_str(), length), ("GET", "/events/a", get.len()));
        let post = b"POST /events/b HTTP/1.1\r\ncontent-length: 12\r\nAUTHORIZATION: Bearer k\r\n\r\n{\"x\":1}";
        let (head, length) = parse_head(post).unwrap().unwrap();
        assert_eq!((head.content_length, head.authorization.as_deref()), (Some(12), Some("Bearer k")));
        assert_eq!(&post[length..], b"{\"x\":1}");
    }

    #[test]
    fn a_malformed_head_is_an_error_not_a_panic() {
        for bad in [
            &b"GET\r\n\r\n"[..],
            b"GET /a HTTP/1.1 extra\r\n\r\n",
            b"GET a HTTP/1.1\r\n\r\n",
            b"GET /a SPDY/3\r\n\r\n",
            b"GET /a HTTP/1.1\r\nno colon\r\n\r\n",
            b"POST /a HTTP/1.1\r\ncontent-length: -1\r\n\r\n",
            b"POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
        ] {
            assert!(parse_head(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_head(&[b'a'; MAX_HEAD + 1]), Err("request head too large"));
    }

    #[test]
    fn topics_are_single_path_segments() {
        assert_eq!(topic_of("/events/ticks"), Some("ticks"));
        assert_eq!(topic_of("/events/ticks?lastEventId=3"), Some("ticks"));
        for bad in ["/events/", "/events/a/b", "/events/?x=1", "/other/a"] {
            assert_eq!(topic_of(bad), None, "{bad}");
        }
    }
}
