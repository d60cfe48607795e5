//! Tests for [`StaticFiles`] against real temporary directories.

use super::*;
use http_body_util::{BodyExt, Either};
use hyper::header::{HeaderName, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use std::fs;
use std::time::Duration;
use tempfile::TempDir;

/// `outer/secret.txt` (must never be served) and `outer/root/` (the mount),
/// with a few files in the root.
struct Fixture {
    outer: TempDir,
}

impl Fixture {
    fn new() -> Self {
        let outer = tempfile::tempdir().expect("tempdir");
        fs::write(outer.path().join("secret.txt"), "TOP SECRET").expect("secret");
        let root = outer.path().join("root");
        fs::create_dir_all(root.join("sub")).expect("root");
        fs::write(root.join("a.css"), "body{color:red}").expect("a.css");
        fs::write(root.join("sub/index.html"), "<h1>sub</h1>").expect("index");
        fs::create_dir_all(root.join("noindex")).expect("noindex");
        fs::write(root.join(".env"), "KEY=1").expect(".env");
        Self { outer }
    }

    fn root(&self) -> PathBuf {
        self.outer.path().join("root")
    }

    fn mount(&self, prefix: &str) -> StaticFiles {
        StaticFiles::new(vec![StaticMount {
            prefix: prefix.into(),
            root: self.root(),
            cache: CachePolicy::default(),
        }])
        .expect("valid mount")
    }
}

fn hdrs(pairs: &[(HeaderName, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(k.clone(), HeaderValue::from_str(v).expect("test header"));
    }
    h
}

async fn get(sf: &StaticFiles, path: &str) -> Option<Response<Body>> {
    sf.serve(&Method::GET, path, &HeaderMap::new()).await
}

fn header(resp: &Response<Body>, name: HeaderName) -> &str {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn body_bytes(resp: Response<Body>) -> Vec<u8> {
    resp.into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec()
}

#[tokio::test]
async fn serves_file_with_headers_and_body() {
    let fx = Fixture::new();
    let sf = fx.mount("");
    let resp = get(&sf, "/a.css").await.expect("served");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, CONTENT_TYPE), "text/css; charset=utf-8");
    assert_eq!(header(&resp, CONTENT_LENGTH), "15");
    assert_eq!(header(&resp, X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(&resp, CACHE_CONTROL), "no-cache");
    assert!(
        header(&resp, ETAG).starts_with("W/\"f-"),
        "{}",
        header(&resp, ETAG)
    );
    assert!(httpdate::parse_http_date(header(&resp, LAST_MODIFIED)).is_ok());
    assert!(
        matches!(resp.body(), Either::Left(_)),
        "small files are full bodies"
    );
    assert_eq!(body_bytes(resp).await, b"body{color:red}");
}

#[tokio::test]
async fn content_types_by_extension() {
    let fx = Fixture::new();
    for name in [
        "app.js",
        "data.json",
        "img.png",
        "blob.unknownext",
        "README",
    ] {
        fs::write(fx.root().join(name), "x").expect("write");
    }
    let sf = fx.mount("/");
    let ct = |r: Option<Response<Body>>| {
        r.map(|r| header(&r, CONTENT_TYPE).to_owned())
            .unwrap_or_default()
    };
    assert!(ct(get(&sf, "/app.js").await).ends_with("javascript; charset=utf-8"));
    assert_eq!(
        ct(get(&sf, "/data.json").await),
        "application/json; charset=utf-8"
    );
    assert_eq!(ct(get(&sf, "/img.png").await), "image/png");
    assert_eq!(
        ct(get(&sf, "/blob.unknownext").await),
        "application/octet-stream"
    );
    assert_eq!(ct(get(&sf, "/README").await), "application/octet-stream");
}

#[tokio::test]
async fn head_has_same_headers_and_empty_body() {
    let fx = Fixture::new();
    let sf = fx.mount("");
    let got = get(&sf, "/a.css").await.expect("get");
    let head = sf
        .serve(&Method::HEAD, "/a.css", &HeaderMap::new())
        .await
        .expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    for name in [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        ETAG,
        LAST_MODIFIED,
        CACHE_CONTROL,
    ] {
        assert_eq!(header(&head, name.clone()), header(&got, name));
    }
    assert!(body_bytes(head).await.is_empty());
}

#[tokio::test]
async fn if_none_match_gives_304() {
    let fx = Fixture::new();
    let sf = fx.mount("");
    let etag = header(&get(&sf, "/a.css").await.expect("get"), ETAG).to_owned();
    let strong = etag.trim_start_matches("W/").to_owned();
    let list = format!("\"nope\", {etag}");
    for value in [etag.as_str(), strong.as_str(), list.as_str(), "*"] {
        let h = hdrs(&[(IF_NONE_MATCH, value)]);
        let resp = sf.serve(&Method::GET, "/a.css", &h).await.expect("resp");
        assert_eq!(
            resp.status(),
            StatusCode::NOT_MODIFIED,
            "If-None-Match: {value}"
        );
        assert_eq!(header(&resp, ETAG), etag);
        assert_eq!(header(&resp, CONTENT_TYPE), "");
        assert!(body_bytes(resp).await.is_empty());
    }
    // HEAD is conditional too.
    let h = hdrs(&[(IF_NONE_MATCH, &etag)]);
    let resp = sf.serve(&Method::HEAD, "/a.css", &h).await.expect("head");
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    // No match → full response.
    let h = hdrs(&[(IF_NONE_MATCH, "\"nope\", W/\"other\"")]);
    let resp = sf.serve(&Method::GET, "/a.css", &h).await.expect("resp");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_bytes(resp).await, b"body{color:red}");
}

#[tokio::test]
async fn if_modified_since_gives_304() {
    let fx = Fixture::new();
    let sf = fx.mount("");
    let first = get(&sf, "/a.css").await.expect("get");
    let last_modified = header(&first, LAST_MODIFIED).to_owned();

    let h = hdrs(&[(IF_MODIFIED_SINCE, &last_modified)]);
    let resp = sf.serve(&Method::GET, "/a.css", &h).await.expect("resp");
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&resp, ETAG), header(&first, ETAG));
    assert!(body_bytes(resp).await.is_empty());

    let old = httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(1));
    for h in [
        hdrs(&[(IF_MODIFIED_SINCE, &old)]),
        hdrs(&[(IF_MODIFIED_SINCE, "not a date")]),
        // If-None-Match wins over If-Modified-Since.
        hdrs(&[
            (IF_MODIFIED_SINCE, &last_modified),
            (IF_NONE_MATCH, "\"nope\""),
        ]),
    ] {
        let resp = sf.serve(&Method::GET, "/a.css", &h).await.expect("resp");
        assert_eq!(resp.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn directory_serves_index_html() {
    let fx = Fixture::new();
    fs::write(fx.root().join("index.html"), "<h1>root</h1>").expect("root index");
    let sf = fx.mount("/static");
    for path in ["/static/sub", "/static/sub/", "/static//sub//"] {
        let resp = get(&sf, path).await.expect(path);
        assert_eq!(header(&resp, CONTENT_TYPE), "text/html; charset=utf-8");
        assert_eq!(body_bytes(resp).await, b"<h1>sub</h1>");
    }
    for path in ["/static", "/static/"] {
        let resp = get(&sf, path).await.expect(path);
        assert_eq!(body_bytes(resp).await, b"<h1>root</h1>");
    }
    assert!(get(&sf, "/static/noindex").await.is_none());
    assert!(get(&sf, "/static/missing.css").await.is_none());
}

#[tokio::test]
async fn large_file_is_streamed() {
    let fx = Fixture::new();
    let data: Vec<u8> = (0..(FULL_READ_LIMIT as usize + 12_345))
        .map(|i| (i % 251) as u8)
        .collect();
    fs::write(fx.root().join("big.bin"), &data).expect("big");
    // Exactly at the limit is still a full body.
    fs::write(
        fx.root().join("edge.bin"),
        &data[..FULL_READ_LIMIT as usize],
    )
    .expect("edge");
    let sf = fx.mount("");

    let resp = get(&sf, "/big.bin").await.expect("big");
    assert_eq!(header(&resp, CONTENT_LENGTH), data.len().to_string());
    assert!(
        matches!(resp.body(), Either::Right(_)),
        "large files stream"
    );
    assert_eq!(body_bytes(resp).await, data);

    let resp = get(&sf, "/edge.bin").await.expect("edge");
    assert!(matches!(resp.body(), Either::Left(_)));
    assert_eq!(body_bytes(resp).await.len(), FULL_READ_LIMIT as usize);

    let head = sf
        .serve(&Method::HEAD, "/big.bin", &HeaderMap::new())
        .await
        .expect("head");
    assert_eq!(header(&head, CONTENT_LENGTH), data.len().to_string());
    assert!(body_bytes(head).await.is_empty());
}

#[tokio::test]
async fn traversal_is_refused() {
    let fx = Fixture::new();
    fs::create_dir_all(fx.root().join("a")).expect("a");
    let root_mount = fx.mount("");
    let prefixed = fx.mount("/static");
    assert!(get(&root_mount, "/a.css").await.is_some(), "sanity");

    let attacks = [
        "/../secret.txt",
        "/a/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/a%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%2e%2e%5csecret.txt",
        "/..\\secret.txt",
        "/a\\..\\..\\secret.txt",
        "/%252e%252e/secret.txt",
        "/%252e%252e%252fsecret.txt",
        "/a.css%00",
        "/a.css%00.png",
        "/%00/../secret.txt",
        "/%2fsecret.txt",
        "//../secret.txt",
        "../secret.txt",
        "secret.txt",
        "",
    ];
    for attack in attacks {
        assert!(
            get(&root_mount, attack).await.is_none(),
            "root mount served {attack:?}"
        );
        if attack.starts_with('/') {
            let prefixed_attack = format!("/static{attack}");
            assert!(
                get(&prefixed, &prefixed_attack).await.is_none(),
                "prefixed mount served {prefixed_attack:?}"
            );
        }
    }
    // The outer directory itself as an absolute path doesn't help either.
    let abs = format!("/{}", fx.outer.path().join("secret.txt").display());
    assert!(get(&root_mount, &abs).await.is_none());
}

// More cases: traversal, symlinks and errors.
mod more;
