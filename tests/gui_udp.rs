//! UDP in the real window, driven with egui_kittest against real loopback sockets: a UDP
//! socket and a UDP client made by clicking, datagrams both ways with their sources, the
//! peers table and Reply, typed addresses (and their errors), multicast join, receive and
//! leave, groups joined again after a restart, files as datagrams, and the layout at the
//! smallest window.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use common::window::{App, app, app_with, run_until, shows_text, wait_for_text};
use common::{multicast_sender, udp_peer};
use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers, Pos2, Rect, Vec2};
use egui_kittest::kittest::{NodeT, Queryable};
use socklab::model::log::Direction;
use socklab::model::persist::Saved;
use socklab::model::session::State;
use socklab::ui::{FormKind, LOCAL_ADDRESS_LABEL, SEND_TO_ADDRESS, address_label};

fn set_field(harness: &mut App, label: &str, text: &str) {
    set_field_of_role(harness, Role::TextInput, label, text);
}

fn set_field_of_role(harness: &mut App, role: Role, label: &str, text: &str) {
    harness.get_by_role_and_label(role, label).click();
    harness.run_ok();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.key_press(Key::Backspace);
    harness.run_ok();
    harness.get_by_role_and_label(role, label).type_text(text);
    harness.run_ok();
}

fn set_message(harness: &mut App, text: &str) {
    set_field_of_role(harness, Role::MultilineTextInput, "Message", text);
}

fn click(harness: &mut App, label: &str) {
    harness.get_by_role_and_label(Role::Button, label).click();
    harness.run_ok();
}

fn choose(harness: &mut App, combo: &str, option: &str) {
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

/// Opens a collapsed section (its header reads `title`).
fn open_section(harness: &mut App, title: &str) {
    harness.get_by_label(title).click();
    harness.run_ok();
}

fn is_disabled(harness: &App, button: &str) -> bool {
    harness
        .get_by_role_and_label(Role::Button, button)
        .accesskit_node()
        .is_disabled()
}

fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buffer = vec![0; 70_000];
    let (n, from) = socket
        .recv_from(&mut buffer)
        .expect("a datagram within the wait");
    buffer.truncate(n);
    (buffer, from)
}

/// Picks the form's kind, types the address and clicks the kind's open button; waits
/// until the socket is open and returns its sockname.
fn open_by_clicking(harness: &mut App, kind: FormKind, addr: &str) -> SocketAddr {
    let (radio, button) = match kind {
        FormKind::Udp => ("UDP socket", "Open UDP socket"),
        FormKind::UdpClient => ("UDP client", "Open UDP client"),
        other => panic!("not a UDP kind: {other:?}"),
    };
    harness.get_by_label(radio).click();
    harness.run_ok();
    set_field(harness, address_label(kind), addr);
    click(harness, button);
    run_until(harness, "the UDP socket to open", |h| {
        h.state()
            .sessions()
            .last()
            .is_some_and(|s| s.state == State::Open)
    });
    let local = harness.state().sessions().last().unwrap().local.unwrap();
    wait_for_text(harness, &format!("sockname {local}"));
    local
}

/// The log rows of the first session as (direction, peer, data).
fn rows(harness: &App) -> Vec<(Direction, Option<SocketAddr>, Vec<u8>)> {
    harness.state().sessions()[0]
        .log
        .iter()
        .map(|r| (r.direction, r.peer, r.data.to_vec()))
        .collect()
}

