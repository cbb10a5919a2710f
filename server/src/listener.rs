//! Each accepted connection: TCP with a send timeout, its reads told to the header and idle timeouts, and the
//! client's address for the per-IP limit.
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

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_io_timeout::TimeoutWriter;

use crate::serve::Activity;
use crate::socket::{Socket, SocketIo};

/// One accepted connection: its writes time out when stuck for `--send-timeout`, and its reads are told to the
/// connection's [`Activity`] (for the header and idle timeouts of [`crate::serve`]).
#[derive(Debug)]
pub(crate) struct Connection {
    inner: Pin<Box<TimeoutWriter<SocketIo>>>,
    timeouts: Counter,
    timed_out: bool,
    /// Told of every read, for the header and idle timeouts (see [`crate::serve`]).
    activity: Arc<Activity>,
}

impl Connection {
    /// `socket` with the send timeout, telling `activity` of every read.
    pub(crate) fn tracked(socket: &Socket, send_timeout: Duration, timeouts: Counter, activity: Arc<Activity>) -> Self {
        // Events are small and must go out at once.
        if let Err(error) = socket.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let mut writer = TimeoutWriter::new(socket.io());
        writer.set_timeout(Some(send_timeout));
        Self { inner: Box::pin(writer), timeouts, timed_out: false, activity }
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
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
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
