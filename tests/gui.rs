//! The real window driven with egui_kittest against real loopback sockets, finding widgets
//! by the labels a person reads. No display or GPU is needed.

mod common;

use std::collections::HashSet;
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::window::{run_until, shows_text, wait_for_text};
use common::{WAIT, read_exact, read_relay, read_to_close, unanswering_listener};
use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers, Pos2, Rect, Vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use socklab::model::persist::Saved;
use socklab::model::session::State;
use socklab::payload::TextEncoding;
use socklab::ui::{BYTES_PLOT, MESSAGES_PLOT, SocklabApp};

const LISTEN_FIELD: &str = "Listen on (port or host:port, 0 = any free port)";
const CONNECT_FIELD: &str = "Connect to (host:port)";

fn app() -> Harness<'static, SocklabApp> {
    let mut harness = Harness::builder()
        .with_size([1100.0, 720.0])
        // CI has no CJK font; the GBK test reads text through accessibility, not pixels.
        .allow_missing_glyphs()
        .build_eframe(|cc| SocklabApp::new(&cc.egui_ctx, Saved::default()).expect("engine starts"));
    harness.run_ok();
    harness
}

/// Replaces the text of the field labelled `label`, the way a person would.
fn set_field(harness: &mut Harness<'static, SocklabApp>, role: Role, label: &str, text: &str) {
    harness.get_by_role_and_label(role, label).click();
    harness.run_ok();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.key_press(Key::Backspace);
    harness.run_ok();
    harness.get_by_role_and_label(role, label).type_text(text);
    harness.run_ok();
}

fn click(harness: &mut Harness<'static, SocklabApp>, label: &str) {
    harness.get_by_role_and_label(Role::Button, label).click();
    harness.run_ok();
}

fn choose(harness: &mut Harness<'static, SocklabApp>, combo: &str, option: &str) {
    harness.get_by_role_and_label(Role::ComboBox, combo).click();
    harness.run_ok();
    // Look inside the open list: the same text may also stand elsewhere (the client table).
    harness
        .get_by_role(Role::ListBox)
        .get_by_label(option)
        .click();
    harness.run_ok();
}

/// The text a combo box shows as chosen.
fn combo_value(harness: &Harness<'static, SocklabApp>, label: &str) -> String {
    harness
        .get_by_role_and_label(Role::ComboBox, label)
        .accesskit_node()
        .value()
        .unwrap_or_default()
        .to_string()
}

fn start_server(harness: &mut Harness<'static, SocklabApp>, chat: bool) -> SocketAddr {
    set_field(harness, Role::TextInput, LISTEN_FIELD, "127.0.0.1:0");
    if chat {
        harness
            .get_by_label("Group chat (relay each line to all clients)")
            .click();
        harness.run_ok();
    }
    click(harness, "Start server");
    run_until(harness, "the server to listen", |h| {
        h.state()
            .sessions()
            .first()
            .is_some_and(|s| s.state == State::Listening)
    });
    let local = harness.state().sessions()[0]
        .local
        .expect("listening has a sockname");
    wait_for_text(harness, &format!("sockname {local}"));
    local
}

/// Picks "TCP client" in the form, types `addr` and clicks Connect.
fn connect_by_clicking(harness: &mut Harness<'static, SocklabApp>, addr: SocketAddr) {
    harness.get_by_label("TCP client").click();
    harness.run_ok();
    set_field(harness, Role::TextInput, CONNECT_FIELD, &addr.to_string());
    click(harness, "Connect");
}

/// A plain server started by clicking, with one client connected and listed.
fn server_with_a_client(harness: &mut Harness<'static, SocklabApp>) -> TcpStream {
    let server = start_server(harness, false);
    let client = stream(server);
    wait_for_text(harness, "Connected clients (1)");
    client
}

/// A plain server started by clicking, with `count` clients connected and listed.
fn server_with_clients(harness: &mut Harness<'static, SocklabApp>, count: usize) -> Vec<TcpStream> {
    let server = start_server(harness, false);
    let clients = (0..count).map(|_| stream(server)).collect();
    wait_for_text(harness, &format!("Connected clients ({count})"));
    clients
}

/// True when the client table has laid out the row of `client`.
fn has_client_row(harness: &Harness<'static, SocklabApp>, client: &TcpStream) -> bool {
    let peer = client.local_addr().unwrap().to_string();
    harness
        .query_by_role_and_label(Role::Button, peer.as_str())
        .is_some()
}

