//! What the user sees while the demo runs, on stderr: a progress bar that redraws
//! in place (the scenario's clock, its phase, each probe's state) on a terminal,
//! and plain lines, one per event, otherwise (tests, CI, a pipe): never a carriage
//! return there.

use crate::model::{Check, Status};
use crate::outage::{Confirmation, Event};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

/// A probe as the user sees it.
struct Probe {
    confirmation: Confirmation,
    state: String,
}

/// The progress display.
pub(crate) struct Ui {
    bar: Option<ProgressBar>,
    started: Instant,
    probes: BTreeMap<String, Probe>,
}

impl Ui {
    /// A bar on a terminal, plain lines otherwise. `probes` are the names and
    /// thresholds of the probes watched; `story` the scenario's length.
    pub(crate) fn new(probes: &[(String, u32, u32)], story: Duration) -> Ui {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(u64::try_from(story.as_millis()).unwrap_or(u64::MAX)),
                ProgressDrawTarget::stderr(),
            );
            let style = ProgressStyle::with_template("{prefix:>5} [{bar:24.cyan/blue}] {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        Ui {
            bar,
            started: Instant::now(),
            probes: probes
                .iter()
                .map(|(name, down, up)| {
                    (
                        name.clone(),
                        Probe {
                            confirmation: Confirmation::new(name, *down, *up),
                            state: "waiting".to_owned(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The scenario's clock: seconds since the story started.
    fn clock(&self) -> String {
        let s = self.started.elapsed().as_secs();
        format!("{}:{:02}", s / 60, s % 60)
    }

    /// A line that stays: above the bar on a terminal, plain otherwise.
    pub(crate) fn line(&self, text: &str) {
        let text = format!("[{}] {text}", self.clock());
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// The scenario moved on.
    pub(crate) fn phase(&self, label: &str) {
        self.line(&format!("scenario: {label}"));
        self.redraw();
    }

    /// A check came back from the daemon's probes.
    pub(crate) fn check(&mut self, check: &Check) {
        let Some(p) = self.probes.get_mut(&check.probe) else {
            return;
        };
        let event = p.confirmation.observe(check);
        let class = check.class.map_or("", |c| c.as_str());
        let state = match (check.status, &event) {
            (_, Some(Event::Opened(o))) => format!("DOWN ({})", o.class.as_str()),
            (Status::Up, _) => "up".to_owned(),
            (Status::Down, _) if p.confirmation.open_outage().is_some() => {
                format!("DOWN ({class})")
            }
            (Status::Down, _) => format!("failing ({class}), confirming"),
            (Status::Unknown, _) => "unknown (no data)".to_owned(),
        };
        let changed = p.state != state;
        p.state = state;
        let name = check.probe.clone();
        match event {
            Some(Event::Opened(o)) => self.line(&format!(
                "{name}: outage confirmed after {} failed checks ({}: {})",
                o.failed_checks,
                o.class.as_str(),
                o.detail
            )),
            Some(Event::Closed(o)) => self.line(&format!(
                "{name}: up again; the outage lasted {}",
                o.end.map(|e| seconds(e.0 - o.start.0)).unwrap_or_default()
            )),
            _ if changed && self.bar.is_none() => {
                let state = self.probes.get(&name).map(|p| p.state.clone());
                self.line(&format!("{name}: {}", state.unwrap_or_default()));
            }
            _ => {}
        }
        self.redraw();
    }

    /// Whether every probe has been seen up since its last failure.
    pub(crate) fn all_up(&self) -> bool {
        self.probes.values().all(|p| p.state == "up")
    }

    /// Redraws the bar (a no-op without a terminal).
    pub(crate) fn redraw(&self) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(self.clock());
            bar.set_position(u64::try_from(self.started.elapsed().as_millis()).unwrap_or(0));
            let states: Vec<String> = self
                .probes
                .iter()
                .map(|(n, p)| format!("{} {}", n.trim_start_matches("demo-"), p.state))
                .collect();
            // The phase is on the line above; the bar keeps to the probes' states,
            // so it fits in 80 columns.
            bar.set_message(states.join(" · "));
        }
    }

    /// Removes the bar, leaving the lines printed above it.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// "12.3 s".
fn seconds(ms: i64) -> String {
    format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
}
