//! Client sessions: connect to each resolved address in turn until one answers, within
//! the session's timeout.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Interest, Token};

use super::registry::Owner;
use super::session::{ClientState, Connecting, Role, Session};
use super::{Deadline, Reactor, StopCause};
use crate::engine::addr::parse_endpoint;
use crate::engine::command::ClientOptions;
use crate::engine::event::EventKind;
use crate::engine::ids::SessionId;
use crate::engine::tcp;
use crate::engine::timers::far_or;
use crate::engine::tls::{self, ClientConfigs};
use crate::engine::wording::{describe_io_error, format_duration};

impl Reactor {
    pub(super) fn connect(
        &mut self,
        session: SessionId,
        addr: &str,
        timeout: Duration,
        options: ClientOptions,
    ) {
        self.stop(session, StopCause::NewAttempt);
        let tls = match options.tls.as_ref().map(ClientConfigs::build).transpose() {
            Ok(tls) => tls,
            Err(error) => {
                self.sink.emit(session, EventKind::ConnectFailed { error });
                return;
            }
        };
        let role = Role::Client(ClientState {
            connecting: None,
            timeout,
            options,
            tls,
        });
        let attempt = self.begin_attempt(session, role);
        let endpoint = match parse_endpoint(addr) {
            Ok(endpoint) => endpoint,
            Err(e) => {
                let error = e.to_string();
                self.sink.emit(session, EventKind::ConnectFailed { error });
                return;
            }
        };
        let deadline = far_or(Instant::now(), timeout);
        if let Some(client) = self
            .sessions
            .get_mut(&session)
            .and_then(Session::client_mut)
        {
            // TLS checks the name typed (or the one the setup gives), not the address
            // it resolves to.
            if let Some(tls) = client.tls.as_mut()
                && let Err(error) = tls.aim_at(&endpoint.host)
            {
                self.sink.emit(session, EventKind::ConnectFailed { error });
                return;
            }
            client.connecting = Some(Connecting {
                attempt: None,
                remaining: Vec::new(),
                deadline,
                last_error: None,
            });
        }
        self.timers.set(Deadline::ConnectTimeout(session), deadline);
        match endpoint.literal() {
            Some(addr) => self.try_next_address(session, vec![addr]),
            None => self.resolve_in_background(session, attempt, endpoint),
        }
    }

    /// Starts a non-blocking connect to the next address left (after `more`, in the
    /// resolver's order); reports failure when none is left.
    pub(super) fn try_next_address(&mut self, session: SessionId, more: Vec<SocketAddr>) {
        let Some(client) = self
            .sessions
            .get_mut(&session)
            .and_then(Session::client_mut)
        else {
            return;
        };
        let options = client.options.socket.clone();
        let tls = client.tls.clone();
        let Some(connecting) = client.connecting.as_mut() else {
            return;
        };
        connecting.remaining.splice(0..0, more);
        while !connecting.remaining.is_empty() {
            let addr = connecting.remaining.remove(0);
            let made = match &tls {
                Some(configs) => tls::connect(addr, &options, configs),
                None => tcp::connect(addr, &options),
            };
            let mut stream = match made {
                Ok(stream) => stream,
                Err(e) => {
                    connecting.last_error = Some(describe_io_error(&e));
                    continue;
                }
            };
            let interest = Interest::READABLE | Interest::WRITABLE;
            let owner = Owner::Connecting(session);
            match self.registry.register(&mut *stream, interest, owner) {
                Ok(token) => {
                    connecting.attempt = Some((token, stream));
                    self.sink
                        .emit(session, EventKind::Connecting { peer: addr });
                    return;
                }
                Err(e) => connecting.last_error = Some(describe_io_error(&e)),
            }
        }
        let error = connecting
            .last_error
            .take()
            .unwrap_or_else(|| "the name resolved to no address".into());
        self.end_connecting(session);
        self.sink.emit(session, EventKind::ConnectFailed { error });
    }

    /// The socket being connected turned ready: connected, failed, or a spurious wake-up.
    pub(super) fn connect_progress(&mut self, session: SessionId, token: Token) {
        let Some(connecting) = self
            .sessions
            .get_mut(&session)
            .and_then(Session::connecting_mut)
        else {
            return;
        };
        let Some((current, stream)) = &connecting.attempt else {
            return;
        };
        if *current != token {
            return;
        }
        let failure = match stream.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => None,
        };
        let outcome = match failure {
            Some(e) => Err(e),
            None => match stream.peer_addr() {
                Ok(peer) => Ok(peer),
                // Not connected yet: a spurious wake-up.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => Err(e),
            },
        };
        let Some((token, mut stream)) = connecting.attempt.take() else {
            return;
        };
        match outcome {
            Ok(peer) => {
                self.end_connecting(session);
                self.adopt(session, stream, peer, false, Some(token));
            }
            Err(e) => {
                connecting.last_error = Some(describe_io_error(&e));
                self.registry.deregister(&mut *stream, token);
                self.try_next_address(session, Vec::new());
            }
        }
    }

    pub(super) fn connect_timed_out(&mut self, session: SessionId, now: Instant) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        let Some(client) = s.client_mut() else {
            return;
        };
        let timeout = client.timeout;
        let Some(connecting) = &client.connecting else {
            return;
        };
        if connecting.deadline > now {
            let deadline = connecting.deadline;
            self.timers.set(Deadline::ConnectTimeout(session), deadline);
            return;
        }
        // A name lookup still running must not start anything after this.
        s.attempt += 1;
        s.resolving = false;
        self.end_connecting(session);
        let error = format!("timed out after {}", format_duration(timeout));
        self.sink.emit(session, EventKind::ConnectFailed { error });
    }

    /// Ends a connect in progress without a word (the caller reports); true if one was.
    pub(super) fn end_connecting(&mut self, session: SessionId) -> bool {
        self.timers.cancel(Deadline::ConnectTimeout(session));
        let Some(client) = self
            .sessions
            .get_mut(&session)
            .and_then(Session::client_mut)
        else {
            return false;
        };
        let Some(mut connecting) = client.connecting.take() else {
            return false;
        };
        if let Some((token, mut stream)) = connecting.attempt.take() {
            self.registry.deregister(&mut *stream, token);
        }
        true
    }
}
