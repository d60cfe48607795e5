import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__test__/**/*.test.{ts,mts,js,mjs,cjs}'],
    // Native addons and worker threads don't mix.
    pool: 'forks',
    // The engine's expected warnings (tests provoke them) would bury the report.
    env: { NEBULA_LOG: 'off' },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
