//! A socket's *Responder* page: the rules the engine answers received messages with, one
//! row each (match, pattern, action, reply, delay, to whom, live hits), with *Add rule*,
//! *Echo server*, *Apply rules*, import and export. The rules are edited in place and
//! compiled again on every change, so each error shows under the field it concerns; they
//! reach the engine only on *Apply rules* (or the switch, or *Echo server*), which the
//! page says while the edited rules differ from those in effect.

use std::time::Duration;

use eframe::egui;

use super::action::Action;
use super::combo::choice_combo;
use super::composer::{VARIABLES_HELP, checksum_ui};
use super::dialogs::Purpose;
use super::framing_panel::framing_page_ui;
use super::theme;
use crate::engine::responder::{MatchKind, ReplyTo, RuleAction, RuleField, RuleSpec};
use crate::model::session::{BehaviourPage, Session};
use crate::payload::{ByteOrder, Checksum, LineEnding, PayloadFormat, TextEncoding};

/// How often the hit counters are read while the page is shown.
const HITS_REFRESH: Duration = Duration::from_millis(250);

/// What a row's buttons asked for, done after the rows are drawn.
enum RowChange {
    Up(usize),
    Down(usize),
    Remove(usize),
}

pub fn rules_page_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    let id = session.id;
    let rules = &mut session.rules;
    rules.refresh();
    let changed = rules.changed();
    let compiles = rules.errors().is_empty();
    ui.horizontal_wrapped(|ui| {
        let mut on = rules.respond;
        if ui
            .checkbox(&mut on, "Respond with rules")
            .on_hover_text(
                "Answer each received message with the rules below (on the network thread)",
            )
            .changed()
        {
            actions.push(Action::SetRespond { session: id, on });
        }
        ui.radio_value(&mut rules.spec.all_matching, false, "First match")
            .on_hover_text("Only the first rule that matches a message fires");
        ui.radio_value(&mut rules.spec.all_matching, true, "All matching")
            .on_hover_text("Every rule that matches a message fires, in order");
        let label = ui.label("Rules encoding");
        choice_combo(
            ui,
            ("rules_encoding", id.get()),
            rules.spec.encoding.label(),
            &mut rules.spec.encoding,
            || TextEncoding::ALL.map(|e| (e, e.label().to_string())),
            None,
        )
        .labelled_by(label.id)
        .on_hover_text("How text patterns and replies become bytes, and how regexes read messages");
    });
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Add rule")
            .on_hover_text("A new rule at the end: any message → the reply you type")
            .clicked()
        {
            rules.spec.rules.push(RuleSpec::default());
        }
        if ui
            .button("Echo server")
            .on_hover_text(
                "Replace the rules with one that sends every message back, and respond now",
            )
            .clicked()
        {
            actions.push(Action::EchoServer(id));
        }
        let apply = ui
            .add_enabled(changed && compiles, egui::Button::new("Apply rules"))
            .on_hover_text("Answer with these rules from now on")
            .on_disabled_hover_text(if compiles {
                "These are the rules in effect"
            } else {
                "Fix the rules marked in red first"
            });
        if apply.clicked() {
            actions.push(Action::ApplyRules(id));
        }
        for (text, purpose, hover) in [
            (
                "Import rules…",
                Purpose::ImportRules,
                "Replace the rules (and the framing, if the file has one) with a rules file's",
            ),
            (
                "Export rules…",
                Purpose::ExportRules,
                "Save the rules and the framing as a file `socklab server --rules` reads too",
            ),
        ] {
            if ui
                .add_enabled(!dialog_open, egui::Button::new(text))
                .on_hover_text(hover)
                .clicked()
            {
                actions.push(Action::OpenDialog {
                    session: id,
                    purpose,
                });
            }
        }
    });
    ui.horizontal_wrapped(|ui| {
        if !compiles {
            let count = rules.errors().len();
            theme::error_label_ui(
                ui,
                match count {
                    1 => "1 error in the rules: see below".to_string(),
                    n => format!("{n} errors in the rules: see below"),
                },
            );
        }
        if changed {
            theme::warning_label_ui(ui, "Changed, not applied");
        } else if rules.respond {
            ui.weak("Responding with these rules");
        } else {
            ui.weak("Not responding (switch on \"Respond with rules\")");
        }
        match &rules.notice {
            Some(Ok(text)) => {
                ui.weak(text);
            }
            Some(Err(text)) => {
                theme::error_label_ui(ui, text);
            }
            None => {}
        }
    });
    if rules.spec.rules.is_empty() {
        ui.weak("No rule yet: Add rule, or Echo server for one that sends back what it receives.");
    }
    let count = rules.spec.rules.len();
    let counters = rules.hit_counters();
    let hits: Vec<Option<u64>> = (0..count)
        .map(|i| counters.as_ref().map(|c| c.get(i)))
        .collect();
    let errors: Vec<[Option<String>; 2]> = (0..count)
        .map(|i| {
            [RuleField::Pattern, RuleField::Reply]
                .map(|field| rules.error_at(i, field).map(str::to_string))
        })
        .collect();
    let mut change = None;
    for (index, rule) in rules.spec.rules.iter_mut().enumerate() {
        ui.separator();
        let row = RowContext {
            session: id.get(),
            index,
            count,
            hits: hits[index],
        };
        if let Some(asked) = rule_ui(ui, rule, &row, &errors[index]) {
            change = Some(asked);
        }
    }
    match change {
        Some(RowChange::Up(i)) if i > 0 => rules.spec.rules.swap(i, i - 1),
        Some(RowChange::Down(i)) if i + 1 < count => rules.spec.rules.swap(i, i + 1),
        Some(RowChange::Remove(i)) if i < count => {
            rules.spec.rules.remove(i);
        }
        _ => {}
    }
    if rules.active().is_some() {
        // Hits count on the network thread, without events.
        ui.ctx().request_repaint_after(HITS_REFRESH);
    }
}

