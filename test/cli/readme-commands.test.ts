import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { groupAlive, ROOT, start, userEnv, type Proc } from './helpers.js'

/**
 * Every command README.md shows in a sh block, run through npm exactly as a user types it (issue #14: four of them
 * exited 78 and no test noticed). A command without a plan below fails the first test, so a new README command
 * cannot go untested; the skipped ones say why.
 */

/** The commands of README's ```sh blocks, as typed: comments dropped, `a && b` split into both. */
export function readmeCommands(markdown: string): string[] {
  const commands: string[] = []
  for (const block of markdown.matchAll(/^```(?:sh|bash|shell|console)\n([\s\S]*?)^```/gm)) {
    for (const raw of block[1]!.split('\n')) {
      const line = raw.replace(/^\$\s+/, '').replace(/(^|\s)#.*$/, '').trim()
      if (line) commands.push(...line.split('&&').map((c) => c.trim()))
    }
  }
  return [...new Set(commands)]
}

type Plan =
  | { skip: string }
  /** Runs to completion: the exit code and what the output must show. */
  | { exits: number; shows: RegExp[]; timeoutMs?: number }
  /** Runs until Ctrl-C: started, its first lines checked, then SIGINT to its process group; must exit 0. */
  | { untilCtrlC: RegExp; check?: (p: Proc) => Promise<void>; thenShows: RegExp[]; needsPort?: number }
  /** A long run (minutes): started, its first lines checked, stopped with Ctrl-C; nothing of it may keep running. */
  | { long: RegExp }
  /** `npm run depcheck`: exits 0 exactly when it reports no violation (npm test runs it too, so it must be 0). */
  | { depcheck: true }

const DEMO_HEADER = /kes-vault-backend demo: embedded dev Vault at http:\/\/127\.0\.0\.1:\d+[\s\S]*Ctrl-C to stop/
const FIRST_POLL = /^\+0s +kubernetes\/app +20 s +2\/2 ok +login \(first\)$/m
const SUMMARY = /polls? of 3 ExternalSecrets, 0 failed reads[\s\S]*Vault requests by operation[\s\S]*kes_vault_logins_total/

const PLANS: Record<string, Plan> = {
  'npm ci': { skip: 'reinstalls node_modules under the running test suite; .ci/run runs it from scratch before npm test' },
  'npm test': { skip: 'this file runs inside npm test: it would recurse' },
  'npm start': { untilCtrlC: new RegExp(`${DEMO_HEADER.source}[\\s\\S]*${FIRST_POLL.source}`, 'm'), thenShows: [SUMMARY] },
  'npm run demo': { untilCtrlC: new RegExp(`${DEMO_HEADER.source}[\\s\\S]*${FIRST_POLL.source}`, 'm'), thenShows: [SUMMARY] },
  'npm start -- demo --fast --polls 40': {
    exits: 0,
    shows: [
      /polled every 2 s on a virtual clock \(--fast\); renew threshold 6 s/,
      /^\+14s +kubernetes\/app +20 s +2\/2 ok +lookup \+ renew \(6 s left <= 6 s threshold\)$/m,
      /^\+10s +kubernetes\/billing +15 s +1\/1 ok +lookup \+ login \(not renewable: 5 s left <= 6 s threshold\)$/m,
      /renew, capped at max TTL/,
      /login \(max TTL: \d+ s left <= 6 s threshold\)/,
      /40 polls of 3 ExternalSecrets, 0 failed reads/,
      /requests with a dead token 0/,
    ],
  },
  'npm start -- dev-vault': {
    needsPort: 8200,
    untilCtrlC: /export VAULT_ADDR='http:\/\/127\.0\.0\.1:8200'[\s\S]*export VAULT_TOKEN='[^']+'[\s\S]*Ctrl-C to stop/,
    // What it prints to type next: the seeded secret read with the root token, and the README dry run against it.
    async check(p) {
      const token = /export VAULT_TOKEN='([^']+)'/.exec(p.output())![1]!
      const res = await fetch('http://127.0.0.1:8200/v1/secret/data/app/database', { headers: { 'X-Vault-Token': token }, signal: AbortSignal.timeout(5_000) })
      assert.equal(res.status, 200)
      assert.equal(((await res.json()) as { data: { data: { username: string } } }).data.data.username, 'app')
      const dry = start(argv('npm start -- demo'), { env: { ...userEnv(), VAULT_ADDR: 'http://127.0.0.1:8200', VAULT_TOKEN: token } })
      try {
        assert.equal(await dry.exited(45_000), 0, `the dry run against the standalone dev Vault; output:\n${dry.output()}`)
        assert.match(dry.output(), /rendering 3 example ExternalSecrets against VAULT_ADDR=http:\/\/127\.0\.0\.1:8200/)
        assert.match(dry.output(), /3 ExternalSecrets, 0 failed reads/)
      } finally {
        dry.kill()
      }
    },
    thenShows: [],
  },
  'npm start -- --help': { exits: 0, shows: [/usage: kes-vault-backend/, /start --help/, /demo --help/, /dev-vault --help/, /78 configuration error/] },
  'npm start -- demo --help': { exits: 0, shows: [/usage: kes-vault-backend demo/, /--polls N/, /--fast/, /--out DIR/] },
  'npm start -- dev-vault --help': { exits: 0, shows: [/usage: kes-vault-backend dev-vault/, /--port N/] },
  'npm run bench -- --quick': { long: /bench profile quick: \d+ runs on \d+ worker process\(es\); results go to bench-results\// },
  // The figures README quotes for dynamic secrets are what this prints (a deterministic simulation).
  'npm run bench -- --dynamic': {
    exits: 0,
    shows: [/\| kes-457 \| 172,800 \| 0 \| 0 \| 500 \| \*\*173,300\*\* \| 8,640 \| 7,200 \/ 7,180 \| 0 \|/, /\| ours \| 20 \| 240 \| 20 \| 25 \| \*\*306\*\* \| 2 \| 10 \/ 0 \| 0 \|/],
    timeoutMs: 120_000,
  },
  'npm run soak': { long: /soak: profile long, seed \d+/ },
  'npm run depcheck': { depcheck: true },
}

