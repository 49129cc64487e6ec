//! Progress bars (indicatif) for long downloads; quiet when stderr is not a terminal or when
//! `HF_HUB_DISABLE_PROGRESS_BARS` says so.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::settings::Settings;

/// Files smaller than this get no bar of their own.
const MIN_BAR_BYTES: u64 = 16 * 1024 * 1024;

/// A progress bar, or nothing.
#[derive(Debug, Clone)]
pub struct Progress(Option<ProgressBar>);

impl Progress {
    fn enabled(settings: &Settings) -> bool {
        settings
            .progress_bars
            .unwrap_or_else(|| std::io::stderr().is_terminal())
    }

    /// A bytes bar for one file of `total` bytes (none for small files).
    pub fn bytes(settings: &Settings, total: u64, label: &str) -> Self {
        if !Self::enabled(settings) || total < MIN_BAR_BYTES {
            return Progress(None);
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar.set_message(label.to_owned());
        Progress(Some(bar))
    }

    /// A files bar for a snapshot of `total` files.
    pub fn files(settings: &Settings, total: u64, label: &str) -> Self {
        if !Self::enabled(settings) || total == 0 {
            return Progress(None);
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} files")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar.set_message(label.to_owned());
        Progress(Some(bar))
    }

    /// Advances by `n`.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    /// Sets the position (after a resume).
    pub fn set(&self, pos: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(pos);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
