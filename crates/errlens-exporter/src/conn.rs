//! The HTTP server's connections, whatever the listener (plain or TLS): each is served
//! by hyper's HTTP/1.1 server ([`serve`]) under these limits, in the manner of Go's
//! `http.Server`:
//!
//! - at most `--web.max-connections` open at once (further clients wait in the
//!   kernel's backlog until one closes);
//! - `--web.header-timeout`: a request head must arrive whole within this time,
//!   counted from the connection's accept for its first request and from the first
//!   byte of each later one; past it the connection is closed, however steadily the
//!   head trickles in (hyper's `header_read_timeout`, on a timer that does not count
//!   the wait between keep-alive requests);
//! - `--web.body-timeout`: a request body must arrive whole within this time from the
//!   end of its head, or the request gets 408 and the connection is closed
//!   ([`body_deadline`], a router layer; nothing of the body reaches a handler);
//! - `--web.read-timeout`: a connection that makes no progress at all — no byte read
//!   or written — for this long is closed: a stalled client, and an idle keep-alive
//!   connection.
//!
//! On the shutdown signal, no new connection is accepted and the open ones finish the
//! request in progress (hyper's graceful shutdown).

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body::{Frame, SizeHint};
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// The limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// The longest a connection may go without a byte read or written
    /// (`--web.read-timeout`).
    pub idle_timeout: Duration,
    /// The longest a request head may take to arrive (`--web.header-timeout`).
    pub header_timeout: Duration,
    /// The longest a request body may take to arrive once its head has
    /// (`--web.body-timeout`; applied by the router, see [`body_deadline`]).
    pub body_timeout: Duration,
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes; then stops
/// accepting, lets each open connection finish the request in progress, and returns
/// once all are closed (the caller bounds that wait).
pub async fn serve<L>(
    listener: L,
    limits: Limits,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    L: axum::serve::Listener,
{
    let mut listener = Guarded::new(listener, limits);
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a sender: when all are dropped, all have ended.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let mut shutdown = pin!(shutdown);
    loop {
        let io = tokio::select! {
            (io, _) = listener.accept() => io,
            () = &mut shutdown => break,
        };
        let (router, stop, open) = (router.clone(), stop_rx.clone(), open_tx.clone());
        tokio::spawn(async move {
            connection(io, limits.header_timeout, router, stop).await;
            drop(open);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(open_tx);
    let _ = open_rx.recv().await;
    Ok(())
}

/// One connection, to its end or, after the stop signal, to the end of the request in
/// progress.
async fn connection<I>(
    io: Timed<I>,
    header_timeout: Duration,
    router: Router,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let clock = HeadClock {
        bytes_read: io.bytes_read.clone(),
        armed: Arc::new(AtomicBool::new(false)),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(clock).header_read_timeout(header_timeout);
    let service = hyper_util::service::TowerToHyperService::new(router);
    let mut conn = pin!(builder.serve_connection(hyper_util::rt::TokioIo::new(io), service));
    tokio::select! {
        // An error is the client's doing (it left, stalled, sent no valid request);
        // the connection ends all the same.
        _ = conn.as_mut() => return,
        _ = stop.wait_for(|stop| *stop) => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// hyper's timer for its `header_read_timeout`, one per connection. hyper starts the
/// header clock as soon as it waits for a request head: on a new connection, as Go
/// does; but on a keep-alive connection that is right after the previous response,
/// when the client may well send nothing for a while (Prometheus scrapes every 15 s).
/// So after the first request the clock starts at the first byte read instead — the
/// wait before it is idle time, which `--web.read-timeout` bounds.
#[derive(Clone)]
struct HeadClock {
    /// Bytes the connection has read so far ([`Timed`] counts them).
    bytes_read: Arc<AtomicU64>,
    /// Whether the clock ran for a request head already.
    armed: Arc<AtomicBool>,
}

impl hyper::rt::Timer for HeadClock {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(std::time::Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let length = deadline.saturating_duration_since(std::time::Instant::now());
        let first = !self.armed.swap(true, Ordering::Relaxed);
        Box::pin(HeadSleep {
            length,
            bytes_read: self.bytes_read.clone(),
            read_before: self.bytes_read.load(Ordering::Relaxed),
            sleep: first.then(|| Box::pin(tokio::time::sleep(length))),
        })
    }
}

/// A header clock that, unless already started, starts once a byte has been read.
struct HeadSleep {
    length: Duration,
    bytes_read: Arc<AtomicU64>,
    read_before: u64,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl hyper::rt::Sleep for HeadSleep {}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.sleep.is_none() {
            // hyper polls this clock after every read that leaves the head incomplete,
            // so the first byte is seen as it arrives; no wake-up is needed before it.
            if this.bytes_read.load(Ordering::Relaxed) == this.read_before {
                return Poll::Pending;
            }
            this.sleep = Some(Box::pin(tokio::time::sleep(this.length)));
        }
        match &mut this.sleep {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

/// A listener whose connections are capped in number and closed when stalled.
struct Guarded<L> {
    inner: L,
    slots: Arc<Semaphore>,
    idle: Duration,
}

impl<L: axum::serve::Listener> Guarded<L> {
    /// `inner` under `limits`.
    fn new(inner: L, limits: Limits) -> Guarded<L> {
        Guarded {
            inner,
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            idle: limits.idle_timeout,
        }
    }

    async fn accept(&mut self) -> (Timed<L::Io>, L::Addr) {
        // A slot first: at the cap, the next client waits in the backlog.
        let permit = match self.slots.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => std::future::pending().await,
        };
        let (io, addr) = self.inner.accept().await;
        (Timed::new(io, self.idle, permit), addr)
    }
}

/// A connection that fails with `TimedOut` once it has made no progress for the idle
/// timeout, counts the bytes it reads, and frees its slot when dropped.
struct Timed<I> {
    io: I,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    bytes_read: Arc<AtomicU64>,
    _slot: OwnedSemaphorePermit,
}

impl<I> Timed<I> {
    fn new(io: I, idle: Duration, slot: OwnedSemaphorePermit) -> Timed<I> {
        Timed {
            io,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            bytes_read: Arc::new(AtomicU64::new(0)),
            _slot: slot,
        }
    }

    fn progressed(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    /// On a pending read or write: whether the idle time is up.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "connection idle past --web.read-timeout",
    )
}

impl<I: AsyncRead + Unpin> AsyncRead for Timed<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                let read = buf.filled().len().saturating_sub(before) as u64;
                this.bytes_read.fetch_add(read, Ordering::Relaxed);
                this.progressed();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Timed<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.progressed();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// The router layer of `--web.body-timeout`: the request body must arrive whole within
/// `timeout` of this point (the head has been read and checked). A body still arriving
/// then fails to read — so no handler counts any of it — and the request gets 408 with
/// `Connection: close`, whatever the handler made of the failed read. `None`: no limit.
pub async fn body_deadline(timeout: Option<Duration>, req: Request, next: Next) -> Response {
    let Some(timeout) = timeout else {
        return next.run(req).await;
    };
    let late = Arc::new(AtomicBool::new(false));
    let req = req.map(|body| {
        Body::new(DeadlineBody {
            inner: body,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            late: late.clone(),
        })
    });
    let response = next.run(req).await;
    if !late.load(Ordering::Acquire) {
        return response;
    }
    (
        StatusCode::REQUEST_TIMEOUT,
        [(header::CONNECTION, "close")],
        "the request body did not arrive within --web.body-timeout\n",
    )
        .into_response()
}

/// A request body that fails once its deadline passes before its end.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    late: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => {
                this.late.store(true, Ordering::Release);
                Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request body not read within --web.body-timeout",
                )
                .into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