fn stream(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

#[test]
fn server_by_clicking_shows_clients_logs_data_sends_and_kicks() {
    let mut harness = app();
    let server = start_server(&mut harness, false);
    assert_ne!(server.port(), 0);

    let mut client = stream(server);
    let peer = client.local_addr().unwrap().to_string();
    wait_for_text(&mut harness, "Connected clients (1)");
    assert!(
        harness
            .query_by_role_and_label(Role::Button, peer.as_str())
            .is_some(),
        "the client table lists the peername {peer}"
    );

    client.write_all(b"ping from test\x01\n").unwrap();
    wait_for_text(&mut harness, "ping from test\\x01\\n");

    set_field(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "hello there",
    );
    choose(&mut harness, "Line ending", "CRLF (\\r\\n)");
    click(&mut harness, "Send");
    assert_eq!(read_exact(&mut client, 13), b"hello there\r\n");
    wait_for_text(&mut harness, "hello there\\r\\n");

    // Pick the client in the table, then kick it.
    harness
        .get_by_role_and_label(Role::Button, peer.as_str())
        .click();
    harness.run_ok();
    assert_eq!(
        combo_value(&harness, "Send to"),
        peer,
        "the picked row is the target"
    );
    click(&mut harness, "Kick");
    assert_eq!(
        combo_value(&harness, "Send to"),
        "All clients (0)",
        "kicking the chosen client sends to all again"
    );
    assert_eq!(
        read_to_close(&mut client).unwrap(),
        b"",
        "the kicked client sees FIN"
    );
    wait_for_text(&mut harness, "disconnected: kicked");
    wait_for_text(&mut harness, "Connected clients (0)");
}

#[test]
fn after_start_again_sends_go_to_all_clients_not_a_stale_choice() {
    let mut harness = app();
    let first = server_with_a_client(&mut harness);
    let first_peer = first.local_addr().unwrap().to_string();
    choose(&mut harness, "Send to", &first_peer);
    click(&mut harness, "Stop");
    run_until(&mut harness, "the stop", |h| {
        h.state().sessions()[0].state == State::Stopped
    });
    click(&mut harness, "Start again");
    run_until(&mut harness, "the restart", |h| {
        h.state().sessions()[0].state == State::Listening
    });
    let local = harness.state().sessions()[0].local.unwrap();
    let mut again = stream(local);
    wait_for_text(&mut harness, "Connected clients (1)");
    choose(&mut harness, "Line ending", "None");
    set_field(&mut harness, Role::MultilineTextInput, "Message", "hi");
    click(&mut harness, "Send");
    assert_eq!(read_exact(&mut again, 2), b"hi");
}

#[test]
fn ctrl_enter_sends_to_the_chosen_client_only() {
    let mut harness = app();
    let mut first = server_with_a_client(&mut harness);
    let mut second = stream(first.peer_addr().unwrap());
    wait_for_text(&mut harness, "Connected clients (2)");
    let second_peer = second.local_addr().unwrap().to_string();

    choose(&mut harness, "Send to", &second_peer);
    choose(&mut harness, "Line ending", "None");
    set_field(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "only you",
    );
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    harness.run_ok();
    assert_eq!(read_exact(&mut second, 8), b"only you");
    first
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut byte = [0u8; 1];
    let got = first.read(&mut byte);
    assert!(
        got.is_err(),
        "the other client got nothing: {got:?} {byte:?}"
    );
}

#[test]
fn client_by_clicking_connects_exchanges_disconnects_and_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut harness = app();
    connect_by_clicking(&mut harness, addr);
    let (mut peer, client_addr) = listener.accept().unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    wait_for_text(&mut harness, &format!("peername {addr}"));
    wait_for_text(&mut harness, &format!("sockname {client_addr}"));

    peer.write_all(b"from the server").unwrap();
    wait_for_text(&mut harness, "from the server");

    set_field(&mut harness, Role::MultilineTextInput, "Message", "abc");
    choose(&mut harness, "Line ending", "LF (\\n)");
    click(&mut harness, "Send");
    assert_eq!(read_exact(&mut peer, 4), b"abc\n");

    click(&mut harness, "Disconnect");
    assert_eq!(read_to_close(&mut peer).unwrap(), b"");
    wait_for_text(&mut harness, "disconnected: closed by us");
    wait_for_text(&mut harness, &format!("last peername {addr}"));

    click(&mut harness, "Reconnect");
    let (_again, _) = listener.accept().unwrap();
    run_until(&mut harness, "the reconnect", |h| {
        h.state().sessions()[0].state == State::Connected
    });
}

