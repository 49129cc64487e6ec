//! A loopback HTTP proxy that the tests own, to inject faults between hubmix and the hub:
//! cut a response after some bytes, stall it, answer an error status, tamper with or add
//! bytes (at once or after a pause), redirect, answer a canned answer, or drop a request's
//! `Range`. Every request is logged.
//!
//! Each connection is handled on its own thread and forwarded with `Connection: close`, so a
//! response ends when the upstream closes; that keeps the proxy small.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy does with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward it untouched.
    Pass,
    /// Forward the head and the first `n` body bytes, then close the connection.
    CutAfter(u64),
    /// Forward the request head and the first `n` bytes of its body, then close both
    /// connections without an answer (an upload cut mid-way).
    CutRequestAfter(u64),
    /// Forward the request and let upstream answer, then close the connection without passing
    /// the answer on (a response lost on the way back).
    LoseResponse,
    /// Forward `n` body bytes, then send nothing for `pause`, then close.
    Stall { after: u64, pause: Duration },
    /// Answer this status (with `Retry-After: 0` for 429) without asking upstream.
    Status(u16),
    /// Answer this status with a Hub-style JSON body `{"error": message}`, without asking
    /// upstream.
    StatusWithMessage(u16, String),
    /// Flip the body byte at this offset.
    Tamper(u64),
    /// Forward the body, then send this many extra bytes.
    Extra(usize),
    /// Announce and send this many bytes fewer than upstream's body.
    Short(u64),
    /// Forward upstream's answer as a `302` to `base` + the same path (headers kept).
    RedirectTo(String),
    /// Answer `200` with this JSON body without asking upstream.
    Json(String),
    /// Forward the request without its `Range` header (a server that ignores ranges).
    DropRange,
    /// Answer this status with these headers and body, without asking upstream.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Forward upstream's answer, then after `pause` send `extra` more bytes and close: a body
    /// longer than asked for. `announced`: its `Content-Length` counts them; else it is dropped
    /// (the body ends when the connection closes).
    Trailing {
        extra: usize,
        pause: Duration,
        announced: bool,
    },
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub authorized: bool,
}

type Rule = dyn Fn(&Seen, usize) -> Fault + Send + Sync;

