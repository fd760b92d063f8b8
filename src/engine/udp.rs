//! UDP: how a datagram socket is made, its options set and read back, groups joined and
//! left, and how its errors are worded. The reactor's side is `reactor/udp.rs`.

use std::io;
use std::net::{IpAddr, SocketAddr};

use mio::net::UdpSocket;
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockRef, Socket, Type};

use super::command::{Membership, UdpOptions};
use super::interfaces::{self, ChosenInterface};
use super::wording::describe_io_error;

/// Receive buffer per read: holds the largest datagram there can be, so none is cut.
pub(crate) const RECV_BUFFER: usize = 65_536;
/// The largest payload one UDP datagram carries: 65,535 minus the IPv4 (20) and UDP (8)
/// headers.
pub const MAX_PAYLOAD_V4: usize = 65_507;
/// IPv6's header is not counted in its payload length, so only the UDP header is.
pub const MAX_PAYLOAD_V6: usize = 65_527;
/// Kernel receive buffer asked for: a burst of small datagrams waits here while the loop
/// is busy (the kernel caps it at `net.core.rmem_max`; the value set is read back).
const KERNEL_RECV_BUFFER: usize = 8 * 1024 * 1024;

/// The payload limit for sending to `to`.
pub fn max_payload(to: SocketAddr) -> usize {
    match to {
        SocketAddr::V4(_) => MAX_PAYLOAD_V4,
        SocketAddr::V6(v6) if v6.ip().to_ipv4_mapped().is_some() => MAX_PAYLOAD_V4,
        SocketAddr::V6(_) => MAX_PAYLOAD_V6,
    }
}

/// A non-blocking UDP socket bound to `bind`.
pub(crate) fn open(bind: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(bind), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_nonblocking(true)?;
    // Several sockets (or tools) can then listen on one multicast port.
    if bind.ip().is_multicast() || bind.ip().is_unspecified() {
        socket.set_reuse_address(true)?;
    }
    let _ = socket.set_recv_buffer_size(KERNEL_RECV_BUFFER);
    socket.bind(&bind.into())?;
    Ok(UdpSocket::from_std(socket.into()))
}

/// An address of `to`'s family as `socket` needs it: an IPv6 socket sends to IPv4 peers at
/// their IPv4-mapped address.
pub(crate) fn for_socket(local: SocketAddr, to: SocketAddr) -> SocketAddr {
    match (local, to) {
        (SocketAddr::V6(_), SocketAddr::V4(v4)) => {
            SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
        }
        _ => to,
    }
}

/// Sets `options` on `socket` and reads back what took effect. Multicast options of the
/// other IP family are left alone (the kernel refuses them).
pub(crate) fn apply_options(
    socket: &UdpSocket,
    options: &UdpOptions,
) -> Result<UdpOptions, String> {
    let sock = SockRef::from(socket);
    let local = socket.local_addr().map_err(|e| describe_io_error(&e))?;
    let words = |what: &str, e: io::Error| format!("cannot set {what}: {}", describe_io_error(&e));
    sock.set_broadcast(options.broadcast)
        .map_err(|e| words("broadcast", e))?;
    let chosen = choose_interface(&options.multicast_interface)?;
    let mut applied = options.clone();
    match local {
        SocketAddr::V4(_) => {
            if let Some(ttl) = options.multicast_ttl {
                sock.set_multicast_ttl_v4(ttl)
                    .map_err(|e| words("the multicast TTL", e))?;
            }
            sock.set_multicast_loop_v4(options.multicast_loop)
                .map_err(|e| words("multicast loopback", e))?;
            if chosen != ChosenInterface::ANY || !options.multicast_interface.is_empty() {
                sock.set_multicast_if_v4(&chosen.v4)
                    .map_err(|e| words("the multicast interface", e))?;
            }
            applied.broadcast = sock.broadcast().unwrap_or(options.broadcast);
            applied.multicast_loop = sock.multicast_loop_v4().unwrap_or(options.multicast_loop);
            applied.multicast_ttl = sock.multicast_ttl_v4().ok().or(options.multicast_ttl);
        }
        SocketAddr::V6(_) => {
            if let Some(hops) = options.multicast_ttl {
                sock.set_multicast_hops_v6(hops)
                    .map_err(|e| words("the multicast hop limit", e))?;
            }
            sock.set_multicast_loop_v6(options.multicast_loop)
                .map_err(|e| words("multicast loopback", e))?;
            if chosen != ChosenInterface::ANY || !options.multicast_interface.is_empty() {
                sock.set_multicast_if_v6(chosen.index)
                    .map_err(|e| words("the multicast interface", e))?;
            }
            applied.broadcast = sock.broadcast().unwrap_or(options.broadcast);
            applied.multicast_loop = sock.multicast_loop_v6().unwrap_or(options.multicast_loop);
            applied.multicast_ttl = sock.multicast_hops_v6().ok().or(options.multicast_ttl);
        }
    }
    Ok(applied)
}

