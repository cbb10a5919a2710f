//! Who may do what: the publisher key of `POST /events/{topic}`, and subscriber tokens for private topics.
//!
//! # Subscriber tokens
//!
//! Topics under `private/` and `users/{sub}/` need a JWT signed with HS256 and `--jwt-secret`, with the claims
//! [`Claims`]: `sub` (the user), `exp` (expiry, seconds since the Unix epoch; required) and `topics`, the patterns
//! of the topics it may read:
//!
//! - a topic name matches itself: `private/news`;
//! - `prefix/*` matches every topic under `prefix/` (any depth): `private/*`;
//! - `*` matches every topic;
//! - `{sub}` in a pattern stands for the token's `sub` (when `sub` is a valid topic segment): `users/{sub}/*`.
//!
//! The token is read from `Authorization: Bearer <token>` (the fetch transport), else the `sse_live_token`
//! cookie, else the `token` query parameter (the browser's `EventSource` can send neither a header nor, across
//! sites, a cookie). No token → 401; a token that does not verify → 401; a valid token that does not cover a
//! requested topic, or that has expired → 403. A stream opened with a token ends with `event: expired` when the
//! token expires.
//!
//! `exp` and `nbf` are checked with a leeway of [`LEEWAY`] (10 s) for the clocks of the token's issuer and this
//! server: a token is valid from `nbf - 10 s` to `exp + 10 s` by this server's clock, and its stream ends then.
//!
//! # Demo tokens
//!
//! `/demo-token` (with `--demo-auth`) mints tokens with the audience [`DEMO_AUDIENCE`] (`aud: "sse-live-demo"`).
//! Anyone can get one, so they are only accepted by a server with `--demo-auth`: elsewhere (the same secret on a
//! production server, say) they are refused with 401. Any other token, with another `aud` or none, is a real one.
//!
//! # The secret
//!
//! `--jwt-secret` must be at least [`MIN_SECRET_LEN`] (32) bytes: HS256 keys shorter than its 256-bit hash output
//! are refused by RFC 7518 §3.2, and a short one can be brute-forced offline from any token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::HeaderMap;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::config::Secret;
use crate::error::ApiError;
use crate::hub::TopicName;

/// The cookie a subscriber token may come in.
pub(crate) const TOKEN_COOKIE: &str = "sse_live_token";
/// The query parameter a subscriber token may come in.
pub(crate) const TOKEN_PARAM: &str = "token";

/// The audience (`aud`) of the tokens `/demo-token` mints; see the module docs.
pub const DEMO_AUDIENCE: &str = "sse-live-demo";

/// The clock leeway for `exp` and `nbf`: 10 s. Clocks kept by NTP agree within far less; 10 s also covers an issuer
/// whose clock drifted a little and the one-second resolution of the claims, while an expired token lives at most
/// 10 s longer.
pub const LEEWAY: Duration = Duration::from_secs(10);

/// The shortest `--jwt-secret` accepted, in bytes: HS256's hash output, 256 bits (RFC 7518 §3.2).
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// A subscriber token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user the token was issued to.
    pub sub: String,
    /// When it expires, seconds since the Unix epoch.
    pub exp: u64,
    /// The topic patterns it may read (see the module docs).
    #[serde(default)]
    pub topics: Vec<String>,
    /// The topic patterns it may publish to with `POST /events/{topic}` (same syntax); none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<String>,
    /// The audiences it is meant for (`aud`, one string or an array); [`DEMO_AUDIENCE`] marks a demo token. None
    /// by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub aud: Vec<String>,
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3); one audience is written as a string.
mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub(super) fn serialize<S: Serializer>(values: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        match values {
            [one] => one.serialize(serializer),
            many => many.serialize(serializer),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
        Ok(match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        })
    }
}

impl Claims {
    /// Whether it is a demo token (its `aud` holds [`DEMO_AUDIENCE`]).
    pub(crate) fn is_demo(&self) -> bool {
        self.aud.iter().any(|aud| aud == DEMO_AUDIENCE)
    }

    /// Whether the token may read `topic`.
    pub(crate) fn allows(&self, topic: &TopicName) -> bool {
        self.topics.iter().any(|pattern| self.matches(pattern, topic.as_str()))
    }

    /// Whether the token may publish to `topic`.
    pub(crate) fn may_publish(&self, topic: &TopicName) -> bool {
        self.publish.iter().any(|pattern| self.matches(pattern, topic.as_str()))
    }

