// nebula-native: the public TypeScript API (hand-written).
// The generated napi binding (binding.d.ts) is internal.

/** Lower runs first: the outer layer of every handler's onion. */
// The values are Rust's (nebula_core::engine::Priority); a test checks these literals against them.
export declare const PluginPriority: {
  readonly SYSTEM: 50
  readonly SECURITY: 100
  readonly LOGGING: 200
  readonly BUSINESS: 300
  readonly PERFORMANCE: 400
  readonly ROUTE: 1000
}
export type PluginPriority = (typeof PluginPriority)[keyof typeof PluginPriority]

// ---------------------------------------------------------------- plugins

export interface PluginModuleOptionsSchema<TModuleOptions = Record<string, any>> {
  /** Type carrier only (nebula-engine compatibility). */
  _type?: TModuleOptions
  /** `true` accepts; a string (the reason) or `false` fails start with ModuleConfigValidationError. */
  validate?(options: TModuleOptions): true | string | false
}

export interface Plugin<TModuleOptions = Record<string, any>> {
  /** Unique, non-empty. A second plugin with the same name replaces the first. */
  name: string
  /** Default BUSINESS (300). Lower = outer layer. */
  priority?: PluginPriority | number
  getModuleOptionsSchema?(): PluginModuleOptionsSchema<TModuleOptions>
  onInit?(engine: Microservice): void
  onModuleLoad?(modules: ModuleMetadata[]): void
  onHandlerLoad?(handlers: HandlerMetadata[]): void
  onBeforeStart?(engine: Microservice): void | Promise<void>
  onAfterStart?(engine: Microservice): void | Promise<void>
  onDestroy?(): void | Promise<void>
}

export interface ModuleMetadata<TOptions = Record<string, any>> {
  readonly name: string
  readonly clazz: new (...args: any[]) => any
  readonly options: TOptions
}

/** `(next, instance, ...args)`: call `next()` (no arguments) at most once to run the inner layers. */
export type HandlerWrapper = (next: () => Promise<any>, instance: any, ...args: any[]) => any

export interface HandlerMetadata<TOptions = any> {
  /** "route" for @Route/@Page, or the type given to @Handler. */
  readonly type: string
  readonly options: TOptions
  /** The original, unwrapped method. */
  readonly method: (...args: any[]) => any
  readonly methodName: string | symbol
  /** The module class. */
  readonly module: new (...args: any[]) => any
  /** Adds a layer to this method's onion (only from onHandlerLoad of a non-ROUTE plugin). */
  wrap(wrapper: HandlerWrapper): void
}

// ---------------------------------------------------------------- engine

export interface StaticOptions {
  /** URL prefix, default "/". */
  prefix?: string
  /** Folder to serve. */
  path: string
  /** `true` → Cache-Control max-age one day; a number → max-age in seconds; absent → no-cache. */
  cache?: boolean | number
}

export interface MicroserviceOptions {
  name: string
  version: string
  /** Base path of built-in endpoints: GET {prefix}/_version. Default "". */
  prefix?: string
  /** Default "0.0.0.0". */
  hostname?: string
  static?: StaticOptions | StaticOptions[]
  /** Drop the default plugins (RoutePlugin and those added by registerDefaultPlugin). */
  disableDefaultPlugins?: boolean
  /** Load only these @Module classes (default: every class decorated with the exported @Module). */
  modules?: Array<new (...args: any[]) => any>
  /** Largest request body in bytes; larger → 413. Default 1 MiB. */
  bodyLimit?: number
  /** Milliseconds a handler may take before the client gets 503 (sent up to a sixteenth of it, at most 100 ms, later). Default 30 000. */
  handlerTimeout?: number
  /** Milliseconds a client may take to send the request head before the connection closes. Default 10 000. */
  headerTimeout?: number
  /** Milliseconds a client may take to send the request body (→ 408). Default 30 000. */
  bodyTimeout?: number
  /** Open connections at most; further clients wait in the accept backlog. Default 10 000. */
  maxConnections?: number
  /** Milliseconds stop() waits for in-flight requests. Default 30 000. */
  shutdownTimeout?: number
  /** Largest streamed `Response` body a handler may return, in bytes; larger → 500. Default 16 MiB. */
  responseLimit?: number
  /**
   * Where HTTP runs. `'loop'`: on Node's event loop (one thread, no hand-off, as uWebSockets.js);
   * `'threads'`: on the engine's worker threads (native answers spread over the cores).
   * `'auto'` (default): loop on a machine of at most 2 cores, threads beyond. The environment
   * variable `NEBULA_HTTP_MODE` overrides it (how the test suite runs in both modes).
   */
  httpMode?: 'auto' | 'loop' | 'threads'
}

export type ResolvedOptions = Readonly<
  MicroserviceOptions &
    Required<
      Pick<
        MicroserviceOptions,
        | 'prefix'
        | 'hostname'
        | 'disableDefaultPlugins'
        | 'bodyLimit'
        | 'handlerTimeout'
        | 'headerTimeout'
        | 'bodyTimeout'
        | 'maxConnections'
        | 'shutdownTimeout'
        | 'responseLimit'
        | 'httpMode'
      >
    >
>

export interface EngineStats {
  /** Requests received (socket and in-process). */
  requests: number
  /** Requests Rust handed to JavaScript (at most one per request; one wake-up may carry several). */
  jsCalls: number
  /** Requests being handled now. */
  inFlight: number
}

export interface RouteRegistration {
  methods: string | string[]
  path: string
  /** Answers one request; its result goes through the return mapping. */
  handle(ctx: Context): unknown
  handler?: HandlerMetadata
  /** JSON Schemas (already converted, see `routeSchemas()`) checked in Rust before `handle` runs; a start error if one does not compile. */
  validate?: { body?: JsonSchema; query?: JsonSchema; params?: JsonSchema; headers?: JsonSchema }
}

export declare class Microservice {
  /** Adds a plugin to every Microservice created afterwards (not to Factory/Testing engines). */
  static registerDefaultPlugin(plugin: Plugin): void
  constructor(options: MicroserviceOptions)
  /** Frozen, with defaults filled in. */
  readonly options: ResolvedOptions
  /** Registers a plugin (chainable); same name replaces. Empty name → PluginNameRequiredError. */
  plugin(plugin: Plugin): this
  getPlugins(): Plugin[]
  /** Runs the lifecycle and listens; resolves to the real port (0 = a free one). */
  start(port?: number): Promise<number>
  /** Lets in-flight requests finish, then calls onDestroy in reverse registration order. */
  stop(): Promise<void>
  getPort(): number
  getModules(): ModuleMetadata[]
  /** The engine's instance of a module class; its decorated methods run their chains. */
  get<T>(clazz: new (...args: any[]) => T): T
  /** The fully wrapped method, callable without HTTP. */
  handler<T, K extends keyof T>(
    clazz: new (...args: any[]) => T,
    method: K,
  ): T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never
  /** Runs a request through the Rust router and the plugin chain without a socket. */
  request(input: string | URL | Request, init?: RequestInit): Promise<Response>
  stats(): EngineStats
  /** The server SDK of the registered HubPlugin; undefined without one. */
  readonly hub: Hub | undefined
  /** The script VM of the registered JsvmPlugin; undefined without one. */
  readonly jsvm: Jsvm | undefined
  /**
   * Low-level route registration (what RoutePlugin uses); only from a plugin hook.
   * With `handler`, the native prefix of that handler's chain runs in Rust before `handle`.
   */
  addRoute(route: RouteRegistration): void
  /**
   * `(ctx) => result`: the handler's chain minus its native prefix (for `addRoute`'s `handle`).
   * The result is the method's own (a plain value is not wrapped in a promise) when no
   * JavaScript layer is left in the chain, else a promise.
   */
  routeInvoker(handler: HandlerMetadata): (ctx: Context) => unknown
}

// ---------------------------------------------------------------- decorators

export interface ModuleOptions {
  /** RoutePlugin: prefix of every route in the module. */
  routePrefix?: string
  /** RoutePlugin: middlewares of every route in the module (after the global ones). */
  routeMiddlewares?: Middleware[]
  [option: string]: unknown
}

/** A decorator usable both as a TC39 standard decorator and with `experimentalDecorators`. */
export interface UniversalClassDecorator {
  <T extends abstract new (...args: any) => any>(value: T, context: ClassDecoratorContext<T>): void
  <T extends abstract new (...args: any) => any>(target: T): void
}
export interface UniversalMethodDecorator {
  <T extends (...args: any) => any>(value: T, context: ClassMethodDecoratorContext<any, T>): void
  (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): void
}

export declare function Module(name: string, options?: ModuleOptions): UniversalClassDecorator
export declare function Handler<TOptions = any>(spec: { type: string; options?: TOptions }): UniversalMethodDecorator

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS'

export interface RouteOptions {
  /** Default GET. */
  method?: HttpMethod | HttpMethod[]
  /** `:param` segments and a trailing `*`. */
  path: string | string[]
  middlewares?: Middleware[]
  description?: string
  /**
   * Schemas (JSON Schema objects or zod schemas) the request is checked against in Rust, before
   * JavaScript: a request that does not match gets `400 { error, message, errors: [{ in, path, message }] }`.
   * Read the checked values with `ctx.req.valid('json' | 'query' | 'param' | 'header')`.
   */
  validate?: RouteValidate
  /** The result's schema (JSON Schema or zod): types the result for clients and docs (not checked at run time). */
  returns?: RouteSchema
  response?: unknown
  /** Options read by other plugins (e.g. `auth: true`). */
  [option: string]: unknown
}