fn choose_interface(typed: &str) -> Result<ChosenInterface, String> {
    if typed.trim().is_empty() {
        return Ok(ChosenInterface::ANY);
    }
    let listed =
        interfaces::list().map_err(|e| format!("cannot list this machine's interfaces: {e}"))?;
    interfaces::choose(typed, &listed)
}

/// Joins (`join: true`) or leaves a group, with the reason in words when the kernel refuses.
pub(crate) fn membership(socket: &UdpSocket, m: &Membership, join: bool) -> Result<(), String> {
    let verb = if join { "join" } else { "leave" };
    let fail = |e: io::Error| format!("cannot {verb} {m}: {}", describe_membership_error(&e, join));
    if !m.group.is_multicast() {
        return Err(format!(
            "cannot {verb} {}: not a multicast address (IPv4 groups are 224.0.0.0 to \
             239.255.255.255, IPv6 groups start with ff)",
            m.group
        ));
    }
    let local = socket.local_addr().map_err(|e| describe_io_error(&e))?;
    let chosen = choose_interface(&m.interface).map_err(|e| format!("cannot {verb} {m}: {e}"))?;
    let sock = SockRef::from(socket);
    match (m.group, local) {
        (IpAddr::V4(group), SocketAddr::V4(_)) => match m.source {
            None => {
                let interface = if chosen.index != 0 {
                    InterfaceIndexOrAddress::Index(chosen.index)
                } else {
                    InterfaceIndexOrAddress::Address(chosen.v4)
                };
                if join {
                    sock.join_multicast_v4_n(&group, &interface).map_err(fail)
                } else {
                    sock.leave_multicast_v4_n(&group, &interface).map_err(fail)
                }
            }
            Some(IpAddr::V4(source)) => {
                if join {
                    sock.join_ssm_v4(&source, &group, &chosen.v4).map_err(fail)
                } else {
                    sock.leave_ssm_v4(&source, &group, &chosen.v4).map_err(fail)
                }
            }
            Some(IpAddr::V6(_)) => Err(format!(
                "cannot {verb} {m}: the source must be IPv4 like the group"
            )),
        },
        (IpAddr::V6(group), SocketAddr::V6(_)) => {
            match m.source {
                None => {}
                Some(IpAddr::V6(source)) => {
                    return source_group_v6(socket, group, source, chosen.index, join)
                        .map_err(fail);
                }
                Some(IpAddr::V4(_)) => {
                    return Err(format!(
                        "cannot {verb} {m}: the source must be IPv6 like the group"
                    ));
                }
            }
            if join {
                sock.join_multicast_v6(&group, chosen.index).map_err(fail)
            } else {
                sock.leave_multicast_v6(&group, chosen.index).map_err(fail)
            }
        }
        (IpAddr::V4(_), SocketAddr::V6(_)) => Err(format!(
            "cannot {verb} {m}: this socket is bound to an IPv6 address; bind to 0.0.0.0 for \
             IPv4 groups"
        )),
        (IpAddr::V6(_), SocketAddr::V4(_)) => Err(format!(
            "cannot {verb} {m}: this socket is bound to an IPv4 address; bind to [::] for \
             IPv6 groups"
        )),
    }
}

