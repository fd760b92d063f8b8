//! A UDP socket's peers table: every address it heard from or sent to, with when it was
//! first and last heard and its datagrams and bytes each way. Picking a row makes that peer
//! the send target; *Reply* sends the draft to it at once.

use eframe::egui;

use super::action::Action;
use super::table;
use crate::engine::{ConnId, Target};
use crate::model::format;
use crate::model::session::{Session, State};

pub fn peers_table_ui(ui: &mut egui::Ui, session: &mut Session, actions: &mut Vec<Action>) {
    let Some(udp) = &session.udp else {
        return;
    };
    let selected = udp.selected_peer.filter(|p| udp.peers.contains_key(p));
    let count = udp.peers.len();
    let blocked = if session.state != State::Open {
        Some("The UDP socket is not open.".to_string())
    } else if selected.is_none() {
        Some("Select a peer in the table first.".to_string())
    } else {
        session
            .payload()
            .err()
            .map(|e| format!("Invalid payload: {e}"))
    };
    ui.horizontal(|ui| {
        let reply = ui
            .add_enabled(blocked.is_none(), egui::Button::new("Reply"))
            .on_hover_text("Send the message to the selected peer");
        match &blocked {
            Some(reason) => {
                reply.on_disabled_hover_text(reason);
            }
            None => {
                if reply.clicked()
                    && let Some(peer) = selected
                {
                    actions.push(Action::SendTo {
                        session: session.id,
                        target: Target::One(peer),
                    });
                }
            }
        }
    });
    if count == 0 {
        ui.weak("No datagram yet: peers appear as they send, or as you send to them.");
        return;
    }
    let ids: Vec<ConnId> = udp.peers.keys().copied().collect();
    let columns = [
        ("Address", 170.0),
        ("First seen", 90.0),
        ("Last heard", 90.0),
        ("In (datagrams)", 110.0),
        ("Out (datagrams)", 110.0),
    ];
    table::pane_table_ui(
        ui,
        ("peers", session.id.get()),
        &columns,
        ids.len(),
        |mut table_row| {
            let id = ids[table_row.index()];
            let Some(peer) = session.udp.as_ref().and_then(|udp| udp.peers.get(&id)) else {
                return;
            };
            let (addr, first_seen, last_in) = (peer.addr, peer.first_seen, peer.counters.last_in());
            let totals = session.peer_totals(peer);
            let is_selected = selected == Some(id);
            table_row.col(|ui| {
                if ui.selectable_label(is_selected, addr.to_string()).clicked() {
                    let pick = (!is_selected).then_some(id);
                    if let Some(udp) = &mut session.udp {
                        udp.selected_peer = pick;
                    }
                    if pick.is_some() {
                        session.target = Target::One(id);
                    }
                }
            });
            table_row.col(|ui| {
                ui.label(format::clock(&first_seen));
            });
            table_row.col(|ui| {
                ui.label(last_in.map_or_else(|| "—".to_string(), |t| format::clock(&t)));
            });
            table_row.col(|ui| table::traffic_label_ui(ui, totals.bytes_in, totals.messages_in));
            table_row.col(|ui| table::traffic_label_ui(ui, totals.bytes_out, totals.messages_out));
        },
    );
}
