// What lib/ exports is what index.d.ts declares: each runtime export, typed by
// TypeScript from lib/'s JavaScript and its JSDoc, must be assignable to its
// declaration (classes: constructor, statics and instances). Checked by
// `tsc -p tsconfig.lib.json` in `npm run lint`; never run.
import type * as Api from '../../index'
import { loadConfig, parseConfig, buildEngine, startFromConfig, ConfigError } from '../../lib/config/index.js'
import { Context, HttpRequest, HttpResponse } from '../../lib/context.js'
import { Module, Handler, Route, Page } from '../../lib/decorators.js'
import { PluginNameRequiredError, ModuleConfigValidationError, DuplicateModuleError, HttpError } from '../../lib/errors.js'
import { Factory, Testing } from '../../lib/factory.js'
import { HubPlugin, WsHandler, HubError } from '../../lib/hub/plugin.js'
import { Hub } from '../../lib/hub/facade.js'
import { JsvmPlugin, Jsvm } from '../../lib/jsvm/plugin.js'
import { Microservice } from '../../lib/microservice.js'
import { PluginPriority } from '../../lib/priority.js'
import { GracefulShutdownPlugin } from '../../lib/plugins/graceful-shutdown.js'
import { SchedulePlugin, Schedule, ScheduleMode } from '../../lib/plugins/schedule.js'
import { ConcurrencyLockPlugin, ConcurrencyLock, ConcurrencyLockError } from '../../lib/plugins/concurrency-lock.js'
import { ServicesPlugin } from '../../lib/plugins/services.js'
import { routeSchemas } from '../../lib/schema.js'

/** A class whose instances the engine makes (index.d.ts declares no constructor for users). */
type Made<T> = abstract new (...args: any[]) => T

export const face = {
  Microservice: Microservice satisfies typeof Api.Microservice,
  PluginPriority: PluginPriority satisfies typeof Api.PluginPriority,
  Module: Module satisfies typeof Api.Module,
  Handler: Handler satisfies typeof Api.Handler,
  Route: Route satisfies typeof Api.Route,
  Page: Page satisfies typeof Api.Page,
  Factory: Factory satisfies typeof Api.Factory,
  Testing: Testing satisfies typeof Api.Testing,
  Context: Context satisfies Made<Api.Context>,
  HttpRequest: HttpRequest satisfies Made<Api.HttpRequest>,
  HttpResponse: HttpResponse satisfies typeof Api.HttpResponse,
  HttpError: HttpError satisfies typeof Api.HttpError,
  PluginNameRequiredError: PluginNameRequiredError satisfies typeof Api.PluginNameRequiredError,
  ModuleConfigValidationError: ModuleConfigValidationError satisfies typeof Api.ModuleConfigValidationError,
  DuplicateModuleError: DuplicateModuleError satisfies typeof Api.DuplicateModuleError,
  GracefulShutdownPlugin: GracefulShutdownPlugin satisfies typeof Api.GracefulShutdownPlugin,
  SchedulePlugin: SchedulePlugin satisfies typeof Api.SchedulePlugin,
  Schedule: Schedule satisfies typeof Api.Schedule,
  ScheduleMode: ScheduleMode satisfies typeof Api.ScheduleMode,
  ConcurrencyLockPlugin: ConcurrencyLockPlugin satisfies typeof Api.ConcurrencyLockPlugin,
  ConcurrencyLock: ConcurrencyLock satisfies typeof Api.ConcurrencyLock,
  ConcurrencyLockError: ConcurrencyLockError satisfies typeof Api.ConcurrencyLockError,
  HubPlugin: HubPlugin satisfies typeof Api.HubPlugin,
  WsHandler: WsHandler satisfies typeof Api.WsHandler,
  HubError: HubError satisfies typeof Api.HubError,
  JsvmPlugin: JsvmPlugin satisfies typeof Api.JsvmPlugin,
  ServicesPlugin: ServicesPlugin satisfies typeof Api.ServicesPlugin,
  loadConfig: loadConfig satisfies typeof Api.loadConfig,
  parseConfig: parseConfig satisfies typeof Api.parseConfig,
  buildEngine: buildEngine satisfies typeof Api.buildEngine,
  startFromConfig: startFromConfig satisfies typeof Api.startFromConfig,
  ConfigError: ConfigError satisfies Made<Api.ConfigError>,
  routeSchemas: routeSchemas satisfies typeof Api.routeSchemas,
}

// Classes the public API hands out but does not export.
export const handedOut = {
  Hub: Hub satisfies new () => Api.Hub,
  Jsvm: Jsvm satisfies new () => Api.Jsvm,
}
