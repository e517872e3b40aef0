import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { type ActionCounts, describeActions, runDemo } from '../../lib/demo.js'

const counts = (c: Partial<ActionCounts> = {}): ActionCounts => ({ lookup: 0, renew: 0, capped: 0, renewFailed: 0, login: 0, loginFailed: 0, loginReasons: {}, ...c })

describe('demo: what each line says', () => {
  it('gives the reason for a renewal and for a timed login: the TTL left against the threshold', () => {
    const before = counts({ lookup: 3, login: 1, loginReasons: { first: 1 } })
    assert.equal(describeActions(before, counts({ ...before, lookup: 4, renew: 1 }), 6, 6), 'lookup + renew (6 s left <= 6 s threshold)')
    assert.equal(describeActions(before, counts({ ...before, renew: 1, capped: 1 }), 5.6, 6), 'renew, capped at max TTL (6 s left <= 6 s threshold)')
    assert.equal(
      describeActions(before, counts({ ...before, lookup: 4, login: 2, loginReasons: { first: 1, not_renewable: 1 } }), 5, 6),
      'lookup + login (not renewable: 5 s left <= 6 s threshold)',
    )
    assert.equal(describeActions(before, counts({ ...before, login: 2, loginReasons: { first: 1, max_ttl: 1 } }), 4, 6), 'login (max TTL: 4 s left <= 6 s threshold)')
  })

  it('says why a login happened that no threshold explains, and when nothing reached Vault', () => {
    assert.equal(describeActions(undefined, counts({ login: 1, loginReasons: { first: 1 } }), undefined, 6), 'login (first)')
    assert.equal(describeActions(counts({ login: 1, loginReasons: { first: 1 } }), counts({ login: 2, loginReasons: { first: 1, revoked: 1 } }), 14, 6), 'login (token revoked)')
    assert.equal(describeActions(counts({ lookup: 2 }), counts({ lookup: 2, renewFailed: 1 }), 5, 6), 'renew failed')
    assert.equal(describeActions(counts({ lookup: 2 }), counts({ lookup: 2 }), 12, 6), 'nothing (cached lease)')
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
