//! The open-file limit: one socket is one file descriptor, so every process of the benchmark raises its soft limit
//! to the hard limit first (children inherit it).

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit and returns the new soft limit.
///
/// ```
/// let limit = sse_live_bench::fd_limit::raise().unwrap();
/// assert!(limit >= 64);
/// ```
pub fn raise() -> std::io::Result<u64> {
    let (_, hard) = rlimit::Resource::NOFILE.get()?;
    rlimit::Resource::NOFILE.set(hard, hard)?;
    Ok(hard)
}
