//! The blob host: with [`ServerConfig::lfs_cdn`](crate::ServerConfig::lfs_cdn), downloads of
//! LFS files are redirected (`302`, as the Hub redirects them to its CDN) to a listener of this
//! server that only sends blobs, and sends them with `sendfile(2)`: from the page cache to the
//! socket without being copied through this process. Streaming a blob through the HTTP stack
//! costs about as much CPU as the client spends receiving it (`BENCHMARKS.md`, download); this
//! costs a fraction of it.
//!
//! Its URLs name the blob by SHA-256 and are signed with an expiry ([`URL_LIFETIME`]), like the
//! Hub's pre-signed CDN URLs: they authorise themselves, so clients (which drop the token on a
//! redirect to another origin) need none. The listener speaks just enough HTTP/1.1 for that:
//! `GET`/`HEAD`, one `Range`, keep-alive. Each connection is a task, never a thread of the
//! blocking pool that the API's storage calls use, with the deadlines of the API: the request
//! head within [`ServerConfig::header_timeout`](crate::ServerConfig::header_timeout) (also the
//! longest wait between kept-alive requests), and a client that reads nothing for
//! [`ServerConfig::idle_timeout`](crate::ServerConfig::idle_timeout) is cut off.

use std::fs::File;
use std::io;
use std::time::Duration;

#[cfg(target_os = "linux")]
use tokio::io::Interest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::app::App;
use crate::listener::Stop;
use crate::routes::ByteRange;
use crate::stats::Stats;
use crate::time::unix_now;

/// Path prefix of the blob URLs: `/_hubmix/cdn/<sha256>?exp=<unix seconds>&sig=<hex>`.
pub(crate) const PATH_PREFIX: &str = "/_hubmix/cdn/";
/// How long a blob URL stays valid.
pub(crate) const URL_LIFETIME: Duration = Duration::from_secs(3600);
/// Longest request head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// The signed URL of blob `sha256` on the blob host: under its configured public URL, else at
/// `port` of the host a client reached this server at (`base`, `http://host[:port]`).
pub(crate) fn blob_url(app: &App, base: &str, port: u16, sha256: &str) -> String {
    let exp = unix_now() + URL_LIFETIME.as_secs();
    let sig = app.sign_message(&message(sha256, exp));
    let target = format!("{PATH_PREFIX}{sha256}?exp={exp}&sig={sig}");
    if let Some(url) = &app.config.lfs_cdn_url {
        return format!("{url}{target}");
    }
    let host = base
        .split_once("://")
        .map_or(base, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or("127.0.0.1");
    // Strip the port (an IPv6 host keeps its brackets).
    let host = match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    };
    format!("http://{host}:{port}{target}")
}

/// What a request asks for.
struct Request {
    head_only: bool,
    target: String,
    range: Option<String>,
    close: bool,
}

/// Serves the requests of one connection until it closes, idles, asks to close, misses a
/// deadline, or finishes a request after `stop`.
pub(crate) async fn connection(app: &App, mut stream: TcpStream, mut stop: Stop) {
    if let Err(e) = serve_requests(app, &mut stream, &mut stop).await {
        tracing::debug!("blob host: connection ended: {e}");
    }
}

async fn serve_requests(app: &App, stream: &mut TcpStream, stop: &mut Stop) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let idle = app.config.idle_timeout;
    // Bytes read past a request head: the next pipelined request.
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(stream, &mut buf, app.config.header_timeout, stop).await? else {
            return Ok(());
        };
        let request = match request {
            Ok(r) => r,
            Err(status) => return answer(&app.stats, stream, idle, status, "", &[], true).await,
        };
        serve_blob(app, stream, &request).await?;
        if request.close {
            return Ok(());
        }
    }
}

/// The next request head (`None` at a clean end of the connection, or once stopped between
/// requests), or the status that refuses it. `buf` holds what was read past the previous head;
/// the head must be complete within `header_timeout`.
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    header_timeout: Duration,
    stop: &mut Stop,
) -> io::Result<Option<Result<Request, u16>>> {
    let deadline = Instant::now() + header_timeout;
    let mut scanned = 0;
    let end = loop {
        if let Some(i) = buf[scanned..].windows(4).position(|w| w == b"\r\n\r\n") {
            break scanned + i + 4;
        }
        scanned = buf.len().saturating_sub(3);
        if buf.len() >= MAX_HEAD {
            return Ok(Some(Err(431)));
        }
        if buf.is_empty() && stop.is_stopped() {
            return Ok(None);
        }
        let mut chunk = [0u8; 4096];
        let want = (MAX_HEAD - buf.len()).min(chunk.len());
        let n = tokio::select! {
            read = tokio::time::timeout_at(deadline, stream.read(&mut chunk[..want])) => {
                read.map_err(|_| timed_out("the request head did not arrive in time"))??
            }
            () = stop.stopped(), if buf.is_empty() => return Ok(None),
        };
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let request = parse_request(&buf[..end]);
    buf.drain(..end);
    Ok(Some(request))
}

/// What a complete request head asks for, or the status that refuses it.
fn parse_request(head: &[u8]) -> Result<Request, u16> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(parsed.parse(head), Ok(httparse::Status::Complete(_))) {
        return Err(400);
    }
    let head_only = match parsed.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return Err(405),
    };
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    Ok(Request {
        head_only,
        target: parsed.path.unwrap_or("").to_owned(),
        range: header("range").map(str::to_owned),
        close: header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
            || parsed.version == Some(0),
    })
}