/// Where a rule's row is and what it shows besides the rule.
struct RowContext {
    session: u64,
    index: usize,
    count: usize,
    hits: Option<u64>,
}

/// One rule: its fields (each named "… of rule N"), errors under the fields they concern.
fn rule_ui(
    ui: &mut egui::Ui,
    rule: &mut RuleSpec,
    row: &RowContext,
    errors: &[Option<String>; 2],
) -> Option<RowChange> {
    let number = row.index + 1;
    let salt = |what: &'static str| (row.session, row.index, what);
    let of = |what: &str| format!("{what} of rule {number}");
    let mut change = None;
    ui.horizontal_wrapped(|ui| {
        let enabled = ui
            .checkbox(&mut rule.enabled, format!("Rule {number}"))
            .on_hover_text("Off: the rule is kept but never fires");
        theme::name_widget(ui, &enabled, format!("Rule {number} enabled"));
        ui.label("Match");
        let response = choice_combo(
            ui,
            salt("match"),
            rule.matches.label(),
            &mut rule.matches,
            || MatchKind::ALL.map(|m| (m, m.label().to_string())),
            None,
        );
        theme::name_widget(ui, &response, of("Match"));
        if rule.matches != MatchKind::Any {
            ui.label("Pattern");
            let hint = match (rule.matches, rule.pattern_format) {
                (MatchKind::Regex, _) => "^GET (\\S+)",
                (_, PayloadFormat::Hex) => "01 ?? ff",
                _ => "text to look for",
            };
            let response = ui.add(
                egui::TextEdit::singleline(&mut rule.pattern)
                    .hint_text(hint)
                    .desired_width(140.0)
                    .font(egui::TextStyle::Monospace),
            );
            theme::name_widget(ui, &response, of("Pattern"));
            if rule.matches != MatchKind::Regex {
                let response = choice_combo(
                    ui,
                    salt("pattern_format"),
                    rule.pattern_format.label(),
                    &mut rule.pattern_format,
                    || PayloadFormat::ALL.map(|f| (f, f.label().to_string())),
                    None,
                )
                .on_hover_text("Hex: ?? stands for any byte");
                theme::name_widget(ui, &response, of("Pattern format"));
            }
        }
        if let Some(error) = &errors[0] {
            theme::error_label_ui(ui, error);
        }
        ui.label("Then");
        let response = choice_combo(
            ui,
            salt("action"),
            rule.action.label(),
            &mut rule.action,
            || RuleAction::ALL.map(|a| (a, a.label().to_string())),
            None,
        );
        theme::name_widget(ui, &response, of("Action"));
        ui.label(match row.hits {
            Some(hits) => format!("Hits: {hits}"),
            None => "Hits: –".to_string(),
        })
        .on_hover_text("Messages this rule fired on since the rules were applied");
        let buttons = [
            ("Up", format!("Move rule {number} up"), row.index > 0),
            (
                "Down",
                format!("Move rule {number} down"),
                number < row.count,
            ),
            ("Remove", format!("Remove rule {number}"), true),
        ];
        for (i, (icon, name, enabled)) in buttons.into_iter().enumerate() {
            let button = ui
                .add_enabled(enabled, egui::Button::new(icon))
                .on_hover_text(&name);
            theme::name_widget(ui, &button, name);
            if button.clicked() {
                change = Some(match i {
                    0 => RowChange::Up(row.index),
                    1 => RowChange::Down(row.index),
                    _ => RowChange::Remove(row.index),
                });
            }
        }
    });
    if rule.action == RuleAction::Reply {
        ui.horizontal_wrapped(|ui| {
            ui.label("Reply");
            // Room for the delay and the target after it; replies are often long.
            let width = (ui.available_width() - 340.0).clamp(180.0, 520.0);
            let response = ui
                .add(
                    egui::TextEdit::singleline(&mut rule.reply.text)
                        .hint_text("{{echo}}")
                        .desired_width(width)
                        .font(egui::TextStyle::Monospace),
                )
                .on_hover_text(VARIABLES_HELP);
            theme::name_widget(ui, &response, of("Reply"));
            if let Some(error) = &errors[1] {
                theme::error_label_ui(ui, error);
            }
            ui.label("Delay (ms)");
            let response = ui.add(egui::DragValue::new(&mut rule.delay_ms).range(0..=3_600_000));
            theme::name_widget(ui, &response, of("Delay (ms)"));
            ui.label("To");
            let response = choice_combo(
                ui,
                salt("to"),
                rule.to.label(),
                &mut rule.to,
                || ReplyTo::ALL.map(|t| (t, t.label().to_string())),
                None,
            );
            theme::name_widget(ui, &response, of("Reply to"));
        });
        egui::CollapsingHeader::new(format!("More of rule {number}"))
            .id_salt(salt("more"))
            .show(ui, |ui| reply_format_ui(ui, rule, row, &of));
    }
    change
}

