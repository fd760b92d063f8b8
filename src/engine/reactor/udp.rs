//! UDP sessions on the net thread: open (bind, and `connect()` for a UDP client), read
//! datagrams a bounded number per turn, keep the peers table, send through a queue that
//! waits when the socket is full, join and leave groups, and pace files out as datagrams.
//!
//! Unlike a TCP connection, a UDP socket cannot push back on its sender: while the owner
//! is behind, datagrams are still read, counted and captured, and only their events are
//! left out (reported later as `DatagramsUnreported`); what the kernel itself dropped is
//! read from the system once a second into `UdpStats`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};
use mio::Interest;

use super::registry::Owner;
use super::respond::Sender;
use super::session::{Outgoing, Peer, Role, UdpState};
use super::{Deadline, Reactor, StopCause};
use crate::engine::addr::{parse_bind_address, parse_endpoint};
use crate::engine::capture::Capture;
use crate::engine::command::{Membership, Target, UdpOptions};
use crate::engine::event::{Datagram, EventKind, PeerInfo, RepeatEnd};
use crate::engine::ids::{ConnId, SessionId};
use crate::engine::responder::Reaction;
use crate::engine::udp::{self, RECV_BUFFER};
use crate::engine::wording::describe_io_error;

/// Datagrams read per socket per loop turn, so one flooded socket cannot starve the rest.
const DATAGRAMS_PER_TURN: usize = 256;
/// A `DatagramsReceived` event carries at most about this many bytes, so the bounded event
/// channel bounds memory as it does for TCP reads.
const BATCH_BYTES: usize = 64 * 1024;
/// Addresses the peers table keeps; datagrams from further ones count in the totals only.
pub const MAX_PEERS: usize = 65_536;
/// How often the kernel's drop count is read.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// Why datagrams could not be queued.
pub(super) struct Refused {
    pub message: String,
    /// How a repeat sending them ends.
    pub end: RepeatEnd,
}

