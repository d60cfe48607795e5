import { it, expect } from 'vitest'
it('legacy', () => {
  const seen: any[] = []
  function M(...a: any[]) { seen.push(a.length, typeof a[1]) }
  class A { @M x() {} }
  expect(seen).toEqual([3, "string"])
})