export declare function Route(options: RouteOptions): UniversalMethodDecorator

// ---------------------------------------------------------------- schemas

/** A JSON Schema (as JSON: an object, or `true`/`false`). */
export type JsonSchema = { readonly [keyword: string]: unknown } | boolean
/** A zod schema, or any Standard Schema whose vendor is zod (told by shape, not by `instanceof`). */
export interface ZodLikeSchema {
  readonly '~standard': { readonly vendor: string; readonly types?: { readonly input: unknown; readonly output: unknown } | undefined }
}
export type RouteSchema = JsonSchema | ZodLikeSchema
export interface RouteValidate {
  body?: RouteSchema
  query?: RouteSchema
  params?: RouteSchema
  /** Header names are matched case-insensitively. */
  headers?: RouteSchema
}
/** `validate` after conversion to JSON Schema, and `returns`: what `routeSchemas()` gives (for OpenAPI, clients). */
export interface RouteJsonSchemas {
  body?: JsonSchema
  query?: JsonSchema
  params?: JsonSchema
  headers?: JsonSchema
  returns?: JsonSchema
}

/**
 * A `@Route` handler's schemas as JSON Schema (zod converted once, then remembered): `validate`'s parts
 * and `returns`. For plugins that describe routes (OpenAPI documents, clients).
 */
export declare function routeSchemas(handler: HandlerMetadata): RouteJsonSchemas

/** The type a schema describes: zod's (Standard Schema) output type, or a JSON Schema `as const` mapped by `FromJsonSchema`. */
export type Infer<S> = S extends { readonly '~standard': { readonly types?: infer T } }
  ? NonNullable<T> extends { readonly output: infer O }
    ? O
    : unknown
  : S extends { readonly _output: infer O }
    ? O
    : FromJsonSchema<S>

type Simplify<T> = { [K in keyof T]: T[K] } & {}
type RequiredKeys<S> = S extends { readonly required: readonly (infer R)[] } ? R : never
type FromJsonType<T, S> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : T extends 'array'
          ? S extends { readonly items: infer I }
            ? FromJsonSchema<I>[]
            : unknown[]
          : T extends 'object'
            ? S extends { readonly properties: infer P }
              ? Simplify<
                  { -readonly [K in keyof P as K extends RequiredKeys<S> ? K : never]: FromJsonSchema<P[K]> } & {
                    -readonly [K in keyof P as K extends RequiredKeys<S> ? never : K]?: FromJsonSchema<P[K]>
                  }
                >
              : Record<string, unknown>
            : unknown
/**
 * The type of a JSON Schema written `as const`: `type` (one or a list), `properties`, `required`, `items`,
 * `enum`, `const`, `anyOf`/`oneOf`; anything else is `unknown`.
 */
export type FromJsonSchema<S> = S extends { readonly const: infer C }
  ? C
  : S extends { readonly enum: readonly (infer E)[] }
    ? E
    : S extends { readonly anyOf: readonly (infer M)[] }
      ? FromJsonSchema<M>
      : S extends { readonly oneOf: readonly (infer M)[] }
        ? FromJsonSchema<M>
        : S extends { readonly type: readonly (infer T)[] }
          ? FromJsonType<T, S>
          : S extends { readonly type: infer T }
            ? FromJsonType<T, S>
            : unknown

/** `ctx.req.valid()`'s targets (Hono's names) and the `validate` part each reads. */
export type ValidTarget = 'json' | 'query' | 'param' | 'header'
/** What `ctx.req.valid(target)` returns for a route's `validate`. */
export type ValidTypes<V> = (V extends { readonly body: infer B } ? { json: Infer<B> } : {}) &
  (V extends { readonly query: infer Q } ? { query: Infer<Q> } : {}) &
  (V extends { readonly params: infer P } ? { param: Infer<P> } : {}) &
  (V extends { readonly headers: infer H } ? { header: LowercaseKeys<Infer<H>> } : {})
/** Header names arrive lowercase, whatever case the schema wrote them in. */
type LowercaseKeys<T> = T extends object ? { [K in keyof T as K extends string ? Lowercase<K> : K]: T[K] } : T
/**
 * The context of a route whose options are `O` (declare them `as const` or with `satisfies RouteOptions`):
 * `ctx.req.valid('json')` is typed from `O.validate.body`, and so on.
 */
export type RouteContext<O> = Context<O extends { readonly validate?: infer V } ? ValidTypes<NonNullable<V>> : {}>
/** The result type `O.returns` describes (for clients). */
export type RouteReturns<O> = O extends { readonly returns: infer R } ? Infer<R> : unknown
/** A GET route. */
export declare function Page(options: string | Omit<RouteOptions, 'method'>): UniversalMethodDecorator

/** What the decorators recorded on a handler method (no `wrap`: that exists only during start). */
export type DecoratedHandlerMetadata<TOptions = any> = Omit<HandlerMetadata<TOptions>, 'wrap'>
/**
 * The handler metadata of `target`'s method, in decorator order; empty when it is not decorated.
 * `target` is a class, its prototype or an instance (nebula-engine's `getHandlerMetadata`).
 */
export declare function getHandlerMetadata(target: object, methodName: string | symbol): DecoratedHandlerMetadata[]
/** Every decorated method of `target` (own and inherited) → its handler metadata. */
export declare function getAllHandlerMetadata(target: object): Map<string | symbol, DecoratedHandlerMetadata[]>

// ---------------------------------------------------------------- HTTP

/** Hono-style middleware: return a value to answer, or `await next()` to go on. */
export type Middleware = (ctx: Context, next: () => Promise<unknown>) => unknown

export interface RoutePluginOptions {
  prefix?: string
  globalMiddlewares?: Middleware[]
  /** Turns a thrown error into the reply (any value the return mapping accepts). */
  errorTransformer?: (ctx: Context, err: unknown, handler: HandlerMetadata) => unknown
}

export declare class RoutePlugin implements Plugin<ModuleOptions> {
  constructor(options?: RoutePluginOptions)
  readonly name: 'route-plugin'
  readonly priority: typeof PluginPriority.ROUTE
  readonly options: RoutePluginOptions
  getModuleOptionsSchema(): PluginModuleOptionsSchema<ModuleOptions>
  onInit(engine: Microservice): void
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
}

export declare class HttpRequest<V = {}> {
  readonly method: string
  /** Full URL: http://{host}{path}{?query}. */
  readonly url: string
  /** Raw path, without the query. */
  readonly path: string
  /** The matched route pattern, e.g. "/api/users/:id". */
  readonly routePath: string
  /** The client's address (undefined for in-process requests). */
  readonly ip: string | undefined
  param(name: string): string | undefined
  param(): Record<string, string>
  query(name: string): string | undefined
  query(): Record<string, string>
  queries(name: string): string[] | undefined
  queries(): Record<string, string[]>
  /** Case-insensitive. */
  header(name: string): string | undefined
  header(): Record<string, string>
  /** Malformed or empty body → HttpError 400 (answered as JSON). */
  json<T = any>(): Promise<T>
  /**
   * What Rust checked against the route's `validate` before the handler ran: the JSON body, or the
   * query, path parameters or headers coerced to their schema's types. Throws when the route has no
   * schema for that part. Typed through `RouteContext<typeof options>`.
   */
  valid<K extends {} extends V ? ValidTarget : keyof V & ValidTarget>(target: K): K extends keyof V ? V[K] : any
  text(): Promise<string>
  arrayBuffer(): Promise<ArrayBuffer>
}

/** What ctx.json()/text()/html()/body()/redirect() build. */
export declare class HttpResponse {
  constructor(body: unknown, status?: number, headers?: Record<string, string>)
  body: unknown
  status: number
  headers: Record<string, string>
}

export declare class Context<V = {}> {
  readonly req: HttpRequest<V>
  readonly handler: HandlerMetadata | undefined
  status(code: number): void
  header(name: string, value: string | undefined): void
  set(key: string, value: unknown): void
  get<T = any>(key: string): T
  readonly var: Record<string, unknown>
  json(value: unknown, status?: number, headers?: Record<string, string>): HttpResponse
  text(value: string, status?: number, headers?: Record<string, string>): HttpResponse
  html(value: string, status?: number, headers?: Record<string, string>): HttpResponse
  /** hono's html`` or a hono/jsx node (rendered by its toString()), or a promise of HTML: a promise when rendering is. */
  html(value: unknown, status?: number, headers?: Record<string, string>): HttpResponse | Promise<HttpResponse>
  body(data: string | Uint8Array | ArrayBuffer | null, status?: number, headers?: Record<string, string>): HttpResponse
  redirect(location: string, status?: number): HttpResponse
  notFound(): HttpResponse
}

// ---------------------------------------------------------------- compatibility

export declare const Factory: {
  /** nebula-engine's shipped entry: engines with exactly these plugins, and a Module bound to them. */
  create(...plugins: Plugin[]): { Module: typeof Module; Microservice: typeof Microservice }
}

export declare const Testing: {
  createTestEngine(spec?: { plugins?: Plugin[]; options?: Partial<MicroserviceOptions> }): {
    Module: typeof Module
    Microservice: typeof Microservice
    engine: Microservice
  }
  /** nebula's defaults for a test engine's options: `{ name: "test-service", version: "1.0.0" }`. */
  readonly DEFAULT_TEST_OPTIONS: Readonly<{ name: string; version: string }>
  /** Resolves after `ms` milliseconds. */
  wait(ms: number): Promise<void>
}