#[test]
fn disconnect_while_connecting_stops_the_client_without_an_error() {
    let (_listener, addr, _fillers) = unanswering_listener();
    let mut harness = app();
    connect_by_clicking(&mut harness, addr);
    wait_for_text(&mut harness, &format!("connecting to {addr}"));
    click(&mut harness, "Disconnect");
    run_until(&mut harness, "the client to stop", |h| {
        h.state().sessions().first().map(|s| s.state.clone()) == Some(State::Stopped)
    });
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "Reconnect")
            .is_some(),
        "the stopped client stays listed, ready to reconnect"
    );
    assert!(!shows_text(&harness, "cancelled"), "a stop is not an error");
}

#[test]
fn a_server_with_hundreds_of_clients_lays_out_only_the_visible_rows() {
    let mut harness = app();
    let clients = server_with_clients(&mut harness, 300);
    assert!(
        has_client_row(&harness, &clients[0]),
        "the first client's row is shown"
    );
    assert!(
        !has_client_row(&harness, &clients[299]),
        "rows out of view are not laid out"
    );
}

#[test]
fn with_a_dozen_clients_every_row_is_reachable() {
    let mut harness = app();
    let clients = server_with_clients(&mut harness, 12);
    assert!(
        has_client_row(&harness, &clients[11]),
        "a row scrolled out of view is still there for Tab and screen readers"
    );
}

#[test]
fn chat_server_relays_between_two_streams_and_logs_the_conversation() {
    let mut harness = app();
    let server = start_server(&mut harness, true);
    let mut alice = stream(server);
    let alice_addr = alice.local_addr().unwrap();
    let mut bob = BufReader::new(stream(server));
    wait_for_text(&mut harness, "Connected clients (2)");
    alice.write_all(b"hello chat\n").unwrap();
    assert_eq!(read_relay(&mut bob, alice_addr), "hello chat");
    bob.get_mut().write_all(b"hi alice\r\n").unwrap();
    let mut alice_reader = BufReader::new(alice.try_clone().unwrap());
    assert_eq!(read_relay(&mut alice_reader, alice_addr), "hello chat");
    assert_eq!(
        read_relay(&mut alice_reader, bob.get_ref().local_addr().unwrap()),
        "hi alice"
    );
    wait_for_text(&mut harness, "hello chat");
    wait_for_text(&mut harness, "hi alice");
    alice.write_all(b"quit\n").unwrap();
    wait_for_text(&mut harness, "disconnected: quit");
}

#[test]
fn bad_port_shows_an_error_at_the_field_and_starts_nothing() {
    let mut harness = app();
    set_field(
        &mut harness,
        Role::TextInput,
        LISTEN_FIELD,
        "127.0.0.1:99999",
    );
    click(&mut harness, "Start server");
    assert!(shows_text(
        &harness,
        "not a valid port: \"99999\" (use a number from 0 to 65535)"
    ));
    assert!(harness.state().sessions().is_empty());
    assert!(shows_text(&harness, "TCP servers (0)"));
}

#[test]
fn port_in_use_and_refused_connection_show_errors_in_the_form() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut harness = app();
    set_field(
        &mut harness,
        Role::TextInput,
        LISTEN_FIELD,
        &taken.local_addr().unwrap().to_string(),
    );
    click(&mut harness, "Start server");
    wait_for_text(&mut harness, "address already in use");
    assert!(
        harness.state().sessions().is_empty(),
        "a failed start leaves no socket behind"
    );

    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    connect_by_clicking(&mut harness, closed);
    wait_for_text(&mut harness, "connection refused");
    assert!(harness.state().sessions().is_empty());
}

#[test]
fn hex_payload_sends_exact_bytes_and_invalid_hex_disables_send_with_the_reason() {
    let mut harness = app();
    let mut client = server_with_a_client(&mut harness);

    choose(&mut harness, "Format", "Hex");
    set_field(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "01 02 0g",
    );
    let reason = "Invalid payload: 'g' is not a hex digit at character 8";
    assert!(
        shows_text(&harness, reason),
        "the error is shown under the editor"
    );
    assert!(
        harness
            .get_by_role_and_label(Role::Button, "Send")
            .accesskit_node()
            .is_disabled(),
        "Send is disabled while the payload is invalid"
    );

    set_field(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "01 02 ff\n0d0A",
    );
    assert!(!shows_text(&harness, "Invalid payload"));
    click(&mut harness, "Send");
    assert_eq!(read_exact(&mut client, 5), [0x01, 0x02, 0xff, 0x0d, 0x0a]);
    // The sent row shows in hex once the display is switched, and as text again after.
    choose(&mut harness, "Show data as", "Hex");
    wait_for_text(&mut harness, "01 02 ff 0d 0a");
    choose(&mut harness, "Show data as", "Text");
    wait_for_text(&mut harness, "\\x01\\x02\\xff\\r\\n");
    choose(&mut harness, "Show data as", "Hex + text");
    assert!(
        shows_text(&harness, "01 02 ff 0d 0a") && shows_text(&harness, "\\x01\\x02\\xff\\r\\n")
    );
}

