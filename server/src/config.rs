//! The server's settings: command-line flags, each with an `SSE_LIVE_*` environment variable twin.
//!
//! A flag on the command line wins over its environment variable, and a flag given twice takes its last value;
//! durations take humantime syntax (`100ms`, `5s`, `1m 30s`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use axum::http::{HeaderValue, Uri};
use clap::builder::BoolishValueParser;
use clap::Parser;

use crate::auth::MIN_SECRET_LEN;

/// Everything the server can be told at startup.
#[derive(Debug, Clone, Parser)]
#[command(name = "sse-live-server", version, about, args_override_self = true)]
pub struct Config {
    /// Address to listen on (IP:PORT); port 0 picks a free port.
    #[arg(long, env = "SSE_LIVE_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Directory of the built client (trunk's output), served at `/`.
    #[arg(long, env = "SSE_LIVE_DIST", default_value = "dist")]
    pub dist: PathBuf,

    /// How often the temperature generator publishes a reading.
    #[arg(long, env = "SSE_LIVE_TEMPERATURE_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub temperature_interval: Duration,

    /// How often the random-number generator publishes a value.
    #[arg(long, env = "SSE_LIVE_RANDOM_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub random_interval: Duration,

    /// Send a keep-alive comment on a stream after this long without any other frame.
    #[arg(long, env = "SSE_LIVE_KEEP_ALIVE", default_value = "15s", value_parser = parse_duration)]
    pub keep_alive: Duration,

    /// Reconnection time sent to clients in the first frame of every stream (`retry:`, whole milliseconds).
    #[arg(long, env = "SSE_LIVE_RETRY", default_value = "3s", value_parser = parse_duration)]
    pub retry: Duration,

    /// Random extra time added to `--retry` for each stream (0 to this much), so that clients cut off together (a
    /// restart) do not all come back at the same instant.
    #[arg(long, env = "SSE_LIVE_RETRY_JITTER", default_value = "1s", value_parser = parse_duration_or_zero)]
    pub retry_jitter: Duration,

    /// Events each topic keeps for replay after a reconnect.
    #[arg(long, env = "SSE_LIVE_HISTORY", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub history: u32,

    /// How many events one client may fall behind the newest before it is sent `event: reset` with the id to resume
    /// from and its stream is closed (the per-connection buffer).
    #[arg(long, env = "SSE_LIVE_CLIENT_BUFFER", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub client_buffer: u32,

    /// A connection whose socket accepts no byte for this long (a client that stopped reading) is closed.
    #[arg(long, env = "SSE_LIVE_SEND_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub send_timeout: Duration,

    /// Allow cross-origin requests from this origin (repeatable; the env twin is comma-separated). CORS stays off when
    /// none is given.
    #[arg(long = "allow-origin", env = "SSE_LIVE_ALLOW_ORIGIN", value_name = "ORIGIN", value_delimiter = ',')]
    pub allow_origins: Vec<Origin>,

    /// Enable the `/test/*` routes the browser tests use (fault injection); never in production. Only a server built
    /// with the cargo feature `test-routes` has them; any other build refuses the flag at start. The env twin takes
    /// `true` or `1` (`false`, `0` or empty: off); any other value is an error.
    #[arg(long, env = "SSE_LIVE_TEST_ROUTES", value_parser = parse_explicit_bool)]
    pub test_routes: bool,

    /// After a shutdown signal, how long open connections get to close before the server exits anyway.
    #[arg(long, alias = "shutdown-timeout", env = "SSE_LIVE_DRAIN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub drain_timeout: Duration,

    /// The key publishers send as `Authorization: Bearer <key>` to `POST /events/{topic}`. Without one, publishing
    /// over HTTP is off (404).
    #[arg(long, env = "SSE_LIVE_PUBLISH_KEY", value_parser = parse_secret)]
    pub publish_key: Option<Secret>,

    /// The largest body `POST /events/{topic}` accepts, in bytes (413 above).
    #[arg(long, env = "SSE_LIVE_MAX_BODY", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(1..=64 * 1024 * 1024))]
    pub max_body: u32,

    /// The most event streams open at once; more get 429 with `Retry-After`.
    #[arg(long, env = "SSE_LIVE_MAX_STREAMS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams: u32,

