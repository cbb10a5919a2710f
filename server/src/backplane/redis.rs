//! The Redis side of the backplane (`--redis-url`); see the [module docs](super) for the design.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, RedisResult};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::hub::{Epoch, Hub, TooManyTopics, TopicName};
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
/// How often `CLIENT UNBLOCK` is tried while the reader's `XREAD` has not reached Redis yet.
const UNBLOCK_RETRY: Duration = Duration::from_millis(5);

/// Where the link to Redis stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Link {
    /// `--redis-optional` and Redis has not been reached yet: topics are this instance's own, and it keeps trying.
    Pending = 0,
    /// Redis answers.
    Connected = 1,
    /// Redis was joined and is lost for now (reconnecting).
    Lost = 2,
}

/// One instance's link to Redis: publishes to topic streams and reads the followed ones into the hub.
pub(crate) struct RedisBackplane {
    client: Client,
    /// Publishing, loading histories, `CLIENT UNBLOCK` (connects lazily, reconnects by itself).
    commands: ConnectionManager,
    script: redis::Script,
    hub: Hub,
    history: usize,
    /// The most topics followed at once (`--max-topics`).
    max_follows: usize,
    /// How long a topic nobody here subscribes to any more is still followed (`--redis-follow-grace`).
    grace: Duration,
    follows: Mutex<HashMap<TopicName, Follow>>,
    /// Wakes the reader when a topic is followed.
    wake: Notify,
    /// The `CLIENT ID` of the reader's connection, for `CLIENT UNBLOCK`.
    reader_id: Mutex<Option<i64>>,
    link: AtomicU8,
    metrics: Arc<Metrics>,
}

/// A topic this instance reads from Redis.
#[derive(Debug)]
struct Follow {
    /// The id of the last stream entry read (`0-0`: none), as Redis wrote it, so that an entry this server did not
    /// write is skipped once, not read again and again; `None` until its recent entries are loaded.
    position: Option<String>,
    /// Streams of this instance on the topic (each holds a [`Follows`]).
    subscribers: usize,
    /// Since when nobody here subscribes to it.
    idle_since: Option<Instant>,
}

impl std::fmt::Debug for RedisBackplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackplane").field("link", &self.link()).finish_non_exhaustive()
    }
}

/// One stream entry as Redis returns it: the id and the field/value pairs, flattened.
type Entry = (String, Vec<String>);

/// The topics a stream follows; dropping it lets them go (after the grace period) when it was their last.
#[derive(Debug)]
pub(crate) struct Follows {
    backplane: Arc<RedisBackplane>,
    topics: Vec<TopicName>,
}

impl Drop for Follows {
    fn drop(&mut self) {
        let mut follows = self.backplane.follows();
        for topic in &self.topics {
            if let Some(follow) = follows.get_mut(topic) {
                follow.subscribers = follow.subscribers.saturating_sub(1);
                if follow.subscribers == 0 {
                    follow.idle_since = Some(Instant::now());
                }
            }
        }
    }
}