#[test]
fn escapes_and_gbk_encoding_become_the_right_bytes_and_received_gbk_shows_as_text() {
    let mut harness = app();
    let mut client = server_with_a_client(&mut harness);
    choose(&mut harness, "Format", "Text with escapes");
    choose(&mut harness, "Encoding", "GBK");
    choose(&mut harness, "Line ending", "None");
    set_field(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "中\\x00\\r\\n",
    );
    click(&mut harness, "Send");
    assert_eq!(read_exact(&mut client, 5), b"\xd6\xd0\x00\r\n");
    client.write_all(b"\xc4\xe3\xba\xc3 gbk\xff").unwrap();
    wait_for_text(&mut harness, "你好 gbk\\xff");
}

#[test]
fn repeat_sends_m_times_and_the_count_reaches_m() {
    let mut harness = app();
    let mut client = server_with_a_client(&mut harness);
    choose(&mut harness, "Line ending", "None");
    set_field(&mut harness, Role::MultilineTextInput, "Message", "R");
    set_field(&mut harness, Role::TextInput, "Repeat every (ms)", "2");
    set_field(
        &mut harness,
        Role::TextInput,
        "times (empty = until stopped)",
        "25",
    );
    click(&mut harness, "Start repeat");
    assert_eq!(read_exact(&mut client, 25), vec![b'R'; 25]);
    wait_for_text(&mut harness, "repeat ended after 25 sends: done");
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "Start repeat")
            .is_some()
    );
    common::assert_silent(&mut client);
}

#[test]
fn bad_repeat_fields_explain_themselves() {
    let mut harness = app();
    let _client = server_with_a_client(&mut harness);
    set_field(&mut harness, Role::TextInput, "Repeat every (ms)", "0");
    assert!(shows_text(
        &harness,
        "The interval must be a whole number of milliseconds, 1 or more."
    ));
    assert!(
        harness
            .get_by_role_and_label(Role::Button, "Start repeat")
            .accesskit_node()
            .is_disabled()
    );
}

#[test]
fn filter_hides_rows_by_direction_and_text() {
    let mut harness = app();
    let mut client = server_with_a_client(&mut harness);
    client.write_all(b"alpha").unwrap();
    wait_for_text(&mut harness, "alpha");
    client.write_all(b"beta").unwrap();
    wait_for_text(&mut harness, "beta");
    set_field(&mut harness, Role::TextInput, "Filter", "ALP");
    assert!(shows_text(&harness, "alpha") && !shows_text(&harness, "beta"));
    assert!(shows_text(&harness, "1 of 4 rows match"));
    set_field(&mut harness, Role::TextInput, "Filter", "");
    harness
        .get_by_role_and_label(Role::CheckBox, "recv")
        .click();
    harness.run_ok();
    assert!(!shows_text(&harness, "alpha") && shows_text(&harness, "listening on"));
    harness
        .get_by_role_and_label(Role::CheckBox, "recv")
        .click();
    harness.run_ok();
    // In hex view, hex finds the bytes it names: 62 65 is "be".
    choose(&mut harness, "Show data as", "Hex");
    set_field(&mut harness, Role::TextInput, "Filter", "62 65");
    wait_for_text(&mut harness, "1 of 4 rows match");
    assert!(shows_text(&harness, "62 65 74 61"));
}

#[test]
fn a_chosen_file_is_sent_and_the_log_can_be_saved_as_csv() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let file = dir.join("payload.bin");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();

    let mut harness = app();
    let mut client = server_with_a_client(&mut harness);
    // What the file dialog would hand back.
    let session = harness.state().sessions()[0].id;
    harness.state_mut().send_file(session, file.clone());
    assert!(read_exact(&mut client, content.len()) == content);
    wait_for_text(&mut harness, "payload.bin sent (300000 bytes sent)");

    client.write_all(b"x,y").unwrap();
    wait_for_text(&mut harness, "x,y");
    let csv = dir.join("log.csv");
    harness.state_mut().save_log(session, csv.clone());
    wait_for_text(&mut harness, "log saved to");
    let saved = std::fs::read_to_string(&csv).unwrap();
    assert!(
        saved.starts_with("time,direction,peer,bytes,text,hex\n"),
        "{saved}"
    );
    assert!(
        saved.contains(",recv,") && saved.contains(",3,\"x,y\",78 2c 79\n"),
        "{saved}"
    );
}