/** `npm start -- demo` -> ['npm', 'start', '--', 'demo']; anything a plain split would get wrong is refused. */
function argv(command: string): string[] {
  assert.doesNotMatch(command, /['"`$\\|;<>*?()]/, `teach test/cli/readme-commands.test.ts to run ${command}`)
  return command.split(/\s+/).map((w, i) => (i === 0 && w === 'npm' && process.platform === 'win32' ? 'npm.cmd' : w))
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

const commands = readmeCommands(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'))

describe('README: every command, through npm, as typed', function () {
  // The first one may build dist/ from scratch; each is bounded below.
  this.timeout(60_000)
  let running: Proc | undefined

  afterEach(() => {
    running?.kill()
    running = undefined
  })

  it('has a plan for every command README shows, and no plan for a command it no longer shows', () => {
    assert.ok(commands.includes('npm start') && commands.includes('npm test'), `parsed: ${commands.join(' | ')}`)
    assert.deepEqual(commands.filter((c) => !(c in PLANS)), [], 'README commands with no plan in test/cli/readme-commands.test.ts')
    assert.deepEqual(Object.keys(PLANS).filter((c) => !commands.includes(c)), [], 'plans for commands README no longer shows')
  })

  for (const command of commands) {
    const plan = PLANS[command]
    if (!plan) continue
    if ('skip' in plan) {
      it(`${command} (not run: ${plan.skip})`)
      continue
    }
    it(command, async function () {
      if ('exits' in plan) {
        const p = (running = start(argv(command)))
        const code = await p.exited(plan.timeoutMs ?? 45_000)
        assert.equal(code, plan.exits, `exit code; output:\n${p.output()}`)
        for (const re of plan.shows) assert.match(p.output(), re)
      } else if ('untilCtrlC' in plan) {
        if (plan.needsPort && !(await portFree(plan.needsPort))) {
          this.skip() // README's command needs this port, and something on this machine holds it
        }
        const p = (running = start(argv(command)))
        await p.waitFor(plan.untilCtrlC, 30_000)
        await plan.check?.(p)
        p.interrupt()
        assert.equal(await p.exited(15_000), 0, `exit code after Ctrl-C; output:\n${p.output()}`)
        for (const re of plan.thenShows) assert.match(p.output(), re)
        assert.equal(groupAlive(p.child.pid!), false, 'nothing left running')
      } else if ('long' in plan) {
        const p = (running = start(argv(command)))
        await p.waitFor(plan.long, 30_000)
        p.interrupt()
        await p.exited(15_000)
        // Workers (the bench forks some) die with the group.
        const deadline = Date.now() + 5_000
        while (groupAlive(p.child.pid!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
        assert.equal(groupAlive(p.child.pid!), false, 'a process of the run outlived Ctrl-C')
      } else {
        const p = (running = start(argv(command)))
        const code = await p.exited(45_000)
        const m = /x (\d+) dependency violations|no dependency violations found/.exec(p.output())
        assert.ok(m, `no dependency-cruiser summary; output:\n${p.output()}`)
        assert.equal(code === 0, m[1] === undefined, `exit code ${code} against the summary: ${m[0]}`)
        assert.equal(code, 0, `the layering rules are broken:\n${p.output()}`)
        assert.match(p.output(), /\d{2,} modules, \d+ dependencies cruised/)
      }
    })
  }
})
