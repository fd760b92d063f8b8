//! The UDP parts of the window: a UDP socket's pane (its peers table, its options or its
//! multicast groups, one page at a time), the socket options (broadcast, multicast TTL,
//! loopback, interface) also in the new-socket form and a UDP client's header, the groups
//! with Join and Leave, and this machine's interface list they choose from (read once, and
//! again only on *Refresh interfaces*).

use eframe::egui;

use super::action::Action;
use super::combo::choice_combo;
use super::{peers_table, rules_panel, theme};
use crate::engine::UdpOptions;
use crate::engine::interfaces::{self, NetInterface};
use crate::model::session::{Session, State};
use crate::model::udp::{UdpPane, parse_membership};

/// This machine's interfaces, listed on first use and kept: listing asks the system, which
/// is not for every frame.
#[derive(Debug, Default)]
pub struct Interfaces {
    listed: Option<Result<Vec<NetInterface>, String>>,
}

impl Interfaces {
    fn get(&mut self) -> &Result<Vec<NetInterface>, String> {
        self.listed.get_or_insert_with(|| {
            interfaces::list().map_err(|e| format!("cannot list this machine's interfaces: {e}"))
        })
    }

    fn refresh(&mut self) {
        self.listed = None;
    }
}

/// A UDP socket's pane: a row of pages (peers, options, groups, and the framing and
/// responder pages every socket has), then the page chosen, which scrolls within the pane.
pub fn udp_pane_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    interfaces: &mut Interfaces,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    let Some(udp) = &mut session.udp else {
        return;
    };
    let page = &mut session.page;
    let pages = [
        (UdpPane::Peers, format!("Peers ({})", udp.peers.len())),
        (UdpPane::Options, "Socket options".to_string()),
        (
            UdpPane::Groups,
            format!("Multicast groups ({})", udp.memberships.len()),
        ),
    ];
    ui.horizontal_wrapped(|ui| {
        for (choice, text) in pages {
            if ui
                .selectable_label(page.is_none() && udp.pane == choice, text)
                .clicked()
            {
                udp.pane = choice;
                *page = None;
            }
        }
        rules_panel::behaviour_tabs_ui(ui, page);
    });
    if let Some(page) = session.page {
        rules_panel::behaviour_page_ui(ui, session, page, dialog_open, actions);
        return;
    }
    let Some(udp) = &session.udp else {
        return;
    };
    match udp.pane {
        UdpPane::Peers => peers_table::peers_table_ui(ui, session, actions),
        page => {
            egui::ScrollArea::vertical()
                .id_salt(("udp_page", page))
                .auto_shrink([false, false])
                .show(ui, |ui| match page {
                    UdpPane::Groups => groups_ui(ui, session, interfaces, actions),
                    _ => udp_options_section_ui(ui, session, interfaces, actions),
                });
        }
    }
}

/// An open (or stopped) UDP session's options: changes go to the engine at once.
pub fn udp_options_section_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    interfaces: &mut Interfaces,
    actions: &mut Vec<Action>,
) {
    let id = session.id;
    let Some(udp) = &mut session.udp else {
        return;
    };
    if options_ui(ui, "view", &mut udp.options, interfaces) {
        actions.push(Action::SetUdpOptions {
            session: id,
            options: udp.options.clone(),
        });
    }
    if let Some(applied) = &udp.applied
        && *applied != udp.options
    {
        theme::warning_label_ui(ui, "Not all of these options are in effect: see the log.");
    }
}

/// The socket options; returns true when the user finished changing one (a drag counts when
/// it ends, so dragging the TTL sends one change, not one per pixel).
pub fn options_ui(
    ui: &mut egui::Ui,
    id_salt: &str,
    options: &mut UdpOptions,
    interfaces: &mut Interfaces,
) -> bool {
    let mut changed = false;
    ui.horizontal_wrapped(|ui| {
        changed |= ui
            .checkbox(&mut options.broadcast, "Broadcast")
            .on_hover_text("May send to broadcast addresses (SO_BROADCAST)")
            .changed();
        let label = ui.label("Multicast TTL");
        let mut ttl = options.multicast_ttl.unwrap_or(1);
        let drag = ui
            .add(egui::DragValue::new(&mut ttl).range(1..=255))
            .labelled_by(label.id)
            .on_hover_text("How many routers a multicast datagram may cross (1: this network)");
        if drag.changed() {
            options.multicast_ttl = Some(ttl);
        }
        changed |= (drag.changed() && !drag.dragged()) || drag.drag_stopped();
        changed |= ui
            .checkbox(&mut options.multicast_loop, "Multicast loopback")
            .on_hover_text("This machine's own members receive what it sends to a group")
            .changed();
    });
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Multicast interface");
        changed |= interface_combo_ui(
            ui,
            (id_salt, "multicast_interface"),
            &mut options.multicast_interface,
            interfaces,
        )
        .labelled_by(label.id)
        .on_hover_text("Where multicast this socket sends goes out")
        .changed();
        if ui
            .button("Refresh interfaces")
            .on_hover_text("List this machine's interfaces again")
            .clicked()
        {
            interfaces.refresh();
        }
    });
    if let Err(error) = interfaces.get() {
        theme::error_label_ui(ui, error.as_str());
    }
    changed
}

