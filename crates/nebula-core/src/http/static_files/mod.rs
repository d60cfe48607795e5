//! Static files: nebula-engine's `static` option.
//!
//! In nebula-engine, `MicroserviceOptions.static` is either one
//! `{ prefix?, path, cache? }` object or a list of them: serve the directory
//! `path` under the URL prefix `prefix` (default `""`, the root). The binding
//! maps each object onto a [`StaticMount`]:
//!
//! | nebula          | here                                                    |
//! |-----------------|---------------------------------------------------------|
//! | `prefix` (opt.) | [`StaticMount::prefix`]; absent → `""`                  |
//! | `path`          | [`StaticMount::root`] (resolved against the cwd)        |
//! | `cache` (opt.)  | [`StaticMount::cache`], see [`CachePolicy::from_json`]  |
//!
//! Behaviour:
//! - only `GET` and `HEAD`; `HEAD` gets the same headers and an empty body;
//! - the longest matching prefix is tried first (prefixes match on a segment
//!   boundary); when it has no such file the next one is tried;
//! - path traversal, encoded separators, NUL, hidden dotfiles and symlinks
//!   leading outside the mount's root are refused;
//! - a directory serves its `index.html` (no redirect, no listing);
//! - weak ETag + Last-Modified, `304` for `If-None-Match` /
//!   `If-Modified-Since`; `Cache-Control` from [`CachePolicy`];
//!   `X-Content-Type-Options: nosniff`;
//! - files up to [`FULL_READ_LIMIT`] bytes are read whole, larger ones are
//!   streamed.
//!
//! Anything that doesn't produce a response (no mount, no file, refused
//! path, I/O error) is `None`, so the caller answers its normal 404.

mod error;
mod headers;
mod path;

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use http_body_util::StreamBody;
use hyper::body::Frame;
use hyper::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, X_CONTENT_TYPE_OPTIONS,
};
use hyper::{HeaderMap, Method, Response, StatusCode};
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use crate::http::body::{empty, full, stream, Body};
pub use error::{CachePolicyError, StaticError};

/// Files up to this many bytes are read into memory and sent as one body;
/// larger files are streamed.
pub const FULL_READ_LIMIT: u64 = 256 * 1024;

/// Chunk size used when streaming large files.
const STREAM_CHUNK: usize = 64 * 1024;

/// `max-age` (seconds) used for `cache: true`.
pub const DEFAULT_MAX_AGE_SECS: u64 = 86_400;

/// What a mount sends as `Cache-Control` (nebula's `cache` option).
///
/// ETag / Last-Modified revalidation (`304`) works under either policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CachePolicy {
    /// `Cache-Control: no-cache` — clients may store the file but must
    /// revalidate before every use. `cache` absent, `false`, or `0`.
    #[default]
    NoCache,
    /// `Cache-Control: public, max-age=N` (seconds). `cache: true` →
    /// [`DEFAULT_MAX_AGE_SECS`]; `cache: N` (a positive number) → `N`.
    MaxAge(u64),
}

impl CachePolicy {
    /// `cache: true` / `cache: false`.
    pub fn from_bool(enabled: bool) -> Self {
        if enabled {
            Self::MaxAge(DEFAULT_MAX_AGE_SECS)
        } else {
            Self::NoCache
        }
    }

    /// `max-age` in seconds; `0` means [`CachePolicy::NoCache`].
    pub fn from_max_age(secs: u64) -> Self {
        if secs == 0 {
            Self::NoCache
        } else {
            Self::MaxAge(secs)
        }
    }

    /// Maps nebula's `cache` value: absent / `null` / `false` → `NoCache`,
    /// `true` → `MaxAge(DEFAULT_MAX_AGE_SECS)`, a non-negative number →
    /// [`CachePolicy::from_max_age`] of it in **seconds** (fractions are
    /// truncated). Anything else is an error.
    pub fn from_json(value: Option<&serde_json::Value>) -> Result<Self, CachePolicyError> {
        use serde_json::Value;
        match value {
            None | Some(Value::Null) => Ok(Self::NoCache),
            Some(Value::Bool(b)) => Ok(Self::from_bool(*b)),
            Some(Value::Number(n)) => {
                if let Some(secs) = n.as_u64() {
                    return Ok(Self::from_max_age(secs));
                }
                match n.as_f64() {
                    // `as` saturates for huge values; never panics.
                    Some(f) if f.is_finite() && f >= 0.0 => Ok(Self::from_max_age(f as u64)),
                    _ => Err(CachePolicyError { got: n.to_string() }),
                }
            }
            Some(other) => Err(CachePolicyError {
                got: other.to_string(),
            }),
        }
    }