// ---------------------------------------------------------------- errors

export declare class PluginNameRequiredError extends Error {}
export declare class ModuleConfigValidationError extends Error {
  readonly moduleName: string
  readonly pluginName: string
  readonly reason: string
}
/** Exported for compatibility; module names may repeat, so it is never thrown. */
export declare class DuplicateModuleError extends Error {
  readonly moduleName: string
}
/** An error with an HTTP status: thrown from a handler it becomes `{ error, message }` with that status. */
export declare class HttpError extends Error {
  constructor(status: number, message: string, options?: { cause?: unknown })
  readonly status: number
}

// ---------------------------------------------------------------- native plugins
// Each is a Rust layer in the handler's onion. While every layer outside it is
// native too, it runs before anything reaches JavaScript.

/** Who a request counts against. */
export type RateLimitKey = 'ip' | { header: string } | { claim: string }

// generated by scripts/generate.mjs from lib/plugins/specs (npm run gen): RateLimitOptions
export interface RateLimitOptions {
  /** Requests per window per key. Default 100. */
  maxRequests?: number
  /** Window length (ms). Default 60000. */
  windowMs?: number
  /** `"ip"` (default: the client address; IPv6 by /64; in-process requests share "local"), `{ header: name }` or `{ claim: name }`. */
  key?: RateLimitKey
  /** Keys remembered per counter set at most (evicted beyond). Default 100000. */
  maxKeys?: number
}
// end of generated RateLimitOptions

/** `@Module(name, { ... })` keys read by RateLimitPlugin. */
export interface RateLimitModuleOptions {
  rateLimitMaxRequests?: number
  rateLimitWindowMs?: number
}

/** `@Route({ ... })` keys read by RateLimitPlugin. */
export interface RateLimitRouteOptions extends RateLimitModuleOptions {
  /** false: this route is not limited. */
  rateLimit?: boolean
}

/** Token-bucket rate limiting in Rust (SECURITY). 429 with Retry-After; RateLimit-* headers. */
export declare class RateLimitPlugin implements Plugin<RateLimitModuleOptions> {
  constructor(options?: RateLimitOptions)
  /**
   * New options while the engine serves: every route's layer (TS routes, hook and gateway
   * routes) changes at once; its counters and state start afresh. Before start, the options
   * are simply taken. Throws a TypeError naming the option (nothing changes then), or an Error
   * when the change needs a restart (it would add or remove a layer on a route).
   */
  reconfigure(options: RateLimitOptions): void
  readonly name: 'rate-limit'
  readonly priority: number
  readonly options: Readonly<Required<RateLimitOptions>>
  getModuleOptionsSchema(): PluginModuleOptionsSchema<RateLimitModuleOptions>
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
}

// generated by scripts/generate.mjs from lib/plugins/specs (npm run gen): JwtAuthOptions
export interface JwtAuthOptions {
  /** Pinned: a token whose header names another algorithm (or "none") is refused. */
  algorithm: 'HS256' | 'RS256' | 'ES256'
  /** HS256 shared secret, at least 32 bytes. */
  secret?: string
  /** RS256/ES256 public key, PEM ("PUBLIC KEY"; "RSA PUBLIC KEY" also for RS256). RSA at least 2048 bits; ES256 needs P-256. */
  publicKey?: string
  /** Required `iss`. */
  issuer?: string
  /** Accepted `aud` value(s); a token must name at least one. */
  audience?: string | string[]
  /** Clock skew for exp/nbf in seconds, 0..300. Default 5. */
  leeway?: number
  /** Claim holding permissions (array or space-separated string). Default "permissions". */
  claimsPermissions?: string
  /** Claim holding roles (array or space-separated string). Default "roles". */
  claimsRoles?: string
}
// end of generated JwtAuthOptions

/** Module options read by JwtAuthPlugin. */
export interface JwtModuleOptions {
  jwtPermissions?: string[]
  jwtRoles?: string[]
}

/** Route options read by JwtAuthPlugin. */
export interface JwtRouteOptions {
  public?: boolean
  permissions?: string[]
  roles?: string[]
}

/** Verifies `Authorization: Bearer` JWTs in Rust (SECURITY); claims as `ctx.get("user")`. */
export declare class JwtAuthPlugin implements Plugin<JwtModuleOptions> {
  /** Throws a TypeError naming the option. */
  constructor(options: JwtAuthOptions)
  /**
   * New options while the engine serves: every route's layer (TS routes, hook and gateway
   * routes) changes at once; its counters and state start afresh. Before start, the options
   * are simply taken. Throws a TypeError naming the option (nothing changes then), or an Error
   * when the change needs a restart (it would add or remove a layer on a route).
   */
  reconfigure(options: JwtAuthOptions): void
  readonly name: 'jwt-auth'
  readonly priority: typeof PluginPriority.SECURITY
  readonly options: Readonly<JwtAuthOptions>
  getModuleOptionsSchema(): PluginModuleOptionsSchema<JwtModuleOptions>
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
}

// generated by scripts/generate.mjs from lib/plugins/specs (npm run gen): CorsOptions
export interface CorsOptions {
  /** `"*"` (default) or exact origins (`https://app.example.com`, `null`) and `scheme://*.domain` patterns. */
  origins?: '*' | string[]
  /** `Access-Control-Allow-Methods`. Default `["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"]`. */
  methods?: string[]
  /** `Access-Control-Allow-Headers`. Default: echo the preflight's `Access-Control-Request-Headers`. */
  allowedHeaders?: string[]
  /** `Access-Control-Expose-Headers`: response headers the page may read. Default `[]`. */
  exposedHeaders?: string[]
  /** `Access-Control-Allow-Credentials: true`; with `origins: "*"` the origin is echoed. Default `false`. */
  credentials?: boolean
  /** `Access-Control-Max-Age` in seconds. Default: not sent. */
  maxAge?: number
}
// end of generated CorsOptions

/** `cors` in `@Module(name, { cors })` or `@Route({ cors })`: `false` turns CORS off, an object overrides (route over module). */
export type CorsOverride = boolean | CorsOptions

/** CORS in Rust (SECURITY); preflights answered without JavaScript. */
export declare class CorsPlugin implements Plugin<ModuleOptions & { cors?: CorsOverride }> {
  /** Throws a TypeError naming the option when `options` is invalid. */
  constructor(options?: CorsOptions)
  /**
   * New options while the engine serves: every route's layer (TS routes, hook and gateway
   * routes) changes at once; its counters and state start afresh. Before start, the options
   * are simply taken. Throws a TypeError naming the option (nothing changes then), or an Error
   * when the change needs a restart (it would add or remove a layer on a route).
   */
  reconfigure(options: CorsOptions): void
  readonly name: 'cors'
  readonly priority: typeof PluginPriority.SECURITY
  readonly options: CorsOptions
  getModuleOptionsSchema(): PluginModuleOptionsSchema<ModuleOptions & { cors?: CorsOverride }>
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
}

// generated by scripts/generate.mjs from lib/plugins/specs (npm run gen): CompressionOptions
export interface CompressionOptions {
  /** Smallest body compressed, in bytes. Default 1024. */
  threshold?: number
  /** Codings offered, in the server's preference order. Default `["br", "gzip"]`. */
  encodings?: Array<'br' | 'gzip'>
  /** 1–9 for both codings. Default: gzip 6, brotli 4. */
  level?: number
}
// end of generated CompressionOptions

/** `compression` in `@Module(name, { compression })` or `@Route({ compression })`. */
export type CompressionOverride = boolean | CompressionOptions

/** gzip/br compression of answers in Rust (PERFORMANCE). */
export declare class CompressionPlugin implements Plugin<ModuleOptions & { compression?: CompressionOverride }> {
  constructor(options?: CompressionOptions)
  /**
   * New options while the engine serves: every route's layer (TS routes, hook and gateway
   * routes) changes at once; its counters and state start afresh. Before start, the options
   * are simply taken. Throws a TypeError naming the option (nothing changes then), or an Error
   * when the change needs a restart (it would add or remove a layer on a route).
   */
  reconfigure(options: CompressionOptions): void
  readonly name: 'compression'
  readonly priority: typeof PluginPriority.PERFORMANCE
  readonly options: CompressionOptions
  getModuleOptionsSchema(): PluginModuleOptionsSchema<ModuleOptions & { compression?: CompressionOverride }>
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
}

// generated by scripts/generate.mjs from lib/plugins/specs (npm run gen): LoggerPluginOptions
export interface LoggerPluginOptions {
  /** Line format. Default "json". */
  format?: 'json' | 'pretty'
  /** Header the request id is read from and written to. Default "x-request-id". */
  requestIdHeader?: string
  /** Where lines are printed. Default "stdout". */
  output?: 'stdout' | 'stderr'
}
// end of generated LoggerPluginOptions

/** Access log written from Rust + request ids (`ctx.get("requestId")`). Priority LOGGING. Module/route option `accessLog: false`. */
export declare class LoggerPlugin implements Plugin {
  constructor(options?: LoggerPluginOptions)
  /**
   * New options while the engine serves: every route's layer (TS routes, hook and gateway
   * routes) changes at once; its counters and state start afresh. Before start, the options
   * are simply taken. Throws a TypeError naming the option (nothing changes then), or an Error
   * when the change needs a restart (it would add or remove a layer on a route).
   */
  reconfigure(options: LoggerPluginOptions): void
  readonly name: 'logger'
  readonly priority: number
  readonly options: Readonly<Required<LoggerPluginOptions>>
  getModuleOptionsSchema(): PluginModuleOptionsSchema<{ accessLog?: boolean }>
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
}

