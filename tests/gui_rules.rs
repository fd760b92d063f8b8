//! Framing, responders and checksums in the real window, driven with egui_kittest against
//! real loopback sockets: an echo server made by clicking, a rule's counter, a bad regex
//! shown where it was typed, lines framing, rules and framing surviving a restart through
//! the settings file, a checksum appended by the composer, and the pages at the smallest
//! window.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use common::window::{App, app, app_with, run_until, shows_text, wait_for_text};
use common::{WAIT, read_exact};
use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers, Pos2, Rect, Vec2};
use egui_kittest::kittest::{NodeT, Queryable};
use socklab::engine::framing::{Framing, LineEnd};
use socklab::engine::responder::RuleField;
use socklab::model::log::Direction;
use socklab::model::persist::Saved;
use socklab::model::session::State;
use socklab::model::settings_file;

const LISTEN_FIELD: &str = "Listen on (port or host:port, 0 = any free port)";

/// Replaces the text of the field named `label`, the way a person would.
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

fn click(harness: &mut App, role: Role, label: &str) {
    harness.get_by_role_and_label(role, label).scroll_to_me();
    harness.run_ok();
    harness.get_by_role_and_label(role, label).click();
    harness.run_ok();
}

fn click_button(harness: &mut App, label: &str) {
    click(harness, Role::Button, label);
}