#[test]
fn a_log_that_cannot_be_saved_says_why_and_the_socket_carries_on() {
    let temp = tempfile::tempdir().unwrap();
    let gone = temp.path().join("removed").join("log.txt");
    let mut harness = app();
    let mut client = server_with_a_client(&mut harness);
    let session = harness.state().sessions()[0].id;
    for (path, reason) in [
        (gone.clone(), "no such file or folder (was it removed?)"),
        ("/dev/full".into(), "no space left on the disk"),
        (
            "/sys/socklab-log.txt".into(),
            "not allowed to write there (read-only or no permission)",
        ),
    ] {
        harness.state_mut().save_log(session, path.clone());
        wait_for_text(
            &mut harness,
            &format!("cannot save the log to {}: {reason}", path.display()),
        );
    }
    client.write_all(b"still here").unwrap();
    wait_for_text(&mut harness, "still here");
    assert_eq!(harness.state().sessions()[0].totals().bytes_in, 10);
}

#[test]
fn sockets_history_and_presets_survive_a_restart() {
    let mut harness = app();
    set_field(&mut harness, Role::TextInput, LISTEN_FIELD, "127.0.0.1:0");
    harness
        .get_by_label("Group chat (relay each line to all clients)")
        .click();
    click(&mut harness, "Start server");
    run_until(&mut harness, "listening", |h| {
        h.state().sessions()[0].state == State::Listening
    });
    let server = harness.state().sessions()[0].local.unwrap();
    let mut client = stream(server);
    wait_for_text(&mut harness, "Connected clients (1)");
    choose(&mut harness, "Encoding", "Big5");
    set_field(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "remember me",
    );
    click(&mut harness, "Send");
    read_exact(&mut client, 12);
    set_field(&mut harness, Role::TextInput, "Preset name", "greeting");
    click(&mut harness, "Save preset");
    let saved = harness.state().snapshot();
    assert_eq!(saved.history[0].text, "remember me");
    assert_eq!(saved.presets[0].name, "greeting");
    drop(harness);

    // A new window with what the last one stored.
    let mut harness = Harness::builder()
        .with_size([1100.0, 720.0])
        .build_eframe(move |cc| SocklabApp::new(&cc.egui_ctx, saved).expect("engine starts"));
    harness.run_ok();
    assert!(
        shows_text(&harness, "127.0.0.1:0 (chat), stopped"),
        "the server is listed"
    );
    assert_eq!(
        harness.state().sessions()[0].state,
        State::Stopped,
        "restored stopped"
    );
    assert_eq!(
        harness.state().sessions()[0].encoding,
        TextEncoding::Big5,
        "with its encoding"
    );
    click(&mut harness, "Presets");
    harness
        .get_by_role_and_label(Role::Button, "greeting")
        .click();
    harness.run_ok();
    assert_eq!(harness.state().sessions()[0].composer.text, "remember me");
    click(&mut harness, "Start again");
    run_until(&mut harness, "the restored server to listen", |h| {
        h.state().sessions()[0].state == State::Listening
    });
}

/// Starts a server by clicking, makes the engine fail, and checks the window says so.
fn engine_failure_is_shown(panic: bool, cause: &str) {
    let mut harness = app();
    let server = start_server(&mut harness, false);
    harness.state().engine_for_test().inject_failure(panic);
    wait_for_text(&mut harness, "The network engine stopped");
    assert!(
        shows_text(&harness, &format!("The network engine stopped: {cause}")),
        "the banner names the cause"
    );
    assert!(
        matches!(&harness.state().sessions()[0].state, State::Failed(error) if error.starts_with(cause)),
        "the session failed with the engine: {:?}",
        harness.state().sessions()[0].state
    );
    assert!(
        shows_text(&harness, &format!("{server}, error")),
        "the socket list marks the server as an error"
    );
    assert!(
        shows_text(&harness, &format!("network engine stopped: {cause}")),
        "the session's log says why"
    );
}

#[test]
fn a_failed_engine_is_shown_above_everything_and_each_socket_is_an_error() {
    engine_failure_is_shown(false, "the network loop failed: injected by a test");
}

#[test]
fn a_crashed_network_thread_is_shown_as_a_crash() {
    engine_failure_is_shown(true, "the network thread crashed: injected by a test");
}

