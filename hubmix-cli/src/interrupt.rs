//! Ctrl-C and SIGTERM as a message rather than the end of the process: what lets `upload
//! --every` make its last commit before it exits. A second signal ends the process at once.

use std::sync::mpsc::{Receiver, channel};

use crate::error::CliError;

/// A receiver that gets `()` at the first SIGINT (Ctrl-C) or SIGTERM; the second one exits at
/// once, with the shell's code for it (128 + the signal's number).
#[cfg(unix)]
pub(crate) fn on_interrupt() -> Result<Receiver<()>, CliError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;

    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| {
        CliError::failed(
            format!("Cannot catch Ctrl-C and SIGTERM: {e}."),
            "Run the command again; without --every it needs no signal handling.",
        )
    })?;
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut received = signals.forever();
        if received.next().is_some() {
            let _ = tx.send(());
        }
        if let Some(signal) = received.next() {
            std::process::exit(128 + signal);
        }
    });
    Ok(rx)
}

/// Elsewhere Ctrl-C ends the process at once, without a last commit: a receiver that never
/// gets anything.
#[cfg(not(unix))]
pub(crate) fn on_interrupt() -> Result<Receiver<()>, CliError> {
    let (tx, rx) = channel();
    std::mem::forget(tx);
    Ok(rx)
}
