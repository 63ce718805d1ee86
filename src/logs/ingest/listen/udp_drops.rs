//! Datagrams the kernel dropped because a listener's receive buffer was
//! full — a burst faster than the listener reads. The socket never sees
//! them, so they are read where Linux counts them: the `drops` column of
//! `/proc/net/udp` (and `udp6`) on the socket's line, found by its inode.
//! Elsewhere, or when `/proc` is not mounted, they stay uncounted.

use std::os::fd::AsRawFd;

/// The tables that list UDP sockets, IPv4 then IPv6.
const TABLES: [&str; 2] = ["/proc/net/udp", "/proc/net/udp6"];

pub struct KernelDrops {
    inode: u64,
    counted: u64,
}

impl KernelDrops {
    /// `None` where the socket's inode cannot be read (no `/proc`).
    pub fn of(socket: &impl AsRawFd) -> Option<KernelDrops> {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
        let inode = socket_inode(link.to_str()?)?;
        Some(KernelDrops { inode, counted: 0 })
    }

    /// Drops since the last call (all of them at the first).
    pub async fn new_drops(&mut self) -> u64 {
        for table in TABLES {
            let Ok(text) = tokio::fs::read_to_string(table).await else {
                continue;
            };
            if let Some(total) = drops_of(&text, self.inode) {
                let new = total.saturating_sub(self.counted);
                self.counted = total;
                return new;
            }
        }
        0
    }
}

/// `socket:[12345]` → 12345.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// The `drops` column (the last) of the line whose `inode` column (the
/// tenth) is `inode`.
fn drops_of(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        if columns.get(9)?.parse::<u64>().ok()? != inode {
            return None;
        }
        columns.last()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0100007F:3039 00000000:0000 07 00000000:00034000 00:00000000 00000000     0        0 424242 2 0000000000000000 17
  456: 00000000:0202 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 0
";

    #[test]
    fn reads_the_drops_of_the_sockets_line() {
        assert_eq!(drops_of(TABLE, 424_242), Some(17));
        assert_eq!(drops_of(TABLE, 99), Some(0));
        assert_eq!(drops_of(TABLE, 7), None);
        assert_eq!(drops_of("", 7), None);
        assert_eq!(socket_inode("socket:[424242]"), Some(424_242));
        assert_eq!(socket_inode("pipe:[1]"), None);
    }

    /// A socket nobody reads, flooded: the kernel's drops are seen.
    #[tokio::test]
    async fn counts_what_a_full_receive_buffer_dropped() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let Some(mut drops) = KernelDrops::of(&socket) else {
            eprintln!("skipped: no /proc/self/fd here");
            return;
        };
        assert_eq!(drops.new_drops().await, 0);
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let datagram = vec![b'x'; 60_000];
        for _ in 0..200 {
            let _ = sender.send_to(&datagram, socket.local_addr().unwrap());
        }
        let first = drops.new_drops().await;
        assert!(
            first > 0,
            "200 datagrams of 60 kB overflow a default receive buffer"
        );
        assert_eq!(drops.new_drops().await, 0, "counted once");
    }
}
