//! The engine as a whole: a net thread that dies says so once, as its last event, and an
//! owner that drops its handle afterwards does not hang.

mod common;

use std::time::Duration;

use common::{WAIT, client, connected, engine, listen, wait_for};
use socklab::engine::{EventKind, SessionId};

fn failure_after_a_connection(panic: bool) -> String {
    let engine = engine();
    let (server, addr) = listen(&engine, false);
    let _peer = client(addr);
    connected(&engine);
    engine.inject_failure(panic);
    let (session, error) = wait_for(&engine, |e| match &e.kind {
        EventKind::EngineFailed { error } => Some((e.session, error.clone())),
        _ => None,
    });
    assert_eq!(session, SessionId::ENGINE);
    assert_ne!(session, server);
    // It was the last event: the thread is gone and the channel closes behind it.
    let after = engine.events().recv_timeout(WAIT);
    assert!(after.is_err(), "no event after EngineFailed: {after:?}");
    error
}

#[test]
fn a_broken_poll_is_reported_once_as_the_last_event() {
    let error = failure_after_a_connection(false);
    assert_eq!(error, "the network loop failed: injected by a test");
}

#[test]
fn a_panic_on_the_net_thread_is_reported_instead_of_a_silent_stop() {
    let error = failure_after_a_connection(true);
    assert_eq!(error, "the network thread crashed: injected by a test");
}

#[test]
fn dropping_the_engine_while_its_failure_waits_unread_does_not_hang() {
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let engine = engine();
        // Fill the event channel so the failure event cannot be handed over.
        let (_server, addr) = listen(&engine, false);
        let mut peers = Vec::new();
        for _ in 0..socklab::engine::EVENT_CHANNEL_CAPACITY + 10 {
            peers.push(client(addr));
        }
        std::thread::sleep(Duration::from_millis(200));
        engine.inject_failure(false);
        std::thread::sleep(Duration::from_millis(100));
        drop(engine);
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(WAIT)
        .expect("the engine was dropped within the wait");
}
