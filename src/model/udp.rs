//! The UDP side of a session, built from UDP events: the options asked for and in effect,
//! the multicast memberships (kept across a stop, to be joined again), the peers table, the
//! socket's counters and kernel figures, and what the user typed to send to an address or
//! join a group. Also the checks of what is typed for UDP, with errors worded for the field.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use crate::engine::{
    ConnId, Counters, DatagramPacing, MAX_PAYLOAD_V4, Membership, PeerInfo, Target, UdpOptions,
    UdpStats, parse_bind_address, parse_endpoint,
};

/// Where a UDP client binds when nothing is typed: any address, any port (the engine
/// switches it to `[::]` for an IPv6 peer).
pub const DEFAULT_CLIENT_BIND: &str = "0.0.0.0:0";
/// A UDP socket's target "Address…": whatever the "Send to address" field holds. The
/// session's `target` keeps this one value for it, and the send reads the field.
pub const TYPED_ADDRESS: Target =
    Target::Addr(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)));
/// Datagram size offered for sending a file.
pub const DEFAULT_DATAGRAM_SIZE: usize = 1024;

/// A multicast membership and whether the socket holds it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipRow {
    pub membership: Membership,
    /// False while the socket is closed (it is joined again when it opens) or when joining
    /// again failed (the log says why).
    pub joined: bool,
}

/// The group-join fields as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JoinDraft {
    pub group: String,
    /// An interface name, or empty for the system's choice.
    pub interface: String,
    /// Source-specific sender, or empty.
    pub source: String,
}

/// What a UDP socket's pane shows: its peers, its options or its groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UdpPane {
    #[default]
    Peers,
    Options,
    Groups,
}

#[derive(Debug, Default)]
pub struct UdpSide {
    /// The local address a UDP client binds (a UDP socket binds the session's `addr`).
    pub bind: String,
    /// The options asked for: sent when the socket opens and whenever they change.
    pub options: UdpOptions,
    /// What the socket reported in effect after opening or the last change.
    pub applied: Option<UdpOptions>,
    /// Every membership asked for, joined or to be joined when the socket opens.
    pub memberships: Vec<MembershipRow>,
    /// Peers by id, in the order they were seen (ids only grow).
    pub peers: BTreeMap<ConnId, PeerInfo>,
    /// The peer picked in the peers table.
    pub selected_peer: Option<ConnId>,
    /// Whoever sent the last datagram shown, for "The last sender".
    pub last_sender: Option<SocketAddr>,
    /// Every datagram of the open socket, in and out (the engine's, exact).
    pub totals: Option<Arc<Counters>>,
    /// What the kernel cut or dropped, for the open socket.
    pub stats: Option<Arc<UdpStats>>,
    /// The "Send to address" field.
    pub send_to: String,
    pub join: JoinDraft,
    /// The pane's page shown (view state, like a selection).
    pub pane: UdpPane,
}

impl UdpSide {
    pub fn new(bind: String, options: UdpOptions) -> Self {
        UdpSide {
            bind,
            options,
            ..UdpSide::default()
        }
    }

    /// The memberships as they were asked for, joined or not: what is saved.
    pub fn wanted_memberships(&self) -> impl Iterator<Item = &Membership> {
        self.memberships.iter().map(|row| &row.membership)
    }

    /// Adds a membership (restored, or just joined), once.
    pub fn remember(&mut self, membership: Membership, joined: bool) {
        match self
            .memberships
            .iter_mut()
            .find(|row| row.membership == membership)
        {
            Some(row) => row.joined = joined,
            None => self.memberships.push(MembershipRow { membership, joined }),
        }
    }

    pub fn forget(&mut self, membership: &Membership) {
        self.memberships.retain(|row| &row.membership != membership);
    }

    /// The socket closed: its memberships went with it (they are joined again on opening).
    pub fn socket_closed(&mut self) {
        for row in &mut self.memberships {
            row.joined = false;
        }
    }

    /// The address "Send to address" holds, or why it is not one.
    pub fn typed_target(&self) -> Result<SocketAddr, String> {
        parse_send_address(&self.send_to)
    }
}

/// What a typed send-to address stands for: an IP literal (or `localhost`) and a port, or a
/// bare port on this machine. Names are not looked up here: a send must not wait on DNS.
pub fn parse_send_address(typed: &str) -> Result<SocketAddr, String> {
    if typed.trim().is_empty() {
        return Err("type where to send, such as 127.0.0.1:9000".into());
    }
    let endpoint = parse_endpoint(typed).map_err(|e| e.to_string())?;
    let ip = if endpoint.host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        endpoint.host.parse::<IpAddr>().map_err(|_| {
            format!(
                "\"{}\" is not an IP address: type one, such as 192.168.1.20:{} (names are \
                 not looked up for a send)",
                endpoint.host, endpoint.port
            )
        })?
    };
    if endpoint.port == 0 {
        return Err("port 0 cannot receive: type the port the peer listens on".into());
    }
    Ok(SocketAddr::new(ip, endpoint.port))
}