/// A source-specific IPv6 membership (MCAST_JOIN_SOURCE_GROUP), which socket2 does not
/// offer.
#[cfg(target_os = "linux")]
fn source_group_v6(
    socket: &UdpSocket,
    group: std::net::Ipv6Addr,
    source: std::net::Ipv6Addr,
    interface: u32,
    join: bool,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    fn storage(ip: std::net::Ipv6Addr) -> libc::sockaddr_storage {
        // SAFETY: all-zero is a valid sockaddr_storage, and it is large and aligned enough
        // to be viewed as the sockaddr_in6 written into it.
        unsafe {
            let mut storage: libc::sockaddr_storage = std::mem::zeroed();
            let v6 =
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
            v6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            v6.sin6_addr.s6_addr = ip.octets();
            storage
        }
    }
    let request = libc::group_source_req {
        gsr_interface: interface,
        gsr_group: storage(group),
        gsr_source: storage(source),
    };
    let option = if join {
        libc::MCAST_JOIN_SOURCE_GROUP
    } else {
        libc::MCAST_LEAVE_SOURCE_GROUP
    };
    // SAFETY: the option value is the request above, with its exact size.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            option,
            (&request as *const libc::group_source_req).cast(),
            std::mem::size_of::<libc::group_source_req>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn source_group_v6(
    _socket: &UdpSocket,
    _group: std::net::Ipv6Addr,
    _source: std::net::Ipv6Addr,
    _interface: u32,
    _join: bool,
) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "source-specific IPv6 groups are supported on Linux only",
    ))
}

fn describe_membership_error(error: &io::Error, join: bool) -> String {
    match error.raw_os_error() {
        Some(libc_codes::EADDRINUSE) => "already a member".into(),
        // Linux also says this for a source-specific join made twice.
        Some(libc_codes::EADDRNOTAVAIL) if join => {
            "already a member, or that interface has no such address".into()
        }
        // Linux answers EINVAL to leaving a source-specific group it is not in.
        Some(libc_codes::EADDRNOTAVAIL | libc_codes::EINVAL) if !join => {
            "not a member there".into()
        }
        Some(libc_codes::ENODEV) => "no such interface".into(),
        Some(libc_codes::ENETUNREACH) | Some(libc_codes::ENETDOWN) => {
            "no route for multicast: pick an interface that is up".into()
        }
        _ => describe_io_error(error),
    }
}

/// Why a datagram to `to` of `size` bytes was not sent, in words.
pub(crate) fn describe_send_error(error: &io::Error, to: SocketAddr, size: usize) -> String {
    let reason = match error.raw_os_error() {
        Some(libc_codes::EACCES) if is_broadcast(to.ip()) => {
            format!("{to} is a broadcast address: turn on Broadcast (SO_BROADCAST) to send to it")
        }
        Some(libc_codes::EMSGSIZE) => format!(
            "{} bytes is more than one datagram can carry to {to} (at most {} bytes)",
            group_thousands(size),
            group_thousands(max_payload(to))
        ),
        Some(libc_codes::ECONNREFUSED) => {
            format!("connection refused: nothing listens on {to}")
        }
        _ => describe_io_error(error),
    };
    format!("not sent to {to}: {reason}")
}

/// Broadcast as far as this machine can tell without the netmask: the limited broadcast
/// address, or a .255 host part.
fn is_broadcast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_broadcast() || v4.octets()[3] == 255,
        IpAddr::V6(_) => false,
    }
}