#[test]
fn a_datagram_shows_as_one_row_with_its_source_and_the_picked_peer_gets_the_reply() {
    let mut harness = app();
    let local = open_by_clicking(&mut harness, FormKind::Udp, "127.0.0.1:0");
    assert_ne!(local.port(), 0);
    assert!(shows_text(&harness, "UDP sockets (1)"), "listed as UDP");
    let peer = udp_peer();
    let peer_addr = peer.local_addr().unwrap();
    peer.send_to(b"hello udp\x01", local).unwrap();
    wait_for_text(&mut harness, "hello udp\\x01");
    wait_for_text(&mut harness, "Peers (1)");
    let received: Vec<_> = rows(&harness)
        .into_iter()
        .filter(|(direction, ..)| *direction == Direction::Received)
        .collect();
    assert_eq!(
        received,
        [(
            Direction::Received,
            Some(peer_addr),
            b"hello udp\x01".to_vec()
        )],
        "one row for the one datagram, with its source"
    );

    // Pick the peer in the table: it becomes the target; Reply sends it the draft.
    let peer_text = peer_addr.to_string();
    harness
        .get_by_role_and_label(Role::Button, peer_text.as_str())
        .click();
    harness.run_ok();
    assert_eq!(combo_value(&harness, "Send to"), peer_text);
    choose(&mut harness, "Line ending", "None");
    set_message(&mut harness, "reply\\x00!");
    choose(&mut harness, "Format", "Text with escapes");
    click(&mut harness, "Reply");
    assert_eq!(recv(&peer), (b"reply\x00!".to_vec(), local));
    // Send goes to the same target.
    click(&mut harness, "Send");
    assert_eq!(recv(&peer), (b"reply\x00!".to_vec(), local));
    run_until(&mut harness, "two sent rows", |h| {
        rows(h)
            .iter()
            .filter(|(d, p, data)| {
                *d == Direction::Sent && *p == Some(peer_addr) && data == b"reply\x00!"
            })
            .count()
            == 2
    });
    // The last sender is a target too.
    choose(&mut harness, "Send to", "The last sender");
    set_message(&mut harness, "last");
    click(&mut harness, "Send");
    assert_eq!(recv(&peer), (b"last".to_vec(), local));
}

#[test]
fn a_typed_address_is_checked_at_its_field_and_then_sent_to() {
    let mut harness = app();
    let local = open_by_clicking(&mut harness, FormKind::Udp, "127.0.0.1:0");
    choose(&mut harness, "Send to", "Address…");
    set_field(&mut harness, SEND_TO_ADDRESS, "example.org:9");
    let error = "\"example.org\" is not an IP address";
    assert!(shows_text(&harness, error), "the error is shown");
    assert!(
        is_disabled(&harness, "Send"),
        "Send waits for a good address"
    );
    // Next to the field: on its row, or right under it.
    let field = harness
        .get_by_role_and_label(Role::TextInput, SEND_TO_ADDRESS)
        .rect();
    let nearest = harness
        .query_all_by_label_contains(error)
        .map(|node| node.rect())
        .min_by(|a, b| {
            let d = |r: &Rect| (r.center() - field.center()).length();
            d(a).total_cmp(&d(b))
        })
        .unwrap();
    assert!(
        nearest.min.y < field.max.y + 30.0 && nearest.max.y > field.min.y - 5.0,
        "the error {nearest:?} stands by the field {field:?}"
    );
    set_field(&mut harness, SEND_TO_ADDRESS, "example.org");
    assert!(shows_text(&harness, "missing port"));

    let receiver = udp_peer();
    let to = receiver.local_addr().unwrap();
    set_field(
        &mut harness,
        SEND_TO_ADDRESS,
        &format!("localhost:{}", to.port()),
    );
    assert!(!shows_text(&harness, "not an IP address"));
    choose(&mut harness, "Line ending", "CRLF (\\r\\n)");
    set_message(&mut harness, "typed");
    click(&mut harness, "Send");
    assert_eq!(recv(&receiver), (b"typed\r\n".to_vec(), local));
    wait_for_text(&mut harness, "Peers (1)");
}

