//! Kernel receive timestamps: with `SO_TIMESTAMPNS` on a socket, every `recvmsg(2)` carries the wall-clock time
//! (`CLOCK_REALTIME`) at which the kernel received the data it returns, in a control message. Latency measured from
//! it leaves out the load generator's own scheduling (a reader that runs late still sees when the bytes arrived);
//! latency from the user-space clock read right after the call includes it. The load generator reports both.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, RawFd};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags};
use nix::sys::time::TimeSpec;

/// Asks the kernel to timestamp what `socket` receives.
pub fn enable(socket: &impl AsFd) -> io::Result<()> {
    setsockopt(socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)
}

/// What one `recvmsg(2)` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes read into the buffer (0: the peer closed).
    pub bytes: usize,
    /// When the kernel received the last of them, Unix time in µs (`None` without `SO_TIMESTAMPNS`, or at the end).
    pub kernel_unix_us: Option<u64>,
    /// The user-space wall clock read right after the call returned, Unix time in µs.
    pub user_unix_us: u64,
}

/// The wall clock now, Unix time in µs.
pub fn unix_us_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// One `recvmsg(2)` on `fd` into `buffer`, with the kernel's receive timestamp when the socket has them enabled. A
/// nonblocking socket with nothing to read answers `WouldBlock`.
pub fn recv(fd: RawFd, buffer: &mut [u8]) -> io::Result<Received> {
    let mut control = nix::cmsg_space!(TimeSpec);
    let mut iov = [IoSliceMut::new(buffer)];
    let message = recvmsg::<()>(fd, &mut iov, Some(&mut control), MsgFlags::empty()).map_err(io::Error::from)?;
    let user_unix_us = unix_us_now();
    let kernel_unix_us = message.cmsgs().map_err(io::Error::from)?.find_map(|cmsg| match cmsg {
        ControlMessageOwned::ScmTimestampns(t) => {
            let micros = i128::from(t.tv_sec()) * 1_000_000 + i128::from(t.tv_nsec()) / 1_000;
            u64::try_from(micros).ok()
        }
        _ => None,
    });
    Ok(Received { bytes: message.bytes, kernel_unix_us, user_unix_us })
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    use super::*;

    #[test]
    fn the_kernel_timestamp_is_at_or_before_the_user_space_time_of_the_same_read() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut writer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (reader, _) = listener.accept().unwrap();
        enable(&reader).unwrap();
        let mut buffer = [0_u8; 64];
        // The kernel turns receive timestamps on for the whole machine in a deferred work item when the first
        // socket asks for them: wait (up to 5 s) until a read carries one.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            writer.write_all(b"warm-up").unwrap();
            let received = recv(reader.as_raw_fd(), &mut buffer).unwrap();
            if received.kernel_unix_us.is_some() || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut largest_gap = 0;
        for round in 0..20 {
            let before_write = unix_us_now();
            writer.write_all(format!("round {round}").as_bytes()).unwrap();
            // The reader sleeps before reading, so user-space time runs well past the kernel's receipt.
            std::thread::sleep(std::time::Duration::from_millis(2));
            let received = recv(reader.as_raw_fd(), &mut buffer).unwrap();
            assert!(received.bytes > 0);
            let kernel = received.kernel_unix_us.expect("SO_TIMESTAMPNS gives a timestamp with the data");
            assert!(kernel <= received.user_unix_us, "kernel {kernel} after user {}", received.user_unix_us);
            // Both clocks are CLOCK_REALTIME: the receipt is not before the write started.
            assert!(kernel >= before_write, "kernel {kernel} before the write at {before_write}");
            largest_gap = largest_gap.max(received.user_unix_us - kernel);
        }
        // The sleep is in the user-space time, not the kernel's (at least once: a loaded machine may defer a
        // loopback receipt now and then).
        assert!(largest_gap >= 2_000, "largest gap {largest_gap} µs");
    }

    #[test]
    fn without_the_option_there_is_no_timestamp() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut writer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (reader, _) = listener.accept().unwrap();
        writer.write_all(b"x").unwrap();
        let received = recv(reader.as_raw_fd(), &mut [0_u8; 8]).unwrap();
        assert_eq!((received.bytes, received.kernel_unix_us), (1, None));
    }
}
