import nebula from './index.js'

export const {
  Microservice,
  PluginPriority,
  Module,
  Handler,
  Route,
  Page,
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
} = nebula
export default nebula
