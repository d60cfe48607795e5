//! The ceiling for `npm run bench`: nebula's own Rust server and router
//! answering the JSON hello route from Rust, with no JavaScript at all.
//! Usage: cargo run --release --example ceiling -- <port>
use std::sync::{Arc, OnceLock, Weak};

use bytes::Bytes;
use hyper::Method;
use nebula_core::http::server;
use nebula_core::http::{
    DispatchError, Dispatcher, JsRequest, JsResponse, ServerConfig, Service, ServiceBuilder,
};

/// Answers every request at once with the same bytes as the JS contenders.
struct Hello(OnceLock<Weak<Service>>);

impl Dispatcher for Hello {
    fn dispatch(&self, req: JsRequest) -> Result<(), DispatchError> {
        let service = self
            .0
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| DispatchError("service gone".into()))?;
        service.complete(
            req.id,
            JsResponse {
                status: 200,
                headers: vec![(
                    "content-type".into(),
                    "application/json; charset=utf-8".into(),
                )],
                body: Bytes::from_static(br#"{"hello":"world"}"#),
                stream: None,
            },
        );
        Ok(())
    }
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let workers = std::env::var("NEBULA_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut b = ServiceBuilder::new(ServerConfig::default());
        b.add_route(&[Method::GET], "/", 0)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let hello = Arc::new(Hello(OnceLock::new()));
        let service = b.build(hello.clone());
        let _ = hello.0.set(Arc::downgrade(&service));
        let handle = server::listen(service, "127.0.0.1", port).await?;
        println!("ready {}", handle.local_addr().port());
        std::future::pending::<()>().await;
        Ok(())
    })
}
