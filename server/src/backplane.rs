//! The Redis backplane (`--redis-url`): several server instances share their topics through one Redis, so a client
//! gets every event published on any instance and can resume on any instance after a reconnect.
//!
//! # Design: Redis Streams, not pub/sub
//!
//! Redis pub/sub delivers a message at most once, to whoever is subscribed at that instant: an instance that loses
//! its connection misses what is published meanwhile (and must resubscribe), and nothing is kept for a client that
//! reconnects to another instance. A Stream is a log: `XADD` appends, `XREAD` reads on from any id, `XRANGE` reads a
//! range. So:
//!
//! - **Publishing** (every publisher goes through [`AppState::publish`](crate::AppState::publish): `POST
//!   /events/{topic}`, the generators, the jobs) runs one script in Redis: `INCR` the topic's counter to `N`, then
//!   `XADD` the event as stream entry `N-0` with `MAXLEN ~ --history`. The topic's history lives in Redis.
//! - **Ids**: the SSE `id:` of that event is `N@<epoch>` ([`crate::hub::epoch`]): `N` is the same on every
//!   instance because Redis hands it out, and the epoch is stored in Redis (`SET sse-live:epoch <random> NX`, read
//!   back after every connection, so every instance shares it). A Redis that comes back empty has no epoch any
//!   more: the first instance to reconnect sets a new one, and every instance starts its topics over in it (their
//!   subscribers get `event: reset`, reason `restarted`; a client's id of the old epoch gets the same), instead of
//!   taking the new `1, 2, ...` for events its clients have already seen. Stream entry `N-0` is found from the id
//!   without a lookup.
//! - **Reading**: each instance runs one task ([`Backplane::read`]) that `XREAD BLOCK`s on the streams of the
//!   topics it follows, from the last id it read of each, and delivers what comes into the local hub
//!   ([`Hub::deliver`]), which fans out to local clients exactly as without Redis. Local delivery only ever comes
//!   from this reader, so every instance sees a topic's events in stream order.
//! - **Replay**: an instance follows a topic from its first subscriber on. Following first loads the topic's recent
//!   entries (`XREVRANGE ... COUNT --history`) into the local history, so a client that reconnects to any instance
//!   with its `Last-Event-ID` gets what it missed, then live events, without gap or duplicate (see
//!   [`crate::hub::feed`]).
//! - **Faults**: while Redis is unreachable, local clients stay connected, publishing answers 503, new subscriptions
//!   to topics the instance does not follow yet answer 503; the reader reconnects with backoff (100 ms doubling to
//!   5 s) and reads on from the last id it had, so nothing published is lost. `/healthz` (`redis`) and `/metrics`
//!   (`sse_live_redis_connected`, `sse_live_redis_reconnects`) show the state.
//!
//! Keys: `sse-live:{<topic>}` (the stream) and `sse-live:{<topic>}:id` (the counter), the braces keeping both in
//! one cluster slot; `sse-live:epoch`. Redis should persist its data (`appendonly yes`) so that ids survive a Redis
//! restart; one that comes back empty costs every client a `reset` (reason `restarted`), and the events it lost.
//!
//! Topics are followed until the instance stops (bounded by `--max-topics`); a waking reader reconnects, so
//! subscribing to a topic no client of this instance had before costs one Redis connection setup.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, RedisResult};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::hub::{Epoch, Hub, TopicName};
use crate::metrics::Metrics;

/// Appends one event: `KEYS[1]` the stream, `KEYS[2]` the counter; `ARGV` the history size, the event type (empty
/// for none) and the data. Returns the event's id.
const PUBLISH: &str = r"
local id = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], id .. '-0', 't', ARGV[2], 'd', ARGV[3])
return id
";

/// How long the reader blocks in one `XREAD`.
const BLOCK: Duration = Duration::from_secs(1);
/// The first and the longest wait before reconnecting.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));
/// The most entries one `XREAD` returns per stream.
const READ_COUNT: usize = 1024;
/// The key holding the epoch of every id (see [`crate::hub::epoch`]).
const EPOCH_KEY: &str = "sse-live:epoch";