#[test]
fn a_udp_client_by_clicking_exchanges_datagrams_with_its_peer() {
    let peer = udp_peer();
    let peer_addr = peer.local_addr().unwrap();
    let mut harness = app();
    harness.get_by_label("UDP client").click();
    harness.run_ok();
    set_field(&mut harness, LOCAL_ADDRESS_LABEL, "127.0.0.1:0");
    let local = open_by_clicking(&mut harness, FormKind::UdpClient, &peer_addr.to_string());
    assert_eq!(
        local.ip(),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        "bound where typed"
    );
    wait_for_text(&mut harness, &format!("peername {peer_addr}"));
    choose(&mut harness, "Line ending", "None");
    set_message(&mut harness, "ping");
    click(&mut harness, "Send");
    assert_eq!(recv(&peer), (b"ping".to_vec(), local));
    peer.send_to(b"pong", local).unwrap();
    wait_for_text(&mut harness, "pong");
    click(&mut harness, "Close");
    wait_for_text(&mut harness, "last peername");
    assert!(
        is_disabled(&harness, "Send"),
        "a closed socket sends nothing"
    );
}

/// How the window lists this machine's loopback interface, and its name.
fn loopback_interface() -> (String, String) {
    let listed = socklab::engine::interfaces::list().unwrap();
    let lo = listed
        .iter()
        .find(|i| i.addrs.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)))
        .expect("an interface has 127.0.0.1");
    (lo.describe(), lo.name.clone())
}

const GROUP: &str = "239.1.2.3";

/// Opens the groups section and joins [`GROUP`] on loopback by clicking; returns how the
/// membership reads.
fn join_by_clicking(harness: &mut App) -> String {
    let (described, name) = loopback_interface();
    open_section(harness, "Multicast groups (0)");
    set_field(harness, "Group address", GROUP);
    choose(harness, "Join on interface", &described);
    click(harness, "Join");
    let membership = format!("{GROUP} on {name}");
    wait_for_text(harness, &format!("joined group {membership}"));
    membership
}

#[test]
fn a_group_joined_by_clicking_is_listed_receives_and_is_gone_after_leave() {
    let mut harness = app();
    let local = open_by_clicking(&mut harness, FormKind::Udp, &format!("{GROUP}:0"));
    let membership = join_by_clicking(&mut harness);
    assert!(shows_text(&harness, "Multicast groups (1)"));
    let leave = format!("Leave {membership}");
    assert!(
        harness
            .query_by_role_and_label(Role::Button, leave.as_str())
            .is_some(),
        "listed with its Leave button"
    );
    let to = SocketAddr::new(GROUP.parse().unwrap(), local.port());
    multicast_sender().send_to(b"to-group", &to.into()).unwrap();
    wait_for_text(&mut harness, "to-group");

    click(&mut harness, &leave);
    wait_for_text(&mut harness, &format!("left group {membership}"));
    assert!(
        harness
            .query_by_role_and_label(Role::Button, leave.as_str())
            .is_none(),
        "gone from the list"
    );
    assert!(shows_text(&harness, "Multicast groups (0)"));
    assert!(
        harness.state().snapshot().sockets[0]
            .udp
            .as_ref()
            .unwrap()
            .memberships
            .is_empty()
    );
}

#[test]
fn groups_and_options_come_back_after_a_restart_and_are_joined_again_on_opening() {
    let mut harness = app();
    open_by_clicking(&mut harness, FormKind::Udp, &format!("{GROUP}:0"));
    let membership = join_by_clicking(&mut harness);
    open_section(&mut harness, "Socket options");
    harness
        .get_by_role_and_label(Role::CheckBox, "Broadcast")
        .click();
    harness.run_ok();
    run_until(&mut harness, "broadcast in effect", |h| {
        h.state().sessions()[0]
            .udp
            .as_ref()
            .and_then(|u| u.applied.as_ref())
            .is_some_and(|o| o.broadcast)
    });
    let saved = harness.state().snapshot();
    drop(harness);

    let mut harness = app_with(saved, [1100.0, 720.0]);
    assert_eq!(harness.state().sessions()[0].state, State::Stopped);
    assert!(shows_text(&harness, "UDP sockets (1)"));
    open_section(&mut harness, "Multicast groups (1)");
    assert!(shows_text(&harness, "(joined when the socket opens)"));
    click(&mut harness, "Open again");
    wait_for_text(&mut harness, &format!("joined group {membership}"));
    let local = harness.state().sessions()[0].local.unwrap();
    let udp = harness.state().sessions()[0].udp.as_ref().unwrap();
    assert!(udp.options.broadcast, "the options came back");
    assert!(udp.memberships.iter().all(|row| row.joined));
    let to = SocketAddr::new(GROUP.parse().unwrap(), local.port());
    multicast_sender()
        .send_to(b"after restart", &to.into())
        .unwrap();
    wait_for_text(&mut harness, "after restart");
}

