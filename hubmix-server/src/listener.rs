//! Accepting connections, on both ports: at most so many open at once and so many per client
//! address (more are answered `503` and closed at once, before any work is spawned for them); a
//! stop signal that ends the accept loops and tells open connections to finish; and waiting for
//! the connections still open to end.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::config::ServerConfig;

/// Pause after an accept that failed for want of resources (file descriptors, memory), so that
/// the loop does not spin while they are short.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Least time between two warnings that connections are refused.
const REFUSAL_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The connections open on one port, counted overall and by client address.
#[derive(Debug)]
pub(crate) struct Gate {
    /// Which port, for the logs.
    name: &'static str,
    per_ip: usize,
    total: usize,
    state: Mutex<GateState>,
    /// The number of open connections, for [`Gate::drained`].
    open: watch::Sender<usize>,
}

#[derive(Debug, Default)]
struct GateState {
    /// Open connections by client address; addresses without any are removed, so the map holds
    /// at most `total` entries.
    by_ip: HashMap<IpAddr, usize>,
    open: usize,
    last_warning: Option<Instant>,
}

/// One admitted connection: while it lives, it counts against its address and the port.
#[derive(Debug)]
pub(crate) struct Permit {
    gate: Arc<Gate>,
    ip: IpAddr,
}

/// Why a connection was not admitted.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("too many connections from this address (at most {0} at a time): close some and retry")]
    PerIp(usize),
    #[error("the server has too many connections open (at most {0}): retry later")]
    Total(usize),
}

impl Gate {
    /// A gate with the caps of `config`, for the port called `name` in the logs.
    pub(crate) fn new(name: &'static str, config: &ServerConfig) -> Arc<Gate> {
        Arc::new(Gate {
            name,
            per_ip: config.max_connections_per_ip,
            total: config.max_connections,
            state: Mutex::new(GateState::default()),
            open: watch::Sender::new(0),
        })
    }

    /// Counts a new connection from `ip`, unless a cap is reached.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let ip = ip.to_canonical();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let from_ip = state.by_ip.get(&ip).copied().unwrap_or(0);
        let refusal = if state.open >= self.total {
            Some(Refusal::Total(self.total))
        } else if from_ip >= self.per_ip {
            Some(Refusal::PerIp(self.per_ip))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            let now = Instant::now();
            if state
                .last_warning
                .is_none_or(|at| now.duration_since(at) >= REFUSAL_WARNING_INTERVAL)
            {
                state.last_warning = Some(now);
                tracing::warn!("{}: refusing connections from {ip}: {refusal}", self.name);
            }
            return Err(refusal);
        }
        state.by_ip.insert(ip, from_ip + 1);
        state.open += 1;
        self.open.send_replace(state.open);
        Ok(Permit {
            gate: Arc::clone(self),
            ip,
        })
    }

    /// The number of connections open now.
    pub(crate) fn open(&self) -> usize {
        *self.open.borrow()
    }

    /// Returns once no connection is open.
    pub(crate) async fn drained(&self) {
        let mut open = self.open.subscribe();
        // The sender lives in `self`: waiting cannot fail.
        let _ = open.wait_for(|n| *n == 0).await;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.gate.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = state.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                state.by_ip.remove(&self.ip);
            }
        }
        state.open -= 1;
        self.gate.open.send_replace(state.open);
    }
}

/// Tells the accept loops and the open connections to stop.
#[derive(Debug)]
pub(crate) struct StopSender(watch::Sender<bool>);

/// Hears the stop signal of a [`StopSender`].
#[derive(Debug, Clone)]
pub(crate) struct Stop(watch::Receiver<bool>);

impl StopSender {
    /// A signal not given yet.
    pub(crate) fn new() -> StopSender {
        StopSender(watch::Sender::new(false))
    }

    /// A listener of this signal.
    pub(crate) fn subscribe(&self) -> Stop {
        Stop(self.0.subscribe())
    }

    /// Gives the signal.
    pub(crate) fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Stop {
    /// Returns once the signal is given (or its sender is gone).
    pub(crate) async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Whether the signal was given.
    pub(crate) fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}

/// Accepts connections until `stop`, each admitted by `gate` and served by a task running
/// `serve`; refused ones are answered `503` and closed without a task. Returns (closing the
/// listener) when the stop signal is given.
pub(crate) async fn accept<F, Fut>(listener: TcpListener, gate: Arc<Gate>, mut stop: Stop, serve: F)
where
    F: Fn(TcpStream, Permit) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = stop.stopped() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::warn!("{}: cannot accept connections: {e}", gate.name);
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        match gate.admit(peer.ip()) {
            Ok(permit) => {
                tokio::spawn(serve(stream, permit));
            }
            Err(refusal) => refuse(&stream, &refusal),
        }
    }
}

/// Errors of one connection that went away before it was accepted.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Answers `503` with `Retry-After` in one non-blocking write (a new connection's send buffer
/// is empty), and drops the connection.
fn refuse(stream: &TcpStream, refusal: &Refusal) {
    let message = refusal.to_string();
    let body = serde_json::json!({ "error": message }).to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nX-Error-Message: {message}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// Raises this process's soft limit of open files to its hard limit, and warns when that is
/// still below `needed`.
#[cfg(target_os = "linux")]
pub(crate) fn raise_fd_limit(needed: u64) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let mut current = limit.current;
    if let (Some(soft), Some(hard)) = (limit.current, limit.maximum)
        && soft < hard
    {
        let raised = Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => current = Some(hard),
            Err(e) => tracing::debug!("cannot raise the open-file limit from {soft} to {hard}: {e}"),
        }
    }
    if let Some(current) = current
        && current < needed
    {
        tracing::warn!(
            "this process may open {current} files, fewer than the {needed} that --max-connections \
             allows on both ports: raise `ulimit -n` or lower --max-connections"
        );
    }
}
