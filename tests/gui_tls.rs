//! TLS in the real window (egui_kittest): a TLS server (self-signed for localhost) and a TLS
//! client with verification off, both made by clicking in one window and talking to each
//! other on 127.0.0.1; and a bad CA file shown at its field.

mod common;

use common::window::{App, app, run_until, shows_text, wait_for_text};
use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers};
use egui_kittest::kittest::{NodeT, Queryable};
use socklab::model::session::{Kind, State};

const LISTEN_FIELD: &str = "Listen on (port or host:port, 0 = any free port)";
const CONNECT_FIELD: &str = "Connect to (host:port)";
const VERIFY: &str = "Verify the server's certificate";
const CA_FILE: &str = "CA file (PEM)";

fn set_field(harness: &mut App, role: Role, label: &str, text: &str) {
    harness.get_by_role_and_label(role, label).scroll_to_me();
    harness.run_ok();
    harness.get_by_role_and_label(role, label).click();
    harness.run_ok();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.key_press(Key::Backspace);
    harness.run_ok();
    harness.get_by_role_and_label(role, label).type_text(text);
    harness.run_ok();
}

fn click(harness: &mut App, label: &str) {
    harness.get_by_role_and_label(Role::Button, label).click();
    harness.run_ok();
}

fn choose(harness: &mut App, combo: &str, option: &str) {
    harness
        .get_by_role_and_label(Role::ComboBox, combo)
        .scroll_to_me();
    harness.run_ok();
    harness.get_by_role_and_label(Role::ComboBox, combo).click();
    harness.run_ok();
    harness
        .get_by_role(Role::ListBox)
        .get_by_label(option)
        .click();
    harness.run_ok();
}

/// Ticks the new-socket form's TLS checkbox.
fn tick_tls(harness: &mut App) {
    harness.get_by_role_and_label(Role::CheckBox, "TLS").click();
    harness.run_ok();
}

/// Opens the session view's TLS section (the toggle in the header's button row).
fn open_tls_section(harness: &mut App) {
    harness
        .query_all_by_label("TLS")
        .find(|node| node.accesskit_node().role() != Role::CheckBox)
        .expect("the TLS toggle")
        .click();
    harness.run_ok();
}

#[test]
fn a_tls_server_and_client_made_by_clicking_talk_and_show_the_handshake() {
    let mut harness = app();
    tick_tls(&mut harness);
    set_field(&mut harness, Role::TextInput, LISTEN_FIELD, "127.0.0.1:0");
    click(&mut harness, "Start server");
    run_until(&mut harness, "the TLS server to listen", |h| {
        h.state()
            .sessions()
            .first()
            .is_some_and(|s| s.state == State::Listening)
    });
    let server = harness.state().sessions()[0].local.unwrap();
    assert!(harness.state().sessions()[0].tls.enabled);
    wait_for_text(&mut harness, "TCP server (TLS)");

    harness.get_by_label("TCP client").click();
    harness.run_ok();
    set_field(
        &mut harness,
        Role::TextInput,
        CONNECT_FIELD,
        &server.to_string(),
    );
    // The checkbox stays ticked from the server; the client's own settings show.
    choose(&mut harness, VERIFY, "Off (insecure)");
    assert!(shows_text(
        &harness,
        "Verification off: anyone on the way can pretend to be the server."
    ));
    click(&mut harness, "Connect");
    run_until(&mut harness, "both ends to finish the handshake", |h| {
        let sessions = h.state().sessions();
        sessions.len() == 2
            && sessions
                .iter()
                .all(|s| s.conns.values().any(|row| row.tls.is_some()))
    });
    let client = &harness.state().sessions()[1];
    assert_eq!(client.kind, Kind::Client);
    assert_eq!(client.state, State::Connected);

    // The client's view: the warning in its header, the handshake in its TLS section.
    wait_for_text(&mut harness, "Certificate not verified");
    open_tls_section(&mut harness);
    wait_for_text(&mut harness, "TLS 1.3");
    let leaf = harness.state().sessions()[1]
        .conns
        .values()
        .find_map(|row| row.tls.clone())
        .unwrap()
        .peer_certificates[0]
        .clone();
    assert!(shows_text(&harness, &leaf.subject), "{}", leaf.subject);
    assert!(shows_text(&harness, &leaf.sha256));
    assert!(shows_text(&harness, "SHA-256"));

    set_field(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "over tls",
    );
    click(&mut harness, "Send");

    // The server's view: the line arrived decrypted, the client table says TLS 1.3.
    let entry = format!("{server} (TLS)");
    harness
        .query_all_by_label_contains(&entry)
        .next()
        .expect("the server's list entry")
        .click();
    harness.run_ok();
    wait_for_text(&mut harness, "over tls");
    assert!(
        shows_text(&harness, "TLS 1.3"),
        "the client table's TLS column"
    );
    let log_row = "TLS 1.3, TLS13_";
    assert!(shows_text(&harness, log_row), "the handshake's log row");
}

#[test]
fn a_ca_file_that_does_not_exist_shows_its_error_at_the_field_and_creates_nothing() {
    let mut harness = app();
    harness.get_by_label("TCP client").click();
    harness.run_ok();
    set_field(&mut harness, Role::TextInput, CONNECT_FIELD, "127.0.0.1:9");
    tick_tls(&mut harness);
    choose(&mut harness, VERIFY, "CA file");
    let missing = "/nonexistent/socklab-ca.pem";
    set_field(&mut harness, Role::TextInput, CA_FILE, missing);
    click(&mut harness, "Connect");
    assert!(shows_text(&harness, &format!("no such file: {missing}")));
    assert!(harness.state().sessions().is_empty());
    // The Choose… button beside the field has its own name.
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "Choose CA file (PEM)")
            .is_some()
    );
}
