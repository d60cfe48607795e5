//! What the hub and the HTTP router ask of a generation: the methods of a
//! hook path (for a 405), and hub hooks refused without a hub.
use hyper::Method;

use super::support::{config, start, write, Recorder};
use crate::http::DynamicRoutes;
use crate::jsvm::{Jsvm, JsvmRoutes};

#[tokio::test]
async fn hook_paths_list_their_methods_for_a_405() {
    let vm = start(&[(
        "a.pb.js",
        "routerAdd('GET', '/a/:x', (e) => e.noContent()); routerAdd('POST', '/a/:x', (e) => e.noContent())",
    )]);
    let routes = JsvmRoutes(vm.jsvm.clone());
    assert_eq!(
        routes.allowed("/a/1"),
        [Method::GET, Method::HEAD, Method::POST]
    );
    assert!(routes.allowed("/b").is_empty());
}

#[test]
fn hub_hooks_without_a_hub_refuse_to_load_naming_the_plugin() {
    for src in [
        "onWsConnect((e) => e.next())",
        "onWsDisconnect((e) => e.next())",
        "onWsMessage('chat', (e) => e.next())",
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), &[("a.pb.js", src)]);
        let err = match Jsvm::start(config(dir.path()), Recorder::new()) {
            Ok(_) => panic!("{src} loaded without a hub"),
            Err(e) => e,
        };
        assert!(
            err.message.contains("needs the engine's HubPlugin"),
            "{src}: {err}"
        );
        assert_eq!(err.file, "a.pb.js");
    }
}
