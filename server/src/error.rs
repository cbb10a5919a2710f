//! The errors a request can end in, and how each becomes a response: a status and `{"error": "..."}`.

use std::fmt;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sse_live_protocol::EncodeError;

use crate::hub::{PublishError, TooManyTopics};

/// An error answered to the client as JSON; internal details are logged, not sent.
#[derive(Debug)]
pub enum ApiError {
    /// No route here (404).
    NotFound,
    /// `/e/{topic}` names a topic the server does not have (404).
    UnknownTopic(String),
    /// The request cannot be understood: a bad path, query string, topic name or body (400).
    BadRequest(String),
    /// `POST /events/{topic}` on a server without `--publish-key` (404).
    PublishingOff,
    /// No credentials, or ones that prove nothing: a missing or wrong publisher key, a missing or malformed
    /// subscriber token (401, with `WWW-Authenticate: Bearer`).
    Unauthorized(String),
    /// Valid credentials that do not allow this: a token for other topics, an expired token (403).
    Forbidden(String),
    /// A request body over `--max-body` (413).
    PayloadTooLarge(String),
    /// Too many streams open, in all or from this IP address (429, with `Retry-After`).
    TooManyStreams {
        /// The per-IP limit was hit (else the total one).
        per_ip: bool,
        /// The limit that was hit.
        limit: u32,
        /// When to try again.
        retry_after: Duration,
    },
    /// A new topic was needed while the server holds `--max-topics` (503, with `Retry-After`).
    TooManyTopics(TooManyTopics, Duration),
    /// `POST /jobs` while the most demo jobs run already (429, with `Retry-After`).
    TooManyJobs {
        /// How many may run at once.
        limit: usize,
        /// When to try again.
        retry_after: Duration,
    },
    /// With `--redis-url`: Redis cannot be reached, so nothing can be published and topics this instance does not
    /// follow yet cannot be subscribed to (503, with `Retry-After`).
    RedisUnavailable(String),
    /// A bug on our side (500); the message is logged only.
    Internal(String),
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::NotFound | Self::UnknownTopic(_) | Self::PublishingOff => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyStreams { .. } | Self::TooManyJobs { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::TooManyTopics(..) | Self::RedisUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short code for the `reason` label of the rejection metric.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::NotFound | Self::UnknownTopic(_) | Self::PublishingOff => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::TooManyStreams { per_ip: false, .. } => "too_many_streams",
            Self::TooManyStreams { per_ip: true, .. } => "too_many_streams_per_ip",
            Self::TooManyTopics(..) => "too_many_topics",
            Self::TooManyJobs { .. } => "too_many_jobs",
            Self::RedisUnavailable(_) => "redis_unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("not found"),
            Self::UnknownTopic(topic) => write!(f, "no topic named {topic:?}"),
            Self::BadRequest(why) => write!(f, "bad request: {why}"),
            Self::PublishingOff => f.write_str("publishing is off: the server has no --publish-key (nor --jwt-secret)"),
            Self::Unauthorized(why) | Self::Forbidden(why) | Self::PayloadTooLarge(why) => f.write_str(why),
            Self::TooManyStreams { per_ip: false, limit, .. } => {
                write!(f, "too many streams: the server allows {limit} at once; try again later")
            }
            Self::TooManyStreams { per_ip: true, limit, .. } => {
                write!(f, "too many streams from your address: at most {limit} at once; close one or try again later")
            }
            Self::TooManyTopics(error, _) => error.fmt(f),
            Self::TooManyJobs { limit, .. } => {
                write!(f, "{limit} jobs are running already; try again in a few seconds")
            }
            Self::RedisUnavailable(why) => write!(f, "Redis is unavailable, try again shortly: {why}"),
            Self::Internal(_) => f.write_str("internal server error"),
        }
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut response = (self.status(), Json(Body { error: self.to_string() })).into_response();
        match &self {
            Self::Unauthorized(_) => {
                response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyStreams { retry_after, .. }
            | Self::TooManyTopics(_, retry_after)
            | Self::TooManyJobs { retry_after, .. } => {
                // Whole seconds, rounded up, at least 1.
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            Self::RedisUnavailable(_) => {
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(1));
            }
            _ => {}
        }
        response
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

impl From<EncodeError> for ApiError {
    fn from(error: EncodeError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(error: serde_json::Error) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<PublishError> for ApiError {
    fn from(error: PublishError) -> Self {
        match error {
            // Topics are forgotten as subscribers leave: worth trying again soon.
            PublishError::TooManyTopics(error) => Self::TooManyTopics(error, Duration::from_secs(5)),
            PublishError::Encode(error) => error.into(),
        }
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(error: redis::RedisError) -> Self {
        if error.is_io_error() || error.is_connection_dropped() || error.is_timeout() || error.is_connection_refusal() {
            Self::RedisUnavailable(error.to_string())
        } else {
            Self::Internal(format!("redis: {error}"))
        }
    }
}

impl From<TooManyTopics> for ApiError {
    fn from(error: TooManyTopics) -> Self {
        Self::TooManyTopics(error, Duration::from_secs(5))
    }
}
