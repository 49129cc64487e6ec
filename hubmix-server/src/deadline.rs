//! Progress deadlines of the API's connections: a request body that sends nothing for the idle
//! time ends in an error ([`ProgressBody`]), and so does a write to a client that reads nothing
//! for that long ([`WriteDeadline`]). Waiting for a request head is hyper's header deadline.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A timer that runs while something waits, and is disarmed by progress.
#[derive(Debug)]
struct Stall {
    idle: Duration,
    /// Made on the first wait, then reset: one allocation per connection or body.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl Stall {
    fn new(idle: Duration) -> Self {
        Stall {
            idle,
            timer: None,
            armed: false,
        }
    }

    /// Something moved: the next wait starts a new idle period.
    fn progressed(&mut self) {
        self.armed = false;
    }

    /// Still waiting: ready once the idle time has passed since the wait began.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.armed
            && let Some(timer) = &mut self.timer
        {
            timer.as_mut().reset(Instant::now() + self.idle);
        }
        self.armed = true;
        let idle = self.idle;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        timer.as_mut().poll(cx)
    }
}

/// What a stalled request body ends with.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body sent nothing for {} s (the server's --idle-timeout-secs): send it without pauses",
    .0.as_secs_f64()
)]
pub(crate) struct BodyStalled(Duration);

/// A request body that fails once it has sent nothing for the idle time while it was read, and
/// ends there: the handler sees an error (an upload keeps none of it), and what is left unread is
/// not waited for again.
#[derive(Debug)]
pub(crate) struct ProgressBody<B> {
    inner: B,
    stall: Stall,
    stalled: bool,
}

impl<B> ProgressBody<B> {
    /// `inner`, cut off after `idle` without data.
    pub(crate) fn new(inner: B, idle: Duration) -> Self {
        ProgressBody {
            inner,
            stall: Stall::new(idle),
            stalled: false,
        }
    }
}

impl<B> Body for ProgressBody<B>
where
    B: Body + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = B::Data;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.stalled {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.stall.progressed();
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                ready!(this.stall.poll_expired(cx));
                this.stalled = true;
                Poll::Ready(Some(Err(BodyStalled(this.stall.idle).into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.stalled || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.stalled {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

/// A connection whose writes fail once the peer has taken nothing for the idle time, so that a
/// client that stops reading an answer does not hold its connection (and the answer's file) for
/// ever. Reads pass through: their deadlines are the header deadline and [`ProgressBody`].
#[derive(Debug)]
pub(crate) struct WriteDeadline<T> {
    inner: T,
    stall: Stall,
}

impl<T> WriteDeadline<T> {
    /// `inner`, its writes cut off after `idle` without progress.
    pub(crate) fn new(inner: T, idle: Duration) -> Self {
        WriteDeadline {
            inner,
            stall: Stall::new(idle),
        }
    }

    /// `Pending` until the idle time has passed, then the error that ends the connection.
    fn poll_stalled<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        ready!(self.stall.poll_expired(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client read nothing for {} s", self.stall.idle.as_secs_f64()),
        )))
    }

    /// Passes a finished write through, or starts or checks the idle time.
    fn after_write<R>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match polled {
            Poll::Ready(r) => {
                self.stall.progressed();
                Poll::Ready(r)
            }
            Poll::Pending => self.poll_stalled(cx),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.after_write(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.after_write(cx, polled)
    }
}