#[test]
fn a_file_goes_out_as_datagrams_of_the_typed_size() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("data.bin");
    let content: Vec<u8> = (0..3500u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    let mut harness = app();
    let local = open_by_clicking(&mut harness, FormKind::Udp, "127.0.0.1:0");
    let receiver = udp_peer();
    choose(&mut harness, "Send to", "Address…");
    set_field(
        &mut harness,
        SEND_TO_ADDRESS,
        &receiver.local_addr().unwrap().to_string(),
    );
    set_field(&mut harness, "Datagram size", "70000");
    assert!(shows_text(&harness, "from 1 to 65507 bytes"));
    assert!(is_disabled(&harness, "Send file…"));
    set_field(&mut harness, "Datagram size", "1000");
    set_field(&mut harness, "Datagrams/s", "0");
    assert!(!is_disabled(&harness, "Send file…"));
    let session = harness.state().sessions()[0].id;
    // What the file dialog would hand back.
    harness.state_mut().send_file(session, file);
    let mut got = Vec::new();
    let mut sizes = Vec::new();
    while got.len() < content.len() {
        let (data, from) = recv(&receiver);
        assert_eq!(from, local);
        sizes.push(data.len());
        got.extend(data);
    }
    assert_eq!(sizes, [1000, 1000, 1000, 500]);
    assert!(got == content, "the file's bytes, in order");
    wait_for_text(&mut harness, "data.bin sent (3500 bytes sent)");
}

#[test]
fn a_bind_address_that_is_not_this_machines_is_refused_in_the_form() {
    let mut harness = app();
    harness.get_by_label("UDP socket").click();
    harness.run_ok();
    set_field(
        &mut harness,
        address_label(FormKind::Udp),
        "example.org:5000",
    );
    click(&mut harness, "Open UDP socket");
    assert!(shows_text(&harness, "\"example.org\" is not an IP address"));
    assert!(harness.state().sessions().is_empty());
    // A port in use is the engine's answer, shown in the form too.
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    set_field(
        &mut harness,
        address_label(FormKind::Udp),
        &taken.local_addr().unwrap().to_string(),
    );
    click(&mut harness, "Open UDP socket");
    wait_for_text(&mut harness, "address already in use");
    assert!(harness.state().sessions().is_empty(), "no dead socket left");
}

// ---- the layout at the smallest window ----------------------------------------------

fn overlap(a: Rect, b: Rect) -> bool {
    let common = a.intersect(b);
    common.width() > 0.5 && common.height() > 0.5
}

/// The rectangles of laid-out log rows (they read "crowded row …").
fn log_rows(harness: &App) -> Vec<Rect> {
    let rows: Vec<Rect> = harness
        .query_all_by_label_contains("crowded row ")
        .map(|n| n.rect())
        .collect();
    assert!(!rows.is_empty(), "some log rows are laid out");
    rows
}