/// Answers one request: the blob or the part of it asked for, or an error status.
async fn serve_blob(app: &App, out: &mut TcpStream, request: &Request) -> io::Result<()> {
    let idle = app.config.idle_timeout;
    let Some(sha256) = authorised(app, &request.target) else {
        return answer(
            &app.stats,
            out,
            idle,
            403,
            "this blob URL is not valid (or has expired): resolve the file again",
            &[],
            request.close,
        )
        .await;
    };
    // Opening a file and reading its size are short calls: made here, not on the blocking pool,
    // which the API's storage calls need.
    let Ok(file) = File::open(app.store.blobs.path(&sha256)) else {
        return answer(&app.stats, out, idle, 404, "no such blob", &[], request.close).await;
    };
    let total = file.metadata()?.len();
    let range = match request.range.as_deref().map(|r| ByteRange::parse(r, total)) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(r))) => Some(r),
        Some(Err(_)) => {
            let header = format!("Content-Range: bytes */{total}");
            return answer(&app.stats, out, idle, 416, "", &[&header], request.close).await;
        }
    };
    let (status, start, len) = match &range {
        Some(r) => (206, r.start, r.end - r.start + 1),
        None => (200, 0, total),
    };
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\
         Accept-Ranges: bytes\r\nETag: \"{sha256}\"\r\n",
        reason(status)
    );
    if let Some(r) = &range {
        head.push_str(&format!("Content-Range: bytes {}-{}/{total}\r\n", r.start, r.end));
    }
    head.push_str(if request.close {
        "Connection: close\r\n\r\n"
    } else {
        "\r\n"
    });
    app.stats.answered(status);
    write_all(out, head.as_bytes(), idle).await?;
    if !request.head_only {
        send(&file, out, start, len, idle, &app.stats).await?;
    }
    Ok(())
}

/// The blob a signed, unexpired target names.
fn authorised(app: &App, target: &str) -> Option<String> {
    let (path, query) = target.split_once('?')?;
    let sha256 = path.strip_prefix(PATH_PREFIX)?;
    if sha256.len() != 64 || !sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let param = |key: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    };
    let exp: u64 = param("exp")?.parse().ok()?;
    let valid = exp >= unix_now() && app.verify_message(&message(sha256, exp), param("sig")?);
    valid.then(|| sha256.to_owned())
}

/// Sends `len` bytes of `file` from `start`, with `sendfile(2)` from the page cache to the
/// non-blocking socket, waiting (at most `idle` each time) for room in the socket's buffer.
#[cfg(target_os = "linux")]
async fn send(
    file: &File,
    out: &TcpStream,
    start: u64,
    len: u64,
    idle: Duration,
    stats: &Stats,
) -> io::Result<()> {
    let mut offset = start;
    let end = start + len;
    while offset < end {
        let want = (end - offset).min(1 << 30) as usize;
        // Also a yield point: `writable` takes from the task's budget, so a fast client does not
        // keep the worker to itself.
        writable(out, idle).await?;
        let sent = out.try_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(out, file, Some(&mut offset), want).map_err(io::Error::from)
        });
        match sent {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the blob is shorter than its size",
                ));
            }
            Ok(n) => stats.sent(n as u64),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Waits until the socket takes more bytes, for at most `idle`.
#[cfg(target_os = "linux")]
async fn writable(out: &TcpStream, idle: Duration) -> io::Result<()> {
    tokio::time::timeout(idle, out.writable())
        .await
        .map_err(|_| stalled(idle))?
}

/// Sends `len` bytes of `file` from `start`, a buffer at a time.
#[cfg(not(target_os = "linux"))]
async fn send(
    file: &File,
    out: &mut TcpStream,
    start: u64,
    len: u64,
    idle: Duration,
    stats: &Stats,
) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = file;
    file.seek(SeekFrom::Start(start))?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = len;
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the blob is shorter than its size",
            ));
        }
        write_all(out, &buf[..n], idle).await?;
        stats.sent(n as u64);
        left -= n as u64;
    }
    Ok(())
}

/// Writes `bytes`, failing if the client takes none of them for `idle`.
async fn write_all(out: &mut TcpStream, bytes: &[u8], idle: Duration) -> io::Result<()> {
    let mut written = 0;
    while written < bytes.len() {
        let n = tokio::time::timeout(idle, out.write(&bytes[written..]))
            .await
            .map_err(|_| stalled(idle))??;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        written += n;
    }
    Ok(())
}

/// A bodiless answer (`message` as a plain-text body when given).
async fn answer(
    stats: &Stats,
    out: &mut TcpStream,
    idle: Duration,
    status: u16,
    message: &str,
    headers: &[&str],
    close: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "Content-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n{message}",
        message.len(),
        if close { "Connection: close\r\n" } else { "" }
    ));
    stats.answered(status);
    write_all(out, head.as_bytes(), idle).await?;
    stats.sent(message.len() as u64);
    Ok(())
}

/// The error of a client that read nothing for `idle`.
fn stalled(idle: Duration) -> io::Error {
    timed_out(&format!("the client read nothing for {} s", idle.as_secs_f64()))
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_owned())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        _ => "",
    }
}

/// What a blob URL's signature covers.
fn message(sha256: &str, exp: u64) -> String {
    format!("cdn\n{sha256}\n{exp}")
}