/// A byte count grouped by thousands.
pub(crate) fn group_thousands(n: usize) -> String {
    super::wording::group_thousands(n as u64)
}

/// Datagrams the kernel dropped on `socket` for lack of buffer room, from the `drops`
/// column of `/proc/net/udp` (Linux); `None` elsewhere or when the socket is not found.
pub(crate) fn kernel_drops(socket: &UdpSocket) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let inode = {
            let mut stat: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: fstat writes into `stat`, which lives for the call.
            if unsafe { libc::fstat(socket.as_raw_fd(), &mut stat) } != 0 {
                return None;
            }
            stat.st_ino
        };
        let table = match socket.local_addr().ok()? {
            SocketAddr::V4(_) => "/proc/net/udp",
            SocketAddr::V6(_) => "/proc/net/udp6",
        };
        let text = std::fs::read_to_string(table).ok()?;
        drops_for_inode(&text, inode.to_string().as_str())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = socket;
        None
    }
}

/// The last column (`drops`) of the row whose inode column is `inode`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn drops_for_inode(table: &str, inode: &str) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops
        (fields.get(9) == Some(&inode))
            .then(|| fields.last()?.parse().ok())
            .flatten()
    })
}

/// The error codes worded above, per platform.
#[cfg(unix)]
mod libc_codes {
    pub use libc::{
        EACCES, EADDRINUSE, EADDRNOTAVAIL, ECONNREFUSED, EINVAL, EMSGSIZE, ENETDOWN, ENETUNREACH,
        ENODEV,
    };
}

/// Winsock's codes for the same errors (it has no ENODEV).
#[cfg(windows)]
mod libc_codes {
    pub const EACCES: i32 = 10013;
    pub const EINVAL: i32 = 10022;
    pub const ENODEV: i32 = -1;
    pub const EMSGSIZE: i32 = 10040;
    pub const EADDRINUSE: i32 = 10048;
    pub const EADDRNOTAVAIL: i32 = 10049;
    pub const ENETDOWN: i32 = 10050;
    pub const ENETUNREACH: i32 = 10051;
    pub const ECONNREFUSED: i32 = 10061;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_limits_follow_the_family() {
        assert_eq!(max_payload("127.0.0.1:9".parse().unwrap()), 65_507);
        assert_eq!(max_payload("[::1]:9".parse().unwrap()), 65_527);
        assert_eq!(max_payload("[::ffff:127.0.0.1]:9".parse().unwrap()), 65_507);
    }

    #[test]
    fn an_ipv6_socket_sends_to_ipv4_peers_mapped() {
        let local: SocketAddr = "[::]:5000".parse().unwrap();
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            for_socket(local, to),
            "[::ffff:127.0.0.1]:9".parse::<SocketAddr>().unwrap()
        );
        let local4: SocketAddr = "0.0.0.0:5000".parse().unwrap();
        assert_eq!(for_socket(local4, to), to);
    }

    #[test]
    fn send_errors_say_what_to_do() {
        let to: SocketAddr = "127.255.255.255:9".parse().unwrap();
        let denied = io::Error::from_raw_os_error(libc_codes::EACCES);
        let text = describe_send_error(&denied, to, 3);
        assert!(text.contains("turn on Broadcast"), "{text}");
        let big = io::Error::from_raw_os_error(libc_codes::EMSGSIZE);
        let text = describe_send_error(&big, "10.0.0.1:9".parse().unwrap(), 70_000);
        assert!(text.contains("70,000 bytes"), "{text}");
        assert!(text.contains("65,507 bytes"), "{text}");
    }

    #[test]
    fn the_drops_column_is_found_by_inode() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
          1: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17\n\
          2: 0100007F:0036 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 999 2 0000000000000000 0\n";
        assert_eq!(drops_for_inode(table, "4242"), Some(17));
        assert_eq!(drops_for_inode(table, "999"), Some(0));
        assert_eq!(drops_for_inode(table, "1"), None);
    }
}
