'use strict'

// The public face of nebula-native (hand-written). The generated binding
// (binding.js) is internal and may change between versions.

const { Microservice } = require('./lib/microservice')
const { PluginPriority } = require('./lib/priority')
const { Module, Handler, Route, Page, getHandlerMetadata, getAllHandlerMetadata } = require('./lib/decorators')
const { RoutePlugin } = require('./lib/route-plugin')
const { Factory, Testing } = require('./lib/factory')
const { Context, HttpRequest, HttpResponse } = require('./lib/context')
const { PluginNameRequiredError, ModuleConfigValidationError, DuplicateModuleError, HttpError } = require('./lib/errors')
// Native plugins: Rust layers in the same priority onion.
const { RateLimitPlugin } = require('./lib/plugins/rate-limit')
const { JwtAuthPlugin } = require('./lib/plugins/jwt-auth')
const { CorsPlugin } = require('./lib/plugins/cors')
const { CompressionPlugin } = require('./lib/plugins/compression')
const { LoggerPlugin } = require('./lib/plugins/logger')
const { MetricsPlugin } = require('./lib/plugins/metrics')
const { CachePlugin, Cache, MemoryCacheAdapter, RedisCacheAdapter } = require('./lib/plugins/cache')
const { GracefulShutdownPlugin } = require('./lib/plugins/graceful-shutdown')
// Distributed plugins: leases in process, in Redis or in NATS KV (src/coord/).
const { SchedulePlugin, Schedule, ScheduleMode } = require('./lib/plugins/schedule')
const { ConcurrencyLockPlugin, ConcurrencyLock, ConcurrencyLockError } = require('./lib/plugins/concurrency-lock')
const { MemoryLockAdapter } = require('./lib/plugins/memory-lock-adapter')
// The OpenAPI 3.1 document of the routes and actions (and a Swagger UI page).
const { OpenApiPlugin } = require('./lib/plugins/openapi/plugin')
// The WebSocket hub (Rust), on the engine's own port.
const { HubPlugin, WsHandler, HubError } = require('./lib/hub/plugin')
// The script VM: hook files run by QuickJS runtimes on Rust threads.
const { JsvmPlugin } = require('./lib/jsvm/plugin')
// The gateway: supervised workers in any language behind the engine's routes.
const { ServicesPlugin } = require('./lib/plugins/services')
// Route schemas (validate, returns) as JSON Schema, for plugins that describe routes.
const { routeSchemas } = require('./lib/schema')
// nebula.config.json: load and validate, build an engine, start with hot reload (the `nebula` CLI's core).
const { loadConfig, parseConfig, buildEngine, startFromConfig, ConfigError } = require('./lib/config')
// nebula's RPC: @Action methods over HTTP (EJSON), and the generated TypeScript client of them.
const { ActionPlugin, Action, coerceBody } = require('./lib/plugins/action')
const {
  ClientCodePlugin,
  generateClientCode,
  getZodTypeString,
  convertHandlersToModuleInfo,
  convertHandlersToModuleInfoWithMetadata,
} = require('./lib/plugins/client-code')
// Dynamic config: @Config fields read from the coordination store (in process, Redis, NATS KV), changes reach every node.
const { DynamicConfigPlugin, Config } = require('./lib/plugins/dynamic-config')

// The public names, written here only: index.mjs is generated from this list
// (npm run gen) and index.d.ts is checked against it (__test__/generated.test.ts).
// Keep it a literal of names: Node's ESM reads CommonJS named exports from it.
module.exports = {
  Microservice,
  PluginPriority,
  Module,
  Handler,
  Route,
  Page,
  getHandlerMetadata,
  getAllHandlerMetadata,
  RoutePlugin,
  Factory,
  Testing,
  Context,
  HttpRequest,
  HttpResponse,
  HttpError,
  PluginNameRequiredError,
  ModuleConfigValidationError,
  DuplicateModuleError,
  RateLimitPlugin,
  JwtAuthPlugin,
  CorsPlugin,
  CompressionPlugin,
  LoggerPlugin,
  MetricsPlugin,
  CachePlugin,
  Cache,
  MemoryCacheAdapter,
  RedisCacheAdapter,
  GracefulShutdownPlugin,
  SchedulePlugin,
  Schedule,
  ScheduleMode,
  ConcurrencyLockPlugin,
  ConcurrencyLock,
  ConcurrencyLockError,
  MemoryLockAdapter,
  OpenApiPlugin,
  HubPlugin,
  WsHandler,
  HubError,
  JsvmPlugin,
  ServicesPlugin,
  loadConfig,
  parseConfig,
  buildEngine,
  startFromConfig,
  routeSchemas,
  ConfigError,
  ActionPlugin,
  Action,
  ClientCodePlugin,
  coerceBody,
  generateClientCode,
  getZodTypeString,
  convertHandlersToModuleInfo,
  convertHandlersToModuleInfoWithMetadata,
  DynamicConfigPlugin,
  Config,
}
