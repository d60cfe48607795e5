// ESM face of lib/vitest.js (vitest.config.ts imports it as ESM).
import cjs from './vitest.js'

export const { decorators } = cjs