impl Reactor {
    pub(super) fn is_udp(&self, session: SessionId) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|s| s.udp().is_some())
    }

    fn udp_mut(&mut self, session: SessionId) -> Option<&mut UdpState> {
        self.sessions.get_mut(&session)?.udp_mut()
    }

    // ---- opening

    pub(super) fn open_udp(
        &mut self,
        session: SessionId,
        bind: &str,
        connect: Option<&str>,
        options: UdpOptions,
    ) {
        self.stop(session, StopCause::NewAttempt);
        let role = Role::Udp(Box::new(UdpState::new(options)));
        let attempt = self.begin_attempt(session, role);
        let bind = match parse_bind_address(bind) {
            Ok(bind) => bind,
            Err(error) => return self.udp_failed(session, error),
        };
        let Some(connect) = connect.map(str::trim).filter(|c| !c.is_empty()) else {
            return self.finish_open(session, bind, None);
        };
        let endpoint = match parse_endpoint(connect) {
            Ok(endpoint) => endpoint,
            Err(e) => return self.udp_failed(session, e.to_string()),
        };
        match endpoint.literal() {
            Some(peer) => self.finish_open(session, bind, Some(peer)),
            None => {
                if let Some(udp) = self.udp_mut(session) {
                    udp.bind = Some(bind);
                }
                self.resolve_in_background(session, attempt, endpoint);
            }
        }
    }

    /// The name of a UDP client's peer resolved: open towards the first address of the
    /// bind address's family (or the first at all).
    pub(super) fn udp_resolved(
        &mut self,
        session: SessionId,
        result: Result<Vec<SocketAddr>, String>,
    ) {
        let addrs = match result {
            Ok(addrs) => addrs,
            Err(error) => return self.udp_failed(session, error),
        };
        let Some(bind) = self.udp_mut(session).and_then(|udp| udp.bind.take()) else {
            return;
        };
        let peer = addrs
            .iter()
            .find(|a| a.is_ipv4() == bind.is_ipv4())
            .or(addrs.first())
            .copied();
        match peer {
            Some(peer) => self.finish_open(session, bind, Some(peer)),
            None => self.udp_failed(session, "the name resolved to no address".into()),
        }
    }

    fn udp_failed(&mut self, session: SessionId, error: String) {
        self.sink.emit(session, EventKind::UdpFailed { error });
    }

    fn finish_open(&mut self, session: SessionId, bind: SocketAddr, peer: Option<SocketAddr>) {
        // An unspecified bind follows the peer's family: `0.0.0.0:0` towards `[::1]:9`.
        let bind = match peer {
            Some(peer) if bind.ip().is_unspecified() && bind.is_ipv4() != peer.is_ipv4() => {
                SocketAddr::new(unspecified_like(peer.ip()), bind.port())
            }
            _ => bind,
        };
        let mut socket = match udp::open(bind) {
            Ok(socket) => socket,
            Err(e) => {
                let error = format!("cannot bind to {bind}: {}", describe_io_error(&e));
                return self.udp_failed(session, error);
            }
        };
        if let Some(peer) = peer
            && let Err(e) = socket.connect(peer)
        {
            let error = format!("cannot connect to {peer}: {}", describe_io_error(&e));
            return self.udp_failed(session, error);
        }
        let interest = Interest::READABLE | Interest::WRITABLE;
        let token = match self
            .registry
            .register(&mut socket, interest, Owner::Udp(session))
        {
            Ok(token) => token,
            Err(e) => {
                let error = format!("cannot watch the socket: {}", describe_io_error(&e));
                return self.udp_failed(session, error);
            }
        };
        let local = socket.local_addr().unwrap_or(bind);
        let Some(udp) = self.udp_mut(session) else {
            self.registry.deregister(&mut socket, token);
            return;
        };
        let applied = udp::apply_options(&socket, &udp.options);
        udp.socket = Some((token, socket));
        udp.local = Some(local);
        udp.connected = peer;
        let (totals, stats) = (udp.totals.clone(), udp.stats.clone());
        self.sink.emit(
            session,
            EventKind::UdpOpened {
                local,
                peer,
                totals,
                stats,
            },
        );
        match applied {
            Ok(options) => {
                if let Some(udp) = self.udp_mut(session) {
                    udp.options = options.clone();
                }
                self.sink
                    .emit(session, EventKind::UdpOptionsApplied { options });
            }
            Err(message) => self.error(session, message),
        }
        if let Some(peer) = peer {
            self.peer_for(session, peer);
        }
        self.timers
            .set(Deadline::UdpStats(session), Instant::now() + STATS_EVERY);
        // Datagrams may have arrived before the socket was watched.
        self.mark_udp_readable(session);
    }

    /// Closes the socket; true if one was open.
    pub(super) fn close_udp(&mut self, session: SessionId) -> bool {
        self.timers.cancel(Deadline::UdpStats(session));
        let Some(udp) = self.udp_mut(session) else {
            return false;
        };
        udp.queue.clear();
        udp.queued_bytes = 0;
        udp.bind = None;
        udp.local = None;
        let Some((token, mut socket)) = udp.socket.take() else {
            return false;
        };
        self.registry.deregister(&mut socket, token);
        true
    }

    pub(super) fn set_udp_options(&mut self, session: SessionId, options: UdpOptions) {
        let Some(udp) = self.udp_mut(session) else {
            return self.error(session, "UDP options are for UDP sockets".into());
        };
        let Some((_, socket)) = &udp.socket else {
            udp.options = options;
            return;
        };
        match udp::apply_options(socket, &options) {
            Ok(applied) => {
                udp.options = applied.clone();
                self.sink
                    .emit(session, EventKind::UdpOptionsApplied { options: applied });
            }
            Err(message) => self.error(session, message),
        }
    }

    pub(super) fn change_membership(
        &mut self,
        session: SessionId,
        membership: Membership,
        join: bool,
    ) {
        let socket = self
            .sessions
            .get(&session)
            .and_then(|s| s.udp())
            .and_then(|udp| udp.socket.as_ref());
        let Some((_, socket)) = socket else {
            let verb = if join { "join" } else { "leave" };
            return self.error(
                session,
                format!("cannot {verb} {membership}: the UDP socket is not open"),
            );
        };
        match udp::membership(socket, &membership, join) {
            Ok(()) if join => self.sink.emit(session, EventKind::Joined { membership }),
            Ok(()) => self.sink.emit(session, EventKind::Left { membership }),
            Err(message) => self.error(session, message),
        }
    }

    // ---- the kernel's drop count

    pub(super) fn read_udp_stats(&mut self, session: SessionId) {
        let Some(udp) = self.sessions.get(&session).and_then(|s| s.udp()) else {
            return;
        };
        let Some((_, socket)) = &udp.socket else {
            return;
        };
        if let Some(drops) = udp::kernel_drops(socket) {
            udp.stats.set_kernel_drops(drops);
        }
        self.timers
            .set(Deadline::UdpStats(session), Instant::now() + STATS_EVERY);
    }

    // ---- the peers table

    /// The peer entry of `addr`, made (and reported) on first sight; `None` once the table
    /// is full.
    fn peer_for(
        &mut self,
        session: SessionId,
        addr: SocketAddr,
    ) -> Option<(ConnId, Arc<crate::engine::event::Counters>)> {
        let next_conn = &mut self.next_conn;
        let udp = self.sessions.get_mut(&session)?.udp_mut()?;
        if let Some(peer) = udp.peers.get(&addr) {
            return Some((peer.id, peer.counters.clone()));
        }
        if udp.peers.len() >= MAX_PEERS {
            if !std::mem::replace(&mut udp.peers_full_reported, true) {
                let message = format!(
                    "the peers table is full ({} addresses): datagrams from further \
                     addresses count in the socket's totals only",
                    udp::group_thousands(MAX_PEERS)
                );
                self.error(session, message);
            }
            return None;
        }
        let id = ConnId::new(*next_conn);
        *next_conn += 1;
        let counters = Arc::<crate::engine::event::Counters>::default();
        udp.peers.insert(
            addr,
            Peer {
                id,
                counters: counters.clone(),
            },
        );
        udp.peer_order.insert(id, addr);
        let info = PeerInfo {
            peer: id,
            addr,
            first_seen: Local::now(),
            counters: counters.clone(),
        };
        self.sink.emit(session, EventKind::PeerSeen(info));
        Some((id, counters))
    }

    // ---- reading

    pub(super) fn mark_udp_readable(&mut self, session: SessionId) {
        let Some(udp) = self.udp_mut(session) else {
            return;
        };
        udp.read_pending = true;
        if !udp.in_read_list {
            udp.in_read_list = true;
            self.udp_read_list.push(session);
        }
    }

    pub(super) fn read_udp_ready(&mut self) {
        let list = std::mem::take(&mut self.udp_read_list);
        for session in list {
            if let Some(udp) = self.udp_mut(session) {
                udp.in_read_list = false;
            }
            self.read_udp(session);
            if let Some(udp) = self.udp_mut(session)
                && udp.read_pending
                && !udp.in_read_list
            {
                udp.in_read_list = true;
                self.udp_read_list.push(session);
            }
        }
    }

    fn read_udp(&mut self, session: SessionId) {
        let mut buffer = std::mem::take(&mut self.udp_scratch);
        if buffer.len() < RECV_BUFFER {
            buffer = vec![0; RECV_BUFFER];
        }
        let mut batch: Vec<Datagram> = Vec::new();
        let mut batch_bytes = 0;
        let now = Local::now();
        // What the rules decided, carried out once this turn's datagrams are reported.
        let mut answers: Vec<(SocketAddr, Reaction)> = Vec::new();
        for _ in 0..DATAGRAMS_PER_TURN {
            let Some(s) = self.sessions.get_mut(&session) else {
                break;
            };
            if s.capture.as_ref().is_some_and(Capture::is_full) {
                // The capture file is behind: leave the datagrams in the kernel's buffer.
                self.reads_blocked = true;
                break;
            }
            let Some(udp) = s.udp_mut() else {
                break;
            };
            let Some((_, socket)) = &udp.socket else {
                break;
            };
            let connected = udp.connected;
            match socket.recv_from(&mut buffer) {
                Ok((n, from)) => {
                    let from = unmapped(from);
                    let truncated = n >= buffer.len();
                    let data = &buffer[..n];
                    let datagram = self.received(session, from, data, truncated, now);
                    answers.extend(self.reactions.drain(..).map(|r| (from, r)));
                    if let Some(datagram) = datagram {
                        batch_bytes += datagram.data.len();
                        batch.push(datagram);
                        if batch_bytes >= BATCH_BYTES {
                            let datagrams = std::mem::take(&mut batch);
                            batch_bytes = 0;
                            self.sink
                                .emit(session, EventKind::DatagramsReceived { datagrams });
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    udp.read_pending = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    // An ICMP port unreachable for an earlier send: worth a row, not an end.
                    let whom = connected.map_or_else(|| "the peer".into(), |a| a.to_string());
                    let message = format!("connection refused: nothing listens on {whom}");
                    self.error(session, message);
                }
                Err(e) => {
                    udp.read_pending = false;
                    let message = format!("receive failed: {}", describe_io_error(&e));
                    self.error(session, message);
                    break;
                }
            }
        }
        if !batch.is_empty() {
            self.sink
                .emit(session, EventKind::DatagramsReceived { datagrams: batch });
        }
        self.udp_scratch = buffer;
        for (from, reaction) in answers {
            self.carry_out_one(session, Sender::Datagram(from), reaction);
        }
    }

    /// Counts, captures and (unless the owner is behind) returns one received datagram.
    fn received(
        &mut self,
        session: SessionId,
        from: SocketAddr,
        data: &[u8],
        truncated: bool,
        now: DateTime<Local>,
    ) -> Option<Datagram> {
        let now_ms = now.timestamp_millis();
        let peer = self.peer_for(session, from);
        let s = self.sessions.get_mut(&session)?;
        let checksum_ok = s.framing.checksum.and_then(|c| c.verify(data));
        if let Some(responder) = &s.responder {
            responder.react(
                data,
                data,
                Some(from),
                now,
                &mut s.global_counted,
                &mut self.reactions,
            );
        }
        if let Some(capture) = &s.capture {
            // Room was checked before reading; a closed channel is reported by its thread.
            let _ = capture.chunks.try_send(Arc::from(data));
        }
        let udp = s.udp_mut()?;
        udp.totals.add_in(data.len());
        udp.last_sender = Some(from);
        if truncated {
            udp.stats.add_truncated();
        }
        if let Some((_, counters)) = &peer {
            counters.add_in(data.len());
            counters.set_last_in(now_ms);
        }
        if self.sink.congested() {
            let missed = self.missed.entry(session).or_default();
            missed.datagrams += 1;
            missed.datagram_bytes += data.len() as u64;
            return None;
        }
        Some(Datagram {
            checksum_ok,
            peer: peer.map(|(id, _)| id),
            addr: from,
            data: Arc::from(data),
            truncated,
        })
    }

    // ---- sending

    /// The addresses `target` stands for, or why there are none.
    pub(super) fn udp_targets(
        &self,
        session: SessionId,
        target: Target,
    ) -> Result<Vec<SocketAddr>, String> {
        let Some(udp) = self.sessions.get(&session).and_then(|s| s.udp()) else {
            return Err("not a UDP socket".into());
        };
        if udp.socket.is_none() {
            return Err("the UDP socket is not open".into());
        }
        let addrs = match (target, udp.connected) {
            (Target::All, Some(peer)) => vec![peer],
            (Target::All, None) => udp.peer_order.values().copied().collect(),
            (Target::One(id), _) => udp.peer_order.get(&id).copied().into_iter().collect(),
            (Target::Addr(addr), Some(peer)) if addr != peer => {
                return Err(format!(
                    "this UDP client is connected to {peer} and sends only there"
                ));
            }
            (Target::Addr(addr), _) => vec![addr],
            (Target::LastSender, _) => match udp.last_sender {
                Some(addr) => vec![addr],
                None => {
                    return Err(
                        "no datagram has arrived yet, so there is no sender to reply to".into(),
                    );
                }
            },
        };
        if addrs.is_empty() {
            return Err(match target {
                Target::One(id) => format!("peer {id} is not known"),
                _ => "no peer yet: type an address to send to".into(),
            });
        }
        Ok(addrs)
    }

    /// `Send` on a UDP session: one datagram to each address of `target`.
    pub(super) fn udp_send(&mut self, session: SessionId, target: Target, data: Vec<u8>) {
        match self.udp_enqueue(session, target, data.into(), true) {
            Ok(()) => self.flush_udp(session),
            Err(refused) => self.error(session, format!("not sent: {}", refused.message)),
        }
    }

    /// Queues one datagram per address of `target`, or none if any is refused.
    pub(super) fn udp_enqueue(
        &mut self,
        session: SessionId,
        target: Target,
        data: Arc<[u8]>,
        report: bool,
    ) -> Result<(), Refused> {
        let addrs = self
            .udp_targets(session, target)
            .map_err(|message| Refused {
                message,
                end: RepeatEnd::NoConnection,
            })?;
        let local = self
            .sessions
            .get(&session)
            .and_then(|s| s.udp())
            .and_then(|udp| udp.local);
        if let Some(local) = local
            && local.is_ipv4()
            && let Some(to) = addrs.iter().find(|to| to.is_ipv6())
        {
            return Err(Refused {
                message: format!(
                    "{to} is an IPv6 address and this socket is IPv4 (bound to {local}); bind \
                     to [::] to reach both"
                ),
                end: RepeatEnd::Stopped,
            });
        }
        if let Some(&to) = addrs.iter().find(|&&to| data.len() > udp::max_payload(to)) {
            return Err(Refused {
                message: format!(
                    "{} bytes is more than one UDP datagram can carry to {to} (at most {} \
                     bytes over {})",
                    udp::group_thousands(data.len()),
                    udp::group_thousands(udp::max_payload(to)),
                    if udp::max_payload(to) == udp::MAX_PAYLOAD_V4 {
                        "IPv4"
                    } else {
                        "IPv6"
                    }
                ),
                end: RepeatEnd::Stopped,
            });
        }
        let Some(udp) = self.udp_mut(session) else {
            return Err(Refused {
                message: "not a UDP socket".into(),
                end: RepeatEnd::NoConnection,
            });
        };
        let adding = data.len() * addrs.len();
        if udp.queued_bytes + adding > super::MAX_SEND_QUEUE {
            return Err(Refused {
                message: format!(
                    "{} bytes are already waiting for the socket to take them",
                    udp.queued_bytes
                ),
                end: RepeatEnd::PeerNotReading,
            });
        }
        udp.queued_bytes += adding;
        for to in addrs {
            udp.queue.push_back(Outgoing {
                to,
                data: data.clone(),
                report,
            });
        }
        Ok(())
    }

    pub(super) fn udp_queued_bytes(&self, session: SessionId) -> usize {
        self.sessions
            .get(&session)
            .and_then(|s| s.udp())
            .map_or(0, |udp| udp.queued_bytes)
    }

    /// Hands queued datagrams to the kernel until it is full; reports what went and, once
    /// per run of the same failure, what did not.
    pub(super) fn flush_udp(&mut self, session: SessionId) {
        let mut sent: Vec<Datagram> = Vec::new();
        let mut failures: Vec<(String, u64)> = Vec::new();
        while let Some(udp) = self.udp_mut(session) {
            let Some((_, socket)) = &udp.socket else {
                break;
            };
            let Some(out) = udp.queue.front() else {
                break;
            };
            let to = udp
                .local
                .map_or(out.to, |local| udp::for_socket(local, out.to));
            let result = if udp.connected.is_some() {
                socket.send(&out.data)
            } else {
                socket.send_to(&out.data, to)
            };
            match result {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                _ => {}
            }
            let Some(out) = udp.queue.pop_front() else {
                break;
            };
            udp.queued_bytes -= out.data.len();
            match result {
                Ok(_) => {
                    udp.totals.add_out(out.data.len());
                    udp.totals.add_message_out();
                    let peer = self.peer_for(session, out.to);
                    if let Some((_, counters)) = &peer {
                        counters.add_out(out.data.len());
                        counters.add_message_out();
                    }
                    if out.report {
                        sent.push(Datagram {
                            checksum_ok: None,
                            peer: peer.map(|(id, _)| id),
                            addr: out.to,
                            data: out.data,
                            truncated: false,
                        });
                    }
                }
                Err(e) => {
                    let message = udp::describe_send_error(&e, out.to, out.data.len());
                    match failures.last_mut() {
                        Some((last, count)) if *last == message => *count += 1,
                        _ => failures.push((message, 1)),
                    }
                }
            }
        }
        for (message, count) in failures {
            let message = if count > 1 {
                format!("{message} ({count} datagrams)")
            } else {
                message
            };
            self.error(session, message);
        }
        if sent.is_empty() {
            return;
        }
        if self.sink.congested() {
            let missed = self.missed.entry(session).or_default();
            missed.sends += sent.len() as u64;
            missed.send_bytes += sent.iter().map(|d| d.data.len() as u64).sum::<u64>();
        } else {
            self.sink
                .emit(session, EventKind::DatagramsSent { datagrams: sent });
        }
    }
}

/// An IPv6 socket hears IPv4 peers at mapped addresses: they are listed (and answered) as
/// IPv4. Other IPv6 addresses keep their scope, which a link-local reply needs.
fn unmapped(from: SocketAddr) -> SocketAddr {
    match from {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => from,
        },
        SocketAddr::V4(_) => from,
    }
}

fn unspecified_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_peers_become_ipv4_and_link_local_ones_keep_their_scope() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:9".parse().unwrap();
        assert_eq!(
            unmapped(mapped),
            "127.0.0.1:9".parse::<SocketAddr>().unwrap()
        );
        let scoped = SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::2".parse().unwrap(),
            9,
            0,
            3,
        ));
        assert_eq!(unmapped(scoped), scoped);
    }
}
