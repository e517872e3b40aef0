/** Pure scheduling decisions for one ExternalSecret's poller. Times are ms; `random` is in [0, 1). */

import type { ExternalSecret } from './types.js'
import { generationOf } from './types.js'

/** Failures back off from one interval, doubling, up to this (or the interval, if longer): a broken Vault path is not hammered. */
export const MAX_ERROR_BACKOFF_MS = 5 * 60 * 1000

/**
 * Delay before a poller's first poll, from the ExternalSecret's status (KES `_scheduleNextPoll`):
 * a generation not yet observed polls at once; otherwise the next poll is one interval after
 * `status.lastSync`. Unlike KES, overdue or unknown lastSyncs are spread over one interval by
 * `random`, so a restart of a host watching 10 000 ExternalSecrets does not poll them in one second.
 * Returns `undefined` when nothing should be scheduled (DISABLE_POLLING and up to date).
 */
export function firstPollDelay(
  es: ExternalSecret,
  opts: { interval: number; now: number; random: number; pollingDisabled: boolean },
): number | undefined {
  const observed = es.status?.observedGeneration ?? 0
  if (observed < generationOf(es) || es.status === undefined) return 0
  if (opts.pollingDisabled) return undefined
  return nextPollDelay(es.status.lastSync, opts.interval, opts.now, opts.random)
}

/** Time left until one interval after lastSync; overdue, unparseable or future lastSyncs get a jittered spread. */
export function nextPollDelay(lastSync: string | undefined, interval: number, now: number, random: number): number {
  const last = lastSync ? Date.parse(lastSync) : NaN
  const spread = Math.floor(clampRandom(random) * interval)
  // A lastSync in the future means a clock step; KES polled at once, we spread like an unknown one.
  if (Number.isNaN(last) || last > now) return spread
  const remaining = last + interval - now
  return remaining > 0 ? remaining : spread
}

/** Delay after the n-th consecutive failure (n >= 1): interval x 2^(n-1), capped, minus up to 20 % jitter. */
export function errorBackoffDelay(failures: number, interval: number, random: number): number {
  const cap = Math.max(interval, MAX_ERROR_BACKOFF_MS)
  const exp = Math.min(Math.max(failures, 1) - 1, 30)
  const base = Math.min(interval * 2 ** exp, cap)
  return Math.max(1, Math.floor(base * (1 - 0.2 * clampRandom(random))))
}

function clampRandom(r: number): number {
  return Number.isFinite(r) ? Math.min(Math.max(r, 0), 0.999999) : 0
}
