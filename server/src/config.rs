//! The server's settings: command-line flags, each with an `SSE_LIVE_*` environment variable twin.
//!
//! A flag on the command line wins over its environment variable; durations take humantime syntax (`100ms`, `5s`,
//! `1m 30s`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use axum::http::{HeaderValue, Uri};
use clap::builder::BoolishValueParser;
use clap::Parser;

/// Everything the server can be told at startup.
#[derive(Debug, Clone, Parser)]
#[command(name = "sse-live-server", version, about)]
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

    /// Events each topic keeps for replay after a reconnect (also the live queue bound per client).
    #[arg(long, env = "SSE_LIVE_HISTORY", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub history: u32,

    /// Allow cross-origin requests from this origin (repeatable; the env twin is comma-separated). CORS stays off when
    /// none is given.
    #[arg(long = "allow-origin", env = "SSE_LIVE_ALLOW_ORIGIN", value_name = "ORIGIN", value_delimiter = ',')]
    pub allow_origins: Vec<Origin>,

    /// Enable the `/test/*` routes the browser tests use (fault injection); never in production.
    #[arg(long, env = "SSE_LIVE_TEST_ROUTES", value_parser = BoolishValueParser::new())]
    pub test_routes: bool,

    /// After a shutdown signal, how long to wait for connections to close before exiting anyway.
    #[arg(long, env = "SSE_LIVE_SHUTDOWN_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
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
            history: 100,
            allow_origins: Vec::new(),
            test_routes: false,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

/// Parses a humantime duration and refuses zero (a zero interval would make a generator or timer spin).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    Ok(d)
}

/// A browser origin, `scheme://host[:port]` with scheme `http` or `https`, ready to be compared with the `Origin`
/// request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(HeaderValue);

impl Origin {
    /// The origin as a header value.
    pub fn header_value(&self) -> &HeaderValue {
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
        assert_eq!(config.shutdown_timeout, expected.shutdown_timeout);
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
    fn test_routes_is_a_switch() {
        assert!(parse(&["--test-routes"]).unwrap().test_routes);
    }

    #[test]
    fn listen_must_be_ip_and_port() {
        assert_eq!(parse(&["--listen", "127.0.0.1:0"]).unwrap().listen.port(), 0);
        assert!(parse(&["--listen", "localhost"]).is_err());
    }
}
