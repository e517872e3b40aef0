import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ActionLog, runDemo } from '../../lib/demo.js'
import { ManualClock } from '../../lib/clock.js'
import type { Identity } from '../../lib/token/errors.js'
import type { TokenLease } from '../../lib/token/lease.js'

const id: Identity = { key: 'k', method: 'kubernetes', mount: 'kubernetes', role: 'app' }
const clock = new ManualClock(1_000_000)
const lease = (leftSeconds: number, over: Partial<TokenLease> = {}): TokenLease => ({
  token: 't', origin: 'login', accessor: 'a', policies: [], renewable: true, type: 'service', expireTime: clock.now() + leftSeconds * 1000,
  issueTime: clock.now() - 10_000, creationTtl: 20, explicitMaxTtl: 0, period: 0, verifiedAt: clock.now(), lookedUp: true, maxTtlReached: false, numUses: 0, ...over,
})

/** One poll's events, as the backend reports them, and the line the demo prints for them. */
function line(events: (log: ActionLog) => void): string | undefined {
  const log = new ActionLog(clock, { renewThresholdSeconds: 6 })
  events(log)
  return log.take('kubernetes/app')
}

describe('demo: what each line says (from the policy\'s own decisions)', () => {
  it('gives the reason for a renewal and for a timed login: the TTL left against the threshold', () => {
    assert.equal(line((l) => {
      l.decided(id, { action: 'lookup', reason: 'interval' }, lease(6))
      l.decided(id, { action: 'renew', remainingSeconds: 6, thresholdSeconds: 6 }, lease(6))
      l.renewal(id, 'success')
    }), 'lookup + renew (6 s left <= 6 s threshold)')
    assert.equal(line((l) => {
      l.decided(id, { action: 'renew', remainingSeconds: 5.6, thresholdSeconds: 6 }, lease(5.6))
      l.renewal(id, 'capped')
    }), 'renew, capped at max TTL (6 s left <= 6 s threshold)')
    assert.equal(line((l) => {
      l.decided(id, { action: 'lookup', reason: 'interval' }, lease(5))
      l.decided(id, { action: 'login', reason: 'not_renewable' }, lease(5, { renewable: false }))
      l.login(id, 'success')
    }), 'lookup + login (not renewable: 5 s left <= 6 s threshold)')
    assert.equal(line((l) => {
      l.decided(id, { action: 'login', reason: 'max_ttl' }, lease(4))
      l.login(id, 'success')
    }), 'login (max TTL: 4 s left <= 6 s threshold)')
  })

  it('says why a login happened that no threshold explains, and when nothing reached Vault', () => {
    assert.equal(line((l) => {
      l.decided(id, { action: 'login', reason: 'first' }, undefined)
      l.login(id, 'success')
    }), 'login (first)')
    assert.equal(line((l) => {
      l.decided(id, { action: 'login', reason: 'revoked' }, undefined)
      l.login(id, 'success')
    }), 'login (token revoked)')
    assert.equal(line((l) => {
      l.decided(id, { action: 'renew', remainingSeconds: 5, thresholdSeconds: 6 }, lease(5))
      l.renewal(id, 'failure')
    }), 'renew failure')
    assert.equal(line(() => {}), undefined, 'nothing sent: the demo prints "nothing (cached lease)"')
  })

  it('uses the threshold the policy applied, not the configured one, when the TTL forced half of it', () => {
    assert.equal(line((l) => {
      l.decided(id, { action: 'login', reason: 'not_renewable' }, lease(2, { renewable: false, creationTtl: 5 }))
      l.login(id, 'success')
    }), 'login (not renewable: 2 s left <= 2.5 s threshold)')
  })
})

describe('demo: runDemo', function () {
  this.timeout(20_000)
  let dir: string
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kes-demo-'))
  })
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true })
  })

  async function demo(env: Record<string, string>, o: { polls?: number; fast?: boolean; stopAfterFirstPoll?: boolean } = {}) {
    let out = ''
    let stop!: () => void
    const stopSignal = new Promise<void>((r) => (stop = r))
    const result = await runDemo({
      env,
      polls: o.polls,
      fast: o.fast ?? true,
      outDir: dir,
      stopSignal,
      write: (s) => {
        out += s
        if (o.stopAfterFirstPoll && /^\+0s/m.test(out)) stop()
      },
    })
    return { out, ...result }
  }

  it('keeps its own 2 s interval unless POLLER_INTERVAL_MILLISECONDS is set, and then shows the user\'s', async () => {
    const own = await demo({}, { polls: 2 })
    assert.match(own.out, /polled every 2 s on a virtual clock \(--fast\); renew threshold 6 s/)
    assert.match(own.out, /^\+2s /m)
    // (LOG_LEVEL=error: 15 s is not below billing's 15 s TTL, and the backend warns so.)
    const user = await demo({ POLLER_INTERVAL_MILLISECONDS: '5000', LOG_LEVEL: 'error' }, { polls: 3 })
    assert.match(user.out, /polled every 5 s \(POLLER_INTERVAL_MILLISECONDS\) on a virtual clock \(--fast\); renew threshold 15 s/)
    const times = [...user.out.matchAll(/^(\+\d+s) +kubernetes\/app/gm)].map((m) => m[1])
    assert.deepEqual(times, ['+0s', '+5s', '+10s'])
  })

  it('keeps every column in line whatever the action label (the action comes last)', async () => {
    const { out } = await demo({}, { polls: 40 })
    const rows = out.split('\n').filter((l) => /^\+\d+s /.test(l))
    assert.equal(rows.length, 80)
    assert.ok(rows.some((r) => r.includes('capped at max TTL')), 'the longest label is among them')
    const at = (r: string, re: RegExp) => r.search(re)
    for (const re of [/kubernetes\//, / \d+ s +\d\/\d ok/, /\d\/\d ok/]) assert.equal(new Set(rows.map((r) => at(r, re))).size, 1, `column ${re} moves`)
  })

  it('honours LOG_LEVEL (its logs go to stderr; quiet below warn by default)', async () => {
    const lines: string[] = []
    const write = process.stderr.write
    process.stderr.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stderr.write
    try {
      await demo({}, { polls: 2 })
      const quiet = lines.length
      await demo({ LOG_LEVEL: 'debug' }, { polls: 2 })
      assert.equal(quiet, 0)
      assert.ok(lines.some((l) => /"level":20,.*"msg":"vault token looked up"/.test(l)), `debug lines (pino level 20) on stderr: ${lines.join("")}`)
    } finally {
      process.stderr.write = write
    }
  })

  it('says Ctrl-C to stop when it runs until interrupted, not when it stops by itself', async () => {
    const forever = await demo({}, { fast: false, stopAfterFirstPoll: true })
    assert.match(forever.out, /Ctrl-C to stop/)
    assert.equal(forever.polls, 1)
    assert.doesNotMatch((await demo({}, { polls: 1 })).out, /Ctrl-C/)
  })
})
