//! Progress bars (indicatif) for long downloads and uploads; quiet when stderr is not a terminal
//! or when `HF_HUB_DISABLE_PROGRESS_BARS` says so.

use std::io::{IsTerminal, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use crate::settings::Settings;
use crate::transport::http::Payload;

/// Transfers smaller than this (one download, or the LFS objects of one upload together) get no
/// bar.
const MIN_BAR_BYTES: u64 = 16 * 1024 * 1024;

/// A progress bar, or nothing.
#[derive(Debug, Clone)]
pub(crate) struct Progress(Option<ProgressBar>);

impl Progress {
    fn enabled(settings: &Settings) -> bool {
        settings
            .progress_bars
            .unwrap_or_else(|| std::io::stderr().is_terminal())
    }

    /// A bytes bar for a transfer of `total` bytes (none for small ones).
    pub(crate) fn bytes(settings: &Settings, total: u64, label: &str) -> Self {
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
    pub(crate) fn files(settings: &Settings, total: u64, label: &str) -> Self {
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
    pub(crate) fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    /// Sets the position (after a resume).
    pub(crate) fn set(&self, pos: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(pos);
        }
    }

    /// `payload`, counted on this bar as it is sent. A retry sends the body again: the bytes of
    /// the attempt before are taken off the bar first, so it never counts past the total.
    pub(crate) fn track(&self, payload: Payload) -> Payload {
        let (Some(bar), Some(len)) = (&self.0, payload.content_length()) else {
            return payload;
        };
        let content_type = payload.content_type();
        let (bar, payload) = (bar.clone(), Arc::new(payload));
        // Bytes counted for this payload's latest attempt.
        let counted = Arc::new(AtomicU64::new(0));
        Payload::Stream {
            open: Arc::new(move || {
                bar.dec(counted.swap(0, Ordering::Relaxed));
                Ok(Box::new(Counted {
                    inner: payload.open()?,
                    bar: bar.clone(),
                    counted: counted.clone(),
                }))
            }),
            len,
            content_type,
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A body stream that advances a bar as it is read.
struct Counted {
    inner: Box<dyn Read + Send>,
    bar: ProgressBar,
    counted: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counted.fetch_add(n as u64, Ordering::Relaxed);
        self.bar.inc(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(payload: &Payload) -> Vec<u8> {
        let mut out = Vec::new();
        payload.open().unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn a_tracked_payload_counts_each_byte_once_across_retries() {
        let bar = ProgressBar::hidden();
        bar.set_length(20);
        let progress = Progress(Some(bar.clone()));
        let body: Vec<u8> = (0..10).collect();
        let first = progress.track(Payload::Bytes(body.clone(), "application/octet-stream"));
        let second = progress.track(Payload::Bytes(body.clone(), "application/octet-stream"));
        assert_eq!(first.content_length(), Some(10));
        assert_eq!(first.content_type(), Some("application/octet-stream"));

        // An attempt cut after 4 bytes, then a retry that sends everything.
        first.open().unwrap().read_exact(&mut [0; 4]).unwrap();
        assert_eq!(bar.position(), 4);
        assert_eq!(read_all(&first), body, "the retry sends the same bytes");
        assert_eq!(
            bar.position(),
            10,
            "the cut attempt's 4 bytes are not counted twice"
        );

        assert_eq!(read_all(&second), body);
        assert_eq!(bar.position(), 20);
    }

    #[test]
    fn without_a_bar_the_payload_is_left_as_it_is() {
        let payload = Progress(None).track(Payload::Bytes(vec![1, 2, 3], "text/plain"));
        assert!(matches!(payload, Payload::Bytes(ref b, "text/plain") if b == &[1, 2, 3]));
    }
}