    /// The most event streams open at once from one client IP address; more get 429 with `Retry-After`.
    #[arg(long, env = "SSE_LIVE_MAX_STREAMS_PER_IP", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams_per_ip: u32,

    /// The most connections open at once (event streams and plain requests alike). When they are all taken the
    /// server stops accepting until one closes (new clients wait in the kernel's queue), so it never runs out of
    /// file descriptors. Default: the process's open-file limit minus a reserve for files and Redis (a tenth of the
    /// limit, plus 32).
    #[arg(long, env = "SSE_LIVE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,

    /// The most connections open at once from one client IP address; a connection beyond it is closed at once,
    /// without an answer. Trusted proxies (`--trusted-proxy`) are exempt.
    #[arg(long, env = "SSE_LIVE_MAX_CONNECTIONS_PER_IP", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_ip: u32,

    /// A connection must send a complete request head (request line and headers) within this long of its opening,
    /// or of the first byte of a later request; otherwise it is closed.
    #[arg(long, env = "SSE_LIVE_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// A keep-alive connection with no request in progress is closed after this long without a new request. A
    /// connection whose response is still going on (an open event stream) is never idle.
    #[arg(long, env = "SSE_LIVE_IDLE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// A reverse proxy whose requests carry the client's address (repeatable; an address or a CIDR block such as
    /// `10.0.0.0/8`; the env twin is comma-separated). For a request from one of them the client address used by
    /// the per-address limits and the logs is the rightmost address in `--client-ip-header` that is not a trusted
    /// proxy; a missing or malformed header leaves the proxy's own address.
    #[arg(long = "trusted-proxy", env = "SSE_LIVE_TRUSTED_PROXY", value_name = "ADDR_OR_CIDR", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// The header trusted proxies put the client's address in: `x-forwarded-for` or `forwarded` (RFC 7239). Only
    /// this one is read: the proxy must set it or append to it, so that a client cannot forge the hop the proxy
    /// added.
    #[arg(long, env = "SSE_LIVE_CLIENT_IP_HEADER", value_enum, default_value_t = ClientIpHeader::XForwardedFor)]
    pub client_ip_header: ClientIpHeader,

    /// The most topics the server holds at once (published to, or subscribed to); a request that needs a new one
    /// beyond it gets 503. Bounds the memory anonymous subscribers can make the server use.
    #[arg(long, env = "SSE_LIVE_MAX_TOPICS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_topics: u32,

    /// The most topics one `GET /events?topic=...` stream may carry.
    #[arg(long, env = "SSE_LIVE_MAX_TOPICS_PER_STREAM", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_topics_per_stream: u32,

    /// The HS256 secret subscriber tokens for private topics (`private/...`, `users/{sub}/...`) are signed with, at
    /// least 32 bytes (a shorter one is refused at start). Without one, private topics cannot be subscribed to (403).
    #[arg(long, env = "SSE_LIVE_JWT_SECRET", value_parser = parse_secret)]
    pub jwt_secret: Option<Secret>,

    /// Direct writes (on by default; `--direct-writes=false` turns them off): live events written straight to
    /// waiting streams' sockets by fan-out threads, not through each stream's task and hyper (see the README's
    /// "Fan-out"). About a third less CPU per delivery, and the second core used; a publisher waits while the threads
    /// have a quarter of `--client-buffer` events of its topic to write.
    #[arg(
        long,
        env = "SSE_LIVE_DIRECT_WRITES",
        value_parser = BoolishValueParser::new(),
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub direct_writes: bool,

    /// Enable `GET /demo-token?sub=NAME`, which mints subscriber tokens for anyone: for the demo page only, never in
    /// production. Needs `--jwt-secret`.
    #[arg(long, env = "SSE_LIVE_DEMO_AUTH", value_parser = BoolishValueParser::new(), requires = "jwt_secret")]
    pub demo_auth: bool,

    /// How long a token from `/demo-token` is valid.
    #[arg(long, env = "SSE_LIVE_DEMO_TOKEN_TTL", default_value = "10m", value_parser = parse_duration)]
    pub demo_token_ttl: Duration,

    /// Enable `POST /jobs`, the demo's finite job (its progress streams on `jobs/{id}` until an `end` event):
    /// anyone can start one (at most 8 at once), so for the demo page only.
    #[arg(long, env = "SSE_LIVE_DEMO_JOBS", value_parser = BoolishValueParser::new())]
    pub demo_jobs: bool,

