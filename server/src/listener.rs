//! The listener the server accepts connections on: TCP with a send timeout, and the client's address for the
//! per-IP limit.
//!
//! A client that stops reading (a stalled network, a suspended laptop, a deliberate slow reader) fills the
//! socket's buffers; hyper then waits for the socket to take more and stops polling the response body, so nothing
//! inside a stream can notice. The send timeout is noticed at the socket: when a write cannot make progress for
//! `--send-timeout`, the write fails and hyper closes the connection, which drops the stream (and its permit and
//! subscriptions). Idle connections are not affected: the timer only runs while a write is waiting.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::serve::{IncomingStream, Listener};
use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_io_timeout::TimeoutWriter;

use crate::serve::Activity;

/// A TCP listener whose connections time out when a write is stuck for `send_timeout`.
#[derive(Debug)]
pub(crate) struct SendTimeoutListener {
    inner: TcpListener,
    send_timeout: Duration,
    timeouts: Counter,
}

impl Listener for SendTimeoutListener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        (Connection::new(stream, self.send_timeout, self.timeouts.clone(), None), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// One accepted connection (see [`SendTimeoutListener`]).
#[derive(Debug)]
pub(crate) struct Connection {
    inner: Pin<Box<TimeoutWriter<TcpStream>>>,
    timeouts: Counter,
    timed_out: bool,
    /// Told of every read, for the header and idle timeouts (see [`crate::serve`]).
    activity: Option<Arc<Activity>>,
}

impl Connection {
    fn new(stream: TcpStream, send_timeout: Duration, timeouts: Counter, activity: Option<Arc<Activity>>) -> Self {
        // Events are small and must go out at once.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let mut writer = TimeoutWriter::new(stream);
        writer.set_timeout(Some(send_timeout));
        Self { inner: Box::pin(writer), timeouts, timed_out: false, activity }
    }

    /// `stream` with the send timeout, telling `activity` of every read.
    pub(crate) fn tracked(
        stream: TcpStream,
        send_timeout: Duration,
        timeouts: Counter,
        activity: Arc<Activity>,
    ) -> Self {
        Self::new(stream, send_timeout, timeouts, Some(activity))
    }

    fn count<T>(&mut self, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(error)) = &result {
            if error.kind() == io::ErrorKind::TimedOut && !self.timed_out {
                self.timed_out = true;
                self.timeouts.inc();
                tracing::info!("a client read nothing for the send timeout; closing its connection");
            }
        }
        result
    }
}

impl AsyncRead for Connection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = self.inner.as_mut().poll_read(cx, buf);
        if let (Some(activity), Poll::Ready(Ok(()))) = (&self.activity, &result) {
            if buf.filled().len() > before {
                activity.bytes_read();
            }
        }
        result
    }
}

impl AsyncWrite for Connection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = self.inner.as_mut().poll_write(cx, buf);
        self.count(result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = self.inner.as_mut().poll_write_vectored(cx, bufs);
        self.count(result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = self.inner.as_mut().poll_flush(cx);
        self.count(result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.as_mut().poll_shutdown(cx)
    }
}

/// The client's socket address, as `ConnectInfo` (see [`crate::run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, SendTimeoutListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, SendTimeoutListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// The client's IP address when the server knows it (it does when served by [`crate::run`]): the peer's address, or
/// behind a trusted proxy the address the proxy names (see [`crate::forwarded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ip) = parts.extensions.get::<ClientIp>() {
            return Ok(*ip);
        }
        Ok(Self(parts.extensions.get::<ConnectInfo<ClientAddr>>().map(|info| info.0 .0.ip())))
    }
}
