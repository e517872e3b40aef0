/** What the dev Vault saw: requests by operation and result, storage writes, dead-token uses. */
import type { DeadReason } from './store.js'
import { OPERATIONS, type Operation } from './vault.js'

/** A status code as a string ("200", "403"), or "reset" for a connection destroyed mid-response. */
export type ResultKey = string

export interface DeadTokenRequest {
  operation: Operation
  /** Path after /v1/, e.g. "auth/token/lookup-self". */
  path: string
  reason: DeadReason
  /** ms on the dev server's clock. */
  at: number
}

export interface CounterSnapshot {
  /** Every request that arrived, by operation. */
  requests: Record<Operation, number>
  /** Requests by operation and result ("200", "204", "403", "503", "reset", ...). */
  results: Record<Operation, Record<ResultKey, number>>
  /** Status < 400 (redirects included) per operation. */
  ok: Record<Operation, number>
  /** Status >= 400 or reset, per operation. */
  errors: Record<Operation, number>
  /** Writes to Vault's storage: login, renew, revoke, create, and every use of a num_uses token. */
  storageWrites: number
  /** 307s answered by a standby. */
  redirects: number
  /** Requests a standby forwarded to its active node (the active node counts them too). */
  forwarded: number
  /** Every request that arrived with an expired, revoked or unknown token. */
  deadTokenRequests: DeadTokenRequest[]
  total: number
}

const perOperation = <T>(make: () => T): Record<Operation, T> =>
  Object.fromEntries(OPERATIONS.map((op) => [op, make()])) as Record<Operation, T>

export class Counters {
  private snap: CounterSnapshot = Counters.empty()

  static empty(): CounterSnapshot {
    return {
      requests: perOperation(() => 0),
      results: perOperation(() => ({})),
      ok: perOperation(() => 0),
      errors: perOperation(() => 0),
      storageWrites: 0,
      redirects: 0,
      forwarded: 0,
      deadTokenRequests: [],
      total: 0,
    }
  }

  record(operation: Operation, result: number | 'reset', extra: { storageWrites?: number; redirect?: boolean; forwarded?: boolean } = {}): void {
    const s = this.snap
    s.total += 1
    s.requests[operation] += 1
    const key = String(result)
    s.results[operation][key] = (s.results[operation][key] ?? 0) + 1
    if (result !== 'reset' && result < 400) s.ok[operation] += 1
    else s.errors[operation] += 1
    s.storageWrites += extra.storageWrites ?? 0
    if (extra.redirect) s.redirects += 1
    if (extra.forwarded) s.forwarded += 1
  }

  deadToken(entry: DeadTokenRequest): void {
    this.snap.deadTokenRequests.push(entry)
  }

  /** A deep copy, so a test can keep a "before" and compare. */
  snapshot(): CounterSnapshot {
    return structuredClone(this.snap)
  }

  reset(): void {
    this.snap = Counters.empty()
  }
}
