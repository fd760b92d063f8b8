//! Server sessions: bind a listener, accept its clients, and retry accepting on a timer
//! when the process runs out of descriptors.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Interest, Token};

use super::conn::Conn;
use super::registry::Owner;
use super::session::{Role, ServerState, Session};
use super::{Deadline, Reactor};
use crate::engine::addr::parse_endpoint;
use crate::engine::command::ServerOptions;
use crate::engine::event::EventKind;
use crate::engine::ids::{ConnId, SessionId};
use crate::engine::tcp;
use crate::engine::tls::{self, ServerConfigs};
use crate::engine::transport::Stream;
use crate::engine::wording::describe_io_error;

/// How long to wait before accepting again after running out of descriptors.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

impl Reactor {
    pub(super) fn listen(&mut self, session: SessionId, addr: &str, options: ServerOptions) {
        self.stop(session, super::StopCause::NewAttempt);
        let tls = match options.tls.as_ref().map(ServerConfigs::build).transpose() {
            Ok(tls) => tls,
            Err(error) => {
                self.sink.emit(session, EventKind::ListenFailed { error });
                return;
            }
        };
        let role = Role::Server(ServerState {
            listener: None,
            options,
            tls,
            accept_paused: false,
        });
        let attempt = self.begin_attempt(session, role);
        match parse_endpoint(addr) {
            Err(e) => self.sink.emit(
                session,
                EventKind::ListenFailed {
                    error: e.to_string(),
                },
            ),
            Ok(endpoint) => match endpoint.literal() {
                Some(addr) => self.bind(session, vec![addr]),
                None => self.resolve_in_background(session, attempt, endpoint),
            },
        }
    }

    /// Listens on the first of `addrs` that works; reports the last error when none does.
    pub(super) fn bind(&mut self, session: SessionId, addrs: Vec<SocketAddr>) {
        let mut last_error = String::from("the name resolved to no address");
        let Some((options, tls)) = self
            .sessions
            .get(&session)
            .and_then(|s| s.server())
            .map(|server| (server.options.socket.clone(), server.tls.clone()))
        else {
            return;
        };
        for addr in addrs {
            let made = match &tls {
                Some(configs) => tls::listen(addr, &options, configs),
                None => tcp::listen(addr, &options),
            };
            let mut listener = match made {
                Ok(listener) => listener,
                Err(e) => {
                    last_error = describe_io_error(&e);
                    continue;
                }
            };
            let owner = Owner::Listener(session);
            let token = match self
                .registry
                .register(&mut *listener, Interest::READABLE, owner)
            {
                Ok(token) => token,
                Err(e) => {
                    last_error = describe_io_error(&e);
                    continue;
                }
            };
            let local = listener.local_addr().unwrap_or(addr);
            let Some(server) = self
                .sessions
                .get_mut(&session)
                .and_then(Session::server_mut)
            else {
                self.registry.deregister(&mut *listener, token);
                return;
            };
            let options = listener.options_in_effect();
            server.listener = Some((token, listener));
            self.sink.emit(session, EventKind::Listening { local });
            self.sink
                .emit(session, EventKind::ListenerOptions { options });
            // Clients may already wait in the backlog.
            self.accept(session);
            return;
        }
        self.sink
            .emit(session, EventKind::ListenFailed { error: last_error });
    }

    /// Accepts every waiting client.
    pub(super) fn accept(&mut self, session: SessionId) {
        loop {
            let Some(server) = self
                .sessions
                .get_mut(&session)
                .and_then(Session::server_mut)
            else {
                return;
            };
            let Some((_, listener)) = &server.listener else {
                return;
            };
            let chat = server.options.chat;
            match listener.accept() {
                Ok((stream, peer)) => {
                    server.accept_paused = false;
                    self.adopt(session, stream, peer, chat, None);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The backlog is empty: the next client makes a new readiness edge.
                    server.accept_paused = false;
                    return;
                }
                Err(e) if is_transient_accept_error(&e) => {}
                Err(e) => {
                    // Out of descriptors, typically: say so once, then retry on a timer.
                    let first = !std::mem::replace(&mut server.accept_paused, true);
                    let retry = Instant::now() + ACCEPT_RETRY;
                    self.timers.set(Deadline::AcceptRetry(session), retry);
                    if first {
                        let message =
                            format!("cannot accept a connection: {}", describe_io_error(&e));
                        self.error(session, message);
                    }
                    return;
                }
            }
        }
    }

    /// Makes a connected stream (accepted, or a finished client connect already registered
    /// under `token`) a member of the session.
    pub(super) fn adopt(
        &mut self,
        session: SessionId,
        mut stream: Box<dyn Stream>,
        peer: SocketAddr,
        chat: bool,
        token: Option<Token>,
    ) {
        let local = match stream.local_addr() {
            Ok(local) => local,
            Err(e) => {
                if let Some(token) = token {
                    self.registry.deregister(&mut *stream, token);
                }
                let message = format!("connection lost at once: {}", describe_io_error(&e));
                self.error(session, message);
                return;
            }
        };
        let token = match token {
            Some(token) => {
                self.registry.reassign(token, Owner::Conn);
                token
            }
            None => {
                let interest = Interest::READABLE | Interest::WRITABLE;
                match self.registry.register(&mut *stream, interest, Owner::Conn) {
                    Ok(token) => token,
                    Err(e) => {
                        let message =
                            format!("cannot watch a connection: {}", describe_io_error(&e));
                        self.error(session, message);
                        return;
                    }
                }
            }
        };
        let id = ConnId::new(self.next_conn);
        self.next_conn += 1;
        let framing = self
            .sessions
            .get(&session)
            .map(|s| s.framing.clone())
            .unwrap_or_default();
        let conn = Conn::new(id, session, stream, local, peer, chat, framing);
        self.sink.emit(session, EventKind::Connected(conn.info()));
        self.conns.insert(token, conn);
        if let Some(s) = self.sessions.get_mut(&session) {
            s.members.insert(token);
        }
        // Data may have arrived with the handshake; edge-triggered readiness would not repeat it.
        self.mark_readable(token);
        // A TLS client's ClientHello waits for this: the connect's writable edge is spent.
        if self
            .conns
            .get(&token)
            .is_some_and(|c| c.stream.wants_write())
        {
            self.mark_flush(token);
        }
    }
}

/// Accept errors that concern one pending connection, not the listener.
fn is_transient_accept_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}
