//! Name lookups run on a short-lived thread (the system resolver blocks) and answer through
//! the inbox; an answer for an attempt that was since replaced or stopped is ignored.

use std::net::{SocketAddr, ToSocketAddrs};

use super::{Inbox, Reactor};
use crate::engine::addr::Endpoint;
use crate::engine::event::EventKind;
use crate::engine::ids::SessionId;
use crate::engine::wording::describe_io_error;

impl Reactor {
    pub(super) fn resolve_in_background(
        &mut self,
        session: SessionId,
        attempt: u64,
        endpoint: Endpoint,
    ) {
        let answer = self.inbox_tx.clone();
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name("socklab-resolve".into())
            .spawn(move || {
                let Endpoint { host, port } = endpoint;
                let result = (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|addrs| addrs.collect::<Vec<_>>())
                    .map_err(|e| format!("cannot resolve \"{host}\": {}", describe_io_error(&e)));
                let resolved = Inbox::Resolved {
                    session,
                    attempt,
                    result,
                };
                if answer.send(resolved).is_ok() {
                    let _ = waker.wake();
                }
            });
        match spawned {
            Ok(_) => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.resolving = true;
                }
            }
            Err(e) => {
                let error = format!("cannot start the resolver: {e}");
                self.resolved(session, attempt, Err(error));
            }
        }
    }

    pub(super) fn resolved(
        &mut self,
        session: SessionId,
        attempt: u64,
        result: Result<Vec<SocketAddr>, String>,
    ) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        if s.attempt != attempt {
            return;
        }
        s.resolving = false;
        if s.udp().is_some() {
            return self.udp_resolved(session, result);
        }
        match (result, s.is_server()) {
            (Ok(addrs), true) => self.bind(session, addrs),
            (Ok(addrs), false) => self.try_next_address(session, addrs),
            (Err(error), true) => self.sink.emit(session, EventKind::ListenFailed { error }),
            (Err(error), false) => {
                self.end_connecting(session);
                self.sink.emit(session, EventKind::ConnectFailed { error });
            }
        }
    }
}
