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
//! `GET`/`HEAD`, one `Range`, keep-alive. Each connection has a thread of the blocking pool.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::app::App;
use crate::routes::ByteRange;

/// Path prefix of the blob URLs: `/_hubmix/cdn/<sha256>?exp=<unix seconds>&sig=<hex>`.
pub(crate) const PATH_PREFIX: &str = "/_hubmix/cdn/";
/// How long a blob URL stays valid.
pub(crate) const URL_LIFETIME: Duration = Duration::from_secs(3600);
/// A connection idle this long (or a client that reads nothing for this long) is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
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

/// Accepts connections until the runtime stops.
pub(crate) async fn serve(app: Arc<App>, listener: tokio::net::TcpListener) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!("blob host: accept failed: {e}");
                continue;
            }
        };
        let app = Arc::clone(&app);
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!("blob host: {e}");
                continue;
            }
        };
        tokio::task::spawn_blocking(move || {
            if let Err(e) = connection(&app, stream) {
                tracing::debug!("blob host: connection ended: {e}");
            }
        });
    }
}

/// What a request asks for.
struct Request {
    head_only: bool,
    target: String,
    range: Option<String>,
    close: bool,
}

/// Serves the requests of one connection until it closes, idles or asks to close.
fn connection(app: &App, stream: TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    // A client that stops reading must not hold the thread for ever.
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let Some(request) = read_request(&mut reader)? else {
            return Ok(());
        };
        let request = match request {
            Ok(r) => r,
            Err(status) => return answer(&mut out, status, "", &[], true),
        };
        serve_blob(app, &mut out, &request)?;
        if request.close {
            return Ok(());
        }
    }
}

/// The next request head (`None` at a clean end of the connection), or the status that refuses
/// it.
fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Result<Request, u16>>> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let before = head.len();
        let n = Read::by_ref(reader)
            .take((MAX_HEAD - head.len()) as u64)
            .read_until(b'\n', &mut head)?;
        if n == 0 {
            return if before == 0 {
                Ok(None)
            } else if head.len() >= MAX_HEAD {
                Ok(Some(Err(431)))
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(parsed.parse(&head), Ok(httparse::Status::Complete(_))) {
        return Ok(Some(Err(400)));
    }
    let head_only = match parsed.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return Ok(Some(Err(405))),
    };
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    Ok(Some(Ok(Request {
        head_only,
        target: parsed.path.unwrap_or("").to_owned(),
        range: header("range").map(str::to_owned),
        close: header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
            || parsed.version == Some(0),
    })))
}

/// Answers one request: the blob or the part of it asked for, or an error status.
fn serve_blob(app: &App, out: &mut TcpStream, request: &Request) -> io::Result<()> {
    let Some(sha256) = authorised(app, &request.target) else {
        return answer(
            out,
            403,
            "this blob URL is not valid (or has expired): resolve the file again",
            &[],
            request.close,
        );
    };
    let Ok(file) = File::open(app.store.blobs.path(&sha256)) else {
        return answer(out, 404, "no such blob", &[], request.close);
    };
    let total = file.metadata()?.len();
    let range = match request.range.as_deref().map(|r| ByteRange::parse(r, total)) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(r))) => Some(r),
        Some(Err(_)) => {
            let header = format!("Content-Range: bytes */{total}");
            return answer(out, 416, "", &[&header], request.close);
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
    out.write_all(head.as_bytes())?;
    if !request.head_only {
        send(&file, out, start, len)?;
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

/// Sends `len` bytes of `file` from `start`: with `sendfile(2)` on Linux.
#[cfg(target_os = "linux")]
fn send(file: &File, out: &TcpStream, start: u64, len: u64) -> io::Result<()> {
    let mut offset = start;
    let end = start + len;
    while offset < end {
        let want = (end - offset).min(1 << 30) as usize;
        let sent = rustix::fs::sendfile(out, file, Some(&mut offset), want)?;
        if sent == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the blob is shorter than its size",
            ));
        }
    }
    Ok(())
}

/// Sends `len` bytes of `file` from `start`.
#[cfg(not(target_os = "linux"))]
fn send(file: &File, mut out: &TcpStream, start: u64, len: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = file;
    file.seek(SeekFrom::Start(start))?;
    let copied = io::copy(&mut file.take(len), &mut out)?;
    if copied < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the blob is shorter than its size",
        ));
    }
    Ok(())
}

/// A bodiless answer (`message` as a plain-text body when given).
fn answer(out: &mut TcpStream, status: u16, message: &str, headers: &[&str], close: bool) -> io::Result<()> {
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
    out.write_all(head.as_bytes())
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

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