/// Checks an address to bind (the engine's rule) and returns it as the engine reads it
/// (a bare port as `127.0.0.1:PORT`).
pub fn check_bind_address(typed: &str) -> Result<String, String> {
    parse_bind_address(typed).map(|addr| addr.to_string())
}

/// The membership the join fields describe, or what is wrong with them.
pub fn parse_membership(draft: &JoinDraft) -> Result<Membership, String> {
    let typed = draft.group.trim();
    if typed.is_empty() {
        return Err("type a group address, such as 239.1.2.3".into());
    }
    let group: IpAddr = typed
        .parse()
        .map_err(|_| format!("\"{typed}\" is not an IP address (a group is, such as 239.1.2.3)"))?;
    if !group.is_multicast() {
        return Err(format!(
            "{group} is not a multicast address (IPv4: 224.0.0.0 to 239.255.255.255; IPv6: ff00::/8)"
        ));
    }
    let source = match draft.source.trim() {
        "" => None,
        typed => {
            let source: IpAddr = typed
                .parse()
                .map_err(|_| format!("source \"{typed}\" is not an IP address"))?;
            if source.is_ipv4() != group.is_ipv4() {
                return Err("the source and the group must both be IPv4 or both IPv6".into());
            }
            Some(source)
        }
    };
    Ok(Membership {
        group,
        interface: draft.interface.trim().to_string(),
        source,
    })
}

/// The pacing a file goes out with, from the "Datagram size" and "Datagrams/s" fields.
pub fn parse_pacing(size: &str, per_second: &str) -> Result<DatagramPacing, String> {
    let size = match size.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_PAYLOAD_V4).contains(&n) => n,
        _ => {
            return Err(format!(
                "The datagram size must be a whole number from 1 to {MAX_PAYLOAD_V4} bytes."
            ));
        }
    };
    let per_second = match per_second.trim() {
        "" => 0,
        text => text.parse::<u32>().map_err(|_| {
            "Datagrams/s must be a whole number (0 = as fast as possible).".to_string()
        })?,
    };
    Ok(DatagramPacing { size, per_second })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_addresses_are_ip_literals_localhost_or_a_bare_port() {
        assert_eq!(
            parse_send_address("10.0.0.2:53"),
            Ok("10.0.0.2:53".parse().unwrap())
        );
        assert_eq!(
            parse_send_address(" [::1]:9 "),
            Ok("[::1]:9".parse().unwrap())
        );
        assert_eq!(
            parse_send_address("localhost:7"),
            Ok("127.0.0.1:7".parse().unwrap())
        );
        assert_eq!(
            parse_send_address("9000"),
            Ok("127.0.0.1:9000".parse().unwrap())
        );
        let name = parse_send_address("example.org:7").unwrap_err();
        assert!(name.contains("not an IP address"), "{name}");
        assert!(
            parse_send_address("1.2.3.4")
                .unwrap_err()
                .contains("missing port")
        );
        assert!(
            parse_send_address("1.2.3.4:0")
                .unwrap_err()
                .contains("port 0")
        );
        assert!(parse_send_address("").is_err());
    }

    #[test]
    fn bind_addresses_must_be_this_machines() {
        assert_eq!(check_bind_address("0").as_deref(), Ok("127.0.0.1:0"));
        assert_eq!(check_bind_address("[::]:5").as_deref(), Ok("[::]:5"));
        assert_eq!(
            check_bind_address("localhost:5").as_deref(),
            Ok("127.0.0.1:5")
        );
        assert!(
            check_bind_address("example.org:5")
                .unwrap_err()
                .contains("not an IP address")
        );
    }

    #[test]
    fn a_membership_needs_a_multicast_group_and_a_matching_source() {
        let draft = |group: &str, source: &str| JoinDraft {
            group: group.into(),
            interface: " lo ".into(),
            source: source.into(),
        };
        assert_eq!(
            parse_membership(&draft("239.1.2.3", "")),
            Ok(Membership {
                group: "239.1.2.3".parse().unwrap(),
                interface: "lo".into(),
                source: None,
            })
        );
        assert_eq!(
            parse_membership(&draft("232.1.1.1", "10.0.0.1"))
                .unwrap()
                .source,
            Some("10.0.0.1".parse().unwrap())
        );
        assert!(
            parse_membership(&draft("10.1.2.3", ""))
                .unwrap_err()
                .contains("not a multicast address")
        );
        assert!(parse_membership(&draft("239.1.2.3", "::1")).is_err());
        assert!(parse_membership(&draft("", "")).is_err());
        assert!(parse_membership(&draft("group", "")).is_err());
    }

    #[test]
    fn pacing_fields_are_checked_with_the_limit() {
        assert_eq!(
            parse_pacing("1024", "0"),
            Ok(DatagramPacing {
                size: 1024,
                per_second: 0
            })
        );
        assert_eq!(parse_pacing("65507", "").unwrap().size, 65_507);
        assert!(parse_pacing("65508", "0").unwrap_err().contains("65507"));
        assert!(parse_pacing("0", "0").is_err());
        assert!(parse_pacing("100", "-1").is_err());
    }
}