    /// The `Cache-Control` header value.
    pub fn header_value(&self) -> HeaderValue {
        match self {
            Self::NoCache => HeaderValue::from_static("no-cache"),
            Self::MaxAge(secs) => HeaderValue::from_str(&format!("public, max-age={secs}"))
                .unwrap_or_else(|_| HeaderValue::from_static("no-cache")),
        }
    }
}

/// One `static` entry as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticMount {
    /// URL prefix; `""` or `"/"` is the root. A missing leading slash is
    /// added and a trailing one dropped; see [`StaticFiles::new`] for what is
    /// rejected.
    pub prefix: String,
    /// Directory served under the prefix.
    pub root: PathBuf,
    /// `Cache-Control` policy.
    pub cache: CachePolicy,
}

/// A validated mount: normalised prefix, canonical root.
#[derive(Debug, Clone)]
struct Mount {
    prefix: String,
    root: PathBuf,
    cache: CachePolicy,
}

/// The static-file mounts of one server.
#[derive(Debug, Clone, Default)]
pub struct StaticFiles {
    /// Longest prefix first; equal prefixes keep configuration order.
    mounts: Vec<Mount>,
}

/// A file chosen to answer a request.
struct Resolved {
    /// Canonical path, verified to be inside the mount's root.
    file: PathBuf,
    /// Requested path (before symlink resolution), used for Content-Type.
    type_path: PathBuf,
}

impl StaticFiles {
    /// Validates and canonicalises the mounts.
    ///
    /// Errors (naming the mount) when a root does not exist or is not a
    /// directory, or a prefix is invalid: empty segments, `.`/`..`, `%`, or
    /// characters that can't appear raw in a URL path.
    pub fn new(mounts: Vec<StaticMount>) -> Result<Self, StaticError> {
        let mut out = Vec::with_capacity(mounts.len());
        for (index, m) in mounts.into_iter().enumerate() {
            let prefix = path::normalize_prefix(&m.prefix)
                .map_err(|reason| StaticError::Prefix { index, reason })?;
            let root = match std::fs::canonicalize(&m.root) {
                Ok(root) => root,
                Err(source) => {
                    return Err(StaticError::Root {
                        index,
                        prefix: m.prefix,
                        root: m.root,
                        source,
                    })
                }
            };
            if !root.is_dir() {
                return Err(StaticError::NotADirectory {
                    index,
                    prefix: m.prefix,
                    root: m.root,
                });
            }
            out.push(Mount {
                prefix,
                root,
                cache: m.cache,
            });
        }
        out.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        Ok(Self { mounts: out })
    }

    /// No mounts configured.
    pub fn is_empty(&self) -> bool {
        self.mounts.is_empty()
    }

    /// Some(response) when a mount serves this request; None when no mount
    /// applies, the file doesn't exist, or the path is refused (the caller
    /// then answers its normal 404 JSON).
    ///
    /// `path` is the raw request path (not percent-decoded, no query; a
    /// `?…`/`#…` tail is ignored defensively).
    pub async fn serve(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<Response<Body>> {
        let head = match *method {
            Method::GET => false,
            Method::HEAD => true,
            _ => return None,
        };
        let path = path.split(['?', '#']).next().unwrap_or(path);
        if !path.starts_with('/') {
            return None;
        }
        for mount in &self.mounts {
            let Some(rest) = path::strip_prefix(path, &mount.prefix) else {
                continue;
            };
            // A refused segment lies in every mount's remainder (prefixes
            // can't contain one), so refusing here refuses the request.
            let rel = path::relative_path(rest)?;
            // Every file system call of the request in one trip to the
            // blocking pool (each `tokio::fs` call would be a trip of its own).
            let root = mount.root.clone();
            let conditional = conditional_headers(headers);
            let lookup = tokio::task::spawn_blocking(move || open(&root, &rel, head, &conditional))
                .await
                .ok()?;
            match lookup {
                Lookup::NotHere => continue,
                Lookup::Failed => return None,
                Lookup::Found(opened) => return respond(opened, mount.cache, head),
            }
        }
        None
    }
}

/// The request headers a conditional answer (304) depends on.
fn conditional_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in [IF_NONE_MATCH, IF_MODIFIED_SINCE] {
        for v in headers.get_all(&name) {
            out.append(name.clone(), v.clone());
        }
    }
    out
}