/// A rule's reply format, line ending, checksum, variables switch and name.
fn reply_format_ui(
    ui: &mut egui::Ui,
    rule: &mut RuleSpec,
    row: &RowContext,
    of: &dyn Fn(&str) -> String,
) {
    let salt = |what: &'static str| (row.session, row.index, what);
    let reply = &mut rule.reply;
    ui.horizontal_wrapped(|ui| {
        ui.label("Format");
        let response = choice_combo(
            ui,
            salt("reply_format"),
            reply.format.label(),
            &mut reply.format,
            || PayloadFormat::ALL.map(|f| (f, f.label().to_string())),
            None,
        );
        theme::name_widget(ui, &response, of("Reply format"));
        ui.label("Line ending");
        ui.add_enabled_ui(reply.format.takes_line_ending(), |ui| {
            let response = choice_combo(
                ui,
                salt("reply_line_ending"),
                reply.line_ending.label(),
                &mut reply.line_ending,
                || LineEnding::ALL.map(|e| (e, e.label().to_string())),
                None,
            );
            theme::name_widget(ui, &response, of("Line ending"));
        });
        let mut kind = reply.checksum.map(|c| c.kind);
        let mut order = reply.checksum.map_or(ByteOrder::Big, |c| c.order);
        if checksum_ui(
            ui,
            salt("reply_checksum"),
            "Appended to the reply, before the line ending",
            &mut kind,
            &mut order,
            [of("Checksum"), of("Byte order")],
        ) {
            reply.checksum = kind.map(|kind| Checksum { kind, order });
        }
        let variables = ui
            .checkbox(&mut reply.variables, "Variables")
            .on_hover_text(VARIABLES_HELP);
        theme::name_widget(ui, &variables, of("Variables"));
        ui.label("Name");
        let response = ui.add(
            egui::TextEdit::singleline(&mut rule.name)
                .hint_text("optional")
                .desired_width(100.0),
        );
        theme::name_widget(ui, &response, of("Name"));
    });
}

/// The tabs of the framing and responder pages, for a pane that has pages of its own:
/// choosing one sets `page` (`None` is the pane's own page).
pub fn behaviour_tabs_ui(ui: &mut egui::Ui, page: &mut Option<BehaviourPage>) {
    for (choice, text) in [
        (BehaviourPage::Framing, "Framing"),
        (BehaviourPage::Responder, "Responder"),
    ] {
        if ui.selectable_label(*page == Some(choice), text).clicked() {
            *page = Some(choice);
        }
    }
}

/// The framing or responder page, scrolling within what the pane gives it.
pub fn behaviour_page_ui(
    ui: &mut egui::Ui,
    session: &mut Session,
    page: BehaviourPage,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    egui::ScrollArea::vertical()
        .id_salt(("behaviour_page", session.id.get(), page))
        .auto_shrink([false, false])
        .show(ui, |ui| match page {
            BehaviourPage::Framing => framing_page_ui(ui, session, actions),
            BehaviourPage::Responder => rules_page_ui(ui, session, dialog_open, actions),
        });
}
