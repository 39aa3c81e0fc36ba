//! The HTTP server loop: at most `max_connections` connections at once, and
//! none kept by a client that does not use it.
//!
//! `axum::serve` keeps a connection for as long as the client likes: one
//! that sends nothing, or a header line every few seconds, holds a socket
//! and a task forever. Here each connection has a watchdog:
//!
//! - a new connection must bring its first request's headers within the
//!   header-read timeout;
//! - between requests, a connection may sit idle for the idle timeout;
//!   once a new request's first bytes arrive, its headers must be complete
//!   within the header-read timeout (HTTP/1.1: what hyper's own timer
//!   cannot tell apart, since it starts the moment a response is written);
//! - a request in flight is the handler's business: its body read has its
//!   own timeout (408, [`crate::extract::BodyObject`]) and the whole request
//!   the gateway's deadline; a response being written counts as use until
//!   its last byte is out;
//! - draining, a connection with nothing in flight closes within a second.
//!
//! Over the cap, the gateway stops accepting: new clients wait in the
//! kernel's backlog instead of costing a task each.

use std::{
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
};
use tower::ServiceExt as _;

/// How long clients may hold a connection, and how many may.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// A request's headers must arrive within this, counted from its first
    /// byte (or from the accept, for a connection's first request).
    pub header_read_timeout: Duration,
    /// A connection with no request in flight is closed after this.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    /// What a proxy in front would pick for an API of small requests:
    /// 10 s for headers (nginx allows 60, but nobody's browser needs it),
    /// a minute of keep-alive (under the 75 s of nginx and most load
    /// balancers' 60 s, so the gateway is not the side that surprises
    /// clients mid-request), and 10,000 connections (a file descriptor and
    /// a few KiB each).
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

/// How long a connection with nothing in flight lasts once draining.
const DRAIN_IDLE: Duration = Duration::from_secs(1);

/// Streams at once on one HTTP/2 connection.
const MAX_CONCURRENT_STREAMS: u32 = 128;

/// Serves `router` on `listener` until `shutdown`, then lets the open
/// connections finish (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The watchdog keeps time; hyper's own header timer would close a
    // kept-alive connection after the header timeout instead of the idle one.
    builder.http1().timer(TokioTimer::new()).header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather
                    // than spin; the listener itself is still good.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = Connection {
            router: router.clone(),
            builder: builder.clone(),
            limits,
            stopping: stopping.clone(),
        };
        tokio::spawn(async move {
            let _permit = permit;
            metrics::gauge!("actas_http_connections").increment(1.0);
            connection.run(stream, peer).await;
            metrics::gauge!("actas_http_connections").decrement(1.0);
        });
    }
    // No more accepts: clients that connect now are refused at once
    // rather than left in the backlog until the drain deadline.
    drop(listener);
    tracing::info!("gateway draining");
    let _ = stop.send(true);
    // Every connection holds a permit until it closes.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

