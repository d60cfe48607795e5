//! Transitional: every typed error that replaced a `Result<_, String>` at a
//! module boundary converts into its `Display` text, so code written against
//! the former signatures (binding files not yet mapping errors through
//! `binding::error`, `?` in functions that still return `String`) compiles
//! unchanged and says the same. New code maps the typed error instead (its
//! `kernel::Classify` kind decides `InvalidArg` or `GenericFailure`); remove
//! an impl here once nothing needs it.
macro_rules! into_text {
    ($($t:ty),* $(,)?) => {
        $(
            impl From<$t> for String {
                fn from(e: $t) -> String {
                    e.to_string()
                }
            }
        )*
    };
}

into_text!(
    crate::auth::jwt::JwtConfigError,
    crate::coord::CoordConfigError,
    crate::coord::CronNextError,
    crate::gateway::error::GatewayConfigError,
    crate::gateway::error::ServicesError,
    crate::http::static_files::CachePolicyError,
    crate::http::static_files::StaticError,
    crate::hub::HubConfigError,
    crate::hub::MessageTypeError,
    crate::jsvm::JsvmConfigError,
    crate::kernel::LayerError,
    crate::plugins::PluginError,
    crate::support::error::CronError,
    crate::support::error::OptionError,
);
