//! What the server has sent: the bytes of its response bodies and its responses by status
//! class, on both ports (the API and the blob host). One [`Stats`] is shared by every
//! connection; read it in-process with [`RunningServer::stats`](crate::RunningServer::stats),
//! or over HTTP at `GET /metrics`, in Prometheus' text format ([`Stats::prometheus`]).
//!
//! Body bytes are counted as they are handed to the connection: on the API, each data frame of
//! a response body as hyper polls it to write it ([`CountedBody`]); on the blob host, what each
//! `sendfile(2)` call reports sent. Heads (status lines and headers) are not counted.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// The counters of a running server.
#[derive(Debug, Default)]
pub struct Stats {
    body_bytes: AtomicU64,
    /// Responses with a status of 1xx, 2xx, 3xx, 4xx, 5xx.
    by_class: [AtomicU64; 5],
}

impl Stats {
    /// Bytes of response bodies sent so far (on both ports; heads not counted).
    pub fn response_body_bytes(&self) -> u64 {
        self.body_bytes.load(Ordering::Relaxed)
    }

    /// Responses sent so far whose status is in the class of `hundreds` (`2` for 2xx; `0` for
    /// a class outside 1–5).
    pub fn responses(&self, hundreds: u16) -> u64 {
        match hundreds {
            1..=5 => self.by_class[usize::from(hundreds) - 1].load(Ordering::Relaxed),
            _ => 0,
        }
    }

    /// Notes a response of `status`.
    pub(crate) fn answered(&self, status: u16) {
        if let Some(counter) = self.by_class.get(usize::from(status / 100).wrapping_sub(1)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Notes `bytes` of a response body sent.
    pub(crate) fn sent(&self, bytes: u64) {
        self.body_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The counters in Prometheus' text exposition format (version 0.0.4).
    pub fn prometheus(&self) -> String {
        let mut text = String::from(
            "# HELP hubmix_http_response_body_bytes_total Bytes of HTTP response bodies sent (API and blob host).\n\
             # TYPE hubmix_http_response_body_bytes_total counter\n",
        );
        text.push_str(&format!(
            "hubmix_http_response_body_bytes_total {}\n",
            self.response_body_bytes()
        ));
        text.push_str(
            "# HELP hubmix_http_responses_total HTTP responses sent, by status class.\n\
             # TYPE hubmix_http_responses_total counter\n",
        );
        for class in 1..=5u16 {
            text.push_str(&format!(
                "hubmix_http_responses_total{{class=\"{class}xx\"}} {}\n",
                self.responses(class)
            ));
        }
        text
    }
}

/// A response body that adds the bytes of each data frame to [`Stats`] as the connection takes
/// it.
pub(crate) struct CountedBody<B> {
    inner: B,
    stats: Arc<Stats>,
}

impl<B> CountedBody<B> {
    pub(crate) fn new(inner: B, stats: Arc<Stats>) -> Self {
        CountedBody { inner, stats }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for CountedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.stats.sent(data.len() as u64);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_the_text_format() {
        let stats = Stats::default();
        stats.answered(200);
        stats.answered(206);
        stats.answered(404);
        stats.answered(99);
        stats.answered(600);
        stats.sent(10);
        stats.sent(5);
        assert_eq!(
            (stats.responses(2), stats.responses(4), stats.responses(5)),
            (2, 1, 0)
        );
        assert_eq!(stats.responses(0), 0);
        let text = stats.prometheus();
        assert!(
            text.contains("\nhubmix_http_response_body_bytes_total 15\n"),
            "{text}"
        );
        assert!(
            text.contains("\nhubmix_http_responses_total{class=\"2xx\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE hubmix_http_responses_total counter\n"),
            "{text}"
        );
    }
}