/// A combo of this machine's interfaces, "System's choice" (empty) first; `current` is an
/// interface name (or whatever an older file or the engine holds, shown as it is).
fn interface_combo_ui(
    ui: &mut egui::Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug,
    current: &mut String,
    interfaces: &mut Interfaces,
) -> egui::Response {
    let listed = interfaces.get().as_ref().map_or(&[][..], Vec::as_slice);
    let shown = if current.is_empty() {
        SYSTEMS_CHOICE.to_string()
    } else {
        listed
            .iter()
            .find(|i| i.name == *current)
            .map_or_else(|| format!("{current} (not found)"), NetInterface::describe)
    };
    let options: Vec<(String, String)> = std::iter::once((String::new(), SYSTEMS_CHOICE.into()))
        .chain(listed.iter().map(|i| (i.name.clone(), i.describe())))
        .collect();
    let before = current.clone();
    let mut response = choice_combo(ui, id_salt, shown, current, || options, None);
    if *current != before {
        response.mark_changed();
    }
    response
}

const SYSTEMS_CHOICE: &str = "System's choice";

/// The multicast groups of a UDP socket: the join fields and the memberships, each with
/// its Leave button. Joining while the socket is closed remembers the group for opening.
pub fn groups_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    interfaces: &mut Interfaces,
    actions: &mut Vec<Action>,
) {
    let id = session.id;
    let open = session.state == State::Open;
    let Some(udp) = &mut session.udp else {
        return;
    };
    let parsed = parse_membership(&udp.join);
    // Just joined (the fields still say so): not an error, only nothing more to do.
    let listed = parsed
        .as_ref()
        .is_ok_and(|membership| udp.wanted_memberships().any(|m| m == membership));
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Group address");
        ui.add(
            egui::TextEdit::singleline(&mut udp.join.group)
                .hint_text("239.1.2.3")
                .desired_width(110.0),
        )
        .labelled_by(label.id);
        let label = ui.label("Join on interface");
        interface_combo_ui(
            ui,
            ("join_interface", id.get()),
            &mut udp.join.interface,
            interfaces,
        )
        .labelled_by(label.id);
        let label = ui.label("Source (optional)");
        ui.add(
            egui::TextEdit::singleline(&mut udp.join.source)
                .hint_text("only from this sender")
                .desired_width(110.0),
        )
        .labelled_by(label.id)
        .on_hover_text("Source-specific multicast: receive the group only from this address");
        let hover = if open {
            "Join the group now"
        } else {
            "Remember the group: it is joined when the socket opens"
        };
        let join = ui
            .add_enabled(parsed.is_ok() && !listed, egui::Button::new("Join"))
            .on_hover_text(hover)
            .on_disabled_hover_text(if listed {
                "This group is in the list already"
            } else {
                "Type a multicast group address first"
            });
        if let (true, Ok(membership)) = (join.clicked(), &parsed) {
            actions.push(Action::JoinGroup {
                session: id,
                membership: membership.clone(),
            });
        }
    });
    // An empty field is not an error yet; anything typed is checked as it is typed.
    if let Err(error) = &parsed
        && !(udp.join.group.trim().is_empty() && udp.join.source.trim().is_empty())
    {
        theme::error_label_ui(ui, error.as_str());
    }
    if udp.memberships.is_empty() {
        ui.weak("No group joined.");
    }
    for row in &udp.memberships {
        ui.horizontal(|ui| {
            let text = row.membership.to_string();
            ui.label(&text);
            if !row.joined {
                ui.weak(if open {
                    "(not joined: see the log)"
                } else {
                    "(joined when the socket opens)"
                });
            }
            let leave = ui
                .button("Leave")
                .on_hover_text("Leave this group (or forget it, if not joined)");
            // Several rows each have a Leave button: the name says which group.
            let name = format!("Leave {text}");
            ui.ctx()
                .accesskit_node_builder(leave.id, |node| node.set_label(name));
            if leave.clicked() {
                actions.push(Action::LeaveGroup {
                    session: id,
                    membership: row.membership.clone(),
                });
            }
        });
    }
}