/// What one mount found for a request.
enum Lookup {
    /// No such file under this mount (the next mount may have it).
    NotHere,
    /// It exists but could not be read (e.g. permission denied).
    Failed,
    Found(Opened),
}

/// A file opened for an answer, with what the answer's head needs.
struct Opened {
    found: Resolved,
    file: std::fs::File,
    len: u64,
    mtime: Option<std::time::SystemTime>,
    etag: String,
    /// The client's copy is current: 304.
    not_modified: bool,
    /// The whole body, for a GET of a file up to [`FULL_READ_LIMIT`].
    body: Option<Vec<u8>>,
}

/// Finds, opens and (when small) reads the file for `rel` under `root`.
/// Blocking: run on the blocking pool.
fn open(root: &Path, rel: &Path, head: bool, conditional: &HeaderMap) -> Lookup {
    let Some(found) = resolve(root, rel) else {
        return Lookup::NotHere;
    };
    let Ok(mut file) = std::fs::File::open(&found.file) else {
        return Lookup::Failed;
    };
    let Ok(meta) = file.metadata() else {
        return Lookup::Failed;
    };
    if !meta.is_file() {
        return Lookup::Failed;
    }
    let len = meta.len();
    let mtime = meta.modified().ok();
    let etag = headers::etag(len, mtime);
    let not_modified = headers::not_modified(conditional, &etag, mtime);
    let mut body = None;
    if !head && !not_modified && len <= FULL_READ_LIMIT {
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        // Bounded by `len`: a file growing meanwhile can't exceed what the
        // validators describe.
        if std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, len), &mut buf).is_err() {
            return Lookup::Failed;
        }
        body = Some(buf);
    }
    Lookup::Found(Opened {
        found,
        file,
        len,
        mtime,
        etag,
        not_modified,
        body,
    })
}

/// Finds the file for `rel` under the canonical `root`: the file itself, or
/// a directory's `index.html`. The canonical result must stay inside `root`
/// (symlinks may not escape) and be a regular file.
fn resolve(root: &Path, rel: &Path) -> Option<Resolved> {
    let requested = root.join(rel);
    let (file, is_dir) = canonical_inside(root, &requested)?;
    if !is_dir {
        return Some(Resolved {
            file,
            type_path: requested,
        });
    }
    let index = requested.join("index.html");
    match canonical_inside(root, &index)? {
        (file, false) => Some(Resolved {
            file,
            type_path: index,
        }),
        (_, true) => None,
    }
}

/// Canonicalises `p`; `Some((canonical, is_dir))` when it is inside `root`
/// and is a regular file or a directory (never a FIFO, socket or device).
fn canonical_inside(root: &Path, p: &Path) -> Option<(PathBuf, bool)> {
    let canonical = std::fs::canonicalize(p).ok()?;
    if !canonical.starts_with(root) {
        return None;
    }
    let meta = std::fs::metadata(&canonical).ok()?;
    if meta.is_file() {
        Some((canonical, false))
    } else if meta.is_dir() {
        Some((canonical, true))
    } else {
        None
    }
}

/// Builds the `200`/`304` response for an opened file.
fn respond(opened: Opened, cache: CachePolicy, head: bool) -> Option<Response<Body>> {
    let Opened {
        found,
        file,
        len,
        mtime,
        etag,
        not_modified,
        body,
    } = opened;
    let mut builder = Response::builder()
        .header(ETAG, etag.as_str())
        .header(CACHE_CONTROL, cache.header_value())
        .header(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(t) = mtime {
        builder = builder.header(LAST_MODIFIED, httpdate::fmt_http_date(t));
    }
    if not_modified {
        return builder.status(StatusCode::NOT_MODIFIED).body(empty()).ok();
    }

    let builder = builder
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, headers::content_type(&found.type_path));
    if head {
        return builder.header(CONTENT_LENGTH, len).body(empty()).ok();
    }
    if let Some(buf) = body {
        return builder
            .header(CONTENT_LENGTH, buf.len())
            .body(full(buf))
            .ok();
    }
    let file = tokio::fs::File::from_std(file);
    let chunks = ReaderStream::with_capacity(file.take(len), STREAM_CHUNK)
        .map(|chunk| chunk.map(Frame::data));
    builder
        .header(CONTENT_LENGTH, len)
        .body(stream(StreamBody::new(chunks)))
        .ok()
}

#[cfg(test)]
mod tests;
