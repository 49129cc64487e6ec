//! Starting and stopping the server: in-process on a background thread, or in the foreground.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::serve::ListenerExt;
use tokio::sync::oneshot;

use crate::app::App;
use crate::cdn;
use crate::config::ServerConfig;
use crate::routes;
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

/// A server running on a background thread. Dropping it (or [`shutdown`](Self::shutdown)) stops it.
#[derive(Debug)]
pub struct RunningServer {
    url: String,
    addr: SocketAddr,
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

    /// Stops the server and waits until it has.
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("hubmix-server")
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("hubmix-server".into())
        .spawn(move || {
            runtime.block_on(async move {
                tokio::spawn(gc::run_periodically(&app.config));
                if let Some(blob_host) = blob_host {
                    let blob_host =
                        tokio::net::TcpListener::from_std(blob_host).expect("listener is non-blocking");
                    tokio::spawn(cdn::serve(Arc::clone(&app), blob_host));
                }
                let listener = tokio::net::TcpListener::from_std(listener)
                    .expect("listener is non-blocking")
                    .tap_io(no_delay);
                let shutdown = async {
                    let _ = stopped.await;
                };
                if let Err(e) = axum::serve(listener, routes::router(app))
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!("server stopped: {e}");
                }
            });
            // In-flight handlers of a stopping test server need not finish.
            runtime.shutdown_background();
        })
        .map_err(ServerError::Runtime)?;
    Ok(RunningServer {
        url: format!("http://{addr}"),
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// Runs a server in the current runtime until `shutdown` completes.
pub async fn serve(
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = bind(config.bind)?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.bind,
        source,
    })?;
    let (app, blob_host) = start_app(config, addr)?;
    tokio::spawn(gc::run_periodically(&app.config));
    if let Some(blob_host) = blob_host {
        let blob_host = tokio::net::TcpListener::from_std(blob_host).map_err(ServerError::Runtime)?;
        if let Ok(blob_addr) = blob_host.local_addr() {
            tracing::info!("blob host for LFS downloads listening on http://{blob_addr}");
        }
        tokio::spawn(cdn::serve(Arc::clone(&app), blob_host));
    }
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(ServerError::Runtime)?
        .tap_io(no_delay);
    tracing::info!("hubmix-server listening on http://{addr}");
    axum::serve(listener, routes::router(app))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Runtime)
}

/// Turns Nagle's algorithm off on an accepted connection. A response is written as its headers,
/// then its body chunks; with Nagle on, a small body waits for the client to ACK the headers, and
/// a keep-alive client delays that ACK by up to 40 ms: each small download on a reused
/// connection took ~40 ms instead of ~1 ms.
fn no_delay(tcp: &mut tokio::net::TcpStream) {
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

fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, ServerError> {
    let listener = std::net::TcpListener::bind(addr).map_err(|source| ServerError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServerError::Bind { addr, source })?;
    Ok(listener)
}
