//! Dynamic routes (the script VM's hook routes): where they sit in the
//! lookup order, the native layers around them, their bodies and limits,
//! and routes that change while the service runs — all without a call to
//! the JavaScript dispatcher.
mod common;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use nebula_core::http::router::trie::TrieRouter;
use nebula_core::http::router::{Lookup, Router};
use nebula_core::http::static_files::{CachePolicy, StaticFiles, StaticMount};
use nebula_core::http::{
    DynCall, DynMatch, DynRequest, DynamicRoutes, JsRequest, ServerConfig, Service, ServiceBuilder,
};
use nebula_core::kernel::{BoxFuture, Flow, LayerCtx, NativeLayer, Reply};
use parking_lot::RwLock;
use serde_json::{json, Value};

use common::{answer, answer_next, body_json, build};

/// Routes held in a router that tests replace while the service runs.
#[derive(Default)]
struct Hooks(RwLock<(TrieRouter, HashMap<usize, String>)>);

impl Hooks {
    fn set(&self, routes: &[(Method, &str)]) {
        let mut router = TrieRouter::default();
        let mut names = HashMap::new();
        for (i, (m, p)) in routes.iter().enumerate() {
            router.add(m.clone(), p, i).unwrap();
            names.insert(i, p.to_string());
        }
        *self.0.write() = (router, names);
    }
}

/// Answers with what it received, as JSON.
struct Echo(String);

impl DynCall for Echo {
    fn call(self: Box<Self>, req: DynRequest) -> BoxFuture<Reply> {
        Box::pin(async move {
            let body = json!({
                "route": self.0,
                "method": req.method.as_str(),
                "target": req.target,
                "params": req.params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<HashMap<_, _>>(),
                "body": String::from_utf8_lossy(&req.body),
                "locals": req.locals.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>(),
            });
            Reply::json(StatusCode::OK, body.to_string())
        })
    }
}

impl DynamicRoutes for Hooks {
    fn lookup(&self, method: &Method, path: &str) -> Option<DynMatch> {
        let guard = self.0.read();
        match guard.0.lookup(method, path) {
            Lookup::Found(m) => {
                let pattern = guard.1.get(&m.id)?.clone();
                Some(DynMatch {
                    pattern: Arc::from(pattern.as_str()),
                    params: m.params,
                    call: Box::new(Echo(pattern)),
                })
            }
            _ => None,
        }
    }
}

/// A layer like the native plugins: refuses `x-deny`, hands a local over,
/// marks every answer, and answers CORS preflights.
struct Guard;

impl NativeLayer for Guard {
    fn name(&self) -> &'static str {
        "guard"
    }

    fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
        if ctx.headers.contains_key("x-deny") {
            return Flow::Respond(Reply::error(StatusCode::TOO_MANY_REQUESTS, "denied"));
        }
        if ctx.method == Method::OPTIONS && ctx.headers.contains_key("origin") {
            return Flow::Respond(Reply::empty(StatusCode::NO_CONTENT));
        }
        ctx.locals
            .push(("user".into(), json!({ "id": 7, "route": ctx.route })));
        Flow::Continue
    }

    fn after(&self, _ctx: &LayerCtx<'_>, reply: &mut Reply) {
        reply
            .headers
            .insert("x-guarded", HeaderValue::from_static("yes"));
    }
}

fn service(hooks: Arc<Hooks>, config: ServerConfig) -> Arc<Service> {
    service_and_dispatch(hooks, config).0
}

