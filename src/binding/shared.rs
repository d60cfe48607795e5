//! Definitions JavaScript shares with Rust, handed to `lib/` so they are
//! written once: the named plugin priorities (`PluginPriority`, defined by
//! `nebula_core::engine::Priority`) and the layout of the packed request and
//! answer batches (defined next to their packing in `dispatch.rs` and
//! `answers.rs`). `index.d.ts` repeats the priorities as literal types; a
//! test compares them with these.
use napi_derive::napi;

use super::{answers, dispatch};
use nebula_core::engine::Priority;

/// `PluginPriority` as `lib/priority.js` exports it (in this order).
#[napi(object)]
pub struct JsPluginPriority {
    #[napi(js_name = "SYSTEM")]
    pub system: i64,
    #[napi(js_name = "SECURITY")]
    pub security: i64,
    #[napi(js_name = "LOGGING")]
    pub logging: i64,
    #[napi(js_name = "BUSINESS")]
    pub business: i64,
    #[napi(js_name = "PERFORMANCE")]
    pub performance: i64,
    #[napi(js_name = "ROUTE")]
    pub route: i64,
}

/// A request in `takeBatch()`'s numbers (read by `lib/dispatch.js`).
#[napi(object)]
pub struct JsRequestLayout {
    /// Numbers per request.
    pub meta: u32,
    /// Flags: a body, locals, params (each the next of `extras`), the client
    /// address as text or as an IPv4 number.
    pub body: u32,
    pub locals: u32,
    pub params: u32,
    pub peer_text: u32,
    pub peer_ipv4: u32,
    /// Flag: the validated values (`ctx.req.valid()`), one JSON text, are the next of `extras` (`[text]`).
    pub valid: u32,
}

/// An answer in `respondBatch()`'s numbers (packed by `lib/answers.js`).
#[napi(object)]
pub struct JsAnswerLayout {
    /// Numbers per answer.
    pub meta: u32,
    /// The bits of the flags that say where the headers are, and their values.
    pub headers_mask: u32,
    pub headers_listed: u32,
    pub headers_json: u32,
    pub headers_none: u32,
    pub headers_text: u32,
    /// Flag: the body is the next Buffer of `extras`.
    pub body_extra: u32,
}

#[napi(object)]
pub struct JsSharedDefinitions {
    pub plugin_priority: JsPluginPriority,
    pub request: JsRequestLayout,
    pub answer: JsAnswerLayout,
}

/// The definitions above, as plain objects.
#[napi]
pub fn shared_definitions() -> JsSharedDefinitions {
    JsSharedDefinitions {
        plugin_priority: JsPluginPriority {
            system: Priority::SYSTEM,
            security: Priority::SECURITY,
            logging: Priority::LOGGING,
            business: Priority::BUSINESS,
            performance: Priority::PERFORMANCE,
            route: Priority::ROUTE,
        },
        request: JsRequestLayout {
            meta: dispatch::META as u32,
            body: dispatch::FLAG_BODY,
            locals: dispatch::FLAG_LOCALS,
            params: dispatch::FLAG_PARAMS,
            peer_text: dispatch::FLAG_PEER_TEXT,
            peer_ipv4: dispatch::FLAG_PEER_IPV4,
            valid: dispatch::FLAG_VALID,
        },
        answer: JsAnswerLayout {
            meta: answers::META as u32,
            headers_mask: answers::HEADERS_MASK,
            headers_listed: answers::HEADERS_LISTED,
            headers_json: answers::HEADERS_JSON,
            headers_none: answers::HEADERS_NONE,
            headers_text: answers::HEADERS_TEXT,
            body_extra: answers::BODY_EXTRA,
        },
    }
}
