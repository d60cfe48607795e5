//! What the hub tells its owner (the TypeScript side): connections, rooms,
//! and custom messages for handlers registered with `engine.hub.on(type, …)`.
use super::client::Client;
use super::protocol::HubError;

/// Receives the hub's events. Called from the hub's tasks: implementations
/// queue and return at once.
pub trait HubEvents: Send + Sync + 'static {
    fn connected(&self, client: &Client);
    fn disconnected(&self, client: &Client, code: u16, reason: &str);
    fn joined(&self, client: &Client, room: &str);
    fn left(&self, client: &Client, room: &str);
    /// A message of a custom type with a registered handler. `data` is raw
    /// JSON (`null` when absent). An error is sent back to the client (e.g.
    /// the handler queue is full).
    fn message(
        &self,
        client: &std::sync::Arc<Client>,
        message_type: &str,
        data: &str,
        message_id: u64,
    ) -> Result<(), HubError>;
}

/// Hook scripts listening to the hub (the script VM), beside the owner:
/// `onWsConnect`, `onWsDisconnect` and `onWsMessage(type, …)`. The hub tells
/// them of connections and hands them the messages of the types they handle;
/// when every script handler calls `e.next()`, the scripts pass the message
/// on with [`Hub::pass_on`](super::Hub::pass_on).
pub trait HubScripts: HubEvents {
    /// Whether scripts handle messages of this custom type (checked per
    /// message, so a reload that adds or drops a type applies at once).
    fn handles(&self, message_type: &str) -> bool;
}

/// Events nobody listens to.
pub struct NoEvents;

impl HubEvents for NoEvents {
    fn connected(&self, _: &Client) {}
    fn disconnected(&self, _: &Client, _: u16, _: &str) {}
    fn joined(&self, _: &Client, _: &str) {}
    fn left(&self, _: &Client, _: &str) {}
    fn message(
        &self,
        _: &std::sync::Arc<Client>,
        _: &str,
        _: &str,
        _: u64,
    ) -> Result<(), HubError> {
        Err(HubError::new(super::protocol::ErrorCode::Unknown))
    }
}