    fn matches(&self, pattern: &str, topic: &str) -> bool {
        let pattern = if pattern.contains("{sub}") {
            if !TopicName::is_segment(&self.sub) {
                return false;
            }
            pattern.replace("{sub}", &self.sub)
        } else {
            pattern.to_owned()
        };
        match pattern.strip_suffix('*') {
            Some("") => true,
            Some(prefix) if prefix.ends_with('/') => topic.starts_with(prefix) && topic.len() > prefix.len(),
            _ => pattern == topic,
        }
    }
}

/// Checks `Authorization: Bearer <key>` against the publisher key in constant time: `Ok` when it matches,
/// [`ApiError::Unauthorized`] otherwise.
pub(crate) fn check_publisher(headers: &HeaderMap, key: &Secret) -> Result<(), ApiError> {
    let given = bearer(headers).ok_or_else(|| {
        ApiError::Unauthorized("publishing needs the publisher key as Authorization: Bearer <key>".to_owned())
    })?;
    if bool::from(given.as_bytes().ct_eq(key.expose().as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("wrong publisher key".to_owned()))
    }
}

/// Decides whether a request may publish to `topic`: with `Authorization: Bearer` carrying the publisher key
/// (`--publish-key`), or a token (`--jwt-secret`) whose `publish` patterns cover the topic. Neither configured:
/// [`ApiError::PublishingOff`]; a token that does not verify or no credentials: 401; a valid token for other
/// topics: 403.
pub(crate) fn authorize_publisher(
    key: Option<&Secret>,
    tokens: Option<&TokenKeys>,
    headers: &HeaderMap,
    topic: &TopicName,
) -> Result<(), ApiError> {
    let looks_like_a_token = bearer(headers).is_some_and(|given| given.matches('.').count() == 2);
    match (key, tokens) {
        (None, None) => Err(ApiError::PublishingOff),
        (Some(key), _) if !looks_like_a_token => check_publisher(headers, key),
        (key, Some(tokens)) => {
            let given = bearer(headers).unwrap_or_default();
            // A publisher key shaped like a token (two dots) still works.
            if key.is_some_and(|key| bool::from(given.as_bytes().ct_eq(key.expose().as_bytes()))) {
                return Ok(());
            }
            let claims = tokens.verify(given)?;
            if claims.may_publish(topic) {
                Ok(())
            } else {
                Err(ApiError::Forbidden(format!("the token may not publish to the topic {:?}", topic.as_str())))
            }
        }
        (Some(key), None) => check_publisher(headers, key),
    }
}

/// The token in `Authorization: Bearer`, else the [`TOKEN_COOKIE`] cookie, else the [`TOKEN_PARAM`] parameter.
pub(crate) fn subscriber_token(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    if let Some(token) = bearer(headers) {
        return Some(token.to_owned());
    }
    let from_cookie = headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|cookies| {
        cookies.split(';').find_map(|c| c.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('=').map(str::to_owned))
    });
    from_cookie
        .or_else(|| query.iter().find(|(k, _)| k == TOKEN_PARAM).map(|(_, v)| v.clone()))
        .filter(|t| !t.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Signs and verifies subscriber tokens with one HS256 secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    accept_demo: bool,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    /// Keys from the `--jwt-secret`, refusing demo tokens (see `accept_demo_tokens`).
    pub fn new(secret: &Secret) -> Self {
        let bytes = secret.expose().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            accept_demo: false,
        }
    }

    /// Keys that also accept demo tokens (`aud` [`DEMO_AUDIENCE`]) when `accept` (the server has `--demo-auth`).
    pub(crate) fn accept_demo_tokens(self, accept: bool) -> Self {
        Self { accept_demo: accept, ..self }
    }

    /// A signed token for `claims`.
    pub fn mint(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("cannot sign a token: {e}")))
    }

    /// Verifies `token` (signature, HS256 only, expiry and any `nbf` with [`LEEWAY`], a demo token only when
    /// accepted): its claims, 401 when it does not verify or is a demo token this server refuses, 403 when it has
    /// expired.
    pub(crate) fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY.as_secs();
        validation.validate_nbf = true;
        validation.validate_aud = false;
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) if data.claims.is_demo() && !self.accept_demo => Err(ApiError::Unauthorized(format!(
                "a demo token (aud {DEMO_AUDIENCE:?}) is accepted only by a server with --demo-auth"
            ))),
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                Err(ApiError::Forbidden("the token has expired".to_owned()))
            }
            Err(e) => Err(ApiError::Unauthorized(format!("invalid token: {e}"))),
        }
    }
}