fn choose(harness: &mut App, combo: &str, option: &str) {
    // A page scrolls within its pane: bring the combo into view first.
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

fn combo_value(harness: &App, label: &str) -> String {
    harness
        .get_by_role_and_label(Role::ComboBox, label)
        .accesskit_node()
        .value()
        .unwrap_or_default()
        .to_string()
}

fn is_disabled(harness: &App, role: Role, label: &str) -> bool {
    harness
        .get_by_role_and_label(role, label)
        .accesskit_node()
        .is_disabled()
}

/// Opens a page of the socket's pane (its tab reads `title`).
fn open_page(harness: &mut App, title: &str) {
    harness.get_by_label(title).click();
    harness.run_ok();
}

fn start_server(harness: &mut App) -> SocketAddr {
    set_field(harness, Role::TextInput, LISTEN_FIELD, "127.0.0.1:0");
    click_button(harness, "Start server");
    run_until(harness, "the server to listen", |h| {
        h.state()
            .sessions()
            .first()
            .is_some_and(|s| s.state == State::Listening)
    });
    harness.state().sessions()[0].local.unwrap()
}

fn stream(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

/// The data of the first session's received rows, oldest first.
fn received(harness: &App) -> Vec<Vec<u8>> {
    harness.state().sessions()[0]
        .log
        .iter()
        .filter(|r| r.direction == Direction::Received)
        .map(|r| r.data.to_vec())
        .collect()
}

/// True when `reason` is to the right of `field` on its line, or just under it.
fn beside_or_under(reason: Rect, field: Rect) -> bool {
    let beside = reason.min.x >= field.max.x - 1.0 && reason.min.y < field.max.y;
    let under = reason.min.y >= field.max.y - 1.0 && reason.min.y < field.max.y + 60.0;
    beside || under
}

/// A rule answering any message with `reply`, made by clicking, with responding switched on.
fn reply_rule_by_clicking(harness: &mut App, reply: &str) {
    open_page(harness, "Responder");
    click_button(harness, "Add rule");
    set_field(harness, Role::TextInput, "Reply of rule 1", reply);
    click(harness, Role::CheckBox, "Respond with rules");
    run_until(harness, "the rules to apply", |h| {
        let rules = &h.state().sessions()[0].rules;
        rules.respond && !rules.changed()
    });
}

#[test]
fn an_echo_server_made_by_clicking_sends_back_what_a_client_writes() {
    let mut harness = app();
    let server = start_server(&mut harness);
    open_page(&mut harness, "Responder");
    click_button(&mut harness, "Echo server");
    assert!(
        harness.state().sessions()[0].rules.respond,
        "responding is switched on"
    );
    assert!(shows_text(&harness, "Responding with these rules"));
    let mut client = stream(server);
    client.write_all(b"hello\n").unwrap();
    assert_eq!(read_exact(&mut client, 6), b"hello\n");
    // The hit counter is read live from the engine.
    wait_for_text(&mut harness, "Hits: 1");
}

#[test]
fn a_bad_regex_shows_its_reason_beside_the_pattern_and_the_server_keeps_running() {
    let mut harness = app();
    let server = start_server(&mut harness);
    open_page(&mut harness, "Responder");
    click_button(&mut harness, "Add rule");
    choose(&mut harness, "Match of rule 1", "Regex");
    set_field(
        &mut harness,
        Role::TextInput,
        "Pattern of rule 1",
        "(unclosed",
    );
    let errors = harness.state().sessions()[0].rules.errors().to_vec();
    assert_eq!(errors.len(), 1, "one error: {errors:?}");
    assert_eq!((errors[0].rule, errors[0].field), (0, RuleField::Pattern));
    let reason = harness.get_by_label_contains(&errors[0].message).rect();
    let field = harness
        .get_by_role_and_label(Role::TextInput, "Pattern of rule 1")
        .rect();
    assert!(
        beside_or_under(reason, field),
        "the reason {reason:?} stands beside or under the pattern field {field:?}"
    );
    assert!(
        is_disabled(&harness, Role::Button, "Apply rules"),
        "rules that do not compile cannot be applied"
    );
    // Switching responding on does not apply them either; the server carries on.
    click(&mut harness, Role::CheckBox, "Respond with rules");
    assert!(harness.state().sessions()[0].rules.active().is_none());
    let mut client = stream(server);
    client.write_all(b"still here").unwrap();
    wait_for_text(&mut harness, "still here");
    assert_eq!(harness.state().sessions()[0].state, State::Listening);
    // Fixed, it applies.
    set_field(
        &mut harness,
        Role::TextInput,
        "Pattern of rule 1",
        "(closed)",
    );
    assert!(harness.state().sessions()[0].rules.errors().is_empty());
    click_button(&mut harness, "Apply rules");
    assert!(harness.state().sessions()[0].rules.active().is_some());
}

#[test]
fn a_rule_reply_with_a_counter_answers_n_1_then_n_2() {
    let mut harness = app();
    let server = start_server(&mut harness);
    reply_rule_by_clicking(&mut harness, "n={{counter}}");
    let mut client = stream(server);
    client.write_all(b"a").unwrap();
    assert_eq!(read_exact(&mut client, 3), b"n=1");
    client.write_all(b"b").unwrap();
    assert_eq!(read_exact(&mut client, 3), b"n=2");
}

#[test]
fn lines_framing_chosen_by_clicking_makes_one_row_per_line() {
    let mut harness = app();
    let server = start_server(&mut harness);
    open_page(&mut harness, "Framing");
    choose(&mut harness, "Cut messages by", "Lines");
    assert!(shows_text(&harness, "Changed, not applied"));
    click_button(&mut harness, "Apply framing");
    assert_eq!(
        harness.state().sessions()[0].framing.applied.framing,
        Framing::Line(LineEnd::Any)
    );
    assert!(!shows_text(&harness, "Changed, not applied"));
    let mut client = stream(server);
    client.write_all(b"a\nb\n").unwrap();
    run_until(&mut harness, "two rows", |h| received(h).len() >= 2);
    assert_eq!(received(&harness), [b"a\n".to_vec(), b"b\n".to_vec()]);
}

#[test]
fn a_wrong_framing_field_is_shown_beside_it_and_nothing_is_applied() {
    let mut harness = app();
    start_server(&mut harness);
    open_page(&mut harness, "Framing");
    choose(&mut harness, "Cut messages by", "Delimiter");
    set_field(&mut harness, Role::TextInput, "Delimiter (hex)", "0d zz");
    click_button(&mut harness, "Apply framing");
    let error = harness.state().sessions()[0]
        .framing
        .error
        .clone()
        .expect("an error");
    let reason = harness.get_by_label_contains(&error.message).rect();
    let field = harness
        .get_by_role_and_label(Role::TextInput, "Delimiter (hex)")
        .rect();
    assert!(
        beside_or_under(reason, field),
        "the reason {reason:?} stands beside or under the delimiter field {field:?}"
    );
    assert_eq!(
        harness.state().sessions()[0].framing.applied.framing,
        Framing::Raw,
        "nothing applied"
    );
}

#[test]
fn rules_and_framing_survive_a_restart_through_the_settings_file() {
    let mut harness = app();
    start_server(&mut harness);
    open_page(&mut harness, "Framing");
    choose(&mut harness, "Cut messages by", "Lines");
    click_button(&mut harness, "Apply framing");
    reply_rule_by_clicking(&mut harness, "pong {{counter}}\\n");
    open_page(&mut harness, "Responder");
    harness.get_by_label("More of rule 1").click();
    harness.run_ok();
    choose(&mut harness, "Reply format of rule 1", "Text with escapes");
    click_button(&mut harness, "Apply rules");
    let spec = harness.state().sessions()[0].rules.spec.clone();
    let text = settings_file::to_text(&harness.state().snapshot());
    drop(harness);

    let saved = settings_file::parse(text.as_bytes()).expect("the settings read back");
    let mut harness = app_with(saved, [1100.0, 720.0]);
    {
        let session = &harness.state().sessions()[0];
        assert_eq!(session.state, State::Stopped);
        assert_eq!(session.rules.spec, spec);
        assert!(session.rules.respond && session.rules.active().is_some());
        assert_eq!(session.framing.applied.framing, Framing::Line(LineEnd::Any));
    }
    click_button(&mut harness, "Start again");
    run_until(&mut harness, "the restored server to listen", |h| {
        h.state().sessions()[0].state == State::Listening
    });
    let server = harness.state().sessions()[0].local.unwrap();
    let mut client = stream(server);
    // Two lines in one write: two messages, two answers.
    client.write_all(b"ping\nping\n").unwrap();
    assert_eq!(read_exact(&mut client, 14), b"pong 1\npong 2\n");
}

#[test]
fn the_composer_appends_a_crc16_modbus_low_byte_first() {
    let mut harness = app();
    let server = start_server(&mut harness);
    let mut client = stream(server);
    run_until(&mut harness, "the client", |h| {
        h.state().sessions()[0].conns.len() == 1
    });
    set_field(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "123456789",
    );
    choose(&mut harness, "Line ending", "None");
    choose(&mut harness, "Checksum", "CRC-16/MODBUS");
    assert_eq!(combo_value(&harness, "Byte order"), "Little endian");
    click_button(&mut harness, "Send");
    assert_eq!(read_exact(&mut client, 11), b"123456789\x37\x4b");
}

#[test]
fn variables_off_sends_braces_as_typed() {
    let mut harness = app();
    let server = start_server(&mut harness);
    let mut client = stream(server);
    run_until(&mut harness, "the client", |h| {
        h.state().sessions()[0].conns.len() == 1
    });
    set_field(
        &mut harness,
        Role::MultilineTextInput,
        "Message",
        "{{counter}}",
    );
    choose(&mut harness, "Line ending", "None");
    click_button(&mut harness, "Send");
    assert_eq!(read_exact(&mut client, 1), b"1");
    click(&mut harness, Role::CheckBox, "Variables");
    click_button(&mut harness, "Send");
    assert_eq!(read_exact(&mut client, 11), b"{{counter}}");
}

// ---- the pages at the smallest window -----------------------------------------------

fn overlap(a: Rect, b: Rect) -> bool {
    let common = a.intersect(b);
    common.width() > 0.5 && common.height() > 0.5
}

/// Asserts that `widget` of a page is in the window, above every laid-out log row, and
/// clear of the composer.
fn assert_clear(harness: &mut App, size: [f32; 2], role: Role, what: &str) {
    let window = Rect::from_min_size(Pos2::ZERO, Vec2::from(size));
    harness.get_by_role_and_label(role, what).scroll_to_me();
    harness.run_ok();
    let widget = harness.get_by_role_and_label(role, what).rect();
    let message = harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .rect();
    let send_to = harness
        .get_by_role_and_label(Role::ComboBox, "Send to")
        .rect();
    assert!(
        window.contains_rect(widget),
        "{what} {widget:?} is in the window"
    );
    assert!(window.contains_rect(send_to), "Send to is in the window");
    assert!(
        overlap(window, message),
        "the message field is in the window"
    );
    for composer in [message, send_to] {
        assert!(
            !overlap(widget, composer),
            "{what} is clear of the composer"
        );
    }
    let rows: Vec<Rect> = harness
        .query_all_by_label_contains("crowded row ")
        .map(|n| n.rect())
        .collect();
    assert!(!rows.is_empty(), "some log rows are laid out");
    for row in rows {
        assert!(
            widget.max.y <= row.min.y,
            "log row {row:?} is below {what} {widget:?}"
        );
    }
}

#[test]
fn at_the_smallest_window_the_framing_and_responder_pages_stay_in_their_pane() {
    let size = socklab::ui::MIN_WINDOW_SIZE;
    let mut harness = app_with(Saved::default(), size);
    start_server(&mut harness);
    {
        let session = &mut harness.state_mut().sessions_mut()[0];
        let time = chrono::Local::now();
        for i in 0..500 {
            let text = format!("crowded row {i:06}");
            session.log.push(socklab::model::log::LogRow {
                time,
                direction: Direction::Received,
                peer: None,
                data: text.as_bytes(),
                note: Default::default(),
            });
        }
    }
    harness.run_ok();
    open_page(&mut harness, "Framing");
    choose(&mut harness, "Cut messages by", "Length prefix");
    harness.run_ok();
    for (role, what) in [
        (Role::ComboBox, "Cut messages by"),
        (Role::TextInput, "Bytes before the length"),
        (Role::Button, "Apply framing"),
    ] {
        assert_clear(&mut harness, size, role, what);
    }
    open_page(&mut harness, "Responder");
    click_button(&mut harness, "Add rule");
    click_button(&mut harness, "Add rule");
    // The pattern field shows once the rule matches something in particular.
    choose(&mut harness, "Match of rule 1", "Contains");
    for (role, what) in [
        (Role::CheckBox, "Respond with rules"),
        (Role::Button, "Echo server"),
        (Role::TextInput, "Pattern of rule 1"),
        (Role::TextInput, "Reply of rule 2"),
        (Role::Button, "Remove rule 2"),
    ] {
        assert_clear(&mut harness, size, role, what);
    }
}

#[test]
fn rules_exported_to_a_file_import_into_another_socket_and_a_bad_file_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    let mut harness = app();
    start_server(&mut harness);
    reply_rule_by_clicking(&mut harness, "pong");
    let first = harness.state().sessions()[0].id;
    harness.state_mut().export_rules_to(first, path.clone());
    wait_for_text(&mut harness, "Rules exported to");
    let spec = harness.state().sessions()[0].rules.spec.clone();

    // A second server imports them: they replace its rules and answer at once.
    let second_addr = start_second_server(&mut harness);
    let second = harness.state().sessions()[1].id;
    open_page(&mut harness, "Responder");
    click(&mut harness, Role::CheckBox, "Respond with rules");
    harness.state_mut().import_rules_from(second, path);
    wait_for_text(&mut harness, "Imported 1 rule");
    assert_eq!(harness.state().sessions()[1].rules.spec, spec);
    let mut client = stream(second_addr);
    client.write_all(b"ping").unwrap();
    assert_eq!(read_exact(&mut client, 4), b"pong");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[rule]]\nmatch = \"sometimes\"\n").unwrap();
    harness.state_mut().import_rules_from(second, bad);
    wait_for_text(&mut harness, "Cannot import");
    assert_eq!(
        harness.state().sessions()[1].rules.spec,
        spec,
        "a bad file changes nothing"
    );
}

/// Starts another server from the form (the first stays) and returns its address.
fn start_second_server(harness: &mut App) -> SocketAddr {
    set_field(harness, Role::TextInput, LISTEN_FIELD, "127.0.0.1:0");
    click_button(harness, "Start server");
    run_until(harness, "the second server to listen", |h| {
        h.state()
            .sessions()
            .get(1)
            .is_some_and(|s| s.state == State::Listening)
    });
    harness.state().sessions()[1].local.unwrap()
}
