//! One SSE connection on a raw socket: connect from a chosen source address, send the `GET`, then read with
//! `recvmsg(2)` so that every read carries the kernel's receive timestamp ([`timestamp`]); the response is decoded
//! by [`Response`] and the body fed to the project's [`Parser`], each event recorded with the times of the read that
//! completed it.

use std::cell::RefCell;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use sse_live_protocol::{ParsedRef, Parser};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::OwnedSemaphorePermit;

use super::body::{Progress, Response};
use super::churn::{Churn, Track};
use super::http::Target;
use super::stats::{Receipt, Recorder};
use super::timestamp;

/// Distinct failure messages kept for the report.
const MAX_ERRORS: usize = 5;
/// Bytes one read takes at most.
const READ_BUFFER: usize = 64 * 1024;

thread_local! {
    /// The read buffer of every connection on this worker thread, and the body bytes decoded from a read: a read
    /// and its processing never await, so the connections need no buffers of their own (20,000 of them, each
    /// grown to the largest read at full speed, would otherwise hold GiBs).
    static BUFFERS: RefCell<(Vec<u8>, Vec<u8>)> = RefCell::new((vec![0; READ_BUFFER], Vec::new()));
}

/// The counts all connections share.
#[derive(Default)]
pub struct Tally {
    /// Connections that got a stream.
    pub held: AtomicU64,
    /// Connections that did not.
    pub failed: AtomicU64,
    /// Streams that ended while `done` was false.
    pub ended: AtomicU64,
    /// Nanoseconds from the start to the latest answer (stream or failure).
    pub last_answer_ns: AtomicU64,
    /// Set when the run is over: streams ending after it are not counted as ended early.
    pub done: AtomicBool,
    /// The first few distinct failures.
    pub errors: Mutex<Vec<String>>,
}

impl Tally {
    /// Held and failed together.
    pub fn answered(&self) -> u64 {
        self.held.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }

    fn answer(&self, started: Instant) {
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_answer_ns.fetch_max(ns, Ordering::SeqCst);
    }

    fn error(&self, error: String) {
        let mut errors = self.errors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if errors.len() < MAX_ERRORS && !errors.contains(&error) {
            errors.push(error);
        }
    }
}

/// What one read did to the connection.
enum Step {
    /// Nothing to read after all (a spurious wake-up).
    Again,
    /// More of the head, or of the body.
    Read(Progress),
    /// The peer closed.
    Closed,
}

/// Connection number `index`: opens a stream to `target` from `source` (holding `opening` until it is answered),
/// then reads it until it ends; with `churn`, closes and reopens it with `Last-Event-ID` when told to.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    index: usize,
    target: &Target,
    source: Option<IpAddr>,
    opening: OwnedSemaphorePermit,
    started: Instant,
    tally: &Tally,
    recorder: &Recorder,
    churn: Option<&Churn>,
) {
    let mut opening = Some(opening);
    let mut held = false;
    let mut track = Track::default();
    let mut reconnecting = false;
    let end = loop {
        let last_id = (reconnecting && !track.last_id.is_empty()).then(|| track.last_id.clone());
        let mut answered_again = false;
        let outcome = match connect(target, source, last_id.as_deref()).await {
            Ok(stream) => {
                read(index, &stream, recorder, churn.map(|c| (c, &mut track)), || {
                    if held {
                        answered_again = true;
                        if let Some(churn) = churn {
                            churn.reconnected(true);
                        }
                        return;
                    }
                    // The permit bounds the connections being opened at once, not those open.
                    opening.take();
                    held = true;
                    tally.held.fetch_add(1, Ordering::SeqCst);
                    tally.answer(started);
                })
                .await
            }
            Err(error) => Outcome::Ended(error),
        };
        if reconnecting && !answered_again {
            if let Some(churn) = churn {
                churn.reconnected(false);
            }
        }
        match (outcome, churn) {
            (Outcome::Kicked, Some(churn)) => {
                tokio::time::sleep(churn.gap).await;
                track.reconnecting(churn);
                reconnecting = true;
            }
            (Outcome::Kicked, None) => break "kicked without churn".to_owned(),
            (Outcome::Ended(end), _) => break end,
        }
    };
    if !held {
        tally.failed.fetch_add(1, Ordering::SeqCst);
        tally.answer(started);
        tally.error(end);
    } else if !tally.done.load(Ordering::SeqCst) {
        tally.ended.fetch_add(1, Ordering::SeqCst);
        tally.error(end);
    }
}