    /// Share topics with every instance connected to this Redis (`redis://host:6379/0`): publishing appends to a
    /// Redis Stream per topic, each instance reads the streams its clients subscribe to, and replay works on any
    /// instance. Without it, topics live in this process only. Redis must be reachable at start (exit code 1
    /// otherwise) unless `--redis-optional`.
    #[arg(long, env = "SSE_LIVE_REDIS_URL", value_name = "URL", value_parser = parse_secret)]
    pub redis_url: Option<Secret>,

    /// With `--redis-url`: when Redis cannot be reached at start, serve this instance's own topics (as without
    /// `--redis-url`; `/readyz` answers 503 meanwhile) and keep trying; once Redis answers, join it (open streams
    /// get `event: reset`, reason `restarted`, and go on with the shared topics).
    #[arg(long, env = "SSE_LIVE_REDIS_OPTIONAL", value_parser = BoolishValueParser::new(), requires = "redis_url")]
    pub redis_optional: bool,

    /// With `--redis-url`: how long an instance keeps reading a topic from Redis after its last subscriber here left
    /// (a client that reconnects within it resumes without a reload).
    #[arg(long, env = "SSE_LIVE_REDIS_FOLLOW_GRACE", default_value = "30s", value_parser = parse_duration_or_zero)]
    pub redis_follow_grace: Duration,

    /// The time between two steps (5 %) of a demo job: 20 steps make the whole job.
    #[arg(long, env = "SSE_LIVE_JOB_STEP", default_value = "150ms", value_parser = parse_duration)]
    pub job_step: Duration,
}

impl Default for Config {
    /// The defaults of every flag, ignoring the environment.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            dist: PathBuf::from("dist"),
            temperature_interval: Duration::from_secs(5),
            random_interval: Duration::from_secs(1),
            keep_alive: Duration::from_secs(15),
            retry: Duration::from_secs(3),
            retry_jitter: Duration::from_secs(1),
            history: 1000,
            client_buffer: 256,
            send_timeout: Duration::from_secs(30),
            allow_origins: Vec::new(),
            test_routes: false,
            drain_timeout: Duration::from_secs(10),
            publish_key: None,
            max_body: 64 * 1024,
            max_streams: 10_000,
            max_streams_per_ip: 64,
            max_connections: None,
            max_connections_per_ip: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            trusted_proxies: Vec::new(),
            client_ip_header: ClientIpHeader::XForwardedFor,
            max_topics: 10_000,
            max_topics_per_stream: 16,
            jwt_secret: None,
            direct_writes: true,
            demo_auth: false,
            demo_token_ttl: Duration::from_secs(600),
            demo_jobs: false,
            redis_url: None,
            redis_optional: false,
            redis_follow_grace: Duration::from_secs(30),
            job_step: Duration::from_millis(150),
        }
    }
}

impl Config {
    /// Checks what the flags cannot say one by one, before the server starts: a `--jwt-secret` of at least
    /// `MIN_SECRET_LEN` (32) bytes, and `--test-routes` only in a build with the `test-routes` feature. The error is
    /// one line naming the flag (never the secret).
    pub fn check(&self) -> Result<(), String> {
        if let Some(secret) = &self.jwt_secret {
            let len = secret.expose().len();
            if len < MIN_SECRET_LEN {
                return Err(format!(
                    "--jwt-secret (SSE_LIVE_JWT_SECRET) is {len} bytes long; HS256 needs at least {MIN_SECRET_LEN} \
                     random bytes (e.g. `openssl rand -hex 32`)"
                ));
            }
        }
        if self.test_routes && !cfg!(feature = "test-routes") {
            return Err("--test-routes (SSE_LIVE_TEST_ROUTES): this build has no test routes; they exist only in a \
                        server built with the cargo feature `test-routes`, for the browser tests"
                .to_owned());
        }
        Ok(())
    }
}

/// A switch's env twin: `true` or `1` turn it on, `false`, `0` or nothing leave it off, anything else ("yes",
/// "on", a typo) is an error rather than a guess.
fn parse_explicit_bool(s: &str) -> Result<bool, String> {
    match s.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        other => Err(format!("{other:?} is neither true/1 nor false/0")),
    }
}

/// The header a trusted proxy names the client in (`--client-ip-header`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientIpHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx's `$proxy_add_x_forwarded_for`).
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