/// Asserts that `widget` (the lowest thing of the pane's page) is in the window, above
/// every log row, and that the log rows are above the composer, which is in the window.
fn assert_apart(harness: &App, size: [f32; 2], what: &str, widget: Rect) {
    let window = Rect::from_min_size(Pos2::ZERO, Vec2::from(size));
    let send_to = harness
        .get_by_role_and_label(Role::ComboBox, "Send to")
        .rect();
    let message = harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .rect();
    for (name, rect) in [(what, widget), ("Send to", send_to)] {
        assert!(
            window.contains_rect(rect),
            "{name} {rect:?} is in the window"
        );
    }
    assert!(
        overlap(window, message),
        "the message field {message:?} is in the window"
    );
    for row in log_rows(harness) {
        assert!(
            widget.max.y <= row.min.y && !overlap(widget, row),
            "log row {row:?} is below the {what} {widget:?}"
        );
        for composer in [send_to, message] {
            assert!(
                row.max.y <= composer.min.y && !overlap(row, composer),
                "log row {row:?} is above the composer's {composer:?}"
            );
        }
    }
}

#[test]
fn at_the_smallest_window_each_page_of_the_udp_pane_stays_clear_of_the_log_and_composer() {
    let size = socklab::ui::MIN_WINDOW_SIZE;
    let mut harness = app_with(Saved::default(), size);
    let local = open_by_clicking(&mut harness, FormKind::Udp, "127.0.0.1:0");
    let peers: Vec<UdpSocket> = (0..30).map(|_| udp_peer()).collect();
    for (i, peer) in peers.iter().enumerate() {
        peer.send_to(format!("crowded row {i:06}").as_bytes(), local)
            .unwrap();
    }
    wait_for_text(&mut harness, "Peers (30)");
    for i in 30..3000 {
        peers[0]
            .send_to(format!("crowded row {i:06}").as_bytes(), local)
            .unwrap();
        if i % 200 == 0 {
            harness.step();
        }
    }
    run_until(&mut harness, "3,000 datagrams", |h| {
        h.state().sessions()[0].totals().messages_in == 3000
    });

    // Peers: the end of the table, where it meets the log.
    let addrs: Vec<String> = peers
        .iter()
        .map(|p| p.local_addr().unwrap().to_string())
        .collect();
    harness
        .get_by_role_and_label(Role::Button, addrs[29].as_str())
        .scroll_to_me();
    harness.run_ok();
    let lowest_peer = harness
        .query_all_by_role(Role::Button)
        .filter(|n| {
            n.accesskit_node()
                .label()
                .is_some_and(|l| addrs.contains(&l))
        })
        .map(|n| n.rect())
        .max_by(|a, b| a.max.y.total_cmp(&b.max.y))
        .expect("some peer row is laid out");
    assert_apart(&harness, size, "lowest peer row", lowest_peer);

    // Options and groups: their last widgets, scrolled into view within the pane.
    open_section(&mut harness, "Socket options");
    let refresh = harness.get_by_role_and_label(Role::Button, "Refresh interfaces");
    refresh.scroll_to_me();
    harness.run_ok();
    let refresh = harness
        .get_by_role_and_label(Role::Button, "Refresh interfaces")
        .rect();
    assert_apart(&harness, size, "Refresh interfaces", refresh);
    open_section(&mut harness, "Multicast groups (0)");
    harness
        .get_by_role_and_label(Role::Button, "Join")
        .scroll_to_me();
    harness.run_ok();
    let join = harness.get_by_role_and_label(Role::Button, "Join").rect();
    assert_apart(&harness, size, "Join", join);
}

#[test]
fn a_udp_socket_echoes_by_clicking_and_its_framing_page_offers_only_the_checksum() {
    let mut harness = app();
    let local = open_by_clicking(&mut harness, FormKind::Udp, "127.0.0.1:0");
    open_section(&mut harness, "Framing");
    assert!(
        harness.query_by_label("Cut messages by").is_none(),
        "a datagram is never cut, so no framing mode is offered"
    );
    assert!(shows_text(
        &harness,
        "Each datagram is one message, kept whole."
    ));
    assert!(harness.query_by_label("Check checksum").is_some());
    open_section(&mut harness, "Responder");
    click(&mut harness, "Echo server");
    let peer = udp_peer();
    peer.send_to(b"ping\x00\xff", local).unwrap();
    assert_eq!(recv(&peer), (b"ping\x00\xff".to_vec(), local));
}