/// How a connection's reading ended.
enum Outcome {
    /// It ended, for this reason.
    Ended(String),
    /// The churn driver told it to close and reconnect.
    Kicked,
}

/// Connects to `target` from `source`, turns on receive timestamps and sends the request (with `Last-Event-ID`
/// when given).
async fn connect(target: &Target, source: Option<IpAddr>, last_id: Option<&str>) -> Result<TcpStream, String> {
    let socket = if target.addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() };
    let socket = socket.map_err(|e| format!("socket: {e}"))?;
    if let Some(source) = source {
        socket.bind(SocketAddr::new(source, 0)).map_err(|e| format!("bind {source}: {e}"))?;
    }
    let mut stream = socket.connect(target.addr).await.map_err(|e| format!("connect {}: {e}", target.addr))?;
    stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    timestamp::enable(&stream).map_err(|e| format!("SO_TIMESTAMPNS: {e}"))?;
    let resume = last_id.map_or_else(String::new, |id| format!("Last-Event-ID: {id}\r\n"));
    let request =
        format!("GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n{resume}\r\n", target.path, target.host);
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("request: {e}"))?;
    Ok(stream)
}

/// Reads the response to its end and says how it ended; `answered` is called once the head was a stream's.
async fn read(
    index: usize,
    stream: &TcpStream,
    recorder: &Recorder,
    mut churn: Option<(&Churn, &mut Track)>,
    mut answered: impl FnMut(),
) -> Outcome {
    let fd = stream.as_raw_fd();
    let (mut response, mut parser) = (Response::new(), Parser::new());
    let mut streaming = false;
    loop {
        let kicked = async {
            match &churn {
                Some((churn, _)) => churn.kicked(index).await,
                None => std::future::pending().await,
            }
        };
        let readable = tokio::select! {
            readable = stream.readable() => readable,
            () = kicked => return Outcome::Kicked,
        };
        if let Err(error) = readable {
            return Outcome::Ended(format!("stream broke: {error}"));
        }
        let step = BUFFERS.with_borrow_mut(|(buffer, body)| {
            let received = match stream.try_io(Interest::READABLE, || timestamp::recv(fd, buffer)) {
                Ok(received) => received,
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(Step::Again),
                Err(error) => return Err(format!("stream broke: {error}")),
            };
            if received.bytes == 0 {
                return Ok(Step::Closed);
            }
            let receipt = Receipt {
                at: Instant::now(),
                user_unix_us: received.user_unix_us,
                kernel_unix_us: received.kernel_unix_us,
            };
            body.clear();
            let progress = response.feed(&buffer[..received.bytes], body)?;
            parser.feed_with(body, |parsed| {
                if let ParsedRef::Event(event) = parsed {
                    // Replayed events are counted apart: their latency is the time the stream was away.
                    let replayed = churn.as_mut().is_some_and(|(churn, track)| track.event(churn, event.last_event_id));
                    if !replayed {
                        recorder.record(index, &event, &receipt);
                    }
                }
            });
            Ok(Step::Read(progress))
        });
        match step {
            Ok(Step::Again | Step::Read(Progress::Head)) => {}
            Ok(Step::Read(Progress::Body)) if !streaming => {
                streaming = true;
                answered();
            }
            Ok(Step::Read(Progress::Body)) => {}
            Ok(Step::Read(Progress::End)) => {
                if !streaming {
                    answered();
                }
                return Outcome::Ended("the server ended a stream".to_owned());
            }
            Ok(Step::Closed) if streaming => return Outcome::Ended("the server ended a stream".to_owned()),
            Ok(Step::Closed) => return Outcome::Ended("the server closed the connection before answering".to_owned()),
            Err(error) => return Outcome::Ended(error),
        }
    }
}
