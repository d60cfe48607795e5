/** The subset of a Vite plugin this helper returns (no dependency on vite's types). */
export interface NebulaDecoratorsPlugin {
  name: 'nebula-native:decorators'
  enforce: 'pre'
  configResolved(config: { root: string }): void
  transform(code: string, id: string): Promise<{ code: string; map: string | null } | null>
}

export interface DecoratorsOptions {
  /**
   * Which compiler lowers the decorators. 'auto' (default): esbuild if installed, else
   * typescript if it has `transpileModule` (TypeScript up to 6; TypeScript 7 has no JS API).
   */
  compiler?: 'auto' | 'esbuild' | 'typescript'
  /** Files to lower (node_modules is always skipped). Default: .ts .mts .cts .tsx .js .mjs .cjs .jsx */
  include?: RegExp
  /** Output language level. Default 'es2022' (class fields stay native). */
  target?: string
}

/**
 * A Vite/vitest plugin that lowers TC39 standard decorators in the project's own files,
 * which Vite 8's transformer (Oxc) leaves as they are. Not needed with `experimentalDecorators`.
 *
 * ```ts
 * import { defineConfig } from 'vitest/config'
 * import { decorators } from 'nebula-native/vitest'
 * export default defineConfig({ plugins: [decorators()], test: { pool: 'threads' } })
 * ```
 */
export declare function decorators(options?: DecoratorsOptions): NebulaDecoratorsPlugin