/// Decides whether a request may subscribe to `topics`: `Ok(None)` when none is private, `Ok(Some(time left))`
/// when a valid token covers all of them (the stream must end when it runs out), else the error to answer.
pub(crate) fn authorize_subscriber(
    keys: Option<&TokenKeys>,
    token: Option<&str>,
    topics: &[TopicName],
) -> Result<Option<Duration>, ApiError> {
    let Some(private) = topics.iter().find(|t| t.is_private()).map(TopicName::as_str) else { return Ok(None) };
    let Some(keys) = keys else {
        return Err(ApiError::Forbidden(format!(
            "{private:?} is private and this server has no --jwt-secret to check tokens with"
        )));
    };
    let Some(token) = token else {
        return Err(ApiError::Unauthorized(format!(
            "{private:?} is private: send a token (Authorization: Bearer, the {TOKEN_COOKIE} cookie or ?{TOKEN_PARAM}=)"
        )));
    };
    let claims = keys.verify(token)?;
    if let Some(denied) = topics.iter().find(|t| t.is_private() && !claims.allows(t)) {
        return Err(ApiError::Forbidden(format!("the token does not allow the topic {:?}", denied.as_str())));
    }
    let left = (Duration::from_secs(claims.exp) + LEEWAY).saturating_sub(unix_now());
    if left.is_zero() {
        return Err(ApiError::Forbidden("the token has expired".to_owned()));
    }
    Ok(Some(left))
}