// generated by scripts/generate.mjs from lib/plugins/specs (npm run gen): MetricsPluginOptions
export interface MetricsPluginOptions {
  /** Path of the GET endpoint. Default "/metrics". */
  path?: string
  /** Metric name prefix. Default "nebula_". */
  prefix?: string
  /** Histogram upper bounds in seconds, strictly increasing, 1–64 of them. */
  buckets?: number[]
}
// end of generated MetricsPluginOptions

/** Prometheus metrics answered in Rust. Priority SYSTEM. Module/route option `metrics: false`. */
export declare class MetricsPlugin implements Plugin {
  constructor(options?: MetricsPluginOptions)
  readonly name: 'metrics'
  readonly priority: number
  readonly options: Readonly<{ path: string; prefix: string; buckets: readonly number[] }>
  getModuleOptionsSchema(): PluginModuleOptionsSchema<{ metrics?: boolean }>
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
}

/** `@Cache(...)` options (nebula-engine's CacheOptions). */
export interface CacheOptions {
  /** Time to live in ms. Default: the module's `cacheDefaultTtl`, else 60 000. 0 stores nothing. */
  ttl?: number
  /** Key material: gets the method's arguments (on a route: `(ctx)`); hashed into the key. With a key function the lookup runs in JS. */
  key?: (...args: any[]) => unknown
  /** Default: the module's `cacheEnabled`, else true. */
  enabled?: boolean
}

/** Module options read by CachePlugin: `@Module(name, { cacheDefaultTtl: 5000 })`. */
export interface CacheModuleOptions extends ModuleOptions {
  /** ms, >= 0 (a negative value fails with ModuleConfigValidationError). */
  cacheDefaultTtl?: number
  /** false: `@Cache` methods of the module are not cached unless they say `enabled: true`. */
  cacheEnabled?: boolean
  /** Accepted (>= 0) for compatibility; stale entries are dropped when met and by the bounds. */
  cacheCleanupInterval?: number
}

/** Caches a module method: `engine.handler()` results by arguments, and GET/HEAD replies of its route. */
export declare function Cache(options?: CacheOptions): UniversalMethodDecorator

// generated by scripts/generate.mjs from lib/plugins/specs (npm run gen): MemoryCacheAdapterOptions
export interface MemoryCacheAdapterOptions {
  /** Entries at most. Default 10 000. */
  maxEntries?: number
  /** Bytes at most (keys, headers, bodies). Default 64 MiB. */
  maxBytes?: number
}
// end of generated MemoryCacheAdapterOptions

/** The default store: in memory (in Rust), bounded; the oldest entries are evicted first. */
export declare class MemoryCacheAdapter {
  constructor(options?: MemoryCacheAdapterOptions)
  readonly maxEntries: number
  readonly maxBytes: number
}

// generated by scripts/generate.mjs from lib/plugins/specs (npm run gen): RedisCacheAdapterOptions
export interface RedisCacheAdapterOptions {
  /** `redis://[user:password@]host[:port][/db]` or `redis+unix:///path` (no TLS). */
  url: string
  /** Key prefix, non-empty. Default "cache:". */
  prefix?: string
  /** nebula-engine's name for `prefix`. */
  keyPrefix?: string
  /** Bound of every Redis operation in ms. Default 1000. */
  timeoutMs?: number
}
// end of generated RedisCacheAdapterOptions

/** A store in Redis, shared by every process with the same url and prefix (configuration only: Rust connects). */
export declare class RedisCacheAdapter {
  constructor(options: RedisCacheAdapterOptions)
  readonly url: string
  readonly prefix: string
  readonly timeoutMs: number
}

export declare class CachePlugin implements Plugin<CacheModuleOptions> {
  /** Throws a TypeError for anything but a MemoryCacheAdapter or a RedisCacheAdapter. */
  constructor(adapter?: MemoryCacheAdapter | RedisCacheAdapter)
  readonly name: 'cache-plugin'
  readonly priority: typeof PluginPriority.PERFORMANCE
  readonly adapter: MemoryCacheAdapter | RedisCacheAdapter
  getModuleOptionsSchema(): PluginModuleOptionsSchema<CacheModuleOptions>
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
  onBeforeStart(): Promise<void>
  onDestroy(): Promise<void>
  /** Removes every entry (Redis: every key under the prefix, for every process). */
  clear(): Promise<void>
  /** Removes one entry by its full key (`module:method:hash`); true if it existed. */
  delete(key: string): Promise<boolean>
  /** Resolves once the Redis writes started so far are done (memory: at once). */
  flush(): Promise<void>
  /**
   * The fresh entries, oldest first, route replies included (Redis: every process's, under the
   * prefix); at most 100 000 are listed. Empty before the engine loaded its `@Cache` methods.
   */
  getStats(): Promise<CacheStats>
}

/** `CachePlugin.getStats()` (nebula-engine's shape); times in ms since the epoch. */
export interface CacheStats {
  size: number
  entries: Array<{ key: string; createdAt: number; expiresAt: number }>
}

export interface GracefulShutdownPluginOptions {
  /** How long shutdown() waits for requests in flight, in ms. Default 600 000 (10 minutes). */
  shutdownTimeout?: number
  /** false: no layer and no signal listeners. Default true. */
  enabled?: boolean
}

export declare class GracefulShutdownPlugin implements Plugin {
  /** Throws a TypeError naming the option when `options` is invalid. */
  constructor(options?: GracefulShutdownPluginOptions)
  readonly name: 'graceful-shutdown-plugin'
  readonly priority: typeof PluginPriority.SYSTEM
  readonly options: Required<GracefulShutdownPluginOptions>
  onInit(engine: Microservice): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
  onAfterStart(): void
  onDestroy(): void
  /** Requests in flight (`engine.stats().inFlight`) plus `engine.handler()` calls in flight. */
  getActiveHandlersCount(): number
  isShuttingDownNow(): boolean
  /**
   * New requests get 503 (HTTP) or reject with HttpError 503 (handler calls);
   * waits for those in flight (at most `shutdownTimeout`), then `engine.stop()`.
   * SIGINT/SIGTERM call it, then `process.exit(0)`. Returns the same promise when called again.
   */
  shutdown(): Promise<void>
}

// ---- Distributed plugins: SchedulePlugin, ConcurrencyLockPlugin -------------

/** Where leases live. `local`: this process (the default); Redis or NATS KV: every node using it. */
export type CoordinatorOptions =
  | { type: 'local'; prefix?: string }
  | {
      type: 'redis'
      /** `redis://[user:password@]host[:port][/db]` or `redis+unix:///path` (no TLS). */
      url: string
      /** Key prefix. Default "nebula:". */
      prefix?: string
      /** Bound of every Redis operation in ms. Default 1000 (SchedulePlugin: min(1000, leaseTtlMs / 3)). */
      timeoutMs?: number
    }
  | {
      type: 'nats'
      /** `nats://host:port` (a comma-separated list for a cluster); JetStream must be enabled. */
      url: string
      /** JetStream KV bucket, created if missing. Default "nebula_leases". */
      bucket?: string
      /** Key prefix inside the bucket. Default "". */
      prefix?: string
      /** Bound of every NATS operation in ms. Default 1000 (SchedulePlugin: min(1000, leaseTtlMs / 3)). */
      timeoutMs?: number
    }

export declare const ScheduleMode: {
  /** A run every `interval`; a tick while the previous run still goes on is skipped (and counted). */
  readonly FIXED_RATE: 'FIXED_RATE'
  /** The next run starts `interval` after the previous one finished (the first at once). */
  readonly FIXED_DELAY: 'FIXED_DELAY'
}
export type ScheduleMode = (typeof ScheduleMode)[keyof typeof ScheduleMode]

/** `@Schedule(...)` options: exactly one of `interval` and `cron`. */
export type ScheduleOptions = (
  | { /** ms, 1 to 2^31 - 1. */ interval: number; cron?: undefined; mode?: ScheduleMode }
  | { /** A 5-field cron expression, in UTC (`*\/5 * * * *`, `@hourly`). */ cron: string; interval?: undefined; mode?: 'FIXED_RATE' }
) & {
  /** The job's name and lease key (`schedule:<name>`). Default `${module name}.${method}`. */
  name?: string
  /** false: the job is not scheduled. Default true. */
  enabled?: boolean
}

/** Runs a module method on a schedule, on one node of the service at a time (it gets no arguments). */
export declare function Schedule(options: ScheduleOptions): UniversalMethodDecorator

export interface SchedulePluginOptions {
  /** Default `{ type: 'local' }` (this process only). */
  coordinator?: CoordinatorOptions
  /** Lease time to live in ms (at least 30). The holder renews every ttl/3; a dead holder's jobs move within ttl + ttl/3. Default 10 000. */
  leaseTtlMs?: number
  /** This node's lease owner token; must be unique per node. Default `host:pid:random`. */
  nodeId?: string
}

export interface ScheduledJobInfo {
  name: string
  mode: ScheduleMode
  interval: number | null
  cron: string | null
  /** This node holds the job's lease (and runs the job). */
  leader: boolean
  /** A run is going on now. */
  running: boolean
  /** Runs started on this node. */
  runs: number
  /** FIXED_RATE / cron ticks skipped because the previous run still went on. */
  skipped: number
  /** Runs that threw (or rejected). */
  errors: number
  /** ms since the epoch; null before the first run. */
  lastRunAt: number | null
  lastError: string | null
  /** ms since the epoch; null while this node is not the leader. */
  nextRunAt: number | null
}

