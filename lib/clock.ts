import type { Clock } from './types.js'

export type { Clock } from './types.js'
export { systemClock } from './types.js'

/** Timer scheduling, injected next to the clock so hosts can run hours of polling on virtual time. */
export interface Timers {
  /** A callback may return a promise; ManualClock.advance awaits it, real timers ignore it. */
  setTimeout(fn: () => unknown, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
}

interface PendingTimer {
  id: number
  at: number
  fn: () => unknown
}

/**
 * A virtual clock that is also a timer queue. `advance(ms)` moves time forward, firing due
 * timers in order and letting their promise chains settle, so tests never sleep.
 */
export class ManualClock implements Clock, Timers {
  private current: number
  private timers: PendingTimer[] = []
  private nextId = 1

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start
  }

  now(): number {
    return this.current
  }

  /** Jump the clock without firing timers: models a host clock step (NTP, suspend). */
  set(ms: number): void {
    this.current = ms
  }

  setTimeout(fn: () => unknown, ms: number): number {
    const id = this.nextId++
    this.timers.push({ id, at: this.current + Math.max(0, ms), fn })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle)
  }

  get pendingTimers(): number {
    return this.timers.length
  }

  /**
   * Advance by `ms`, firing every timer that falls due on the way, in time order. A callback's
   * returned promise is awaited before the next timer fires, so work doing real loopback I/O completes.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms
    for (;;) {
      await settle()
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!due) break
      this.timers = this.timers.filter((t) => t !== due)
      this.current = Math.max(this.current, due.at)
      await due.fn()
    }
    this.current = target
    await settle()
  }
}

/** Let pending promise chains (including ones that do loopback I/O) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r))
}