struct Connection {
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: ConnectionLimits,
    stopping: watch::Receiver<bool>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, peer: SocketAddr) {
        // Responses leave at once: without TCP_NODELAY, Nagle's algorithm
        // and the client's delayed ACK can hold a response back ~40 ms.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        let use_ = Arc::new(Use::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            use_: use_.clone(),
        });
        let router = self.router.clone();
        let service_use = use_.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = service_use.begin(request.version() == http::Version::HTTP_2);
            let router = router.clone();
            async move {
                let response = router.oneshot(request.map(Body::new)).await;
                drop(in_flight);
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        });
        let served = self.builder.serve_connection(io, service);
        tokio::pin!(served);
        let mut draining = false;
        // Draining, a connection with nothing in flight closes within a
        // second of its last byte out: an HTTP/2 peer that ignores GOAWAY,
        // or a kept-alive one, must not hold the pod to the drain deadline.
        let drain = ConnectionLimits {
            idle_timeout: DRAIN_IDLE.min(self.limits.idle_timeout),
            header_read_timeout: DRAIN_IDLE.min(self.limits.header_read_timeout),
            ..self.limits
        };
        loop {
            tokio::select! {
                result = served.as_mut() => {
                    if let Err(error) = result {
                        // A client that went away: its business, not a fault.
                        tracing::debug!(%error, "connection ended with an error");
                    }
                    return;
                }
                reason = use_.expired(if draining { &drain } else { &self.limits }) => {
                    metrics::counter!("actas_http_connections_closed_total", "reason" => reason).increment(1);
                    tracing::debug!(reason, "closing an unused connection");
                    // Dropping the connection closes the socket; nothing is in flight.
                    return;
                }
                changed = self.stopping.changed(), if !draining => {
                    if changed.is_err() || *self.stopping.borrow() {
                        draining = true;
                        served.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// What the watchdog knows of a connection, in milliseconds since it opened.
struct Use {
    opened: Instant,
    in_flight: AtomicUsize,
    served: AtomicU64,
    idle_since: AtomicU64,
    /// When the first byte of a request not yet handed to the router came.
    request_started: AtomicU64,
    /// HTTP/2 frames (window updates, pings, settings) arrive between
    /// requests: on such a connection bytes do not start a request.
    multiplexed: AtomicBool,
}

const NOT_YET: u64 = u64::MAX;

/// A duration in the watchdog's milliseconds.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(NOT_YET / 2)
}

impl Use {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            request_started: AtomicU64::new(NOT_YET),
            multiplexed: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(NOT_YET - 1)
    }

    /// Bytes went out: a response is still being written (the handler is
    /// done before hyper has sent its body), so the connection is in use.
    fn wrote(&self) {
        self.idle_since.store(self.now(), Ordering::SeqCst);
    }

    /// Bytes came in.
    fn read(&self) {
        if self.in_flight.load(Ordering::SeqCst) == 0
            && !self.multiplexed.load(Ordering::SeqCst)
            && self.request_started.load(Ordering::SeqCst) == NOT_YET
        {
            self.request_started.store(self.now(), Ordering::SeqCst);
        }
    }

    /// A request reached the router; the guard marks its end.
    fn begin(self: &Arc<Self>, multiplexed: bool) -> InFlight {
        if multiplexed {
            self.multiplexed.store(true, Ordering::SeqCst);
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.request_started.store(NOT_YET, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Resolves with the reason once the connection has been unused too long.
    ///
    /// Nothing wakes it when a request comes or goes (a wake-up per request
    /// would cost more than the whole watchdog): it sleeps until the due
    /// moment or for the shorter of the two timeouts, whichever is first,
    /// then looks again. That is never late: whatever happens after a look
    /// (a request starts, ends, or its first byte comes) is due no sooner
    /// than the shorter timeout after that look.
    async fn expired(&self, limits: &ConnectionLimits) -> &'static str {
        let look_again = millis(limits.header_read_timeout.min(limits.idle_timeout));
        loop {
            let now = self.now();
            let wake = match self.deadline(limits) {
                Some((deadline, reason)) if now >= deadline => return reason,
                Some((deadline, _)) => deadline.min(now.saturating_add(look_again)),
                None => now.saturating_add(look_again),
            };
            tokio::time::sleep(Duration::from_millis(wake.saturating_sub(now).max(1))).await;
        }
    }

    /// The next moment the connection is due to close, if nothing happens.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(u64, &'static str)> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let header = millis(limits.header_read_timeout);
        let started = self.request_started.load(Ordering::SeqCst);
        let idle_since = self.idle_since.load(Ordering::SeqCst);
        if self.served.load(Ordering::SeqCst) == 0 {
            // The first request: its headers are due from the accept.
            return Some((header, "header_timeout"));
        }
        if started != NOT_YET {
            // A request is arriving: its headers get their full time.
            return Some((started.saturating_add(header), "header_timeout"));
        }
        Some((idle_since.saturating_add(millis(limits.idle_timeout)), "idle"))
    }
}

/// A request in flight on its connection; dropped when its handler is done.
struct InFlight(Arc<Use>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let use_ = &self.0;
        use_.served.fetch_add(1, Ordering::SeqCst);
        use_.idle_since.store(use_.now(), Ordering::SeqCst);
        use_.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The socket, telling the watchdog when bytes come in.
struct Watched {
    inner: TcpStream,
    use_: Arc<Use>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.use_.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.use_.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.use_.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