/// A running proxy.
pub struct Proxy {
    pub url: String,
    log: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on `host` (`127.0.0.1` or `localhost`) and forwards to `upstream`
    /// (`http://127.0.0.1:PORT`); `rule` decides, per request and its index, what to do.
    pub fn start(
        host: &str,
        upstream: &str,
        rule: impl Fn(&Seen, usize) -> Fault + Send + Sync + 'static,
    ) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
        let url = format!("http://{host}:{}", listener.local_addr().unwrap().port());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let rule: Arc<Rule> = Arc::new(rule);
        let count = Arc::new(AtomicUsize::new(0));
        let (log2, stop2) = (Arc::clone(&log), Arc::clone(&stop));
        listener.set_nonblocking(true).unwrap();
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let (upstream, log, rule, count) = (
                            upstream.clone(),
                            Arc::clone(&log2),
                            Arc::clone(&rule),
                            Arc::clone(&count),
                        );
                        std::thread::spawn(move || {
                            let _ = handle(client, &upstream, &log, &*rule, &count);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Proxy {
            url,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads a request or response head (up to the blank line) as lines.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            return Ok(lines);
        }
        lines.push(line);
    }
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn handle(
    client: TcpStream,
    upstream: &str,
    log: &Mutex<Vec<Seen>>,
    rule: &Rule,
    count: &AtomicUsize,
) -> std::io::Result<()> {
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut to_client = client;
    let head = read_head(&mut from_client)?;
    let mut parts = head[0].split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let body_len: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; body_len];
    from_client.read_exact(&mut body)?;
    let seen = Seen {
        method: method.clone(),
        path: path.clone(),
        range: header(&head, "range").map(str::to_owned),
        authorized: header(&head, "authorization").is_some(),
    };
    let index = count.fetch_add(1, Ordering::SeqCst);
    let fault = rule(&seen, index);
    log.lock().unwrap().push(seen);
    match &fault {
        Fault::Status(code) => {
            let extra = if *code == 429 { "Retry-After: 0\r\n" } else { "" };
            write!(
                to_client,
                "HTTP/1.1 {code} Injected\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return Ok(());
        }
        Fault::StatusWithMessage(code, message) => {
            let body = format!(r#"{{"error": {message:?}}}"#);
            write!(
                to_client,
                "HTTP/1.1 {code} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )?;
            return Ok(());
        }
        Fault::Answer {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} Injected\r\n");
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            write!(
                to_client,
                "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )?;
            return Ok(());
        }
        Fault::Json(json) => {
            write!(
                to_client,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                json.len()
            )?;
            return Ok(());
        }
        _ => {}
    }
    let mut up = TcpStream::connect(upstream)?;
    let mut request = format!("{}\r\n", head[0]);
    for line in head
        .iter()
        .skip(1)
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .filter(|l| !(matches!(fault, Fault::DropRange) && l.to_ascii_lowercase().starts_with("range:")))
    {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    up.write_all(request.as_bytes())?;
    if let Fault::CutRequestAfter(n) = &fault {
        up.write_all(&body[..body.len().min(*n as usize)])?;
        let _ = up.shutdown(Shutdown::Both);
        let _ = to_client.shutdown(Shutdown::Both);
        return Ok(());
    }
    up.write_all(&body)?;
    let mut from_up = BufReader::new(up);
    let mut response_head = read_head(&mut from_up)?;
    if let Fault::LoseResponse = &fault {
        let _ = to_client.shutdown(Shutdown::Both);
        return Ok(());
    }
    if let Fault::RedirectTo(base) = &fault {
        response_head[0] = "HTTP/1.1 302 Found".into();
        response_head.retain(|l| !l.to_ascii_lowercase().starts_with("content-length"));
        response_head.push(format!("Location: {base}{path}"));
        response_head.push("Content-Length: 0".into());
        let mut out = response_head.join("\r\n");
        out.push_str("\r\n\r\n");
        to_client.write_all(out.as_bytes())?;
        return Ok(());
    }
    let mut body_len: Option<u64> = None;
    for line in response_head.iter_mut() {
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            let len: u64 = v.trim().parse().unwrap_or(0);
            let len = match &fault {
                Fault::Extra(n) | Fault::Trailing { extra: n, .. } => len + *n as u64,
                Fault::Short(n) => len.saturating_sub(*n),
                _ => len,
            };
            body_len = Some(len);
            *line = format!("Content-Length: {len}");
        }
    }
    if let Fault::Trailing { announced: false, .. } = &fault {
        response_head.retain(|l| !l.to_ascii_lowercase().starts_with("content-length:"));
    }
    let short_limit = match &fault {
        Fault::Short(_) => body_len,
        _ => None,
    };
    let mut out = response_head.join("\r\n");
    out.push_str("\r\n\r\n");
    to_client.write_all(out.as_bytes())?;
    let mut sent = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from_up.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let n = match short_limit {
            Some(limit) => n.min((limit - sent.min(limit)) as usize),
            None => n,
        };
        if n == 0 {
            break;
        }
        let chunk = &mut buf[..n];
        match &fault {
            Fault::CutAfter(limit) | Fault::Stall { after: limit, .. } if sent + n as u64 > *limit => {
                let keep = (*limit - sent) as usize;
                to_client.write_all(&chunk[..keep])?;
                to_client.flush()?;
                if let Fault::Stall { pause, .. } = &fault {
                    std::thread::sleep(*pause);
                }
                let _ = to_client.shutdown(Shutdown::Both);
                return Ok(());
            }
            Fault::Tamper(at) if (sent..sent + n as u64).contains(at) => {
                chunk[(*at - sent) as usize] ^= 0xff;
            }
            _ => {}
        }
        to_client.write_all(chunk)?;
        sent += n as u64;
    }
    if let Fault::Extra(n) = &fault {
        to_client.write_all(&vec![b'x'; *n])?;
    }
    if let Fault::Trailing { extra, pause, .. } = &fault {
        to_client.flush()?;
        std::thread::sleep(*pause);
        to_client.write_all(&vec![b'x'; *extra])?;
    }
    Ok(())
}