/// Now, as a duration since the Unix epoch.
pub fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn claims(sub: &str, topics: &[&str]) -> Claims {
        Claims {
            sub: sub.into(),
            exp: unix_now().as_secs() + 60,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            publish: Vec::new(),
            aud: Vec::new(),
        }
    }

    fn topic(name: &str) -> TopicName {
        TopicName::parse(name).unwrap()
    }

    #[test]
    fn patterns_match_names_prefixes_and_the_subject() {
        let c = claims("ada", &["private/news", "private/rooms/*", "users/{sub}/*"]);
        for (name, allowed) in [
            ("private/news", true),
            ("private/news/x", false),
            ("private/rooms/kitchen", true),
            ("private/rooms/a/b", true),
            ("private/rooms", false),
            ("users/ada/inbox", true),
            ("users/bob/inbox", false),
            ("users/ada", false),
        ] {
            assert_eq!(c.allows(&topic(name)), allowed, "{name}");
        }
        assert!(claims("x", &["*"]).allows(&topic("private/anything")));
        assert!(!claims("a/b", &["users/{sub}/*"]).allows(&topic("users/a/b/c")), "a sub with a slash matches nothing");
    }

    #[test]
    fn tokens_come_from_the_header_then_the_cookie_then_the_query() {
        let mut headers = HeaderMap::new();
        let query = vec![(TOKEN_PARAM.to_owned(), "q".to_owned())];
        assert_eq!(subscriber_token(&headers, &query).as_deref(), Some("q"));
        headers.insert(COOKIE, HeaderValue::from_static("a=1; sse_live_token=c; b=2"));
        assert_eq!(subscriber_token(&headers, &query).as_deref(), Some("c"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer h"));
        assert_eq!(subscriber_token(&headers, &query).as_deref(), Some("h"));
        assert_eq!(subscriber_token(&HeaderMap::new(), &[]), None);
    }

    #[test]
    fn the_publisher_key_is_checked() {
        let key = Secret::new("k1");
        let mut headers = HeaderMap::new();
        assert!(matches!(check_publisher(&headers, &key), Err(ApiError::Unauthorized(_))));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer k2"));
        assert!(matches!(check_publisher(&headers, &key), Err(ApiError::Unauthorized(_))));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer k1"));
        assert!(check_publisher(&headers, &key).is_ok());
    }

    #[test]
    fn minted_tokens_verify_and_other_secrets_do_not() {
        let keys = TokenKeys::new(&Secret::new("s1"));
        let token = keys.mint(&claims("ada", &["users/{sub}/*"])).unwrap();
        assert_eq!(keys.verify(&token).unwrap().sub, "ada");
        let other = TokenKeys::new(&Secret::new("s2"));
        assert!(matches!(other.verify(&token), Err(ApiError::Unauthorized(_))));
        let past = |by: u64| Claims { exp: unix_now().as_secs() - by, ..claims("ada", &[]) };
        let expired = keys.mint(&past(LEEWAY.as_secs() + 5)).unwrap();
        assert!(matches!(keys.verify(&expired), Err(ApiError::Forbidden(_))));
        let within_leeway = keys.mint(&past(LEEWAY.as_secs() - 5)).unwrap();
        assert!(keys.verify(&within_leeway).is_ok(), "expired by less than the leeway");
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims("ada", &["*"]),
            &EncodingKey::from_secret(b"s1"),
        )
        .unwrap();
        assert!(matches!(keys.verify(&hs512), Err(ApiError::Unauthorized(_))), "HS256 only");
        #[derive(Serialize)]
        struct Early {
            sub: &'static str,
            exp: u64,
            nbf: u64,
        }
        let now = unix_now().as_secs();
        let early = Early { sub: "ada", exp: now + 60, nbf: now + LEEWAY.as_secs() + 20 };
        let early =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &early, &EncodingKey::from_secret(b"s1")).unwrap();
        assert!(keys.verify(&early).is_err(), "not valid before its nbf");
    }

    #[test]
    fn publishers_are_the_key_or_a_token_with_publish_patterns() {
        let key = Secret::new("the-key");
        let keys = TokenKeys::new(&Secret::new("s1"));
        let writer = keys.mint(&Claims { publish: vec!["users/{sub}/*".into()], ..claims("ada", &[]) }).unwrap();
        let reader = keys.mint(&claims("ada", &["users/{sub}/*"])).unwrap();
        let with = |bearer: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {bearer}")).unwrap());
            headers
        };
        let inbox = topic("users/ada/inbox");
        let status = |r: Result<(), ApiError>| r.map_err(|e| e.status().as_u16());
        assert_eq!(status(authorize_publisher(None, None, &with("x"), &inbox)), Err(404), "nothing configured");
        assert_eq!(status(authorize_publisher(Some(&key), None, &with("the-key"), &inbox)), Ok(()));
        assert_eq!(status(authorize_publisher(Some(&key), None, &with("wrong"), &inbox)), Err(401));
        assert_eq!(status(authorize_publisher(Some(&key), Some(&keys), &with("the-key"), &inbox)), Ok(()));
        assert_eq!(status(authorize_publisher(None, Some(&keys), &with(&writer), &inbox)), Ok(()));
        assert_eq!(status(authorize_publisher(Some(&key), Some(&keys), &with(&writer), &inbox)), Ok(()));
        let other = topic("users/bob/inbox");
        assert_eq!(status(authorize_publisher(None, Some(&keys), &with(&writer), &other)), Err(403), "not its topic");
        assert_eq!(status(authorize_publisher(None, Some(&keys), &with(&reader), &inbox)), Err(403), "read only");
        assert_eq!(status(authorize_publisher(None, Some(&keys), &with("a.b.c"), &inbox)), Err(401), "forged");
        assert_eq!(status(authorize_publisher(None, Some(&keys), &HeaderMap::new(), &inbox)), Err(401), "none");
    }

    #[test]
    fn demo_tokens_verify_only_where_accepted() {
        let secret = Secret::new("s1");
        let demo = Claims { aud: vec![DEMO_AUDIENCE.into()], ..claims("ada", &["users/{sub}/*"]) };
        let token = TokenKeys::new(&secret).mint(&demo).unwrap();
        let refused = TokenKeys::new(&secret).verify(&token);
        assert!(matches!(&refused, Err(ApiError::Unauthorized(why)) if why.contains("--demo-auth")), "{refused:?}");
        assert_eq!(TokenKeys::new(&secret).accept_demo_tokens(true).verify(&token).unwrap(), demo);
        // Other audiences, as a string or an array, are real tokens.
        let encode = |aud: serde_json::Value| {
            let claims = serde_json::json!({ "sub": "ada", "exp": unix_now().as_secs() + 60, "aud": aud });
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"s1")).unwrap()
        };
        let keys = TokenKeys::new(&secret);
        assert_eq!(keys.verify(&encode("app".into())).unwrap().aud, ["app"]);
        assert_eq!(keys.verify(&encode(serde_json::json!(["a", "b"]))).unwrap().aud, ["a", "b"]);
        assert!(keys.verify(&encode(serde_json::json!(["a", DEMO_AUDIENCE]))).is_err(), "a demo audience among others");
    }
}
