// `nebula-native/client`: the runtime of the TypeScript clients ClientCodePlugin generates
// (nebula-client's API: BaseMicroserviceClient, its options and errors).

export interface ClientOptions {
  /** e.g. "http://localhost:3000" */
  baseUrl: string
  /** The engine's prefix. A generated client defaults it to the server's; nebula-client's own default is "/api". */
  prefix?: string
  headers?: Record<string, string>
  fetch?: typeof fetch
}

export interface RetryOptions {
  /** Default 3. Only idempotent, non-streamed actions are retried. */
  maxAttempts?: number
  /** ms before each new attempt; default [500, 1000, 3000, 5000]. */
  delays?: number[]
  /** Default: ConnectionError and TimeoutError. */
  shouldRetry?: (error: Error) => boolean
}

export interface RequestOptions extends RetryOptions {
  /** ms until the answer's head; default 60000. */
  timeout?: number
  headers?: Record<string, string>
  /** Calls at once; default 10. */
  concurrency?: number
}

export interface StreamOptions extends RequestOptions {
  bufferSize?: number
  autoClose?: boolean
}

export interface RequestInterceptor {
  onRequest?: (config: { url: string; method: string; headers: Record<string, string>; body: unknown }) => Promise<void> | void
  onResponse?: (response: Response) => Promise<Response> | Response
  onError?: (error: Error) => Promise<Error> | Error
}

export interface ClientConfig extends ClientOptions {
  retry?: RetryOptions
  request?: RequestOptions
  stream?: StreamOptions
  interceptors?: RequestInterceptor[]
}

export interface ModuleMethodOptions {
  idempotent: boolean
  stream: boolean
}

export declare class BaseMicroserviceClient {
  constructor(options: ClientConfig)
  /** Nothing to close; kept for nebula-client compatibility. */
  close(): void
  /** Calls `moduleName.methodName(...args)` on the server. */
  protected request(moduleName: string, methodName: string, isStream: boolean, idempotent: boolean, ...args: unknown[]): Promise<unknown>
  protected registerModuleMethod(moduleName: string, methodName: string, options: ModuleMethodOptions): (...args: unknown[]) => Promise<unknown>
  /** What generated clients call for each module. */
  protected registerModule<T>(moduleName: string, methods: Record<string, ModuleMethodOptions>): T
  /**
   * Calls a @Route by its method and path (`:name` segments from `input.params`); resolves to the
   * answer (JSON parsed, text otherwise). 4xx rejects with ClientError, 5xx with ConnectionError.
   */
  callRoute(method: string, path: string, input?: RouteInput): Promise<unknown>
  /** What generated clients call for the schema'd routes, by module. */
  protected registerRoutes<T>(modules: Record<string, Record<string, { method: string; path: string }>>): T
}

/** What a route's function takes. */
export interface RouteInput {
  params?: Record<string, unknown>
  query?: Record<string, unknown>
  body?: unknown
  headers?: Record<string, string>
}

/** @deprecated nebula-client's old name of BaseMicroserviceClient. */
export declare const MicroserviceClient: typeof BaseMicroserviceClient

/** A refused call: a 4xx answer, or `success: false`. */
export declare class ClientError extends Error {
  constructor(message: string)
}
/** The server failed (5xx) or could not be reached. Retried for idempotent actions. */
export declare class ConnectionError extends ClientError {}
export declare class TimeoutError extends ClientError {}
/** A streamed action failed midway (its error frame), or its body was cut. */
export declare class StreamError extends ClientError {}

/** The first complete EJSON object of a stream's text, and the rest; null when none is complete yet. */
export declare function takeFrame(buf: string): { data: unknown; remaining: string } | null
