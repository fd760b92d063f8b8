//! TCP socket options in the real window (egui_kittest), against the real kernel: typed in
//! the new-socket form, shown in effect in the socket's view, edited on a stopped socket
//! before it starts again, and kept in the settings file.

mod common;

use std::net::SocketAddr;

use common::window::{App, app, app_with, run_until, shows_text, wait_for_text};
use eframe::App as _;
use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use socklab::engine::options::SocketOptions;
use socklab::model::persist::{Saved, SavedSocket};
use socklab::model::session::State;
use socklab::model::settings_file::{self, FILE_NAME, LoadOutcome};
use socklab::ui::SocklabApp;

const LISTEN_FIELD: &str = "Listen on (port or host:port, 0 = any free port)";
const RECV_BUFFER: &str = "Receive buffer SO_RCVBUF (bytes)";
const TTL: &str = "TTL / hop limit (1-255)";

/// Scrolls the widget labelled `label` into view (sections scroll within their height).
fn reveal(harness: &mut App, label: &str) {
    harness.get_by_label(label).scroll_to_me();
    harness.run_ok();
}

fn set_field(harness: &mut App, label: &str, text: &str) {
    reveal(harness, label);
    harness
        .get_by_role_and_label(Role::TextInput, label)
        .click();
    harness.run_ok();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.key_press(Key::Backspace);
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::TextInput, label)
        .type_text(text);
    harness.run_ok();
}

fn click(harness: &mut App, label: &str) {
    harness.get_by_role_and_label(Role::Button, label).click();
    harness.run_ok();
}

/// Opens the last "Socket options" section on screen (the socket view's, when the form's
/// is also there: the side panel comes first).
fn open_last_options_section(harness: &mut App) {
    harness
        .query_all_by_label("Socket options")
        .last()
        .expect("a Socket options section")
        .click();
    harness.run_ok();
}

fn listening(harness: &mut App) -> SocketAddr {
    run_until(harness, "the server to listen", |h| {
        h.state()
            .sessions()
            .first()
            .is_some_and(|s| s.state == State::Listening && s.listener_options.is_some())
    });
    harness.state().sessions()[0].local.unwrap()
}

/// The SO_RCVBUF value the view shows for `asked` when the kernel keeps `set`.
fn shown_rcvbuf(asked: &str, set: usize) -> String {
    let set_text = socklab::engine::group_thousands(set as u64);
    if set.to_string() == asked.replace(',', "") {
        format!("{set_text} bytes")
    } else {
        format!("{set_text} bytes (asked {asked}, kernel set {set_text})")
    }
}

#[test]
fn a_receive_buffer_typed_in_the_form_is_asked_for_and_shown_in_effect() {
    let mut harness = app();
    set_field(&mut harness, LISTEN_FIELD, "127.0.0.1:0");
    open_last_options_section(&mut harness);
    set_field(&mut harness, RECV_BUFFER, "65536");
    set_field(&mut harness, TTL, "9");
    click(&mut harness, "Start server");
    listening(&mut harness);
    let session = &harness.state().sessions()[0];
    assert_eq!(session.socket_options.recv_buffer, Some(65_536));
    let in_effect = session.listener_options.clone().unwrap();
    let set = in_effect.recv_buffer.unwrap();
    assert!(set >= 65_536, "{set}");
    assert_eq!(in_effect.ttl, Some(9));

    open_last_options_section(&mut harness);
    wait_for_text(&mut harness, &shown_rcvbuf("65,536", set));
    assert!(shows_text(&harness, "Kick and Stop send: FIN"));
    assert!(shows_text(&harness, "IP_TTL"));
}

#[test]
fn a_bad_number_shows_its_error_at_the_field_and_creates_nothing() {
    let mut harness = app();
    set_field(&mut harness, LISTEN_FIELD, "127.0.0.1:0");
    open_last_options_section(&mut harness);
    set_field(&mut harness, RECV_BUFFER, "lots");
    set_field(&mut harness, TTL, "300");
    click(&mut harness, "Start server");
    assert!(shows_text(
        &harness,
        "a buffer size in bytes must be a whole number from 1 to 2147483647"
    ));
    assert!(shows_text(
        &harness,
        "the TTL must be a whole number from 1 to 255"
    ));
    assert!(harness.state().sessions().is_empty());

    // Typing again clears the field's error.
    set_field(&mut harness, RECV_BUFFER, "65536");
    assert!(!shows_text(&harness, "a buffer size in bytes"));
}