// ---- the window at every size ----------------------------------------------------

/// The smallest window `ui::run()` allows; the README states it too.
const MIN_WINDOW: [f32; 2] = socklab::ui::MIN_WINDOW_SIZE;
/// The default window the issue was reproduced in.
const DEFAULT_WINDOW: [f32; 2] = [1024.0, 720.0];

fn app_sized(size: [f32; 2]) -> Harness<'static, SocklabApp> {
    let mut harness = Harness::builder()
        .with_size(size)
        .build_eframe(|cc| SocklabApp::new(&cc.egui_ctx, Saved::default()).expect("engine starts"));
    harness.run_ok();
    harness
}

/// Connected clients: their addresses (the peers the table lists) and what keeps them open.
struct Clients {
    peers: Vec<String>,
    _open: Box<dyn std::any::Any>,
}

/// Connects `count` clients to `server` from this process while the window keeps stepping,
/// so the listen backlog never overflows (a dropped SYN costs a one-second retry).
fn connect_here(
    harness: &mut Harness<'static, SocklabApp>,
    server: SocketAddr,
    count: usize,
) -> Clients {
    let mut streams = Vec::with_capacity(count);
    while streams.len() < count {
        let batch = (count - streams.len()).min(500);
        streams.extend((0..batch).map(|_| TcpStream::connect(server).unwrap()));
        harness.step();
    }
    let peers = streams
        .iter()
        .map(|c: &TcpStream| c.local_addr().unwrap().to_string())
        .collect();
    Clients {
        peers,
        _open: Box::new(streams),
    }
}

const HOLD_SERVER: &str = "SOCKLAB_TEST_HOLD_SERVER";
const HOLD_COUNT: &str = "SOCKLAB_TEST_HOLD_COUNT";

