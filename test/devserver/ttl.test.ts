import assert from 'node:assert/strict'
import { calculateTtl, goDuration, humanDuration, parseDurationSeconds, PAST_MAX_TTL } from '../../lib/devserver/ttl.js'

const T0 = Date.UTC(2026, 0, 1)
const base = {
  now: T0,
  issueTime: T0,
  increment: 0,
  roleTtl: 0,
  roleMaxTtl: 0,
  explicitMaxTtl: 0,
  period: 0,
  mountDefaultTtl: 768 * 3600,
  mountMaxTtl: 768 * 3600,
}

describe('devserver ttl: CalculateTTL', () => {
  it('uses the mount default when neither increment nor role TTL is set', () => {
    assert.deepEqual(calculateTtl(base), { ok: true, ttl: 2764800, warnings: [] })
  })

  it('prefers the increment over the role TTL, counted from now', () => {
    const r = calculateTtl({ ...base, now: T0 + 1800_000, roleTtl: 3600, roleMaxTtl: 4 * 3600, increment: 60 })
    assert.deepEqual(r, { ok: true, ttl: 60, warnings: [] })
  })

  it('caps at issue time + role max TTL with Vault\'s warning text', () => {
    // 3h49m40s after issue, 10m20s remain of a 4h max.
    const r = calculateTtl({ ...base, now: T0 + (4 * 3600 - 620) * 1000, roleTtl: 3600, roleMaxTtl: 4 * 3600, increment: 3600 })
    assert.deepEqual(r, {
      ok: true,
      ttl: 620,
      warnings: ['TTL of "1h" exceeded the effective max_ttl of "10m20s"; TTL value is capped accordingly'],
    })
  })

  it('fails past the max TTL', () => {
    const r = calculateTtl({ ...base, now: T0 + 4 * 3600_000, roleTtl: 3600, roleMaxTtl: 4 * 3600 })
    assert.deepEqual(r, { ok: false, error: PAST_MAX_TTL })
    assert.equal(PAST_MAX_TTL, 'past the max TTL, cannot renew')
  })

  it('lets an explicit max TTL below the role max win', () => {
    const r = calculateTtl({ ...base, now: T0 + 1800_000, roleTtl: 3600, roleMaxTtl: 4 * 3600, explicitMaxTtl: 2700 })
    assert.equal(r.ok && r.ttl, 900)
  })

  it('caps by the mount max when the role max is larger', () => {
    const r = calculateTtl({ ...base, roleTtl: 7200, roleMaxTtl: 10 * 3600, mountMaxTtl: 3600 })
    assert.equal(r.ok && r.ttl, 3600)
  })

  it('periodic: TTL = period, increment ignored, no limit without explicit max', () => {
    const r = calculateTtl({ ...base, now: T0 + 1000 * 3600_000, period: 1800, increment: 99999, roleMaxTtl: 3600 })
    assert.deepEqual(r, { ok: true, ttl: 1800, warnings: [] })
  })

  it('periodic with an explicit max TTL stops at issue + explicit max', () => {
    const near = calculateTtl({ ...base, now: T0 + 7000_000, period: 1800, explicitMaxTtl: 7200 })
    assert.equal(near.ok && near.ttl, 200)
    assert.deepEqual(calculateTtl({ ...base, now: T0 + 7200_000, period: 1800, explicitMaxTtl: 7200 }), { ok: false, error: PAST_MAX_TTL })
  })

  it('truncates times to whole seconds', () => {
    const r = calculateTtl({ ...base, now: T0 + 999, issueTime: T0 + 500, roleTtl: 10, roleMaxTtl: 10 })
    assert.equal(r.ok && r.ttl, 10)
  })
})

describe('devserver ttl: Go durations', () => {
  it('formats like Go time.Duration.String', () => {
    assert.equal(goDuration(0), '0s')
    assert.equal(goDuration(45), '45s')
    assert.equal(goDuration(620), '10m20s')
    assert.equal(goDuration(3600), '1h0m0s')
    assert.equal(goDuration(90061), '25h1m1s')
  })

  it('humanizes like Vault (zero tails dropped)', () => {
    assert.equal(humanDuration(3600), '1h')
    assert.equal(humanDuration(3605), '1h5s')
    assert.equal(humanDuration(3660), '1h1m')
    assert.equal(humanDuration(600), '10m')
    assert.equal(humanDuration(620), '10m20s')
    assert.equal(humanDuration(0), '0s')
  })

  it('parses seconds and Go strings', () => {
    assert.deepEqual(parseDurationSeconds(3600), { ok: true, seconds: 3600 })
    assert.deepEqual(parseDurationSeconds('3600'), { ok: true, seconds: 3600 })
    assert.deepEqual(parseDurationSeconds('1h'), { ok: true, seconds: 3600 })
    assert.deepEqual(parseDurationSeconds('1h30m'), { ok: true, seconds: 5400 })
    assert.deepEqual(parseDurationSeconds('1.5h'), { ok: true, seconds: 5400 })
    assert.deepEqual(parseDurationSeconds('2d'), { ok: true, seconds: 172800 })
    assert.deepEqual(parseDurationSeconds(undefined), { ok: true, seconds: 0 })
    assert.deepEqual(parseDurationSeconds('1x'), { ok: false, error: 'time: unknown unit "x" in duration "1x"' })
  })
})