/// One instance's link to Redis: publishes to topic streams and reads the followed ones into the hub.
pub struct Backplane {
    client: Client,
    /// Publishing and loading histories (reconnects by itself).
    commands: ConnectionManager,
    script: redis::Script,
    hub: Hub,
    history: usize,
    /// The topics this instance reads, with the id of the last stream entry read of each (`0-0`: none). Kept as
    /// Redis wrote it, so that an entry this server did not write is skipped once, not read again and again.
    followed: Mutex<HashMap<TopicName, String>>,
    /// Wakes the reader when a topic is followed.
    wake: Notify,
    connected: AtomicBool,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Backplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backplane").field("connected", &self.is_connected()).finish_non_exhaustive()
    }
}

/// One stream entry as Redis returns it: the id and the field/value pairs, flattened.
type Entry = (String, Vec<String>);

impl Backplane {
    /// Connects to the Redis at `url` (failing at once when it cannot be reached), for a hub keeping `history`
    /// events per topic.
    pub async fn connect(url: &str, hub: Hub, history: usize, metrics: Arc<Metrics>) -> RedisResult<Arc<Self>> {
        let client = Client::open(url)?;
        let mut probe = client.get_multiplexed_async_connection_with_config(&connection_config()).await?;
        let epoch = shared_epoch(&mut probe).await?;
        hub.set_epoch(&epoch);
        tracing::info!(epoch, "connected to Redis");
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let commands = ConnectionManager::new_with_config(client.clone(), config).await?;
        metrics.redis_connected.set(1);
        Ok(Arc::new(Self {
            client,
            commands,
            script: redis::Script::new(PUBLISH),
            hub,
            history,
            followed: Mutex::default(),
            wake: Notify::new(),
            connected: AtomicBool::new(true),
            metrics,
        }))
    }

    /// Whether the last exchange with Redis worked.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Appends an event to `topic`'s stream and returns its id; local clients get it through the reader.
    pub async fn publish(&self, topic: &TopicName, event_type: Option<&str>, data: &str) -> RedisResult<u64> {
        let mut invocation = self.script.key(stream_key(topic));
        invocation.key(counter_key(topic)).arg(self.history).arg(event_type.unwrap_or("")).arg(data);
        let result = invocation.invoke_async(&mut self.commands.clone()).await;
        self.observe(&result);
        result
    }

