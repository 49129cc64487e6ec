//! Starting and stopping the server (in-process on a background thread, or in the foreground,
//! until a shutdown signal and a grace period), and serving the API's connections with their
//! deadlines: [`ServerConfig::header_timeout`] through hyper, the progress deadlines of
//! [`crate::deadline`], and [`ServerConfig::request_timeout`].

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::app::App;
use crate::cdn;
use crate::config::ServerConfig;
use crate::deadline::{ProgressBody, WriteDeadline};
use crate::error::ApiError;
use crate::listener::{self, Gate, Permit, Stop, StopSender};
use crate::routes;
use crate::stats::{CountedBody, Stats};
use crate::storage::{StoreError, gc};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data folder or its database could not be opened.
    #[error("cannot open the data folder: {0}")]
    Storage(#[from] StoreError),
    /// The address is taken or not allowed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// A server running on a background thread. Dropping it (or [`shutdown`](Self::shutdown)) stops it
/// at once: its listeners are closed, and requests in flight are dropped, not waited for.
#[derive(Debug)]
pub struct RunningServer {
    url: String,
    addr: SocketAddr,
    stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// The base URL, e.g. `http://127.0.0.1:41234` — what `HF_ENDPOINT` should be set to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server has sent so far: response-body bytes, responses by status class (also
    /// at `GET /metrics`).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Stops the server (closes its listeners, drops the requests in flight) and waits until it
    /// has.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Starts a server on a background thread with its own runtime, and returns once it listens.
pub fn spawn(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let listener = bind(config.bind)?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.bind,
        source,
    })?;
    let (app, blob_host) = start_app(config, addr)?;
    let stats = Arc::clone(&app.stats);
    let collector = gc::run_periodically(&app.config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("hubmix-server")
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    let mut ports = {
        let _in_runtime = runtime.enter();
        Ports::start(app, listener, blob_host)?
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("hubmix-server".into())
        .spawn(move || {
            runtime.block_on(async move {
                let collector = tokio::spawn(collector);
                let _ = stopped.await;
                collector.abort();
                ports.stop_accepting().await;
            });
            // In-flight handlers of a stopping test server need not finish.
            runtime.shutdown_background();
        })
        .map_err(ServerError::Runtime)?;
    Ok(RunningServer {
        url: format!("http://{addr}"),
        addr,
        stats,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// Runs a server in the current runtime until `shutdown` completes, then stops accepting
/// connections, gives the requests in flight up to [`ServerConfig::shutdown_grace`] to finish,
/// and returns.
pub async fn serve(
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = bind(config.bind)?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.bind,
        source,
    })?;
    #[cfg(target_os = "linux")]
    listener::raise_fd_limit(files_needed(&config));
    let grace = config.shutdown_grace;
    let (app, blob_host) = start_app(config, addr)?;
    let collector = tokio::spawn(gc::run_periodically(&app.config));
    let blob_addr = blob_host.as_ref().and_then(|l| l.local_addr().ok());
    let mut ports = Ports::start(app, listener, blob_host)?;
    tracing::info!("hubmix-server listening on http://{addr}");
    if let Some(blob_addr) = blob_addr {
        tracing::info!("blob host for LFS downloads listening on http://{blob_addr}");
    }
    shutdown.await;
    collector.abort();
    ports.stop_accepting().await;
    tracing::info!(
        "stopped accepting connections; {} open, given {} s to finish",
        ports.open(),
        grace.as_secs_f64()
    );
    match tokio::time::timeout(grace, ports.drained()).await {
        Ok(()) => tracing::info!("every connection finished: stopped"),
        Err(_) => tracing::warn!(
            "{} connections still open after {} s (--shutdown-grace-secs): closing them",
            ports.open(),
            grace.as_secs_f64()
        ),
    }
    Ok(())
}

/// File descriptors a server with `config` may need at its caps: a socket and a file being sent
/// per connection, on each port, and some for the database and the listeners.
#[cfg(target_os = "linux")]
fn files_needed(config: &ServerConfig) -> u64 {
    let ports = if config.lfs_cdn { 2 } else { 1 };
    (config.max_connections as u64).saturating_mul(2 * ports) + 256
}

/// The accept loops of the API and of the blob host.
struct Ports {
    stop: StopSender,
    loops: Vec<tokio::task::JoinHandle<()>>,
    gates: Vec<Arc<Gate>>,
}

impl Ports {
    /// Starts accepting on the API's listener and on the blob host's, if any. Must be called in
    /// a runtime.
    fn start(
        app: Arc<App>,
        api: std::net::TcpListener,
        blob_host: Option<std::net::TcpListener>,
    ) -> Result<Ports, ServerError> {
        let stop = StopSender::new();
        let api = TcpListener::from_std(api).map_err(ServerError::Runtime)?;
        let api_gate = Gate::new("API", &app.config);
        let service = ApiService::new(&app);
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(app.config.header_timeout);
        let mut loops = vec![tokio::spawn(listener::accept(
            api,
            Arc::clone(&api_gate),
            stop.subscribe(),
            {
                let stop = stop.subscribe();
                move |stream, permit| {
                    api_connection(stream, permit, http.clone(), service.clone(), stop.clone())
                }
            },
        ))];
        let mut gates = vec![api_gate];
        if let Some(blob_host) = blob_host {
            let blob_host = TcpListener::from_std(blob_host).map_err(ServerError::Runtime)?;
            let gate = Gate::new("blob host", &app.config);
            let stop_connections = stop.subscribe();
            loops.push(tokio::spawn(listener::accept(
                blob_host,
                Arc::clone(&gate),
                stop.subscribe(),
                move |stream, permit| {
                    let app = Arc::clone(&app);
                    let stop = stop_connections.clone();
                    async move {
                        cdn::connection(&app, stream, stop).await;
                        drop(permit);
                    }
                },
            )));
            gates.push(gate);
        }
        Ok(Ports { stop, loops, gates })
    }

    /// Stops accepting (the listeners are closed when this returns) and tells the open
    /// connections to finish what they are doing and close.
    async fn stop_accepting(&mut self) {
        self.stop.stop();
        for accept_loop in self.loops.drain(..) {
            let _ = accept_loop.await;
        }
    }

    /// Connections open on both ports.
    fn open(&self) -> usize {
        self.gates.iter().map(|g| g.open()).sum()
    }

    /// Returns once no connection is open on either port.
    async fn drained(&self) {
        for gate in &self.gates {
            gate.drained().await;
        }
    }
}

/// Serves one connection of the API until it closes, times out, or finishes after the stop
/// signal.
async fn api_connection(
    stream: TcpStream,
    permit: Permit,
    http: http1::Builder,
    service: ApiService,
    mut stop: Stop,
) {
    no_delay(&stream);
    let io = TokioIo::new(WriteDeadline::new(stream, service.idle));
    let mut connection = std::pin::pin!(http.serve_connection(io, service));
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection ended: {e}");
                }
                break;
            }
            () = stop.stopped(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
    drop(permit);
}

/// The API's router with the deadlines of a request: its body must keep coming
/// ([`ProgressBody`]), and its answer must start within [`ServerConfig::request_timeout`].
#[derive(Clone)]
struct ApiService {
    router: TowerToHyperService<axum::Router>,
    idle: Duration,
    request_timeout: Duration,
    stats: Arc<Stats>,
}

impl ApiService {
    fn new(app: &Arc<App>) -> Self {
        ApiService {
            router: TowerToHyperService::new(routes::router(Arc::clone(app))),
            idle: app.config.idle_timeout,
            request_timeout: app.config.request_timeout,
            stats: Arc::clone(&app.stats),
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for ApiService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let answer = self
            .router
            .call(request.map(|body| ProgressBody::new(body, self.idle)));
        let limit = self.request_timeout;
        let stats = Arc::clone(&self.stats);
        Box::pin(async move {
            let response = match tokio::time::timeout(limit, answer).await {
                Ok(answer) => answer,
                Err(_) => {
                    let secs = limit.as_secs_f64();
                    tracing::warn!("{method} {path} cut off after {secs} s (--request-timeout-secs)");
                    Ok(ApiError::RequestTimeout(format!(
                        "the request took longer than this server allows ({secs} s): send large files \
                         through LFS, in parts"
                    ))
                    .into_response())
                }
            };
            // Counted as hyper takes it: what is sent, not what was planned.
            response.map(|response| {
                stats.answered(response.status().as_u16());
                response.map(|body| axum::body::Body::new(CountedBody::new(body, stats)))
            })
        })
    }
}

/// Turns Nagle's algorithm off on an accepted connection. A response is written as its headers,
/// then its body chunks; with Nagle on, a small body waits for the client to ACK the headers, and
/// a keep-alive client delays that ACK by up to 40 ms: each small download on a reused
/// connection took ~40 ms instead of ~1 ms.
fn no_delay(tcp: &TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("cannot set TCP_NODELAY: {e}");
    }
}

/// The shared state, and the listener of the blob host when the configuration asks for one (on
/// the main listener's address, a free port).
fn start_app(
    config: ServerConfig,
    addr: SocketAddr,
) -> Result<(Arc<App>, Option<std::net::TcpListener>), ServerError> {
    let blob_host = match config.lfs_cdn {
        true => Some(bind(
            config
                .lfs_cdn_bind
                .unwrap_or_else(|| SocketAddr::new(addr.ip(), 0)),
        )?),
        false => None,
    };
    let port = match &blob_host {
        Some(l) => Some(
            l.local_addr()
                .map_err(|source| ServerError::Bind { addr, source })?
                .port(),
        ),
        None => None,
    };
    Ok((Arc::new(App::new(config, port)?), blob_host))
}

/// Connections the kernel completes and queues for the accept loop. A full queue drops new
/// connection attempts, which clients retry only after a second or more: std's 128 would be
/// filled by a burst of connections (a flood, or many clients at once) in no time.
const LISTEN_BACKLOG: i32 = 4096;

/// A non-blocking listener on `addr`, as `std::net::TcpListener::bind` makes it but with a
/// deeper queue of connections ([`LISTEN_BACKLOG`], capped by the system's `somaxconn`).
fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, ServerError> {
    use socket2::{Domain, Socket, Type};
    let failed = |source| ServerError::Bind { addr, source };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(failed)?;
    #[cfg(unix)]
    socket.set_reuse_address(true).map_err(failed)?;
    socket.bind(&addr.into()).map_err(failed)?;
    socket.listen(LISTEN_BACKLOG).map_err(failed)?;
    socket.set_nonblocking(true).map_err(failed)?;
    Ok(socket.into())
}
