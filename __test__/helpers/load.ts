// Steady load for the gateway suites: `clients` loops fetching `url` one
// request after another, every status recorded, until stop().
export function steadyLoad(url: string, clients = 3) {
  const statuses: number[] = []
  let stopped = false
  const loops = Promise.all(
    Array.from({ length: clients }, async () => {
      while (!stopped) {
        const r = await fetch(url)
        await r.arrayBuffer()
        statuses.push(r.status)
      }
    }),
  )
  return {
    statuses,
    /** Ends the loops once their requests in flight are answered. */
    async stop() {
      stopped = true
      await loops
      return statuses
    },
  }
}
