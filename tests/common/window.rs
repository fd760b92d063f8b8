//! The real window under egui_kittest, for the GUI tests: start it, step it until
//! something holds (the network runs meanwhile), and look for text as a person would.

use std::time::{Duration, Instant};

use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use socklab::model::persist::Saved;
use socklab::ui::SocklabApp;

use super::WAIT;

pub type App = Harness<'static, SocklabApp>;

pub fn app_with(saved: Saved, size: [f32; 2]) -> App {
    let mut harness = Harness::builder()
        .with_size(size)
        .build_eframe(move |cc| SocklabApp::new(&cc.egui_ctx, saved).expect("engine starts"));
    harness.run_ok();
    harness
}

pub fn app() -> App {
    app_with(Saved::default(), [1100.0, 720.0])
}

/// Steps frames until `done` holds, failing after [`WAIT`]; the network runs meanwhile.
pub fn run_until(harness: &mut App, what: &str, mut done: impl FnMut(&App) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        harness.step();
        if done(harness) {
            harness.run_ok();
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn shows_text(harness: &App, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

pub fn wait_for_text(harness: &mut App, text: &str) {
    run_until(harness, text, |h| shows_text(h, text));
}

/// Replaces the text of the field labelled `label`, the way a person would.
pub fn type_into(harness: &mut App, role: Role, label: &str, text: &str) {
    harness.get_by_role_and_label(role, label).click();
    harness.run_ok();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.key_press(Key::Backspace);
    harness.run_ok();
    harness.get_by_role_and_label(role, label).type_text(text);
    harness.run_ok();
}

pub fn press(harness: &mut App, label: &str) {
    harness.get_by_role_and_label(Role::Button, label).click();
    harness.run_ok();
}
