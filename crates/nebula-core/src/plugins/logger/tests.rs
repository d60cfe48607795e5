use std::fmt::Debug;
use std::net::IpAddr;

use hyper::header::HeaderValue;
use hyper::{Method, StatusCode};
use parking_lot::Mutex;
use serde_json::json;

use super::*;
use crate::kernel::Classify;
use crate::kernel::TestRequest;

/// A Vec-backed output the test reads.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Harness {
    plugin: LoggerPlugin,
    out: Captured,
}

impl Harness {
    fn new(options: Value) -> Harness {
        let out = Captured::default();
        let plugin = LoggerPlugin::with_writer(&options, Box::new(out.clone()), 64).unwrap();
        Harness { plugin, out }
    }

    fn layer(&self, options: Value) -> Arc<dyn NativeLayer> {
        self.plugin.layer(&options).unwrap().unwrap()
    }

    fn lines(&self) -> Vec<String> {
        assert!(self.plugin.flush(Duration::from_secs(5)));
        let text = String::from_utf8(self.out.0.lock().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }
}

/// What one request left behind: the reply and the locals handed to JS.
struct Done {
    reply: Reply,
    locals: Vec<(String, Value)>,
}

fn request(layer: &dyn NativeLayer, headers: &[(&str, &str)], peer: Option<IpAddr>) -> Done {
    let mut request = TestRequest::new(Method::POST, "/users/42");
    request.target = "/users/42?x=1".into();
    request.route = "/users/:id".into();
    request.peer = peer;
    for (k, v) in headers {
        request.headers.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let mut ctx = request.ctx();
    assert!(matches!(layer.before(&mut ctx), Flow::Continue));
    let mut reply = Reply::json(StatusCode::CREATED, r#"{"ok":true}"#.into());
    layer.after(&ctx, &mut reply);
    Done {
        reply,
        locals: request.locals,
    }
}

fn header<'a>(d: &'a Done, name: &str) -> &'a str {
    d.reply.headers.get(name).unwrap().to_str().unwrap()
}

#[test]
fn generates_an_id_hands_it_to_js_and_logs_a_json_line() {
    let h = Harness::new(json!({}));
    let layer = h.layer(json!({}));
    let d = request(&*layer, &[], Some("10.0.0.7".parse().unwrap()));
    let id = header(&d, "x-request-id").to_owned();
    assert_eq!(id.len(), 29);
    assert_eq!(d.locals, vec![("requestId".to_owned(), json!(id))]);
    let lines = h.lines();
    assert_eq!(lines.len(), 1);
    let v: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["level"], "info");
    assert_eq!(v["msg"], "request");
    assert_eq!(v["method"], "POST");
    assert_eq!(v["path"], "/users/42");
    assert_eq!(v["route"], "/users/:id");
    assert_eq!(v["status"], 201);
    assert_eq!(v["bytes"], 11);
    assert_eq!(v["request_id"], json!(id));
    assert_eq!(v["peer"], "10.0.0.7");
    assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn generated_ids_differ_per_request() {
    let h = Harness::new(json!({}));
    let layer = h.layer(json!({}));
    let a = request(&*layer, &[], None);
    let b = request(&*layer, &[], None);
    assert_ne!(header(&a, "x-request-id"), header(&b, "x-request-id"));
}

#[test]
fn a_sane_incoming_id_is_propagated() {
    let h = Harness::new(json!({}));
    let layer = h.layer(json!({}));
    let d = request(&*layer, &[("x-request-id", "client-id-1")], None);
    assert_eq!(header(&d, "x-request-id"), "client-id-1");
    assert_eq!(d.locals[0].1, json!("client-id-1"));
    let v: Value = serde_json::from_str(&h.lines()[0]).unwrap();
    assert_eq!(v["request_id"], "client-id-1");
    assert!(v["peer"].is_null());
}

#[test]
fn an_insane_incoming_id_is_replaced() {
    let h = Harness::new(json!({}));
    let layer = h.layer(json!({}));
    let long = "a".repeat(129);
    for bad in [long.as_str(), "with space", ""] {
        let d = request(&*layer, &[("x-request-id", bad)], None);
        let id = header(&d, "x-request-id");
        assert_ne!(id, bad);
        assert_eq!(id.len(), 29, "generated instead of {bad:?}");
    }
    let ok = "b".repeat(128);
    let d = request(&*layer, &[("x-request-id", &ok)], None);
    assert_eq!(header(&d, "x-request-id"), ok);
}

#[test]
fn pretty_format_and_a_custom_header() {
    let h = Harness::new(json!({ "format": "pretty", "requestIdHeader": "X-Trace" }));
    let layer = h.layer(json!({}));
    let d = request(
        &*layer,
        &[("x-trace", "t-1"), ("x-request-id", "ignored")],
        None,
    );
    assert_eq!(header(&d, "x-trace"), "t-1");
    assert!(d.reply.headers.get("x-request-id").is_none());
    let lines = h.lines();
    let parts: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(parts.len(), 6, "{lines:?}");
    assert_eq!(&parts[..3], ["POST", "/users/42", "201"]);
    assert!(parts[3].ends_with("ms") && parts[3].contains('.'));
    assert_eq!(parts[4], "11B");
    assert_eq!(parts[5], "t-1");
}

#[test]
fn route_options_override_the_plugin_and_access_log_false_prints_nothing() {
    let h = Harness::new(json!({ "format": "pretty" }));
    let quiet = h.layer(json!({ "accessLog": false }));
    let d = request(&*quiet, &[], None);
    assert!(d.reply.headers.contains_key("x-request-id"));
    let json_layer = h.layer(json!({ "format": "json" }));
    request(&*json_layer, &[], None);
    let lines = h.lines();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with('{'));
}

