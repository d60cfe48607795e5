// Shared by the bench servers: the same bytes, secret and limits everywhere.
export const PORT = Number(process.env.PORT ?? 3000)
export const SCENARIO = process.env.SCENARIO ?? 'hello'
export const SECRET = 'bench-secret-bench-secret-bench-secret'
export const HELLO = { hello: 'world' }
/** High enough never to trigger during a run: the cost of counting is what is measured. */
export const RATE_MAX = 1_000_000_000
export const RATE_WINDOW_MS = 60_000

export function ready(port) {
  console.log(`ready ${port}`)
}
