//! A response body a handler writes chunk by chunk (a streamed action): the
//! handler answers at once with a [`JsResponse`] whose body is the receiving
//! end of a bounded channel, and writes through the [`BodySink`] it gets
//! back. When the client goes away, hyper drops the body: the next `write`
//! resolves to false and `closed()` resolves, so the handler can stop.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Frame;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio::sync::{mpsc, Notify};

use nebula_core::kernel::{StreamBody, Streamed};

/// Chunks written and not yet sent: a writer that outpaces the client waits.
const CHUNKS_IN_FLIGHT: usize = 16;

/// Set once the body is dropped (sent to its end, or its client went away).
#[derive(Default)]
struct Gone {
    done: AtomicBool,
    notify: Notify,
}

/// Lives inside the body: its drop is the body's end.
struct GoneOnDrop(Arc<Gone>);

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        self.0.done.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }
}

/// A sink for JS and the body it feeds.
pub(super) fn channel() -> (BodySink, Streamed) {
    let (tx, rx) = mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
    let gone = Arc::new(Gone::default());
    let state = (rx, GoneOnDrop(gone.clone()));
    let chunks = futures_util::stream::unfold(state, |(mut rx, guard)| async move {
        let chunk = rx.recv().await?;
        Some((Ok::<_, std::io::Error>(Frame::data(chunk)), (rx, guard)))
    });
    let body: StreamBody = http_body_util::StreamBody::new(chunks).boxed_unsync();
    (BodySink { tx: Some(tx), gone }, Streamed::new(body))
}

/// The writing end of a streamed response body.
#[napi]
pub struct BodySink {
    tx: Option<mpsc::Sender<Bytes>>,
    gone: Arc<Gone>,
}

#[napi]
impl BodySink {
    /// Queues a chunk; resolves to false when the client has gone (or after `end()`).
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn write<'env>(&self, env: &'env Env, chunk: Buffer) -> Result<PromiseRaw<'env, bool>> {
        let tx = self.tx.clone();
        let bytes = Bytes::copy_from_slice(&chunk);
        env.spawn_future(async move {
            Ok(match tx {
                Some(tx) => tx.send(bytes).await.is_ok(),
                None => false,
            })
        })
    }

    /// Resolves once the body is over: sent to its end after `end()`, or its client went away.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn closed<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let gone = self.gone.clone();
        env.spawn_future(async move {
            let notified = gone.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !gone.done.load(Ordering::SeqCst) {
                notified.await;
            }
            Ok(())
        })
    }

    /// Ends the body once the chunks written so far are sent.
    #[napi]
    pub fn end(&mut self) {
        self.tx = None;
    }
}