fn service_and_dispatch(
    hooks: Arc<Hooks>,
    config: ServerConfig,
) -> (
    Arc<Service>,
    tokio::sync::mpsc::UnboundedReceiver<JsRequest>,
) {
    let mut b = ServiceBuilder::new(config);
    b.add_route(&[Method::GET], "/api/ts", 0).unwrap();
    b.info(nebula_core::http::AppInfo::default());
    b.dynamic(hooks, vec![Arc::new(Guard)]);
    let dir = std::env::temp_dir().join(format!("nebula-dyn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("page.txt"), "static").unwrap();
    b.statics(
        StaticFiles::new(vec![StaticMount {
            prefix: "/".into(),
            root: dir,
            cache: CachePolicy::default(),
        }])
        .unwrap(),
    );
    build(b)
}

fn req(method: Method, path: &str, body: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

#[tokio::test]
async fn a_dynamic_route_is_answered_in_rust_inside_the_layers() {
    let hooks = Arc::new(Hooks::default());
    hooks.set(&[(Method::POST, "/api/hello/:name")]);
    let svc = service(hooks, ServerConfig::default());
    let res = svc
        .handle(req(Method::POST, "/api/hello/ann?x=1", "payload"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-guarded"], "yes");
    let v: Value = body_json(res).await;
    assert_eq!(v["route"], "/api/hello/:name");
    assert_eq!(v["target"], "/api/hello/ann?x=1");
    assert_eq!(v["params"]["name"], "ann");
    assert_eq!(v["body"], "payload");
    assert_eq!(
        v["locals"]["user"],
        json!({ "id": 7, "route": "/api/hello/:name" })
    );
    assert_eq!(svc.stats().js_calls, 0, "JavaScript was never called");
}

#[tokio::test]
async fn layers_may_refuse_a_dynamic_route_and_answer_its_preflight() {
    let hooks = Arc::new(Hooks::default());
    hooks.set(&[(Method::POST, "/api/x")]);
    let svc = service(hooks, ServerConfig::default());
    let mut r = req(Method::POST, "/api/x", "");
    r.headers_mut()
        .insert("x-deny", HeaderValue::from_static("1"));
    let res = svc.handle(r).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["x-guarded"], "yes");
    let mut pre = req(Method::OPTIONS, "/api/x", "");
    pre.headers_mut()
        .insert("origin", HeaderValue::from_static("https://a.example"));
    pre.headers_mut().insert(
        "access-control-request-method",
        HeaderValue::from_static("POST"),
    );
    assert_eq!(svc.handle(pre).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn lookup_order_routes_builtins_dynamic_static() {
    let hooks = Arc::new(Hooks::default());
    hooks.set(&[
        (Method::GET, "/api/ts"),
        (Method::GET, "/health"),
        (Method::GET, "/page.txt"),
        (Method::POST, "/api/ts"),
    ]);
    let (svc, mut js) = service_and_dispatch(hooks, ServerConfig::default());
    // The service's own route wins: it goes to the JavaScript dispatcher.
    let pending = tokio::spawn({
        let svc = svc.clone();
        async move { svc.handle(req(Method::GET, "/api/ts", "")).await.status() }
    });
    let dispatched = answer_next(&svc, &mut js, answer(200, &[], "from js")).await;
    assert_eq!(dispatched.route, 0);
    assert_eq!(pending.await.unwrap(), StatusCode::OK);
    // Built-ins win over dynamic routes.
    let health: Value = body_json(svc.handle(req(Method::GET, "/health", "")).await).await;
    assert_eq!(health, json!({ "status": "ok" }));
    // Dynamic routes win over static files.
    let page: Value = body_json(svc.handle(req(Method::GET, "/page.txt", "")).await).await;
    assert_eq!(page["route"], "/page.txt");
    // A preflight asking about the dynamic route's method reaches its layers.
    let mut pre = req(Method::OPTIONS, "/api/ts", "");
    pre.headers_mut()
        .insert("origin", HeaderValue::from_static("https://a.example"));
    pre.headers_mut().insert(
        "access-control-request-method",
        HeaderValue::from_static("POST"),
    );
    assert_eq!(svc.handle(pre).await.status(), StatusCode::NO_CONTENT);
    // A dynamic route for another method than the service's route answers.
    let post: Value = body_json(svc.handle(req(Method::POST, "/api/ts", "")).await).await;
    assert_eq!(post["route"], "/api/ts");
}

#[tokio::test]
async fn routes_change_while_the_service_runs() {
    let hooks = Arc::new(Hooks::default());
    let svc = service(hooks.clone(), ServerConfig::default());
    let missing = svc.handle(req(Method::GET, "/api/new", "")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    hooks.set(&[(Method::GET, "/api/new")]);
    assert_eq!(
        svc.handle(req(Method::GET, "/api/new", "")).await.status(),
        StatusCode::OK
    );
    hooks.set(&[]);
    let gone = svc.handle(req(Method::GET, "/api/new", "")).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body_json(gone).await["message"],
        "no route for GET /api/new"
    );
    // Static files still answer when no dynamic route matches.
    assert_eq!(
        svc.handle(req(Method::GET, "/page.txt", "")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_dynamic_route_body_over_the_limit_is_413() {
    let hooks = Arc::new(Hooks::default());
    hooks.set(&[(Method::POST, "/api/upload")]);
    let config = ServerConfig {
        body_limit: 8,
        ..ServerConfig::default()
    };
    let svc = service(hooks, config);
    let res = svc
        .handle(req(Method::POST, "/api/upload", "0123456789"))
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
