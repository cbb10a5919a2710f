//! A connection's socket, shared by hyper (which reads requests and writes heads, slow-path frames and a body's
//! end) and the direct fan-out of [`crate::hub::direct`] (which writes live events of a parked stream straight to
//! it, from the publisher's thread).
//!
//! The two never write at once: the fan-out writes only to a parked stream, a stream parks only while its task
//! sleeps with nothing to send, and hyper only writes what the stream's body gave it, so before any byte of hyper's
//! the body has unparked (under the parked stream's lock, which a direct write holds). What hyper may still hold
//! after the body parked (a frame it buffered but has not written yet) is tracked here: [`Socket::hyper_holds`] is
//! set when the body hands hyper a frame and cleared when hyper's flush completes (hyper flushes its socket only
//! once its own buffer is empty).

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// See the module docs; cheap to clone (clones share the socket).
#[derive(Debug, Clone)]
pub(crate) struct Socket {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    stream: TcpStream,
    /// hyper holds bytes it has not written yet (see the module docs). Set at first: the response head.
    hyper_holds: AtomicBool,
}

impl Socket {
    /// Shares `stream`.
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self { shared: Arc::new(Shared { stream, hyper_holds: AtomicBool::new(true) }) }
    }

    /// The socket as hyper's IO: reads and writes through tokio's readiness, flushes clear
    /// [`Socket::hyper_holds`].
    pub(crate) fn io(&self) -> SocketIo {
        SocketIo { socket: self.clone() }
    }

    /// A stream's body handed hyper a frame: hyper holds bytes until its next completed flush.
    pub(crate) fn handed_to_hyper(&self) {
        self.shared.hyper_holds.store(true, Ordering::Release);
    }

    /// Whether hyper holds bytes it has not written: nothing else may write until it has.
    pub(crate) fn hyper_holds(&self) -> bool {
        self.shared.hyper_holds.load(Ordering::Acquire)
    }

    /// One non-blocking `send(2)`: how much the socket took, or `WouldBlock` when it takes nothing now. Straight to
    /// the descriptor, not through tokio's readiness (one cache line less per write); a socket found full is found
    /// full again by the next write through tokio, which then waits for it.
    pub(crate) fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        socket2::SockRef::from(&self.shared.stream).send(bytes)
    }

    /// Writes as much of `bytes` as the socket takes now, or waits (with `cx`) until it takes some.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.shared.stream.poll_write_ready(cx))?;
            match self.shared.stream.try_write(bytes) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    /// Where the socket's shared state is in memory (to prefetch it; never dereferenced).
    pub(crate) fn address(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// Sets `TCP_NODELAY`.
    pub(crate) fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.shared.stream.set_nodelay(nodelay)
    }
}

/// hyper's side of a [`Socket`] (see [`Socket::io`]).
#[derive(Debug)]
pub(crate) struct SocketIo {
    socket: Socket,
}

impl AsyncRead for SocketIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let stream = &self.socket.shared.stream;
        loop {
            ready!(stream.poll_read_ready(cx))?;
            match stream.try_read_buf(buf) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result.map(drop)),
            }
        }
    }
}

impl AsyncWrite for SocketIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.socket.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // hyper flushes its socket only once its buffer is empty: what it held is written.
        self.socket.shared.hyper_holds.store(false, Ordering::Release);
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = socket2::SockRef::from(&self.socket.shared.stream).shutdown(Shutdown::Write);
        // Already closed by the peer: nothing left to shut down.
        Poll::Ready(match result {
            Err(error) if error.kind() == io::ErrorKind::NotConnected => Ok(()),
            result => result,
        })
    }
}