    /// Follows each of `topics` not followed yet: loads its recent events into the hub, then has the reader read
    /// on from there.
    pub async fn follow(&self, topics: &[TopicName]) -> RedisResult<()> {
        let mut added = false;
        for topic in topics {
            if self.followed().contains_key(topic) {
                continue;
            }
            let result = load(&mut self.commands.clone(), topic, self.history).await;
            self.observe(&result);
            let (epoch, entries) = result?;
            // The entries are of this epoch: a Redis that came back empty is noticed here at the latest.
            self.adopt_epoch(&epoch);
            for (id, fields) in entries.iter().rev() {
                self.deliver(topic, id, fields);
            }
            let last = entries.first().map_or_else(|| "0-0".to_owned(), |(id, _)| id.clone());
            self.followed().entry(topic.clone()).or_insert(last);
            added = true;
        }
        if added {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// The reader: until `shutdown`, reads the followed streams into the hub, reconnecting with backoff when Redis
    /// is lost and reading on from the last id it had.
    pub async fn read(self: Arc<Self>, shutdown: CancellationToken) {
        let mut connection: Option<MultiplexedConnection> = None;
        let mut backoff = BACKOFF.0;
        let mut lost = false;
        // After a wake, one read that does not block and cannot be interrupted: however often topics are added,
        // every turn delivers what is waiting.
        let mut catch_up = false;
        while !shutdown.is_cancelled() {
            let conn = match &mut connection {
                Some(conn) => conn,
                None => match self.client.get_multiplexed_async_connection_with_config(&connection_config()).await {
                    Ok(mut conn) => {
                        if let Err(error) = self.sync_epoch(&mut conn).await {
                            tracing::warn!(%error, "cannot read the epoch from Redis; trying again");
                            lost = true;
                            continue;
                        }
                        if std::mem::take(&mut lost) {
                            self.metrics.redis_reconnects.inc();
                            tracing::info!("reconnected to Redis; reading on from the last ids read");
                        }
                        connection.insert(conn)
                    }
                    Err(error) => {
                        self.set_connected(false);
                        tracing::warn!(%error, ?backoff, "cannot reach Redis; trying again");
                        lost = true;
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {}
                            () = shutdown.cancelled() => return,
                        }
                        backoff = (backoff * 2).min(BACKOFF.1);
                        continue;
                    }
                },
            };
            let positions: Vec<(TopicName, String)> =
                self.followed().iter().map(|(t, id)| (t.clone(), id.clone())).collect();
            let step = async {
                if positions.is_empty() {
                    // Nothing to read: check the connection now and then, so that /healthz tells the truth.
                    redis::cmd("PING").query_async::<()>(conn).await?;
                    tokio::time::sleep(BLOCK).await;
                    return Ok(None);
                }
                let block = (!catch_up).then_some(BLOCK);
                read_streams(conn, &positions, block).await.map(Some)
            };
            let result = tokio::select! {
                result = step => Some(result),
                () = self.wake.notified(), if !catch_up => None,
                () = shutdown.cancelled() => return,
            };
            catch_up = result.is_none();
            let Some(result) = result else {
                // A new topic: the pending XREAD cannot be changed, so give it up along with its connection.
                connection = None;
                continue;
            };
            match result {
                Ok(reply) => {
                    self.set_connected(true);
                    backoff = BACKOFF.0;
                    for (index, entries) in reply.into_iter().flatten() {
                        let Some((topic, _)) = positions.get(index) else { continue };
                        for (id, fields) in &entries {
                            self.deliver(topic, id, fields);
                        }
                        // Entries come oldest first, after the position.
                        if let (Some((last, _)), Some(position)) = (entries.last(), self.followed().get_mut(topic)) {
                            position.clone_from(last);
                        }
                    }
                }
                Err(error) => {
                    self.set_connected(false);
                    tracing::warn!(%error, "lost Redis; local clients stay connected, publishing answers 503");
                    connection = None;
                    lost = true;
                }
            }
        }
    }

    /// Reads the shared epoch (setting one if Redis has none: it is new, or came back empty); when it is not the
    /// hub's, every topic starts over in it and is read again from the start of its stream.
    async fn sync_epoch(&self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        let name = shared_epoch(conn).await?;
        self.adopt_epoch(&name);
        Ok(())
    }

    /// Makes `name`, read from Redis, the hub's epoch; when it is new, every topic starts over in it and is read
    /// again from the start of its stream.
    fn adopt_epoch(&self, name: &str) {
        // Under the lock of `followed`, so that no position of the old epoch is kept.
        let mut followed = self.followed();
        if let Some(epoch) = self.hub.set_epoch(name) {
            tracing::warn!(%epoch, "Redis has a new epoch (it lost its data): every topic starts over");
            followed.values_mut().for_each(|position| "0-0".clone_into(position));
        }
    }

    /// Delivers one stream entry of `topic` to the hub.
    fn deliver(&self, topic: &TopicName, id: &str, fields: &[String]) {
        let Some(event) = parse_entry(id, fields) else {
            tracing::warn!(%topic, id, "a stream entry that this server did not write; skipped");
            return;
        };
        if let Err(error) = self.hub.deliver(topic, event.id, event.event_type, event.data) {
            tracing::warn!(%topic, id = event.id, ?error, "cannot deliver an event from Redis");
        }
    }

    fn observe<T>(&self, result: &RedisResult<T>) {
        if let Err(error) = result {
            if error.is_io_error() || error.is_connection_dropped() || error.is_timeout() {
                self.set_connected(false);
            }
        } else {
            self.set_connected(true);
        }
    }

    fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::Relaxed);
        self.metrics.redis_connected.set(i64::from(connected));
    }

    fn followed(&self) -> MutexGuard<'_, HashMap<TopicName, String>> {
        self.followed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn connection_config() -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(BLOCK + Duration::from_secs(2)))
}

/// The epoch stored in Redis: set to a random one if there is none (`SET NX`), then read back, so that every
/// instance gets the same. A value that is not a valid epoch name is an error.
async fn shared_epoch(conn: &mut impl ConnectionLike) -> RedisResult<String> {
    let (name,): (Option<String>,) = epoch_pipe().query_async(conn).await?;
    valid_epoch(name)
}

/// `SET` the epoch if there is none, then `GET` it.
fn epoch_pipe() -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.atomic().cmd("SET").arg(EPOCH_KEY).arg(Epoch::random_name()).arg("NX").ignore().cmd("GET").arg(EPOCH_KEY);
    pipe
}