export declare class SchedulePlugin implements Plugin {
  /** Throws a TypeError naming the option when `options` is invalid. */
  constructor(options?: SchedulePluginOptions)
  readonly name: 'schedule-plugin'
  readonly priority: typeof PluginPriority.BUSINESS
  readonly nodeId: string
  readonly leaseTtlMs: number
  readonly options: Readonly<{ coordinator: Readonly<CoordinatorOptions>; leaseTtlMs: number; nodeId: string }>
  onInit(engine: Microservice): void
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
  /** Jobs start: every node campaigns for every job's lease. */
  onAfterStart(): void
  /** Timers stop, runs in flight finish (up to the engine's shutdownTimeout), leases are released. */
  onDestroy(): Promise<void>
  /** What each job does on this node. */
  jobs(): ScheduledJobInfo[]
}

/** `@ConcurrencyLock(...)` options. */
export interface ConcurrencyLockOptions {
  /**
   * The lock's key, shared by every method that uses it. A function gets the
   * method's arguments (a route: `(ctx)`); a string or number is used as is,
   * anything else is hashed under `${module}.${method}:`. Default `${module name}.${method}`.
   */
  key?: string | ((...args: any[]) => unknown)
  /** Lock TTL in ms: a holder that died (or runs longer) loses the lock then. Default: the module's `concurrencyLockDefaultTimeout`, else 30 000. */
  timeout?: number
  /** How long a call waits for the lock (retrying) before it fails with ConcurrencyLockError. Default 0. */
  waitMs?: number
}

/** Module options read by ConcurrencyLockPlugin. */
export interface ConcurrencyLockModuleOptions extends ModuleOptions {
  /** ms, >= 1: `timeout` of the module's `@ConcurrencyLock` methods that set none. */
  concurrencyLockDefaultTimeout?: number
}

/** One call at a time per key, across every node sharing the plugin's coordinator. */
export declare function ConcurrencyLock(options?: ConcurrencyLockOptions): UniversalMethodDecorator

export type ConcurrencyLockPluginOptions =
  | { /** `redis://…` or `{ url, prefix?, timeoutMs? }`: shorthand for `coordinator: { type: 'redis', … }`. */ redis: string | { url: string; prefix?: string; timeoutMs?: number }; coordinator?: undefined }
  | { /** Default `{ type: 'local' }`. */ coordinator?: CoordinatorOptions; redis?: undefined }

/** The lock was held by another call (after `waitMs`): HTTP 409 `{ error: "Conflict", message }` on a route. */
export declare class ConcurrencyLockError extends HttpError {
  readonly status: 409
  readonly key: string
}

/**
 * nebula-engine's in-process lock store, for code that uses it directly (ConcurrencyLockPlugin
 * keeps its leases in Rust and does not need it). An expired lock counts as free.
 */
export declare class MemoryLockAdapter {
  /** Takes `key` for `ttl` ms when it is free; true when taken. */
  acquire(key: string, ttl: number): Promise<boolean>
  /** Frees `key` (whoever holds it); true when it was held. */
  release(key: string): Promise<boolean>
  /** True while `key` is held and not expired. */
  isLocked(key: string): Promise<boolean>
  /** True when `key` is not held (released, expired or never taken). */
  isExpired(key: string): Promise<boolean>
  /** Waits until `key` is free, at most `waitTimeout` ms: true when free, false on timeout. `lockTtl` is unused. */
  waitForUnlock(key: string, waitTimeout: number, lockTtl?: number): Promise<boolean>
  /** Drops every lock. */
  clear(): Promise<void>
  getStats(): { size: number; locks: Array<{ key: string; expiresAt: number }> }
}

export interface OpenApiPluginOptions {
  /** Where the document is served (GET). Default "/openapi.json". */
  path?: string
  /** OpenAPI `info`, over `{ title: <service name>, version: <service version> }`. */
  info?: { title?: string; version?: string; description?: string; [field: string]: unknown }
  /** A Swagger UI page (needs the swagger-ui-dist package): `true` serves it at "/docs". */
  ui?: boolean | { path?: string }
}

/**
 * Serves the OpenAPI 3.1 document of the routes (RoutePlugin) and actions (ActionPlugin, GET and
 * POST): paths, parameters (`validate.params/query/headers`), request bodies (`validate.body`),
 * responses (`returns`, and the error bodies the engine answers with), descriptions, and
 * JwtAuthPlugin's bearer scheme on the handlers that are not `public` (permissions and roles in
 * `x-permissions` / `x-roles`). Schemas' `$defs` (and recursive schemas) become `components.schemas`.
 */
export declare class OpenApiPlugin implements Plugin {
  /** Throws a TypeError naming the option when `options` is invalid. */
  constructor(options?: OpenApiPluginOptions)
  readonly name: 'openapi-plugin'
  readonly priority: typeof PluginPriority.ROUTE
  readonly options: Readonly<{ path: string; info?: OpenApiPluginOptions['info']; ui?: { path: string } }>
  onInit(engine: Microservice): void
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
  /** The document served, built at start; undefined before. */
  getDocument(): Record<string, unknown> | undefined
}

export declare class ConcurrencyLockPlugin implements Plugin<ConcurrencyLockModuleOptions> {
  /** Throws a TypeError naming the option when `options` is invalid. */
  constructor(options?: ConcurrencyLockPluginOptions)
  readonly name: 'concurrency-lock-plugin'
  readonly priority: 500
  readonly options: Readonly<{ coordinator: Readonly<CoordinatorOptions> }>
  getModuleOptionsSchema(): PluginModuleOptionsSchema<ConcurrencyLockModuleOptions>
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
  onDestroy(): void
}

// ---- The WebSocket hub ------------------------------------------------------

export interface HubAuthOptions {
  /** HS256 shared secret (at least 32 bytes). */
  secret?: string
  /** RS256/ES256 public key (PEM). */
  publicKey?: string
  /** The one accepted algorithm (it is pinned). Default: HS256 with secret, RS256 with publicKey. */
  algorithms?: ['HS256' | 'RS256' | 'ES256']
  /** Required `iss`. */
  issuer?: string
  /** Accepted `aud` values. */
  audience?: string | string[]
  /** Clock skew allowed on exp/nbf, in seconds (default 5). */
  leeway?: number
  /** The claim listing permissions (default "permissions"). */
  permissionsClaim?: string
}

export interface HubSendQueueOptions {
  /** Messages queued per client before it counts as slow. Default 1024. */
  maxMessages?: number
  /** Bytes queued per client before it counts as slow. Default 4 MiB. */
  maxBytes?: number
  /** A slow client is disconnected (1008, default) or misses the message ("drop"). */
  onFull?: 'disconnect' | 'drop'
}

export interface HubPluginOptions {
  /** The WebSocket path on the engine's port. Default "/ws". */
  path?: string
  /** Where the admin API lives. Default "/api". */
  apiPrefix?: string
  /** JWT from `?token=` or `Authorization: Bearer`, verified in Rust. */
  auth?: HubAuthOptions
  /** Connections without a token. Default: true without auth, false with it. */
  allowAnonymous?: boolean
  /** Permissions of anonymous clients. Default read:message, send:message, join:room, leave:room. */
  anonymousPermissions?: string[]
  /** Allowed `Origin` values (403 otherwise). Default: any. */
  allowedOrigins?: string[]
  /** Bearer token for the admin API (at least 16 characters); without it the admin API is off. */
  adminToken?: string
  /** Largest message in bytes; a larger one closes the socket with 1009. Default 1 MiB. */
  maxMessageSize?: number
  /** Most frames in one fragmented message (1009 beyond). Default 1024. */
  maxFragments?: number
  sendQueue?: HubSendQueueOptions
  /** Open WebSocket connections at most (503 beyond). Default 10 000. */
  maxConnections?: number
  /** Messages a client may send per second (error 1005 beyond; 0: unlimited). Default 100. */
  maxMessagesPerSecond?: number
  /** Server ping every N ms (0: never); must be below idleTimeoutMs. Default 30 000. */
  pingIntervalMs?: number
  /** Close (1001) a connection silent for N ms (0: never). Default 90 000. */
  idleTimeoutMs?: number
  /**
   * The cluster bus. Default "local": one node, nothing installed. A Redis or
   * NATS URL (or `{ type, url, … }`) joins every engine using the same bus
   * and prefix into one hub. `NEBULA_BUS` (a URL) applies when absent.
   */
  bus?: 'local' | `redis://${string}` | `rediss://${string}` | `nats://${string}` | HubBusOptions
}

export interface HubBusTuning {
  /** Separates clusters sharing one server (channel/subject prefix). Default "nebula". */
  prefix?: string
  /** This node's name (letters, digits, _ and -). Default `<host>-<pid>-<random>`, or `NEBULA_NODE_ID`. */
  nodeId?: string
  /** How often a node says it is alive. Default 1000 ms. */
  heartbeatMs?: number
  /** A node not heard from for this long is gone, with its clients. Default 5 × heartbeatMs. */
  presenceTtlMs?: number
  /** Messages waiting between the hub and the bus, each way (beyond: dropped and counted). Default 8192. */
  queue?: number
}

export type HubBusOptions =
  | { type: 'local'; /** Engines in this process naming the same group share one hub. */ group?: string }
  | ({ type: 'redis'; url: string } & HubBusTuning)
  | ({ type: 'nats'; url: string } & HubBusTuning)

