//! The errors a request can end in, and how each becomes a response: a status and `{"error": "..."}`.

use std::fmt;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sse_live_protocol::EncodeError;

/// An error answered to the client as JSON; internal details are logged, not sent.
#[derive(Debug)]
pub enum ApiError {
    /// No route here (404).
    NotFound,
    /// `/e/{topic}` names a topic the server does not have (404).
    UnknownTopic(String),
    /// The request cannot be understood: a bad path or query string (400).
    BadRequest(String),
    /// A bug on our side (500); the message is logged only.
    Internal(String),
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound | Self::UnknownTopic(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("not found"),
            Self::UnknownTopic(topic) => write!(f, "no topic named {topic:?}"),
            Self::BadRequest(why) => write!(f, "bad request: {why}"),
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
        (self.status(), Json(Body { error: self.to_string() })).into_response()
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
