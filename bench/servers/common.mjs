// Shared by the bench servers: the same bytes, secret and limits everywhere.
export const PORT = Number(process.env.PORT ?? 3000)
export const SCENARIO = process.env.SCENARIO ?? 'hello'
export const SECRET = 'bench-secret-bench-secret-bench-secret'
export const HELLO = { hello: 'world' }
/** High enough never to trigger during a run: the cost of counting is what is measured. */
export const RATE_MAX = 1_000_000_000
export const RATE_WINDOW_MS = 60_000
/** The `static` scenario's folder: hello.json holds the hello body. */
export const STATIC_DIR = new URL('./static', import.meta.url).pathname

/** The `validate` and `invalid` scenarios: one JSON Schema, checked by each contender's own validation. */
export const ORDER_SCHEMA = {
  type: 'object',
  required: ['customer', 'items'],
  additionalProperties: false,
  properties: {
    customer: { type: 'string', minLength: 1, maxLength: 64 },
    email: { type: 'string', format: 'email' },
    express: { type: 'boolean' },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: {
        type: 'object',
        required: ['sku', 'qty', 'price'],
        additionalProperties: false,
        properties: { sku: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{4}$' }, qty: { type: 'integer', minimum: 1 }, price: { type: 'number', minimum: 0 } },
      },
    },
  },
}
/** A body that matches ORDER_SCHEMA (~250 bytes). */
export const ORDER = {
  customer: 'Ada Lovelace',
  email: 'ada@example.com',
  express: true,
  items: [
    { sku: 'ABC-1234', qty: 2, price: 9.5 },
    { sku: 'XYZ-0001', qty: 1, price: 120 },
    { sku: 'QRS-4242', qty: 10, price: 0.25 },
  ],
}
/** A body that does not: three violations (no customer, a bad sku, qty 0). */
export const BAD_ORDER = { email: 'ada@example.com', items: [{ sku: 'abc', qty: 0, price: 1 }] }
/** What both answer to a valid order. */
export function orderAnswer(order) {
  let total = 0
  for (const i of order.items) total += i.qty * i.price
  return { ok: true, items: order.items.length, total }
}

export function ready(port) {
  console.log(`ready ${port}`)
}
