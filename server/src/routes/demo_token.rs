//! `GET /demo-token?sub=NAME`: a short-lived subscriber token for the demo page, only with `--demo-auth` (404
//! otherwise). Anyone can get one, so never turn it on in production.
//!
//! The token carries the audience `aud: "sse-live-demo"` ([`DEMO_AUDIENCE`]), which only a server with
//! `--demo-auth` accepts (see [`crate::auth`]); it allows reading `users/{sub}/*` and `private/demo/*` and
//! publishing to `users/{sub}/*` (with `POST /events/{topic}` and the token as `Authorization: Bearer`), expires
//! after `--demo-token-ttl`, and comes as JSON ([`DemoToken`]) and as the `sse_live_token` cookie (`HttpOnly`,
//! `SameSite=Strict`), so that a same-origin `EventSource` sends it without script. `sub` must be one topic segment
//! (`[A-Za-z0-9_.-]`, at most 64 bytes); anything else is 400.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sse_live_demo_wire::DemoToken;

use crate::auth::{unix_now, Claims, DEMO_AUDIENCE, TOKEN_COOKIE};
use crate::error::ApiError;
use crate::hub::TopicName;
use crate::state::AppState;

/// The longest `sub` accepted.
pub(crate) const MAX_SUB_LEN: usize = 64;

/// The topic patterns of a demo token.
pub(crate) const DEMO_TOPICS: [&str; 2] = ["users/{sub}/*", "private/demo/*"];

/// The topic patterns a demo token may publish to: its own channels, so that the page can write to them.
pub(crate) const DEMO_PUBLISH: [&str; 1] = ["users/{sub}/*"];

/// The query of `/demo-token`.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    /// Who the token is for.
    pub sub: Option<String>,
}

/// Mints a token; see the module docs.
pub(crate) async fn demo_token(
    State(state): State<AppState>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let keys = state.tokens.as_ref().filter(|_| state.config.demo_auth).ok_or(ApiError::NotFound)?;
    let Query(query) = query?;
    let sub = query.sub.unwrap_or_default();
    if sub.len() > MAX_SUB_LEN || !TopicName::is_segment(&sub) {
        return Err(ApiError::BadRequest(format!(
            "sub must be 1 to {MAX_SUB_LEN} characters of A-Z a-z 0-9 _ . - (not . or ..), not {sub:?}"
        )));
    }
    let ttl = state.config.demo_token_ttl;
    let exp = (unix_now() + ttl).as_secs();
    let claims = Claims {
        sub: sub.clone(),
        exp,
        topics: DEMO_TOPICS.map(str::to_owned).to_vec(),
        publish: DEMO_PUBLISH.map(str::to_owned).to_vec(),
        aud: vec![DEMO_AUDIENCE.to_owned()],
    };
    let token = keys.mint(&claims)?;
    let cookie = format!("{TOKEN_COOKIE}={token}; Max-Age={}; Path=/; HttpOnly; SameSite=Strict", ttl.as_secs());
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = DemoToken { token, sub, topics: claims.topics, publish: claims.publish, expires_at: exp };
    Ok(([(SET_COOKIE, cookie)], Json(body)).into_response())
}
