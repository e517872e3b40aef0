import assert from 'node:assert/strict'
import { floorRates } from '../../bench/lib/floor.js'
import { simulate, type RunSpec } from '../../bench/lib/simulate.js'
import { toRow } from '../../bench/lib/report.js'
import { simulateDynamic } from '../../bench/lib/dynamic.js'

const H = 3_600_000
const spec = (o: Partial<RunSpec>): RunSpec => ({ strategy: 'ours', n: 4, roles: 1, pollMs: 10_000, durationMs: 2 * H, mode: 'full', scenario: 'steady', ...o })

describe('bench', () => {
  it('floor: one read per path per poll, one renewal per (TTL − threshold), one login per max TTL', () => {
    const f = floorRates(10, 2, 10_000)
    assert.equal(f.readsPerHour, 2 * 10 * 360)
    assert.equal(f.renewalsPerHour, (2 * 3600) / 3570)
    assert.equal(f.loginsPerHour, 2 / 24)
    assert.equal(f.writesPerHour, f.renewalsPerHour + f.loginsPerHour)
    assert.equal(f.tokenRequestsPerPoll, f.writesPerHour / 360)
  })

  it('ours, 2 h, N=4, R=2: 1 login and 2 renewals per identity, one lookup per identity per poll', async () => {
    const r = await simulate(spec({ roles: 2 }))
    assert.equal(r.polls, 720)
    assert.equal(r.total.read, 2 * 4 * 720)
    assert.equal(r.total.login, 2)
    assert.equal(r.total.renew, 4) // at 59:30 and 1:59:00
    assert.equal(r.total.lookup, 2 * 719)
    assert.equal(r.total.writes, 6)
    assert.equal(r.total.failedReads + r.total.deadReads, 0)
    assert.equal(r.tokenCacheEntries, 2)
    const row = toRow(r)
    assert.equal(row.perHour.writes, 3)
    assert.ok(Math.abs(row.writesToFloor - 3 / (2 * (3600 / 3570) + 2 / 24)) < 1e-12)
  })

  it('kes-457, 2 h, N=4, R=1: no single-flight, every data item logs in, looks up and renews on its own', async () => {
    const r = await simulate(spec({ strategy: 'kes-457' }))
    assert.equal(r.total.login, 8)
    assert.equal(r.total.lookup, 8 * 719)
    assert.equal(r.total.renew, 16)
    assert.equal(r.total.read, 8 * 720)
  })

  it('kes-pre-457 renews before every read; eso-nocache logs in, looks up and revokes per sync', async () => {
    const pre = await simulate(spec({ strategy: 'kes-pre-457', durationMs: H }))
    assert.equal(pre.total.login, 8)
    assert.equal(pre.total.renew, 8 * 359)
    const eso = await simulate(spec({ strategy: 'eso-nocache', n: 3, durationMs: H }))
    for (const op of ['login', 'lookup', 'revoke'] as const) assert.equal(eso.total[op], 3 * 360)
    assert.equal(eso.total.read, 6 * 360)
    assert.equal(eso.total.writes, 2 * 3 * 360)
  })

  it('eso-cache re-logs in at ttl < 60 s and never renews', async () => {
    const r = await simulate(spec({ strategy: 'eso-cache' }))
    assert.equal(r.total.renew, 0)
    assert.equal(r.total.login, 3) // 0:00, 59:10, 1:58:20
    assert.equal(r.total.lookup, 4 * 720 - 1) // every sync but the very first; a re-login follows its lookup
  })

  it('sampled equals full where both run (token events at full N, steady polls extrapolated)', async () => {
    for (const strategy of ['ours', 'kes-457', 'eso-cache'] as const) {
      const full = await simulate(spec({ strategy, n: 6, roles: 2, durationMs: 2.5 * H }))
      const sampled = await simulate(spec({ strategy, n: 6, roles: 2, durationMs: 2.5 * H, mode: 'sampled' }))
      assert.deepEqual(sampled.total, full.total, strategy)
      assert.equal(sampled.unexpectedSentinelEvents, 0)
      assert.ok(sampled.fullPolls < full.fullPolls / 5, `${strategy}: ${sampled.fullPolls} full polls`)
    }
  })

  it('dynamic secrets, 2 h, N=2: KES mints twice per ExternalSecret per poll; ours once per path, then renews the lease', async () => {
    const base = { n: 2, pollMs: 10_000, durationMs: 2 * H }
    const kes = await simulateDynamic({ strategy: 'kes-457', ...base })
    const everyPoll = await simulateDynamic({ strategy: 'ours-every-poll', ...base })
    const ours = await simulateDynamic({ strategy: 'ours', ...base })
    assert.equal(kes.mints, 2 * 2 * 720)
    assert.equal(everyPoll.mints, 2 * 720, 'our single flight: the two items of one path share one read')
    assert.deepEqual([ours.mints, ours.leaseRenewals, ours.secretChangesPerEs], [2, 2 * 2, 1]) // renewed at 59:30 and 1:59:00
    // KES leaves an hour of users behind (those minted at 1:00:00 expired at the end, 2:00:00); ours revokes its two
    // with the token that read them.
    assert.deepEqual([kes.liveAfterClose, ours.liveAfterClose], [2 * 2 * 359, 0])
    assert.equal(ours.leaseRevocations, 0, 'at close, revoke-self takes them: no sys/leases/revoke')
    for (const r of [kes, everyPoll, ours]) assert.equal(r.failedReads, 0)
  })
})