export interface HubClient {
  readonly id: string
  /** This connection's number: tells a client id's connections apart. */
  readonly seq: number
  readonly username?: string
  readonly anonymous: boolean
  readonly permissions: readonly string[]
  /** The verified JWT claims (null when anonymous). */
  readonly claims: Record<string, unknown> | null
  readonly remoteAddr?: string
  /** Sends to this connection only (false once it is gone, even if the id reconnected). */
  send(type: string, data?: unknown): boolean
  /** Closes this connection only (code 4001 unless given). */
  disconnect(options?: { code?: number; reason?: string }): boolean
}

export interface HubMessage<T = unknown> {
  type: string
  messageId: number
  data: T
  /** The hub's server SDK (to reach rooms and other clients from a handler). */
  hub: Hub
}

export type HubHandler<T = any> = (client: HubClient, data: T, message: HubMessage<T>) => unknown

export interface HubRoom {
  id: string
  name: string
  max_clients: number
  clients: number
  created_at?: number
  members?: string[]
}

export interface HubClientInfo {
  id: string
  username: string | null
  anonymous: boolean
  permissions: string[]
  rooms: string[]
  connected_at: number
  remote_addr: string | null
  queued_messages: number
  queued_bytes: number
}

export interface HubStats {
  /** Clients connected to this node. */
  clients: number
  rooms: number
  started_at?: number
  uptime_ms?: number
  counters: Record<string, number>
  /** This node's id (with a bus). */
  node?: string
  /** The whole cluster (with a bus). */
  cluster?: HubClusterStats
}

export interface HubClusterStats {
  node: string
  /** Nodes this node knows of, itself included. */
  nodes: number
  /** Clients connected to any node. */
  clients: number
  peers: Array<{ id: string; clients: number; rooms: number; synced: boolean; last_seen_ms: number | null; started_at: number }>
  bus: {
    type: 'local' | 'redis' | 'nats'
    connected: boolean
    published: number
    publish_dropped: number
    received: number
    inbound_dropped: number
    duplicates: number
    reconnects: number
    down_ms: number
    last_error: string | null
  }
  presence_ttl_ms: number
}

/** Not exported at runtime: the type of `engine.hub` and `plugin.hub`. */
export interface Hub {
  /**
   * Handles messages of a custom type. A returned value (not undefined) is sent
   * back as a message of the same type answering the request's message_id; a
   * thrown HubError sends its code and message; any other error sends 1003.
   */
  on<T = any>(type: string, handler: HubHandler<T>, options?: { permission?: string }): this
  onConnect(fn: (client: HubClient) => unknown): this
  onDisconnect(fn: (client: HubClient, close: { code: number; reason: string }) => unknown): this
  onJoin(fn: (client: HubClient, room: string) => unknown): this
  onLeave(fn: (client: HubClient, room: string) => unknown): this
  /** Every connected client (of every node); returns how many it was queued for here plus the clients other nodes hold. */
  broadcast(type: string, data?: unknown): number
  /** Every member of a room on every node (but `except`); throws HubError 3000 when no node has the room. */
  toRoom(room: string, type: string, data?: unknown, options?: { except?: string }): number
  /** False when the client is connected to no node (as far as this node knows). */
  toClient(id: string, type: string, data?: unknown): boolean
  /** Throws HubError 3001 when this node has the room (in a cluster every node may create the same rooms). */
  createRoom(id: string, options?: { name?: string; maxClients?: number }): HubRoom
  /** Deletes the room on every node. */
  deleteRoom(id: string): boolean
  /** The rooms of every node; `clients` counts members on every node. */
  rooms(): HubRoom[]
  room(id: string): HubRoom | undefined
  /** Clients connected to this node (`stats().cluster` and `GET /api/clients` cover the cluster). */
  clients(): HubClientInfo[]
  stats(): HubStats
  /** Closes a client's connection, on whichever node holds it (code 4001 unless given). */
  disconnect(id: string, options?: { code?: number; reason?: string }): boolean
}

/** An error a hub handler throws on purpose: its code (GoHub's) and message reach the client. */
export declare class HubError extends Error {
  /** Throws a TypeError unless `code` is an integer from 1000 to 4999. */
  constructor(code: number, message: string)
  readonly code: number
}

export declare class HubPlugin implements Plugin {
  /** Throws a TypeError naming the option when `options` is invalid. */
  constructor(options?: HubPluginOptions)
  readonly name: 'hub'
  readonly priority: number
  readonly options: HubPluginOptions
  readonly hub: Hub
  onInit(engine: Microservice): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
}

/** Marks a module method as the handler of a WebSocket message type, with its plugin chain. */
export declare function WsHandler(type: string, options?: { permission?: string }): UniversalMethodDecorator

// ---- The script VM ------------------------------------------------------------

export interface JsvmPluginOptions {
  /** The folder of hook files (`*.pb.js`), loaded in name order. */
  hooksDir: string
  /** Folder of plugin files exporting `{ id, name, version, description, hooks: [function names], config: { enabled, priority } }` and the functions. */
  pluginsDir?: string
  /** Which files are hook files (a regular expression). Default `^.*\.pb\.js$`. */
  pattern?: string
  /** Reload when the files change (in process, a new generation of runtimes). Default false. */
  watch?: boolean
  /** QuickJS runtimes, each on its own thread. Default: the number of cores. */
  poolSize?: number
  /** Deadline of one execution (sync and async work). Default 1000. */
  timeoutMs?: number
  /** Memory limit of each runtime. Default 64. */
  memoryLimitMb?: number
  /** JS stack per runtime, in KiB. Default 1024. */
  stackKb?: number
  /** Executions one runtime holds at once (awaiting sleep). Default 16. */
  maxAsyncPerRuntime?: number
  /** Requests waiting for a runtime at most (503 with Retry-After beyond). Default 1024. */
  queueLimit?: number
  /** How long a request may wait for a runtime (503 beyond). Default 5000. */
  queueTimeoutMs?: number
  /** Bearer token for /admin/hooks, /admin/plugins and /admin/jsvm/stats; without it they are off. */
  adminToken?: string
}

export interface JsvmStats {
  generation: number
  poolSize: number
  busy: number
  queued: number
  executions: number
  errors: number
  timeouts: number
  /** Live worker threads of the serving pool. */
  workers: number
  /** Every worker is up and the process has room left for stuck threads. */
  healthy: boolean
  /** Threads of this process still stuck in one native call past their deadline (given up, replaced). */
  stuckThreads: number
  /** Workers given up (and replaced) because their thread stayed stuck past the deadline. */
  abandonedWorkers: number
  /** Executions stopped past their deadline inside a native call (an allocation or a guarded method refused). */
  nativeStops: number
  lastReloadError: { file: string; line?: number; col?: number; message: string } | null
  [key: string]: unknown
}

/** Not exported at runtime: the type of `engine.jsvm` and `plugin.jsvm`. */
export interface Jsvm {
  /** Sends a custom event to the scripts' `app.on(name, fn)` handlers. */
  emit(name: string, data?: unknown): void
  /** Receives the scripts' `events.emit(name, data)`. */
  on(name: string, fn: (data: any) => unknown): this
  /** Rebuilds the runtimes from the files; resolves to the new generation, rejects (keeping the old one) on a load error. */
  reload(): Promise<number>
  stats(): JsvmStats
  hooks(): unknown
  plugins(): unknown
  enablePlugin(id: string): boolean
  disablePlugin(id: string): boolean
}

export declare class JsvmPlugin implements Plugin {
  /** Throws a TypeError naming the option when `options` is invalid. */
  constructor(options: JsvmPluginOptions)
  readonly name: 'jsvm'
  readonly priority: number
  readonly options: JsvmPluginOptions
  readonly jsvm: Jsvm
  onInit(engine: Microservice): void
  onBeforeStart(engine: Microservice): void
}

// ---- The gateway -------------------------------------------------------------

export interface ServiceOptions {
  /** 1 to 64 of A-Z a-z 0-9 _ - . */
  name: string
  /** The program and its arguments; it must serve HTTP/1.1 on `NEBULA_SOCKET` (a Unix socket path, or host:port with a tcp socket). */
  command: string[]
  /** `/exact/path` or `/prefix/*` (the prefix itself too); forwarded with the path and query unchanged unless `stripPrefix`. */
  routes: string[]
  cwd?: string
  /** Extra environment (NEBULA_* names are reserved). */
  env?: Record<string, string>
  /** Worker processes. Default 1. */
  instances?: number
  /**
   * Default "auto" (a socket per instance under the runtime dir); a socket path (a base name:
   * `/run/app/api.sock` gives `api-0.sock`, …) or `"tcp://host:port"` (instance n on port + n);
   * also as `{ path }` or `{ tcp: "host:port" }`.
   */
  socket?: 'auto' | string | { path: string } | { tcp: string }
  /** When set, an instance is ready once GET healthPath over its socket answers 2xx (else once it accepts). */
  healthPath?: string
  /** How long an instance may take to become ready. Default 5000. */
  readyTimeoutMs?: number
  /** SIGTERM, then SIGKILL after this long. Default 5000. */
  graceMs?: number
  /** Restart delay after a crash: doubling from initialMs to maxMs. Default 100 → 10 000. */
  backoff?: { initialMs?: number; maxMs?: number }
  /** Give up (state "failed") after this many restarts within windowMs. Default 5 in 60 000. */
  crashLoop?: { maxRestarts?: number; windowMs?: number }
  /** No answer's head by then → 504; an answer body that stalls this long is cut off. Default 30 000. */
  timeoutMs?: number
  /** Drop the matched prefix before forwarding (`/api/py/x` → `/x`). Default false. */
  stripPrefix?: boolean
  /** Largest answer passed on (bodies stream both ways): a declared larger length → 502, a longer stream is cut off. Default: no limit. */
  maxResponseBytes?: number
  /** Files, folders or globs (`app/**\/*.py`; relative to cwd): a change restarts the workers, rolling, without failing requests. */
  watch?: string[]
  description?: string
}

