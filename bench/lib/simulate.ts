/**
 * Runs one strategy on one workload on the virtual clock and counts what the dev Vault saw, poll by poll.
 *
 * mode 'full': every poll polls every ExternalSecret; the counts are exact.
 * mode 'sampled': the whole timeline runs (every poll, every token event at its real time), but a poll polls all N
 *   ExternalSecrets only when it is a "full" poll: the first minute, one poll per hour (hh:30:00), and every poll from
 *   one poll before the strategy's next token event (renewal, re-login, expiry) until it has happened. Every other poll
 *   is a "sentinel" poll of one ExternalSecret per role, which keeps each identity's token state moving exactly as under
 *   full load. A sentinel poll is then counted as the most common full poll (steady state), plus whatever it did beyond
 *   the most common sentinel poll (measured, e.g. a periodic lookup). Self-check: a sentinel poll that logged in,
 *   renewed, revoked, wrote, failed a read or used a dead token is an "unexpected sentinel event"; it is counted as
 *   measured (at sentinel load, so possibly too low for N-dependent strategies) and reported. It should be 0.
 */
import { OPERATIONS, type Operation } from '../../lib/devserver/index.js'
import { STRATEGIES } from '../strategies/index.js'
import type { StrategyName } from '../strategies/types.js'
import { gcHeapUsed } from './heap.js'
import { makeWorld } from './world.js'

export const COUNT_KEYS = [...OPERATIONS, 'writes', 'failedReads', 'deadReads', 'deadRequests'] as const
export type CountKey = (typeof COUNT_KEYS)[number]
export type Counts = Record<CountKey, number>

export const zero = (): Counts => Object.fromEntries(COUNT_KEYS.map((k) => [k, 0])) as Counts
const add = (a: Counts, b: Counts, k = 1): void => {
  for (const key of COUNT_KEYS) a[key] += b[key] * k
}
const sub = (a: Counts, b: Counts): Counts => {
  const out = zero()
  for (const key of COUNT_KEYS) out[key] = a[key] - b[key]
  return out
}
const vecKey = (c: Counts) => COUNT_KEYS.map((k) => c[k]).join(',')
const TOKEN_EVENT_KEYS: CountKey[] = ['login', 'renew', 'revoke', 'create', 'writes', 'failedReads', 'deadReads', 'deadRequests']

export type Scenario = 'steady' | 'outage' | 'revocation'

export interface RunSpec {
  strategy: StrategyName
  n: number
  roles: number
  pollMs: number
  durationMs: number
  mode: 'full' | 'sampled'
  scenario: Scenario
  /** outage: Vault sealed from here for outageMs; revocation: every role's tokens revoked at this poll. */
  eventAtMs?: number
  outageMs?: number
}

export interface RunResult {
  spec: RunSpec
  /** Totals over the whole duration: exact ('full') or measured + extrapolated ('sampled'). */
  total: Counts
  /** What was actually sent in the full polls, and in the sentinel polls (sampled mode). */
  measuredFull: Counts
  measuredSentinel: Counts
  polls: number
  fullPolls: number
  sentinelPolls: number
  /** ExternalSecret syncs actually simulated (full polls × N + sentinel polls × R). */
  syncsSimulated: number
  unexpectedSentinelEvents: number
  /** Read failures at or after the end of the injected outage (outage scenario), else all failures. */
  failedReadsOutsideOutage: number
  tokenCacheEntries?: number
  /** Heap after GC at the end, and its growth since before the strategy was created (bytes). */
  heapUsedEnd: number
  heapGrowth: number
  wallMs: number
}