#[test]
fn invalid_options_name_the_option() {
    let bad = [
        (json!({ "format": "xml" }), "format"),
        (json!({ "format": 1 }), "format"),
        (
            json!({ "requestIdHeader": "bad header" }),
            "requestIdHeader",
        ),
        (json!({ "requestIdHeader": 3 }), "requestIdHeader"),
        (json!({ "accessLog": "no" }), "accessLog"),
        (json!({ "output": "file" }), "output"),
        (json!([]), "object"),
    ];
    for (options, name) in bad {
        let err = create(&options).err().unwrap();
        assert!(err.is_bad_input(), "{err}");
        assert!(err.to_string().contains(name), "{err}");
    }
    let h = Harness::new(json!(null));
    let err = h.plugin.layer(&json!({ "format": "yaml" })).err().unwrap();
    assert!(err.to_string().contains("format"), "{err}");
    assert!(create(&json!({ "output": "stderr", "format": "pretty" })).is_ok());
}

/// A minimal `tracing` subscriber recording events as (target, fields).
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Recorded>>>);

/// An event's target and its fields as (name, value).
type Recorded = (String, Vec<(String, String)>);

struct Fields(Vec<(String, String)>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl tracing::Subscriber for Events {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        let target = event.metadata().target().to_owned();
        self.0.lock().push((target, fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn emits_a_tracing_event_on_the_access_target() {
    let h = Harness::new(json!({}));
    let layer = h.layer(json!({}));
    let events = Events::default();
    // Other test threads register and drop scoped dispatchers all the time,
    // and tracing's interest rebuilds race: one that started before this
    // subscriber existed can store "nobody listens" for the callsite after
    // ours. So the request is retried (a few times at most) while nothing
    // arrived; the assertions below still want exactly one event.
    for _ in 0..5 {
        tracing::subscriber::with_default(events.clone(), || {
            tracing::callsite::rebuild_interest_cache();
            request(
                &*layer,
                &[("x-request-id", "trace-me")],
                Some("::1".parse().unwrap()),
            );
        });
        if !events.0.lock().is_empty() {
            break;
        }
    }
    let got = events.0.lock();
    assert_eq!(got.len(), 1);
    let (target, fields) = &got[0];
    assert_eq!(target, TARGET);
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("message"), Some("request"));
    assert_eq!(get("method"), Some("POST"));
    assert_eq!(get("route"), Some("/users/:id"));
    assert_eq!(get("status"), Some("201"));
    assert_eq!(get("bytes"), Some("11"));
    assert_eq!(get("request_id"), Some("trace-me"));
    assert_eq!(get("peer"), Some("::1"));
    assert!(get("duration_ms").is_some());
}