export interface ServicesPluginOptions {
  services: ServiceOptions[]
  /** Where "auto" sockets go. Default `$XDG_RUNTIME_DIR/nebula`, else `/tmp/nebula-<uid>`. */
  runtimeDir?: string
}

export interface ServiceInstanceStatus {
  instance: number
  generation: number
  state: 'starting' | 'ready' | 'restarting' | 'draining' | 'stopping' | 'stopped' | 'failed'
  /** Why it failed (crash loop, not ready in time, command not found). */
  reason: string | null
  pid: number | null
  restarts: number
  address: string
  startedAt: number | null
  lastCrash: string | null
}

export interface ServicesStatus {
  services: Array<{ name: string; routes: string[]; ready: number; instances: ServiceInstanceStatus[] }>
}

/** What `ServicesPlugin.update()` did, by service name. */
export interface ServicesUpdate {
  started: string[]
  restarted: string[]
  /** Routes or forwarding options changed; workers kept. */
  rerouted: string[]
  stopped: string[]
  unchanged: string[]
  /** Workers that did not become ready (the old ones keep serving where there were any). */
  failed: { service: string; reason: string }[]
}

export declare class ServicesPlugin implements Plugin {
  /** Throws a TypeError naming the field when `options` is invalid. */
  constructor(options: ServicesPluginOptions)
  readonly name: 'services'
  readonly priority: number
  readonly options: ServicesPluginOptions
  onBeforeStart(engine: Microservice): void
  status(): ServicesStatus
  /** Rolling restart: each new worker is ready before the old one drains and stops. */
  restart(name: string): Promise<void>
  /**
   * Applies a new list of services while serving: added ones start (and are waited for),
   * removed ones leave the routes and stop, changed worker options → rolling restart,
   * route-only changes apply at once. Invalid options reject (TypeError) and change nothing.
   */
  update(services: ServiceOptions[]): Promise<ServicesUpdate>
  /** Stops the workers (the engine calls it when it is destroyed). */
  onDestroy(): Promise<void>
}

// ---- Config file (nebula.config.json) and the `nebula` CLI ---------------------

// generated by scripts/generate.mjs from lib/plugins/specs (npm run gen): CacheConfig
/** Options of `plugins.cache`: the store and its adapter's options. */
export interface CacheConfig {
  /** Default "memory" (maxEntries, maxBytes); "redis" takes url, prefix, timeoutMs. */
  store?: 'memory' | 'redis'
  /** Entries at most (store memory). Default 10 000. */
  maxEntries?: number
  /** Bytes at most (keys, headers, bodies; store memory). Default 64 MiB. */
  maxBytes?: number
  /** Store redis: `redis://[user:password@]host[:port][/db]` or `redis+unix:///path` (no TLS). */
  url?: string
  /** Key prefix (store redis), non-empty. Default "cache:". */
  prefix?: string
  /** Bound of every Redis operation in ms (store redis). Default 1000. */
  timeoutMs?: number
}
// end of generated CacheConfig

/** The `plugins` section: true (default options), the plugin's options, or false / absent (off). */
export interface PluginsConfig {
  metrics?: boolean | MetricsPluginOptions
  gracefulShutdown?: boolean | GracefulShutdownPluginOptions
  cors?: boolean | CorsOptions
  jwtAuth?: boolean | JwtAuthOptions
  rateLimit?: boolean | RateLimitOptions
  logger?: boolean | LoggerPluginOptions
  cache?: boolean | CacheConfig
  compression?: boolean | CompressionOptions
  schedule?: boolean | SchedulePluginOptions
  concurrencyLock?: boolean | ConcurrencyLockPluginOptions
  route?: boolean | { prefix?: string }
}

/** What nebula.config.json holds (schema/nebula.config.schema.json). Relative paths are relative to the file. */
export interface NebulaConfigFile {
  $schema?: string
  name: string
  /** Default "1.0.0". */
  version?: string
  /** Default 3000. */
  port?: number
  /** Default "0.0.0.0". */
  host?: string
  prefix?: string
  bodyLimit?: number
  responseLimit?: number
  handlerTimeout?: number
  headerTimeout?: number
  bodyTimeout?: number
  maxConnections?: number
  shutdownTimeout?: number
  /** Pid file, control socket, daemon log, workers' sockets. Default ".nebula" beside the file. */
  runtimeDir?: string
  /** JavaScript files loaded before the engine starts (their @Module classes are served). */
  modules?: string[]
  static?: StaticOptions | StaticOptions[]
  plugins?: PluginsConfig
  /** ServicesPlugin's services; cwd defaults to the config file's folder. */
  services?: ServiceOptions[]
  hub?: boolean | HubPluginOptions
  jsvm?: false | JsvmPluginOptions
}

/** A loaded config: validated, environment overrides applied, sections normalized, paths absolute. */
export interface NebulaConfig {
  readonly file: string
  readonly dir: string
  name: string
  version: string
  port: number
  host: string
  prefix?: string
  bodyLimit?: number
  responseLimit?: number
  handlerTimeout?: number
  headerTimeout?: number
  bodyTimeout?: number
  maxConnections?: number
  shutdownTimeout?: number
  runtimeDir: string
  modules: string[]
  static?: StaticOptions[]
  /** Only the plugins that are on, `true` given as `{}`. */
  plugins: { [K in keyof PluginsConfig]?: Exclude<PluginsConfig[K], boolean> }
  services?: ServiceOptions[]
  hub?: HubPluginOptions
  jsvm?: JsvmPluginOptions
}

export interface ConfigProblem {
  /** The field: `plugins.rateLimit.maxRequests`, `services[0].command` ("" for the whole file). */
  path: string
  message: string
  /** The environment variable the value came from, when not the file. */
  source?: string
}

/** Everything wrong with a config file, all at once. */
export declare class ConfigError extends Error {
  readonly file: string
  readonly errors: ConfigProblem[]
  /** One line per problem: `nebula.config.json: port: must be an integer from 0 to 65535, got "x"`. */
  readonly lines: string[]
}

export interface LoadConfigOptions {
  /** Where NEBULA_PORT, NEBULA_HOST, NEBULA_NAME, NEBULA_RUNTIME_DIR, NEBULA_CONFIG are read. Default process.env. */
  env?: Record<string, string | undefined>
  /** Default process.cwd(). */
  cwd?: string
}

/** Loads `file` (default NEBULA_CONFIG, else ./nebula.config.json); throws a ConfigError naming every problem. YAML is not supported. */
export declare function loadConfig(file?: string, options?: LoadConfigOptions): NebulaConfig
/** The same from text already read (`file` places relative paths and names the errors). */
export declare function parseConfig(text: string, file: string, options?: LoadConfigOptions): NebulaConfig

export interface BuiltEngine {
  /** Not started yet. */
  engine: Microservice
  /** Plugin instances by config key (`rateLimit`, `cors`, …, `hub`, `jsvm`). */
  plugins: Record<string, Plugin>
  /** The gateway, when the config has `services`. */
  services?: ServicesPlugin
}

/** Imports the config's module files and builds the engine with its plugins, hub, script VM and services. */
export declare function buildEngine(config: NebulaConfig): Promise<BuiltEngine>

/** The outcome of one reload of the config file. */
export interface ConfigReload {
  at: string
  /** e.g. "services restarted [py]", "plugins.rateLimit reconfigured". */
  applied: string[]
  /** e.g. "port changed from 3000 to 3001: not applied, restart to apply". */
  refused: string[]
  /** Changes that were tried and failed (the running state is kept for them). */
  failed: string[]
  /** Validation errors: nothing was applied. */
  errors: string[]
}

export interface StartFromConfigOptions extends LoadConfigOptions {
  /** The config file (default NEBULA_CONFIG, else ./nebula.config.json). */
  config?: string
  /** A config loadConfig() already returned. */
  loaded?: NebulaConfig
  /** Reload when the file changes (fs.watch on its folder, debounced 200 ms). Default true. */
  watch?: boolean
  /** Where reload messages go. Default: stderr. */
  log?: (line: string) => void
}

export interface RunningConfig extends BuiltEngine {
  readonly port: number
  /** The configuration in effect: the file's, without the changes that need a restart. */
  readonly config: NebulaConfig
  readonly lastReload: ConfigReload | null
  /** Loads the file again and applies what can be applied while running. */
  reload(): Promise<ConfigReload>
  /** Stops watching and stops the engine (through GracefulShutdownPlugin when configured). */
  close(): Promise<void>
}

/** Loads the config, builds and starts the engine, and hot-reloads the file (what the `nebula` CLI runs). */
export declare function startFromConfig(options?: StartFromConfigOptions): Promise<RunningConfig>

// ---------------------------------------------------------------- actions (nebula's ActionPlugin) and the generated client

/** A zod schema (any copy of zod 4, or anything with zod's `safeParse`). */
export interface ActionSchema {
  safeParse(value: unknown): { success: true; data: unknown } | { success: false; error: { issues: ReadonlyArray<{ path?: PropertyKey[]; message: string; code?: string }> } }
}