/// A child process (this test binary, running [`hold_clients`]) connects `count` clients
/// to `server` and keeps them open: 10,000 clients and their accepted ends would be 20,000
/// descriptors in one process, the hard limit here.
fn connect_from_child(server: SocketAddr, count: usize) -> Clients {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hold_clients", "--ignored", "--nocapture"])
        .env(HOLD_SERVER, server.to_string())
        .env(HOLD_COUNT, count.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(BufReader::new(stdout)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut peers = Vec::with_capacity(count);
    loop {
        let line = rx
            .recv_timeout(WAIT * 6)
            .expect("the child connects its clients in time");
        if let Some(peer) = line.strip_prefix("peer ") {
            peers.push(peer.to_string());
        } else if line == "ready" {
            break;
        }
    }
    assert_eq!(peers.len(), count, "the child connected every client");
    /// Ends the child (closing its clients) when the test is done, passed or failed.
    struct Holder(std::process::Child);
    impl Drop for Holder {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    Clients {
        peers,
        _open: Box::new(Holder(child)),
    }
}

/// Not a test: the child process of [`connect_from_child`]. Connects the clients it is
/// told to, prints their addresses, and keeps them open until killed.
#[test]
#[ignore = "run as a child process by ten_thousand_clients_stay_in_their_pane_at_both_sizes"]
fn hold_clients() {
    let server: SocketAddr = std::env::var(HOLD_SERVER)
        .expect("started by connect_from_child")
        .parse()
        .unwrap();
    let count: usize = std::env::var(HOLD_COUNT).unwrap().parse().unwrap();
    let streams: Vec<TcpStream> = (0..count)
        .map(|_| TcpStream::connect(server).unwrap())
        .collect();
    let mut out = std::io::stdout().lock();
    for stream in &streams {
        writeln!(out, "peer {}", stream.local_addr().unwrap()).unwrap();
    }
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    drop(out);
    std::thread::sleep(WAIT * 12);
}

/// Fills the server's log with `rows` rows, one of them far wider than any window.
fn fill_log(harness: &mut Harness<'static, SocklabApp>, rows: usize) {
    let session = &mut harness.state_mut().sessions_mut()[0];
    let peer = session.conns.values().next().map(|c| c.info.peer);
    let time = chrono::Local::now();
    let long = format!("crowded row long {}", "x".repeat(5000));
    for i in 0..rows {
        let text = if i == rows / 2 {
            long.clone()
        } else {
            format!("crowded row {i:06}")
        };
        session.log.push(socklab::model::log::LogRow {
            time,
            direction: socklab::model::log::Direction::Received,
            peer,
            data: text.as_bytes(),
            note: Default::default(),
        });
    }
    harness.run_ok();
}

/// True when the two rectangles share more than a hairline.
fn overlap(a: Rect, b: Rect) -> bool {
    let common = a.intersect(b);
    common.width() > 0.5 && common.height() > 0.5
}

/// The lowest laid-out row of the client table (the table shows peers as buttons).
fn lowest_client_row(harness: &Harness<'static, SocklabApp>, peers: &HashSet<String>) -> Rect {
    harness
        .query_all_by_role(Role::Button)
        .filter(|node| {
            node.accesskit_node()
                .label()
                .is_some_and(|l| peers.contains(&l))
        })
        .map(|node| node.rect())
        .max_by(|a, b| a.max.y.total_cmp(&b.max.y))
        .expect("some client row is laid out")
}

/// Asserts that the client table, every laid-out log row and the composer occupy disjoint
/// rectangles inside the window, in that order from top to bottom.
fn assert_panes_apart(
    harness: &Harness<'static, SocklabApp>,
    size: [f32; 2],
    peers: &HashSet<String>,
) {
    let window = Rect::from_min_size(Pos2::ZERO, Vec2::from(size));
    let client_row = lowest_client_row(harness, peers);
    let log_rows: Vec<Rect> = harness
        .query_all_by_label_contains("crowded row ")
        .map(|node| node.rect())
        .collect();
    assert!(!log_rows.is_empty(), "some log rows are laid out");
    let composer = [
        harness
            .get_by_role_and_label(Role::ComboBox, "Send to")
            .rect(),
        harness
            .get_by_role_and_label(Role::MultilineTextInput, "Message")
            .rect(),
    ];
    for (what, rect) in [("client row", client_row), ("Send to", composer[0])] {
        assert!(
            window.contains_rect(rect),
            "the {what} {rect:?} is inside the window {window:?}"
        );
    }
    assert!(
        overlap(window, composer[1]),
        "the message field is in the window"
    );
    for row in &log_rows {
        assert!(
            client_row.max.y <= row.min.y && !overlap(client_row, *row),
            "log row {row:?} is below the client row {client_row:?}"
        );
        for widget in composer {
            assert!(
                row.max.y <= widget.min.y && !overlap(*row, widget),
                "log row {row:?} is above the composer's {widget:?}"
            );
        }
    }
    for widget in composer {
        assert!(
            !overlap(client_row, widget),
            "client row {client_row:?} is clear of {widget:?}"
        );
    }
}

/// A server with `count` clients and a long log, checked at each of `sizes` in turn.
fn crowded_server_keeps_its_panes_apart(sizes: &[[f32; 2]], count: usize, in_child: bool) {
    let mut harness = app_sized(sizes[0]);
    let server = start_server(&mut harness, false);
    let clients = if in_child {
        connect_from_child(server, count)
    } else {
        connect_here(&mut harness, server, count)
    };
    let expected = format!("Connected clients ({count})");
    let deadline = Instant::now() + WAIT * 6;
    while !shows_text(&harness, &expected) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {expected}"
        );
        harness.step();
    }
    fill_log(&mut harness, 3000);
    let peers: HashSet<String> = clients.peers.iter().cloned().collect();
    for &size in sizes {
        harness.set_size(Vec2::from(size));
        harness.run_ok();
        // Show the end of the client table, where it meets the log.
        let last = clients.peers.last().unwrap();
        if let Some(node) = harness.query_by_role_and_label(Role::Button, last.as_str()) {
            node.scroll_to_me();
            harness.run_ok();
        }
        assert_panes_apart(&harness, size, &peers);
    }
}

#[test]
fn thirty_clients_and_a_long_log_stay_in_their_panes_at_the_default_size() {
    crowded_server_keeps_its_panes_apart(&[DEFAULT_WINDOW], 30, false);
}

#[test]
fn thirty_clients_and_a_long_log_stay_in_their_panes_at_the_minimum_size() {
    crowded_server_keeps_its_panes_apart(&[MIN_WINDOW], 30, false);
}

#[test]
fn ten_thousand_clients_stay_in_their_pane_at_both_sizes() {
    crowded_server_keeps_its_panes_apart(&[DEFAULT_WINDOW, MIN_WINDOW], 10_000, true);
}

/// Opens the combo box and picks `option` the way a screen reader does: through the
/// accessibility action, not the pointer.
fn choose_accessibly(harness: &mut Harness<'static, SocklabApp>, combo: &str, option: &str) {
    harness
        .get_by_role_and_label(Role::ComboBox, combo)
        .click_accesskit();
    harness.run_ok();
    harness
        .get_by_role(Role::ListBox)
        .get_by_label(option)
        .click_accesskit();
    harness.run_ok();
}

#[test]
fn every_combo_box_chooses_twice_in_a_row_through_the_accessibility_action() {
    let mut harness = app();
    let client = server_with_a_client(&mut harness);
    let peer = client.local_addr().unwrap().to_string();
    // Combo, then two options chosen one after the other and what the combo shows for each.
    let cases = [
        ("Format", ["Hex", "Text"], ["Hex", "Text"]),
        ("Encoding", ["GBK", "Big5"], ["GBK", "Big5"]),
        (
            "Line ending",
            ["CRLF (\\r\\n)", "None"],
            ["CRLF (\\r\\n)", "None"],
        ),
        ("Show data as", ["Hex + text", "Hex"], ["Hex + text", "Hex"]),
        (
            "Send to",
            [peer.as_str(), "All clients"],
            [peer.as_str(), "All clients (1)"],
        ),
    ];
    for (combo, options, shown) in cases {
        for (option, shown) in options.into_iter().zip(shown) {
            choose_accessibly(&mut harness, combo, option);
            assert_eq!(
                combo_value(&harness, combo),
                shown,
                "{combo}: choosing {option:?} took"
            );
            assert!(
                harness.query_by_role(Role::ListBox).is_none(),
                "{combo}: the list closed after choosing {option:?}"
            );
        }
    }
}

#[test]
fn the_rate_chart_shows_traffic_of_the_last_minute() {
    let mut harness = app();
    let mut client = server_with_a_client(&mut harness);
    assert!(
        harness.query_by_label(BYTES_PLOT).is_none(),
        "hidden until asked for"
    );
    harness
        .get_by_role_and_label(Role::CheckBox, "Rate chart")
        .click();
    harness.run_ok();
    assert!(harness.state().snapshot().options.show_chart, "remembered");
    for name in [BYTES_PLOT, MESSAGES_PLOT] {
        let plot = harness.get_by_label(name).rect();
        assert!(
            plot.width() > 100.0 && plot.height() > 50.0,
            "{name} is drawn: {plot:?}"
        );
    }
    // Traffic over more than a second, so at least one one-second sample sees it.
    let deadline = Instant::now() + WAIT;
    let sample = loop {
        client.write_all(b"tick\n").unwrap();
        harness.step();
        let rates = &harness.state().sessions()[0].rates;
        if let Some(sample) = rates.history().find(|s| s.bytes_in_per_s > 0.0) {
            break *sample;
        }
        assert!(Instant::now() < deadline, "no rate sample saw the traffic");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        sample.messages_in_per_s > 0.0,
        "messages are counted too: {sample:?}"
    );
}

#[test]
fn a_bare_port_typed_in_the_listen_field_listens_on_loopback() {
    let mut harness = app();
    set_field(&mut harness, Role::TextInput, LISTEN_FIELD, "0");
    click(&mut harness, "Start server");
    run_until(&mut harness, "the server to listen", |h| {
        h.state()
            .sessions()
            .first()
            .is_some_and(|s| s.state == State::Listening)
    });
    let local = harness.state().sessions()[0].local.unwrap();
    assert_eq!(local.ip(), std::net::Ipv4Addr::LOCALHOST);
    wait_for_text(
        &mut harness,
        &format!("sockname 127.0.0.1:{}", local.port()),
    );
}

#[test]
fn dragging_a_split_sizes_the_pane_and_is_remembered() {
    let mut harness = app_sized(DEFAULT_WINDOW);
    let _client = server_with_a_client(&mut harness);
    let before = harness.state().snapshot().options.composer_pane_height;
    let message_top = harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .rect()
        .top();
    let strip = harness.get_by_label("Resize the composer").rect().center();
    harness.hover_at(strip);
    harness.drag_at(strip);
    harness.run_ok();
    // Up by 30 points: the log above has that much over its least height.
    for step in 1..=3 {
        harness.hover_at(strip - Vec2::new(0.0, 10.0 * step as f32));
        harness.run_ok();
    }
    harness.drop_at(strip - Vec2::new(0.0, 30.0));
    harness.run_ok();
    let after = harness.state().snapshot().options.composer_pane_height;
    assert!(
        (after - (before + 30.0)).abs() < 2.0,
        "the composer grew by the drag: {before} -> {after}"
    );
    let moved = harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .rect()
        .top();
    assert!(
        (message_top - moved - 30.0).abs() < 2.0,
        "the composer's content moved up with its edge: {message_top} -> {moved}"
    );
}