impl RedisBackplane {
    /// Connects to the Redis at `url` for a hub keeping `history` events per topic and following at most
    /// `max_follows` topics, each for `grace` after its last subscriber. When Redis cannot be reached: an error,
    /// or with `optional` a backplane that keeps trying (see [`Link::Pending`]).
    pub(crate) async fn connect(
        url: &str,
        hub: Hub,
        (history, max_follows, grace): (usize, usize, Duration),
        optional: bool,
        metrics: Arc<Metrics>,
    ) -> RedisResult<Arc<Self>> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let commands = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let backplane = Arc::new(Self {
            client,
            commands,
            script: redis::Script::new(PUBLISH),
            hub,
            history,
            max_follows,
            grace,
            follows: Mutex::default(),
            wake: Notify::new(),
            reader_id: Mutex::default(),
            link: AtomicU8::new(Link::Pending as u8),
            metrics,
        });
        match backplane.join().await {
            Ok(()) => Ok(backplane),
            Err(error) if optional => {
                let why = "cannot reach Redis (--redis-optional): serving this instance's topics until it answers";
                tracing::warn!(%error, "{why}");
                Ok(backplane)
            }
            Err(error) => Err(error),
        }
    }

    /// Reaches Redis for the first time: adopts its epoch (local topics start over in it) and goes from
    /// [`Link::Pending`] to [`Link::Connected`].
    async fn join(&self) -> RedisResult<()> {
        let mut probe = self.client.get_multiplexed_async_connection_with_config(&connection_config()).await?;
        let epoch = shared_epoch(&mut probe).await?;
        self.adopt_epoch(&epoch);
        self.set_link(Link::Connected);
        tracing::info!(epoch, "joined Redis");
        Ok(())
    }

    /// Where the link stands.
    pub(crate) fn link(&self) -> Link {
        match self.link.load(Ordering::Relaxed) {
            0 => Link::Pending,
            1 => Link::Connected,
            _ => Link::Lost,
        }
    }

    /// Publishes `data` to `topic` and returns its id: appended to the topic's stream (local clients get it through
    /// the reader), or to the local hub while Redis has never been reached ([`Link::Pending`]).
    pub(crate) async fn publish(
        &self,
        topic: &TopicName,
        event_type: Option<&str>,
        data: &str,
    ) -> Result<u64, ApiError> {
        if self.link() == Link::Pending {
            return Ok(self.hub.publish_event(topic, event_type, data).await?);
        }
        let mut invocation = self.script.key(stream_key(topic));
        invocation.key(counter_key(topic)).arg(self.history).arg(event_type.unwrap_or("")).arg(data);
        let result = invocation.invoke_async(&mut self.commands.clone()).await;
        self.observe(&result);
        Ok(result?)
    }

    /// Whether `topic` has events, here or in Redis (for the demo's aliases, which serve existing topics only).
    pub(crate) async fn exists(&self, topic: &TopicName) -> Result<bool, ApiError> {
        if self.hub.topic(topic.as_str()).is_some() || self.link() == Link::Pending {
            return Ok(self.hub.topic(topic.as_str()).is_some());
        }
        let result = redis::cmd("EXISTS").arg(stream_key(topic)).query_async::<bool>(&mut self.commands.clone()).await;
        self.observe(&result);
        Ok(result?)
    }

    /// Follows each of `topics` for as long as the returned guard lives (then for the grace period): the ones not
    /// followed yet have their recent events loaded into the hub, and the reader reads on from there. At most
    /// `--max-topics` are followed (503 beyond); while Redis is lost a topic not followed yet cannot be loaded
    /// (503); while it has never been reached, topics are registered and loaded once it answers.
    pub(crate) async fn follow(self: &Arc<Self>, topics: &[TopicName]) -> Result<Follows, ApiError> {
        {
            let follows = self.follows();
            let new = topics.iter().filter(|t| !follows.contains_key(*t)).count();
            if new > 0 && follows.len().saturating_add(new) > self.max_follows {
                return Err(TooManyTopics { max: self.max_follows }.into());
            }
        }
        let mut added = false;
        if self.link() != Link::Pending {
            for topic in topics {
                if self.follows().get(topic).is_some_and(|f| f.position.is_some()) {
                    continue;
                }
                let position = self.load(&mut self.commands.clone(), topic).await?;
                self.follows().entry(topic.clone()).or_insert_with(Follow::new).position.get_or_insert(position);
                added = true;
            }
        }
        let mut follows = self.follows();
        for topic in topics {
            let follow = follows.entry(topic.clone()).or_insert_with(Follow::new);
            follow.subscribers += 1;
            follow.idle_since = None;
        }
        self.metrics.redis_followed_topics.set(i64::try_from(follows.len()).unwrap_or(i64::MAX));
        drop(follows);
        if added {
            self.wake.notify_one();
        }
        Ok(Follows { backplane: self.clone(), topics: topics.to_vec() })
    }

    /// Loads `topic`'s recent entries into the hub (adopting the epoch they belong to); returns the id of the last.
    async fn load(&self, conn: &mut impl ConnectionLike, topic: &TopicName) -> RedisResult<String> {
        let result = load(conn, topic, self.history).await;
        self.observe(&result);
        let (epoch, entries) = result?;
        // The entries are of this epoch: a Redis that came back empty is noticed here at the latest.
        self.adopt_epoch(&epoch);
        for (id, fields) in entries.iter().rev() {
            self.deliver(topic, id, fields).await;
        }
        Ok(entries.first().map_or_else(|| "0-0".to_owned(), |(id, _)| id.clone()))
    }

    /// The reader: until `shutdown`, reads the followed streams into the hub; reaches Redis (joining it the first
    /// time), and reconnects with backoff when it is lost, reading on from the last id it had.
    pub(crate) async fn read(self: Arc<Self>, shutdown: CancellationToken) {
        let mut connection: Option<MultiplexedConnection> = None;
        let mut backoff = BACKOFF.0;
        let mut lost = false;
        while !shutdown.is_cancelled() {
            // Also while Redis is away: topics nobody wants any more must not fill `--max-topics`.
            self.release_idle();
            let conn = match &mut connection {
                Some(conn) => conn,
                None => match self.connect_reader().await {
                    Ok(conn) => {
                        backoff = BACKOFF.0;
                        if std::mem::take(&mut lost) {
                            self.metrics.redis_reconnects.inc();
                            tracing::info!("reconnected to Redis; reading on from the last ids read");
                        }
                        connection.insert(conn)
                    }
                    Err(error) => {
                        if self.link() != Link::Pending {
                            self.set_link(Link::Lost);
                            lost = true;
                        }
                        tracing::warn!(%error, ?backoff, "cannot reach Redis; trying again");
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {}
                            () = shutdown.cancelled() => return,
                        }
                        backoff = (backoff * 2).min(BACKOFF.1);
                        continue;
                    }
                },
            };
            let result = tokio::select! {
                result = self.step(conn) => result,
                () = shutdown.cancelled() => return,
            };
            match result {
                Ok(()) => self.set_link(Link::Connected),
                Err(error) => {
                    self.set_link(Link::Lost);
                    tracing::warn!(%error, "lost Redis; local clients stay connected, publishing answers 503");
                    *self.reader_id() = None;
                    connection = None;
                    lost = true;
                }
            }
        }
    }

    /// A connection for the reader: joins Redis if it never was, adopts the epoch, notes the connection's
    /// `CLIENT ID`.
    async fn connect_reader(&self) -> RedisResult<MultiplexedConnection> {
        if self.link() == Link::Pending {
            self.join().await?;
        }
        let mut conn = self.client.get_multiplexed_async_connection_with_config(&connection_config()).await?;
        let epoch = shared_epoch(&mut conn).await?;
        self.adopt_epoch(&epoch);
        let id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut conn).await?;
        *self.reader_id() = Some(id);
        Ok(conn)
    }

    /// One turn of the reader: loads the topics waiting for it, then reads what came on the followed ones.
    async fn step(&self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        let waiting: Vec<TopicName> =
            self.follows().iter().filter(|(_, f)| f.position.is_none()).map(|(t, _)| t.clone()).collect();
        for topic in waiting {
            let position = self.load(conn, &topic).await?;
            if let Some(follow) = self.follows().get_mut(&topic) {
                follow.position.get_or_insert(position);
            }
        }
        let positions: Vec<(TopicName, String)> =
            self.follows().iter().filter_map(|(t, f)| Some((t.clone(), f.position.clone()?))).collect();
        if positions.is_empty() {
            // Nothing to read: check the connection now and then, so that /readyz tells the truth.
            redis::cmd("PING").query_async::<()>(conn).await?;
            tokio::select! {
                () = tokio::time::sleep(BLOCK) => {}
                () = self.wake.notified() => {}
            }
            return Ok(());
        }
        let read = read_streams(conn, &positions, BLOCK);
        tokio::pin!(read);
        // A new topic wakes the reader: its blocked XREAD is unblocked (from the commands connection), not dropped
        // with its connection, and the next turn reads the new topic too.
        let mut woken = false;
        let reply = loop {
            tokio::select! {
                reply = &mut read => break reply?,
                () = self.wake.notified(), if !woken => woken = true,
                () = self.unblock(), if woken => woken = false,
            }
        };
        for (index, entries) in reply {
            let Some((topic, _)) = positions.get(index) else { continue };
            for (id, fields) in &entries {
                self.deliver(topic, id, fields).await;
            }
            // Entries come oldest first, after the position.
            if let Some((last, _)) = entries.last() {
                if let Some(Follow { position: Some(position), .. }) = self.follows().get_mut(topic) {
                    position.clone_from(last);
                }
            }
        }
        Ok(())
    }

    /// Unblocks the reader's blocked `XREAD` (`CLIENT UNBLOCK`), trying again while it has not reached Redis yet;
    /// never returns when there is no reader connection (the read ends by itself then).
    async fn unblock(&self) {
        loop {
            let Some(id) = *self.reader_id() else { return std::future::pending().await };
            let unblocked = redis::cmd("CLIENT")
                .arg("UNBLOCK")
                .arg(id)
                .query_async::<i64>(&mut self.commands.clone())
                .await
                .unwrap_or(0);
            if unblocked == 1 {
                // Stay here: the XREAD returns now, and the select above takes it.
                return std::future::pending().await;
            }
            tokio::time::sleep(UNBLOCK_RETRY).await;
        }
    }

    /// Stops following topics nobody here has subscribed to for the grace period, and forgets them locally.
    fn release_idle(&self) {
        let mut follows = self.follows();
        let before = follows.len();
        follows.retain(|topic, follow| {
            let idle = follow.subscribers == 0 && follow.idle_since.is_some_and(|since| since.elapsed() >= self.grace);
            if idle {
                self.hub.forget_unsubscribed(topic);
                tracing::debug!(%topic, "no subscriber here any more: no longer read from Redis");
            }
            !idle
        });
        if follows.len() != before {
            self.metrics.redis_followed_topics.set(i64::try_from(follows.len()).unwrap_or(i64::MAX));
        }
    }

    /// Makes `name`, read from Redis, the hub's epoch; when it is new, every topic starts over in it and is read
    /// again from the start of its stream.
    fn adopt_epoch(&self, name: &str) {
        // Under the lock of `follows`, so that no position of the old epoch is kept.
        let mut follows = self.follows();
        if let Some(epoch) = self.hub.set_epoch(name) {
            let why = "a new epoch (Redis lost its data, or this instance joined it): every topic starts over";
            tracing::warn!(%epoch, "{why}");
            follows.values_mut().filter_map(|f| f.position.as_mut()).for_each(|p| "0-0".clone_into(p));
        }
    }

    /// Delivers one stream entry of `topic` to the hub.
    /// Waits while the direct fan-out is behind on the topic (see [`Hub::deliver`]): a reader that outruns it
    /// reads Redis later rather than leaving the shards further behind.
    async fn deliver(&self, topic: &TopicName, id: &str, fields: &[String]) {
        let Some(event) = parse_entry(id, fields) else {
            tracing::warn!(%topic, id, "a stream entry that this server did not write; skipped");
            return;
        };
        if let Err(error) = self.hub.deliver(topic, event.id, event.event_type, event.data).await {
            tracing::warn!(%topic, id = event.id, ?error, "cannot deliver an event from Redis");
        }
    }

    fn observe<T>(&self, result: &RedisResult<T>) {
        match result {
            Err(error) if error.is_io_error() || error.is_connection_dropped() || error.is_timeout() => {
                self.set_link(Link::Lost);
            }
            Err(_) => {}
            Ok(_) => self.set_link(Link::Connected),
        }
    }

    fn set_link(&self, link: Link) {
        // Never back to pending: that is only before Redis was first reached.
        if link == Link::Pending || self.link() == Link::Pending && link == Link::Lost {
            return;
        }
        self.link.store(link as u8, Ordering::Relaxed);
        self.metrics.redis_connected.set(i64::from(link == Link::Connected));
    }

    fn follows(&self) -> MutexGuard<'_, HashMap<TopicName, Follow>> {
        self.follows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn reader_id(&self) -> MutexGuard<'_, Option<i64>> {
        self.reader_id.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Follow {
    fn new() -> Self {
        Self { position: None, subscribers: 0, idle_since: None }
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

/// `XREAD` (`BLOCK`ing for up to `block`) on the streams of `positions`, after each one's id: the entries, by
/// index in `positions`.
async fn read_streams(
    conn: &mut MultiplexedConnection,
    positions: &[(TopicName, String)],
    block: Duration,
) -> RedisResult<Vec<(usize, Vec<Entry>)>> {
    let mut cmd = redis::cmd("XREAD");
    cmd.arg("COUNT").arg(READ_COUNT).arg("BLOCK").arg(block.as_millis() as u64).arg("STREAMS");
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
