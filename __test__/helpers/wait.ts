// Polling for test states that have no event of their own.

/**
 * Polls `check` (every `everyMs`, at most `ms`) until it returns a truthy
 * value, for states that have no event of their own.
 */
export async function eventually<T>(what: string, check: () => Promise<T> | T, ms = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v) return v
      last = v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