/// The last `history` entries of `topic`'s stream, newest first, with the epoch they belong to (read in one
/// transaction).
async fn load(conn: &mut impl ConnectionLike, topic: &TopicName, history: usize) -> RedisResult<(String, Vec<Entry>)> {
    let mut pipe = epoch_pipe();
    pipe.cmd("XREVRANGE").arg(stream_key(topic)).arg("+").arg("-").arg("COUNT").arg(history);
    let (name, entries): (Option<String>, Vec<Entry>) = pipe.query_async(conn).await?;
    Ok((valid_epoch(name)?, entries))
}

/// The epoch read from Redis, if it is a valid one.
fn valid_epoch(name: Option<String>) -> RedisResult<String> {
    match name {
        Some(name) if Epoch::is_valid(&name) => Ok(name),
        other => Err(redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "the epoch key holds no valid epoch",
            format!("{EPOCH_KEY} = {other:?}"),
        ))),
    }
}

/// `XREAD` (`BLOCK`ing for `block` when given) on the streams of `positions`, after each one's id: the entries, by
/// index in `positions`.
async fn read_streams(
    conn: &mut MultiplexedConnection,
    positions: &[(TopicName, String)],
    block: Option<Duration>,
) -> RedisResult<Vec<(usize, Vec<Entry>)>> {
    let mut cmd = redis::cmd("XREAD");
    cmd.arg("COUNT").arg(READ_COUNT);
    if let Some(block) = block {
        cmd.arg("BLOCK").arg(block.as_millis() as u64);
    }
    cmd.arg("STREAMS");
    for (topic, _) in positions {
        cmd.arg(stream_key(topic));
    }
    for (_, id) in positions {
        cmd.arg(id);
    }
    let reply: Option<Vec<(String, Vec<Entry>)>> = cmd.query_async(conn).await?;
    let index: HashMap<String, usize> =
        positions.iter().enumerate().map(|(i, (topic, _))| (stream_key(topic), i)).collect();
    Ok(reply.into_iter().flatten().filter_map(|(key, entries)| Some((*index.get(&key)?, entries))).collect())
}

/// The stream of `topic`.
fn stream_key(topic: &TopicName) -> String {
    format!("sse-live:{{{topic}}}")
}

/// The id counter of `topic`.
fn counter_key(topic: &TopicName) -> String {
    format!("sse-live:{{{topic}}}:id")
}

/// An event read back from a stream entry.
#[derive(Debug, PartialEq, Eq)]
struct StreamEvent<'a> {
    id: u64,
    event_type: Option<&'a str>,
    data: &'a str,
}

/// Reads entry `N-0` with fields `t` (the type, empty for none) and `d` (the data); `None` for anything else.
fn parse_entry<'a>(id: &str, fields: &'a [String]) -> Option<StreamEvent<'a>> {
    let id = id.strip_suffix("-0")?.parse().ok()?;
    let field = |name: &str| fields.chunks_exact(2).find(|pair| pair[0] == name).map(|pair| pair[1].as_str());
    let event_type = field("t").filter(|t| !t.is_empty());
    Some(StreamEvent { id, event_type, data: field("d")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[&str]) -> Vec<String> {
        pairs.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn entries_read_back_as_events() {
        let f = fields(&["t", "", "d", "{\"a\":1}"]);
        assert_eq!(parse_entry("42-0", &f), Some(StreamEvent { id: 42, event_type: None, data: "{\"a\":1}" }));
        let f = fields(&["t", "end", "d", "done"]);
        assert_eq!(parse_entry("7-0", &f).unwrap().event_type, Some("end"));
    }

    #[test]
    fn foreign_entries_are_refused() {
        let f = fields(&["t", "", "d", "x"]);
        for id in ["1700000000000-3", "x-0", "5"] {
            assert_eq!(parse_entry(id, &f), None, "{id}");
        }
        assert_eq!(parse_entry("1-0", &fields(&["t", ""])), None, "no data");
    }

    #[test]
    fn keys_share_a_cluster_slot() {
        let topic = TopicName::parse("users/ada/inbox").unwrap();
        assert_eq!(stream_key(&topic), "sse-live:{users/ada/inbox}");
        assert_eq!(counter_key(&topic), "sse-live:{users/ada/inbox}:id");
    }
}
