//! Half-close in the window: a peer that finished sending is shown and can still be
//! answered; *Shut down sending* sends our FIN while receiving goes on.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};

use common::window::{App, app, press, run_until, shows_text, type_into, wait_for_text};
use common::{WAIT, read_exact, read_to_close};
use eframe::egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use socklab::model::session::State;

fn connect_by_clicking(harness: &mut App, listener: &TcpListener) -> TcpStream {
    harness.get_by_label("TCP client").click();
    harness.run_ok();
    let addr = listener.local_addr().unwrap().to_string();
    type_into(harness, Role::TextInput, "Connect to (host:port)", &addr);
    press(harness, "Connect");
    let (peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    wait_for_text(harness, &format!("peername {addr}"));
    peer
}

#[test]
fn a_client_answers_a_peer_that_finished_sending_then_shuts_down_its_own_sending() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut harness = app();
    let mut peer = connect_by_clicking(&mut harness, &listener);

    peer.write_all(b"last words").unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    wait_for_text(&mut harness, "last words");
    wait_for_text(&mut harness, "peer finished sending (FIN received)");
    assert_eq!(harness.state().sessions()[0].state, State::Connected);

    type_into(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "still here",
    );
    press(&mut harness, "Send");
    assert_eq!(read_exact(&mut peer, 11), b"still here\n");

    press(&mut harness, "Shut down sending");
    assert_eq!(
        read_to_close(&mut peer).unwrap(),
        b"",
        "our FIN reached the peer"
    );
    // Both halves are done now, so the connection closes by itself.
    run_until(&mut harness, "the close", |h| {
        h.state().sessions()[0].state != State::Connected
    });
    assert!(shows_text(&harness, "sending finished (FIN sent)"));
}

#[test]
fn a_server_shows_a_half_closed_client_and_shuts_down_sending_to_it_alone() {
    let mut harness = app();
    type_into(
        &mut harness,
        Role::TextInput,
        "Listen on (port or host:port, 0 = any free port)",
        "127.0.0.1:0",
    );
    press(&mut harness, "Start server");
    run_until(&mut harness, "listening", |h| {
        h.state()
            .sessions()
            .first()
            .is_some_and(|s| s.state == State::Listening)
    });
    let server = harness.state().sessions()[0].local.unwrap();
    let mut finished = TcpStream::connect(server).unwrap();
    let mut other = TcpStream::connect(server).unwrap();
    for stream in [&finished, &other] {
        stream.set_read_timeout(Some(WAIT)).unwrap();
    }
    wait_for_text(&mut harness, "Connected clients (2)");
    finished.shutdown(Shutdown::Write).unwrap();
    wait_for_text(&mut harness, "peer finished sending");
    assert!(
        shows_text(&harness, "open"),
        "the other client's row is open"
    );

    // Pick the half-closed client's row, then shut down sending to it.
    let row = finished.local_addr().unwrap().to_string();
    harness
        .get_by_role_and_label(Role::Button, row.as_str())
        .click();
    harness.run_ok();
    press(&mut harness, "Shut down sending");
    let mut rest = Vec::new();
    finished.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"", "the chosen client read our FIN");
    wait_for_text(&mut harness, "Connected clients (1)");

    // The other client still takes sends.
    let row = other.local_addr().unwrap().to_string();
    harness
        .get_by_role_and_label(Role::Button, row.as_str())
        .click();
    harness.run_ok();
    type_into(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "to the rest",
    );
    press(&mut harness, "Send");
    assert_eq!(read_exact(&mut other, 12), b"to the rest\n");
}