/// Parses an address (`10.0.0.1`, `::1`) as a one-address network, or a CIDR block (`10.0.0.0/8`).
fn parse_network(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    match s.parse::<IpAddr>() {
        Ok(ip) => Ok(ipnet::IpNet::from(ip)),
        Err(_) => s
            .parse::<ipnet::IpNet>()
            .map(|net| net.trunc())
            .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR block (such as 10.0.0.0/8 or fd00::/8)")),
    }
}

impl Config {
    /// `--max-connections`, or its default: the open-file limit (`RLIMIT_NOFILE`, soft) minus a reserve of a tenth
    /// of it plus 32 descriptors, for files served, Redis and the runtime; at least 1.
    pub(crate) fn max_connections(&self) -> u32 {
        self.max_connections.unwrap_or_else(|| {
            let limit = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
            connections_for_fd_limit(limit)
        })
    }
}

/// The default `--max-connections` for an open-file limit of `limit` (see `Config::max_connections`).
pub fn connections_for_fd_limit(limit: u64) -> u32 {
    let limit = limit.min(u64::from(u32::MAX));
    let reserve = limit / 10 + 32;
    u32::try_from(limit.saturating_sub(reserve).max(1)).unwrap_or(u32::MAX)
}

/// Parses a humantime duration and refuses zero (a zero interval would make a generator or timer spin).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    Ok(d)
}

/// Like [`parse_duration`], but zero is allowed (for a jitter).
fn parse_duration_or_zero(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| e.to_string())
}

fn parse_secret(s: &str) -> Result<Secret, String> {
    if s.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(Secret(s.to_owned()))
}

/// A secret setting (a key, a signing secret): its `Debug` never shows it, so logging the configuration is safe.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A browser origin, `scheme://host[:port]` with scheme `http` or `https`, ready to be compared with the `Origin`
/// request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(HeaderValue);

impl Origin {
    /// The origin as a header value.
    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only ASCII gets past `from_str`.
        f.write_str(self.0.to_str().unwrap_or_default())
    }
}