export interface ActionOptions {
  description?: string
  /** One zod schema per argument, in order; arguments travel as `{"0": a, "1": b}` (EJSON). Default []. */
  params: ActionSchema[]
  /** Checks the result: a refused result answers 400 "Return value validation failed: …". */
  returns?: ActionSchema
  /** The method is an async generator; its values are streamed as EJSON `{value, done}` frames. */
  stream?: boolean
  /** Safe to retry: the generated client retries it on connection failures and timeouts. */
  idempotence?: boolean
  /** Middlewares of this action (after the module's `actionMiddlewares`). */
  middlewares?: Middleware[]
  /** Options read by other plugins, as on routes (e.g. JwtAuthPlugin's `public`, `roles`). */
  [option: string]: unknown
}

/** A type, not an interface, so a value of it passes as `@Module` options. */
export type ActionModuleOptions = {
  /** Middlewares of every action of the module (before each action's own). */
  actionMiddlewares?: Middleware[]
}

/**
 * What an action receives first when it declares one more parameter than `params`
 * (nebula's rule): the request's context, with the call's AbortSignal (aborted when the
 * client of a streamed action goes away).
 */
export interface ActionContext extends Context {
  readonly signal: AbortSignal
}

/**
 * Marks a module method as an action: served by ActionPlugin on GET and POST `{prefix}/{module}/{method}`.
 * Answers `{"success": true, "data": …}`, or `{"success": false, "error": …}` with 400 (arguments or result refused) or 500 (it threw).
 */
export declare function Action(options: ActionOptions): UniversalMethodDecorator

/** Serves `@Action` methods (nebula-engine's ActionPlugin, priority ROUTE - 10). */
export declare class ActionPlugin implements Plugin<ActionModuleOptions> {
  constructor()
  readonly name: 'action-plugin'
  readonly priority: number
  getModuleOptionsSchema(): PluginModuleOptionsSchema<ActionModuleOptions>
  onInit(engine: Microservice): void
  onModuleLoad(modules: ModuleMetadata[]): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
  onBeforeStart(engine: Microservice): void
}

export interface ClientCodePluginOptions {
  /** Where to write the generated client when the engine starts (folders are created). */
  clientSavePath?: string
}

/**
 * Serves a generated TypeScript client of every action at GET `{prefix}/client.ts` (it imports
 * `nebula-native/client`), and writes it to `clientSavePath` when given.
 */
export declare class ClientCodePlugin implements Plugin {
  constructor(options?: ClientCodePluginOptions)
  readonly name: 'client-code-plugin'
  readonly priority: typeof PluginPriority.ROUTE
  readonly clientSavePath: string | undefined
  onInit(engine: Microservice): void
  onHandlerLoad(handlers: HandlerMetadata[]): void
  onAfterStart(): Promise<void>
  /** The generated client's source (generated on first use). */
  getCode(): string
}

/** nebula's coercion switches (its defaults: string → number, string → boolean, number → boolean, null → undefined for optional). */
export interface CoerceOptions {
  coerceStringToNumber?: boolean
  coerceNumberToString?: boolean
  coerceStringToBoolean?: boolean
  coerceNumberToBoolean?: boolean
  coerceNullToOptional?: boolean
}

/** The body `{"0": a, "1": b}` with each argument coerced toward its schema (nebula's coerceBody); other keys kept. */
export declare function coerceBody(body: any, schemas: ActionSchema[], options?: CoerceOptions): any

/** One action as the client generator reads it. */
export interface ActionInfo {
  description?: string
  params: ActionSchema[]
  returns?: ActionSchema
  stream?: boolean
  idempotence?: boolean
  /** The method's parameter names (else the schema's description, else argN). */
  paramNames?: (string | undefined)[]
}

export interface ModuleInfo {
  name: string
  actions: Record<string, ActionInfo>
}

/** The generated client's source (nebula's generateClientCode); `prefix` is the generated client's default. */
export declare function generateClientCode(modules: Record<string, ModuleInfo>, options?: { prefix?: string }): Promise<string>
/** A zod schema as a TypeScript type (`{ id: string; tags?: string[] }`); `defaultOptional`: fields with a default may be left out. */
export declare function getZodTypeString(schema: ActionSchema, defaultOptional?: boolean): string
/** The actions among `handlers`, each module named after its class ("UserService" → "user"). */
export declare function convertHandlersToModuleInfo(handlers: HandlerMetadata[]): Record<string, ModuleInfo>
/** The actions among `handlers`, by the module name `getModuleMetadata` gives (handlers of unknown modules left out). */
export declare function convertHandlersToModuleInfoWithMetadata(
  handlers: HandlerMetadata[],
  getModuleMetadata: (moduleClass: any) => { name: string } | undefined,
): Record<string, ModuleInfo>
// ---- Dynamic config: DynamicConfigPlugin, @Config --------------------------

/** A decorator for a class field, in both forms: TC39 standard and TypeScript's `experimentalDecorators`. */
export type UniversalFieldDecorator = {
  (value: undefined, context: ClassFieldDecoratorContext): void | ((initial: any) => any)
  (target: object, propertyKey: string | symbol): void
}

export interface ConfigMetadata {
  /** The key: stored as `{etcdPrefix}/{service}/{module}/{key}`; the environment variable is key in UPPER_SNAKE_CASE (`-` → `_`). */
  key: string
  description?: string
  /** A zod schema: a stored or environment value that fails it is ignored; setConfig refuses one (TypeError). */
  schema?: { safeParse(value: unknown): { success: boolean; data?: unknown; error?: { message: string } } }
  /** Used when neither the store nor the environment has a value (and written to the store at start). */
  defaultValue?: any
  /** Values are masked (`***`) in the plugin's logs. */
  sensitive?: boolean
}

export interface DynamicConfigOptions extends ConfigMetadata {
  /** Runs on every node when the value changes (on any node); newValue is null when the value was deleted. */
  onChange?: (newValue: any, oldValue: any) => void | Promise<void>
}

/** Makes a class field a config value: store > environment variable > defaultValue, read synchronously after start. */
export declare function Config(options: DynamicConfigOptions): UniversalFieldDecorator

/** What DynamicConfigPlugin uses of an etcd3 client (nebula-engine's `Etcd3` type). */
export interface Etcd3Like {
  get(key: string): { string(): Promise<string | null> }
  put(key: string): { value(value: string): Promise<unknown> }
  delete(): { key(key: string): Promise<unknown> }
  getAll(): { prefix(prefix: string): { strings(): Promise<Record<string, string>> } }
  watch(): {
    key(key: string): {
      create(): Promise<{
        on(event: 'put', callback: (kv: { key: Buffer; value: Buffer }) => void): unknown
        on(event: 'delete', callback: (kv: { key: Buffer }) => void): unknown
        cancel(): unknown
      }>
    }
  }
}

export interface DynamicConfigPluginOptions {
  /** Where values live, shared by every node using it: `{ type: 'local' }` (this process), Redis or NATS KV (bucket default "nebula_config"). Default: a store of this plugin's own, in memory. */
  coordinator?: CoordinatorOptions
  /** nebula-engine's test option: a store of this plugin's own, in memory (there is no etcd). */
  useMockEtcd?: boolean
  /** Key prefix of every value. Default "/config". */
  etcdPrefix?: string
  /** An etcd3 client (`new Etcd3(...)` of the etcd3 package) the values live in instead (ignored with useMockEtcd). */
  etcdClient?: Etcd3Like
  /** Not supported (refused when true). */
  enablePersistence?: boolean
  /** Accepted and ignored, as nebula-engine does. */
  mysql?: { host: string; port: number; user: string; password: string; database: string }
  /** Accepted and ignored, as nebula-engine does. */
  syncInterval?: number
}

/** nebula-engine's ConfigStorage: what DynamicConfigPlugin reads and writes through (keys `{service}/{module}/{key}`). */
export interface ConfigStorage {
  get(key: string): Promise<any>
  set(key: string, value: any, metadata?: ConfigMetadata): Promise<void>
  delete(key: string): Promise<void>
  getAll(prefix?: string): Promise<Map<string, any>>
  watch(key: string, callback: (newValue: any, oldValue: any) => void): () => void
  getCached(key: string): any
}

export declare class DynamicConfigPlugin implements Plugin {
  /** Throws a TypeError naming the option when `options` is invalid. */
  constructor(options?: DynamicConfigPluginOptions)
  readonly name: 'dynamic-config-plugin'
  readonly priority: typeof PluginPriority.BUSINESS
  readonly etcdPrefix: string
  readonly storage: ConfigStorage
  getModuleOptionsSchema(): PluginModuleOptionsSchema<Record<string, never>>
  onInit(engine: Microservice): void
  /** Reads every @Config field (writing its initial value when the store has none), makes it a getter, starts the watch. */
  onAfterStart(): Promise<void>
  /** Stops watching; the store stays usable. */
  onDestroy(): Promise<void>
  /** The stored value (`{service}/{module}/{key}`), null when absent. */
  getConfig(key: string): Promise<any>
  /** The value this node last saw, without asking the store. */
  getConfigCached(key: string): any
  /** Writes a value for every node (EJSON: Dates, binary survive). */
  setConfig(key: string, value: any, metadata?: ConfigMetadata): Promise<void>
  deleteConfig(key: string): Promise<void>
  /** Every stored value under `prefix` (all when omitted). */
  getAllConfigs(prefix?: string): Promise<Map<string, any>>
  /** `callback(newValue, oldValue)` on each change of `key` by any node; returns the unwatch function. */
  watchConfig(key: string, callback: (newValue: any, oldValue: any) => void): () => void
}