#[test]
fn a_stopped_sockets_options_are_edited_in_its_view_and_used_by_start_again() {
    let mut saved = Saved::default();
    saved.sockets.push(SavedSocket {
        server: true,
        addr: "127.0.0.1:0".into(),
        ..SavedSocket::default()
    });
    let mut harness = app_with(saved, [1100.0, 720.0]);
    harness
        .get_by_role_and_label(Role::Button, "127.0.0.1:0, stopped")
        .click();
    harness.run_ok();
    // Only the view's section is there to open (the form's is for TCP too: the last one).
    open_last_options_section(&mut harness);
    let reset = "Close with RST (Disconnect, Kick and Stop reset the connection)";
    reveal(&mut harness, reset);
    harness.get_by_label(reset).click();
    harness.run_ok();
    let fields = harness
        .query_all_by_role_and_label(Role::TextInput, RECV_BUFFER)
        .count();
    assert_eq!(fields, 1, "the view's field only");
    set_field(&mut harness, RECV_BUFFER, "65536");
    click(&mut harness, "Start again");
    listening(&mut harness);
    let session = &harness.state().sessions()[0];
    assert_eq!(session.socket_options.recv_buffer, Some(65_536));
    assert!(session.socket_options.reset_on_close);
    assert!(
        session
            .listener_options
            .as_ref()
            .unwrap()
            .recv_buffer
            .unwrap()
            >= 65_536
    );
}

#[test]
fn socket_options_round_trip_through_the_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let build = |loaded: LoadOutcome| {
        let path = path.clone();
        let mut harness = egui_kittest::Harness::builder()
            .with_size([1100.0, 720.0])
            .build_eframe(move |cc| {
                SocklabApp::with_settings(&cc.egui_ctx, loaded, Some(path)).expect("engine starts")
            });
        harness.run_ok();
        harness
    };
    let mut harness = build(LoadOutcome::Missing);
    harness.get_by_label("TCP client").click();
    harness.run_ok();
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap().to_string();
    set_field(&mut harness, "Connect to (host:port)", &addr);
    open_last_options_section(&mut harness);
    set_field(&mut harness, RECV_BUFFER, "65536");
    set_field(&mut harness, TTL, "12");
    set_field(
        &mut harness,
        "Local address (ip:port, port 0 = any)",
        "127.0.0.1:0",
    );
    set_field(&mut harness, "Connect timeout (s)", "2.5");
    let nodelay = "TCP_NODELAY: send at once (no Nagle delay)";
    reveal(&mut harness, nodelay);
    harness.get_by_label(nodelay).click();
    harness.run_ok();
    click(&mut harness, "Connect");
    run_until(&mut harness, "the client to connect", |h| {
        h.state()
            .sessions()
            .first()
            .is_some_and(|s| s.state == State::Connected)
    });
    open_last_options_section(&mut harness);
    wait_for_text(&mut harness, "Disconnect sends: FIN");
    assert!(shows_text(&harness, "Connect timeout: 2.5 s"));
    assert!(shows_text(&harness, "IP_TTL"));
    let asked = harness.state().sessions()[0].socket_options.clone();
    assert_eq!(
        asked,
        SocketOptions {
            no_delay: false,
            recv_buffer: Some(65_536),
            ttl: Some(12),
            local_bind: Some("127.0.0.1:0".parse().unwrap()),
            ..SocketOptions::default()
        }
    );
    let mut storage = NoStorage;
    harness.state_mut().save(&mut storage);
    harness.state_mut().on_exit(None);
    drop(harness);

    let loaded = settings_file::load(dir.path());
    let LoadOutcome::Loaded(saved) = &loaded else {
        panic!("the file reads back: {loaded:?}");
    };
    assert_eq!(saved.sockets[0].socket_options, asked);
    assert_eq!(saved.sockets[0].connect_timeout_ms, 2_500);
    let harness = build(loaded);
    let restored = &harness.state().sessions()[0];
    assert_eq!(restored.socket_options, asked);
    assert_eq!(
        restored.connect_timeout,
        std::time::Duration::from_millis(2_500)
    );
}

/// eframe's storage, not used: socklab saves to its own file.
struct NoStorage;

impl eframe::Storage for NoStorage {
    fn get_string(&self, _: &str) -> Option<String> {
        None
    }
    fn set_string(&mut self, _: &str, _: String) {}
    fn remove_string(&mut self, _: &str) {}
    fn flush(&mut self) {}
}