impl FromStr for Origin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Browsers send scheme and host in lower case.
        let s = &s.trim().to_ascii_lowercase();
        let bad = |why: &str| Err(format!("{s:?} is not an origin (scheme://host[:port]): {why}"));
        if s == "*" {
            return bad("a wildcard is not allowed, list the origins");
        }
        let uri: Uri = match s.parse() {
            Ok(uri) => uri,
            Err(e) => return bad(&e.to_string()),
        };
        match uri.scheme_str() {
            Some("http" | "https") => {}
            Some(_) => return bad("the scheme must be http or https"),
            None => return bad("no scheme"),
        }
        let Some(authority) = uri.authority() else { return bad("no host") };
        if authority.host().is_empty() || authority.as_str().contains('@') {
            return bad("no host, or user info");
        }
        // A browser's Origin header has no path, not even "/", so "http://a.test/" would never match.
        if s.split_once("://").map(|(_, rest)| rest) != Some(authority.as_str()) {
            return bad("no path, query or trailing slash allowed");
        }
        HeaderValue::from_str(s).map(Origin).or_else(|e| bad(&e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("sse-live-server").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        // An SSE_LIVE_* variable in the environment running the tests would override a default.
        let leaked: Vec<String> = std::env::vars().map(|(k, _)| k).filter(|k| k.starts_with("SSE_LIVE_")).collect();
        assert!(leaked.is_empty(), "unset {leaked:?} to run the tests");
        let config = parse(&[]).unwrap();
        let expected = Config::default();
        assert_eq!(config.listen, expected.listen);
        assert_eq!(config.dist, expected.dist);
        assert_eq!(config.temperature_interval, expected.temperature_interval);
        assert_eq!(config.random_interval, expected.random_interval);
        assert_eq!(config.keep_alive, expected.keep_alive);
        assert_eq!(config.retry, expected.retry);
        assert_eq!(config.history, expected.history);
        assert_eq!(config.allow_origins, expected.allow_origins);
        assert_eq!(config.test_routes, expected.test_routes);
        assert_eq!(config.retry_jitter, expected.retry_jitter);
        assert_eq!(config.client_buffer, expected.client_buffer);
        assert_eq!(config.send_timeout, expected.send_timeout);
        assert_eq!(config.drain_timeout, expected.drain_timeout);
        assert_eq!(config.publish_key, expected.publish_key);
        assert_eq!(config.max_body, expected.max_body);
        assert_eq!(config.max_streams, expected.max_streams);
        assert_eq!(config.max_streams_per_ip, expected.max_streams_per_ip);
        assert_eq!(config.max_topics, expected.max_topics);
        assert_eq!(config.max_topics_per_stream, expected.max_topics_per_stream);
        assert_eq!(config.jwt_secret, expected.jwt_secret);
        assert_eq!(config.demo_auth, expected.demo_auth);
        assert_eq!(config.demo_token_ttl, expected.demo_token_ttl);
        assert_eq!(config.demo_jobs, expected.demo_jobs);
        assert_eq!(config.job_step, expected.job_step);
        assert_eq!(config.max_connections, expected.max_connections);
        assert_eq!(config.max_connections_per_ip, expected.max_connections_per_ip);
        assert_eq!(config.header_timeout, expected.header_timeout);
        assert_eq!(config.idle_timeout, expected.idle_timeout);
        assert_eq!(config.trusted_proxies, expected.trusted_proxies);
        assert_eq!(config.client_ip_header, expected.client_ip_header);
        assert_eq!(config.direct_writes, expected.direct_writes);
    }

    #[test]
    fn direct_writes_are_on_unless_turned_off() {
        assert!(parse(&[]).unwrap().direct_writes);
        assert!(parse(&["--direct-writes"]).unwrap().direct_writes);
        assert!(parse(&["--direct-writes=true"]).unwrap().direct_writes);
        assert!(!parse(&["--direct-writes=false"]).unwrap().direct_writes);
        assert!(!parse(&["--direct-writes=off"]).unwrap().direct_writes);
        // Without `=`, the next word stays an argument of its own: never taken as the flag's value.
        assert!(parse(&["--direct-writes", "false"]).is_err());
        assert!(parse(&["--direct-writes=maybe"]).is_err());
    }

    #[test]
    fn the_connection_cap_defaults_to_the_fd_limit_minus_a_reserve() {
        assert_eq!(connections_for_fd_limit(1024), 1024 - 102 - 32);
        assert_eq!(connections_for_fd_limit(65_536), 65_536 - 6_553 - 32);
        assert_eq!(connections_for_fd_limit(10), 1, "never zero");
        assert_eq!(connections_for_fd_limit(u64::MAX), u32::MAX - u32::MAX / 10 - 32);
        assert_eq!(parse(&["--max-connections", "7"]).unwrap().max_connections(), 7);
        let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert_eq!(parse(&[]).unwrap().max_connections(), connections_for_fd_limit(soft));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let config = parse(&[
            "--trusted-proxy",
            "10.0.0.1",
            "--trusted-proxy",
            "192.168.0.0/16,fd00::/8",
            "--trusted-proxy",
            "::1",
        ])
        .unwrap();
        let shown: Vec<String> = config.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.1/32", "192.168.0.0/16", "fd00::/8", "::1/128"]);
        assert_eq!(parse(&["--trusted-proxy", "10.1.2.3/8"]).unwrap().trusted_proxies[0].to_string(), "10.0.0.0/8");
        for bad in ["nginx", "10.0.0.0/33", "10.0.0", ""] {
            assert!(parse(&["--trusted-proxy", bad]).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(parse(&["--client-ip-header", "forwarded"]).unwrap().client_ip_header, ClientIpHeader::Forwarded);
        assert!(parse(&["--client-ip-header", "x-real-ip"]).is_err());
    }

    #[test]
    fn durations_take_humantime_syntax() {
        let config =
            parse(&["--temperature-interval", "250ms", "--random-interval", "1m 30s", "--retry", "2s"]).unwrap();
        assert_eq!(config.temperature_interval, Duration::from_millis(250));
        assert_eq!(config.random_interval, Duration::from_secs(90));
        assert_eq!(config.retry, Duration::from_secs(2));
        assert!(parse(&["--keep-alive", "0s"]).is_err());
        assert!(parse(&["--keep-alive", "15"]).is_err(), "a unit is required");
    }

    #[test]
    fn origins_repeat_and_split_at_commas() {
        let config =
            parse(&["--allow-origin", "http://a.test", "--allow-origin", "https://b.test:8443,http://127.0.0.1:8080"])
                .unwrap();
        let origins: Vec<String> = config.allow_origins.iter().map(ToString::to_string).collect();
        assert_eq!(origins, ["http://a.test", "https://b.test:8443", "http://127.0.0.1:8080"]);
        assert_eq!(" HTTP://A.Test ".parse::<Origin>().unwrap().to_string(), "http://a.test");
    }

    #[test]
    fn invalid_origins_are_refused() {
        for bad in ["*", "a.test", "ftp://a.test", "http://a.test/", "http://a.test/path", "http://u@a.test", "http://"]
        {
            assert!(bad.parse::<Origin>().is_err(), "{bad} was accepted");
            assert!(parse(&["--allow-origin", bad]).is_err(), "{bad} was accepted by the flag");
        }
    }

    #[test]
    fn history_must_be_positive() {
        assert!(parse(&["--history", "0"]).is_err());
        assert_eq!(parse(&["--history", "5"]).unwrap().history, 5);
    }

    #[test]
    fn shutdown_timeout_is_an_alias_of_drain_timeout() {
        assert_eq!(parse(&["--shutdown-timeout", "2s"]).unwrap().drain_timeout, Duration::from_secs(2));
        assert_eq!(parse(&["--drain-timeout", "3s"]).unwrap().drain_timeout, Duration::from_secs(3));
    }

    #[test]
    fn secrets_are_never_shown_in_debug_output() {
        let config = parse(&["--publish-key", "pk-123", "--jwt-secret", "js-456"]).unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("pk-123") && !shown.contains("js-456"), "{shown}");
        assert_eq!(config.publish_key.unwrap().expose(), "pk-123");
        assert!(parse(&["--publish-key", " "]).is_err(), "an empty key would let anyone publish");
    }

    #[test]
    fn demo_auth_needs_a_jwt_secret() {
        assert!(parse(&["--demo-auth"]).is_err());
        assert!(parse(&["--demo-auth", "--jwt-secret", "s"]).unwrap().demo_auth);
    }

    #[test]
    fn the_last_of_a_repeated_flag_wins() {
        assert_eq!(parse(&["--retry", "1s", "--retry", "2s"]).unwrap().retry, Duration::from_secs(2));
    }

    #[test]
    fn a_zero_jitter_is_allowed() {
        assert_eq!(parse(&["--retry-jitter", "0s"]).unwrap().retry_jitter, Duration::ZERO);
    }

    #[test]
    fn test_routes_is_a_switch() {
        assert!(parse(&["--test-routes"]).unwrap().test_routes);
        assert!(!parse(&[]).unwrap().test_routes);
        for (value, on) in [("true", Some(true)), ("1", Some(true)), ("false", Some(false)), ("0", Some(false))] {
            assert_eq!(parse_explicit_bool(value).ok(), on, "{value}");
        }
        for value in ["yes", "on", "TRUE", "2", "enable"] {
            assert!(parse_explicit_bool(value).is_err(), "{value} must not turn the test routes on");
        }
    }

    #[test]
    fn check_refuses_a_short_jwt_secret_without_showing_it() {
        let short = "s".repeat(MIN_SECRET_LEN - 1);
        let error = parse(&["--jwt-secret", &short]).unwrap().check().unwrap_err();
        assert!(error.starts_with("--jwt-secret (SSE_LIVE_JWT_SECRET) is 31 bytes long"), "{error}");
        assert!(!error.contains(&short) && !error.contains('\n'), "{error}");
        assert_eq!(parse(&["--jwt-secret", &"s".repeat(MIN_SECRET_LEN)]).unwrap().check(), Ok(()));
        assert_eq!(parse(&[]).unwrap().check(), Ok(()));
    }

    #[test]
    fn check_allows_test_routes_only_in_a_build_with_the_feature() {
        let checked = parse(&["--test-routes"]).unwrap().check();
        if cfg!(feature = "test-routes") {
            assert_eq!(checked, Ok(()));
        } else {
            assert!(checked.unwrap_err().contains("cargo feature `test-routes`"));
        }
    }

    #[test]
    fn listen_must_be_ip_and_port() {
        assert_eq!(parse(&["--listen", "127.0.0.1:0"]).unwrap().listen.port(), 0);
        assert!(parse(&["--listen", "localhost"]).is_err());
    }
}
