import { describe, expect, it, vi } from 'vitest'
import { Answers, JSON_ONLY, TEXT_ONLY, NO_HEADERS, TEXT_BUDGET, COPY_LIMIT } from '../lib/answers.js'

// lib/answers.js packs answers for src/binding/answers.rs (whose unit tests
// read the same layout). A fake binding records what would cross.
function recorder() {
  const calls: { meta: number[]; text: string; extras: unknown[] }[] = []
  const native = {
    respondBatch(meta: Uint32Array, text: string, extras: unknown[]) {
      calls.push({ meta: [...meta], text, extras: [...extras] })
      return meta.length / 4
    },
  }
  return { calls, answers: new Answers(native) }
}

describe('Answers (the packed way back to Rust)', () => {
  it('packs numbers, string bodies with a separator each, listed headers and byte bodies in reading order', () => {
    const { calls, answers } = recorder()
    answers.add(1, [200, JSON_ONLY, '{"a":1}'])
    answers.add(2, [201, ['x-a', '1'], Buffer.from([7, 8])])
    answers.add(3, [204, NO_HEADERS, null])
    answers.add(4, [200, TEXT_ONLY, 'h\uD83D'])
    answers.add(5, [202, ['x-b', '2'], '\uDE00é'])
    expect(calls).toHaveLength(0)
    answers.send()
    expect(calls).toHaveLength(1)
    const { meta, text, extras } = calls[0]
    // id, status, flags (headers 0 listed / 1 JSON / 2 none / 3 text, +4 body in extras), end of the body
    expect(meta).toEqual([1, 200, 1, 7, 2, 201, 4, 8, 3, 204, 2, 8, 4, 200, 3, 11, 5, 202, 0, 14])
    expect(text).toBe('{"a":1}\0\0h\uD83D\0\uDE00é\0')
    expect(extras).toEqual([['x-a', '1'], Buffer.from([7, 8]), ['x-b', '2']])
    answers.send()
    expect(calls).toHaveLength(1)
  })

  it('copies a small byte body when added, so a handler may reuse its buffer', () => {
    const { calls, answers } = recorder()
    const scratch = Buffer.from('first')
    answers.add(1, [200, NO_HEADERS, scratch])
    scratch.write('later')
    answers.send()
    expect((calls[0].extras[0] as Buffer).toString()).toBe('first')
  })

  it('sends a large byte body at once instead of holding it', () => {
    const { calls, answers } = recorder()
    answers.add(1, [200, JSON_ONLY, 'before'])
    const big = Buffer.alloc(COPY_LIMIT + 1, 1)
    answers.add(2, [200, NO_HEADERS, big])
    expect(calls).toHaveLength(1)
    expect(calls[0].meta.filter((_, i) => i % 4 === 0)).toEqual([1, 2])
    expect(calls[0].extras[0]).toBe(big)
  })

  it('sends before its string bodies would pass the text budget', () => {
    const { calls, answers } = recorder()
    const half = 'x'.repeat(TEXT_BUDGET / 2 + 1)
    answers.add(1, [200, TEXT_ONLY, half])
    answers.add(2, [200, TEXT_ONLY, half])
    expect(calls).toHaveLength(1)
    expect(calls[0].meta).toEqual([1, 200, 3, half.length])
    answers.send()
    expect(calls[1].meta).toEqual([2, 200, 3, half.length])
    expect(calls[1].text.length).toBe(half.length + 1)
  })

  it('turns an answer it cannot send into a 500 of its own; the others keep theirs', () => {
    const { calls, answers } = recorder()
    answers.add(1, [200, TEXT_ONLY, 'ok'])
    answers.add(2, ['teapot', TEXT_ONLY, 'x'])
    answers.add(3, [200, { 'x-a': '1' }, 'x'])
    answers.add(4, [200, TEXT_ONLY, 'fine'])
    answers.send()
    const { meta, text } = calls[0]
    expect(meta.filter((_, i) => i % 4 === 1)).toEqual([200, 500, 500, 200])
    const bodies = text.split('\0')
    expect(bodies[0]).toBe('ok')
    expect(JSON.parse(bodies[1]).message).toMatch(/could not be sent: the status "teapot" is not a number/)
    expect(JSON.parse(bodies[2]).message).toMatch(/could not be sent: the headers are Object, not a list/)
    expect(bodies[3]).toBe('fine')
  })

  it("a status HTTP cannot send as a final answer (46, 101, 1000) is a 500 JSON saying so, not a 500 with the handler's body", () => {
    const { calls, answers } = recorder()
    answers.add(1, [46, TEXT_ONLY, 'x'])
    answers.add(2, [101, TEXT_ONLY, 'x'])
    answers.add(3, [1000, TEXT_ONLY, 'x'])
    answers.add(4, [999, TEXT_ONLY, 'odd but sendable'])
    answers.send()
    const { meta, text } = calls[0]
    expect(meta.filter((_, i) => i % 4 === 1)).toEqual([500, 500, 500, 999])
    const bodies = text.split('\0')
    expect(JSON.parse(bodies[0]).message).toMatch(/the status 46 is not a final HTTP status \(200–999\)/)
    expect(JSON.parse(bodies[1]).message).toMatch(/the status 101 is not a final HTTP status/)
    expect(JSON.parse(bodies[2]).message).toMatch(/the status 1000 is not a final HTTP status/)
    expect(bodies[3]).toBe('odd but sendable')
  })

  it('reports, without throwing, answers the engine can no longer take', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const answers = new Answers({
      respondBatch() {
        throw new Error('engine closed')
      },
    })
    answers.add(1, [200, JSON_ONLY, '{}'])
    expect(() => answers.send()).not.toThrow()
    expect(error).toHaveBeenCalledWith('[nebula] could not answer 1 request(s):', expect.objectContaining({ message: 'engine closed' }))
    error.mockRestore()
  })
})
