// MemoryLockAdapter: nebula-engine's in-process lock store (acquire / release / isLocked /
// waitForUnlock), woken by release, clear or expiry.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MemoryLockAdapter } from '../index.js'

describe('MemoryLockAdapter', () => {
  let locks: MemoryLockAdapter
  beforeEach(() => {
    locks = new MemoryLockAdapter()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('acquire takes a free key once; release frees it (true only when it was held)', async () => {
    expect(await locks.acquire('k', 5000)).toBe(true)
    expect(await locks.acquire('k', 5000)).toBe(false)
    expect(await locks.isLocked('k')).toBe(true)
    expect(await locks.isExpired('k')).toBe(false)
    expect(locks.getStats()).toEqual({ size: 1, locks: [{ key: 'k', expiresAt: expect.any(Number) }] })
    expect(await locks.release('k')).toBe(true)
    expect(await locks.release('k')).toBe(false)
    expect(await locks.isLocked('k')).toBe(false)
    expect(await locks.acquire('k', 5000)).toBe(true)
    expect(await locks.acquire('other', 5000)).toBe(true)
  })

  it('an expired lock is free', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    await locks.acquire('k', 100)
    vi.setSystemTime(1_000_099)
    expect(await locks.isLocked('k')).toBe(true)
    vi.setSystemTime(1_000_100)
    expect(await locks.isLocked('k')).toBe(false)
    expect(await locks.isExpired('k')).toBe(true)
    expect(locks.getStats().size).toBe(0)
    expect(await locks.acquire('k', 100)).toBe(true)
  })

  it('waitForUnlock resolves true at the release, true at the expiry, false at its timeout', async () => {
    vi.useFakeTimers({ now: 0 })
    await locks.acquire('released', 10_000)
    const released = locks.waitForUnlock('released', 5000, 5000)
    await locks.release('released')
    expect(await released).toBe(true)

    await locks.acquire('expires', 300)
    let settled: boolean | undefined
    locks.waitForUnlock('expires', 5000, 300).then((v) => (settled = v))
    await vi.advanceTimersByTimeAsync(299)
    expect(settled).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect(settled).toBe(true)

    await locks.acquire('held', 10_000)
    settled = undefined
    locks.waitForUnlock('held', 100, 100).then((v) => (settled = v))
    await vi.advanceTimersByTimeAsync(99)
    expect(settled).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect(settled).toBe(false)
    expect(await locks.isLocked('held')).toBe(true)
  })

  it('waitForUnlock on a free key resolves at once; clear() wakes every waiter', async () => {
    expect(await locks.waitForUnlock('free', 0)).toBe(true)
    await locks.acquire('a', 60_000)
    await locks.acquire('b', 60_000)
    const waits = Promise.all([locks.waitForUnlock('a', 60_000), locks.waitForUnlock('b', 60_000), locks.waitForUnlock('a', 60_000)])
    await locks.clear()
    expect(await waits).toEqual([true, true, true])
  })

  it('refuses bad keys and times with a TypeError', async () => {
    await expect(locks.acquire('', 10)).rejects.toThrow(/key must be a non-empty string/)
    await expect(locks.acquire('k', -1)).rejects.toThrow(/ttl must be a number of milliseconds >= 0/)
    await expect(locks.waitForUnlock('k', Number.NaN)).rejects.toThrow(/waitTimeout/)
  })
})