export async function simulate(spec: RunSpec): Promise<RunResult> {
  const started = performance.now()
  const world = makeWorld(spec.n, spec.roles)
  const heapBefore = gcHeapUsed()
  const strategy = STRATEGIES[spec.strategy](world, { pollMs: spec.pollMs })
  const sentinels = world.secrets.slice(0, spec.roles)
  const { clock, dev } = world
  const t0 = clock.now()
  const measuredFull = zero()
  const measuredSentinel = zero()
  const fullHist = new Map<string, { n: number; c: Counts }>()
  const sentinelVecs: Counts[] = []
  let polls = 0
  let fullPolls = 0
  let syncs = 0
  let failedOutside = 0
  const outageEnd = spec.scenario === 'outage' ? spec.eventAtMs! + spec.outageMs! : -1

  for (let t = 0; t < spec.durationMs; t += spec.pollMs) {
    if (spec.scenario === 'outage' && t === spec.eventAtMs) dev.seal()
    if (spec.scenario === 'outage' && t === outageEnd) dev.unseal()
    if (spec.scenario === 'revocation' && t === spec.eventAtMs) for (const r of world.roles) dev.revokeRoleTokens('kubernetes', r)
    const next = strategy.nextEventAt()
    const full =
      spec.mode === 'full' ||
      t < 60_000 ||
      t % 3_600_000 === 1_800_000 ||
      (next !== undefined && clock.now() >= next - spec.pollMs - 1_000)
    const list = full ? world.secrets : sentinels
    let failedEs = 0
    if (strategy.concurrency === 'all') {
      const results = await Promise.allSettled(list.map((es) => strategy.sync(es)))
      for (const r of results) if (r.status === 'rejected') failedEs++
    } else {
      for (const es of list) {
        try {
          await strategy.sync(es)
        } catch {
          failedEs++
        }
      }
    }
    syncs += list.length
    const snap = dev.counters()
    dev.resetCounters()
    const c = zero()
    for (const op of OPERATIONS) c[op as Operation] = snap.requests[op as Operation]
    c.writes = snap.storageWrites
    c.failedReads = 2 * failedEs
    c.deadReads = snap.deadTokenRequests.filter((d) => d.operation === 'read').length
    c.deadRequests = snap.deadTokenRequests.length
    if (!(spec.scenario === 'outage' && t < outageEnd && t >= spec.eventAtMs!)) failedOutside += c.failedReads
    polls++
    if (full) {
      fullPolls++
      add(measuredFull, c)
      const k = vecKey(c)
      const h = fullHist.get(k)
      if (h) h.n++
      else fullHist.set(k, { n: 1, c })
    } else {
      add(measuredSentinel, c)
      sentinelVecs.push(c)
    }
    await clock.advance(spec.pollMs)
  }

  const total = zero()
  add(total, measuredFull)
  let unexpected = 0
  if (sentinelVecs.length > 0) {
    const steadyFull = mode(fullHist)
    const sHist = new Map<string, { n: number; c: Counts }>()
    for (const v of sentinelVecs) {
      const k = vecKey(v)
      const h = sHist.get(k)
      if (h) h.n++
      else sHist.set(k, { n: 1, c: v })
    }
    const steadySentinel = mode(sHist)
    for (const v of sentinelVecs) {
      const extra = sub(v, steadySentinel)
      add(total, steadyFull)
      add(total, extra)
      if (TOKEN_EVENT_KEYS.some((k) => extra[k] !== 0)) unexpected++
    }
  }
  const tokenCacheEntries = 'backend' in strategy ? (strategy as unknown as { backend: { tokenSessions: unknown[] } }).backend.tokenSessions.length : undefined
  const heapUsedEnd = gcHeapUsed()
  const result: RunResult = {
    spec,
    total,
    measuredFull,
    measuredSentinel,
    polls,
    fullPolls,
    sentinelPolls: polls - fullPolls,
    syncsSimulated: syncs,
    unexpectedSentinelEvents: unexpected,
    failedReadsOutsideOutage: failedOutside,
    tokenCacheEntries,
    heapUsedEnd,
    heapGrowth: heapUsedEnd - heapBefore,
    wallMs: performance.now() - started,
  }
  await strategy.close()
  void t0
  return result
}

function mode(hist: Map<string, { n: number; c: Counts }>): Counts {
  let best: { n: number; c: Counts } | undefined
  for (const h of hist.values()) if (!best || h.n > best.n) best = h
  return best?.c ?? zero()
}
