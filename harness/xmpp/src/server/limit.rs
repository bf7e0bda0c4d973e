//! A byte budget on reads: the connection layer resets it after every top-level element,
//! so it bounds the size of one stanza; past it, reads fail with `InvalidData`.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

/// The shared count of bytes consumed since the last reset.
#[derive(Debug, Clone)]
pub(crate) struct Counter {
    used: Arc<AtomicUsize>,
    max: usize,
}

impl Counter {
    /// Starts a new element's budget.
    pub(crate) fn reset(&self) {
        self.used.store(0, Ordering::Relaxed);
    }

    /// Whether the budget was exceeded.
    pub(crate) fn exceeded(&self) -> bool {
        self.used.load(Ordering::Relaxed) > self.max
    }
}

/// An `AsyncBufRead + AsyncWrite` whose reads stop once [`Counter`] is over budget.
#[derive(Debug)]
pub(crate) struct Limited<T> {
    inner: T,
    counter: Counter,
}

impl<T> Limited<T> {
    pub(crate) fn new(inner: T, max: usize) -> Self {
        Self {
            inner,
            counter: Counter {
                used: Arc::new(AtomicUsize::new(0)),
                max,
            },
        }
    }

    pub(crate) fn counter(&self) -> Counter {
        self.counter.clone()
    }

    fn over(&self) -> Option<io::Error> {
        self.counter.exceeded().then(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("stanza larger than {} bytes", self.counter.max),
            )
        })
    }
}

impl<T: AsyncBufRead + Unpin> AsyncRead for Limited<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.over() {
            return Poll::Ready(Err(e));
        }
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.counter.used.fetch_add(n, Ordering::Relaxed);
        r
    }
}

impl<T: AsyncBufRead + Unpin> AsyncBufRead for Limited<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if let Some(e) = this.over() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        self.counter.used.fetch_add(amt, Ordering::Relaxed);
        Pin::new(&mut self.inner).consume(amt)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Limited<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
