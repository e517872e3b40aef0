import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { loadAllYaml, loadYaml } from '@kubernetes/client-node'
import { Registry } from 'prom-client'
import { loadConfig } from '../../lib/config.js'
import { type DevVault, seedFromYamlObject, startDevVault } from '../../lib/devserver/index.js'
import * as metrics from '../../lib/metrics.js'
import { DEFAULT_POLLER_CONFIG, loadPollerConfig } from '../../lib/poller/config.js'
import { SyncMetrics } from '../../lib/poller/sync-metrics.js'
import { resolveSettings, SETTING_VARIABLES, type Settings } from '../../lib/settings.js'
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

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')

/**
 * README's excerpt of `npm start -- demo --fast --polls 40`: every line it shows but the `...` elisions, as a regex that
 * must match a whole line of a real run (the dev Vault's port varies). The summary lines are required in the excerpt.
 */
function demoExcerpt(markdown: string): RegExp[] {
  const block = /^```\n\$ npm start -- demo --fast --polls 40\n([\s\S]*?)^```/m.exec(markdown)
  assert.ok(block, "README's demo excerpt (a ``` block starting with `$ npm start -- demo --fast --polls 40`) is missing")
  const lines = block[1]!.split('\n').filter((l) => l.trim() !== '' && l.trim() !== '...')
  assert.ok(lines.some((l) => /^40 polls of 3 ExternalSecrets, \d+ failed reads/.test(l)), 'the excerpt shows the summary line')
  assert.ok(lines.some((l) => /^Vault requests by operation/.test(l)), 'the excerpt shows the Vault requests line')
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return lines.map((l) => new RegExp(`^${escape(l).replace(/127\\\.0\\\.0\\\.1:\d+/, '127\\.0\\.0\\.1:\\d+')}$`, 'm'))
}

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
      // Every line of README's excerpt near the top, the summary and the Vault requests included: it cannot go stale.
      ...demoExcerpt(README),
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
    shows: [/\| kes-457 \| 172,800 \| 0 \| 0 \| 500 \| \*\*173,300\*\* \| 8,640 \| 7,200 \/ 7,180 \| 0 \|/, /\| ours \| 20 \| 240 \| 10 \| 25 \| \*\*296\*\* \| 2 \| 10 \/ 0 \| 0 \|/],
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

const commands = readmeCommands(README)

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

// ---- README's tables and examples: what it says about the code and the files in examples/, checked against them ----

/** The rows of the first Markdown table after `heading`, as cells (escaped `\|` stays inside a cell). */
function tableAfter(markdown: string, heading: string): string[][] {
  const at = markdown.indexOf(`\n${heading}\n`)
  assert.ok(at >= 0, `README has no section ${heading}`)
  const lines = markdown.slice(at).split('\n')
  const first = lines.findIndex((l) => l.startsWith('|'))
  const rows: string[][] = []
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break
    rows.push(line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()))
  }
  return rows
}

/** The backticked words of a cell: `a`\|`b` -> ['a', 'b']. */
const ticked = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]!)

/** The variables a source file reads from the environment: `env.NAME`, `env, 'NAME'` and `'NAME'` in a reader call. */
function variablesRead(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
  return [...new Set([...text.matchAll(/\benv(?:\.|, ')([A-Z][A-Z0-9_]{2,})\b/g)].map((m) => m[1]!))]
}

/** The range an integer setting accepts, from the error a non-number gets: [min, max], or undefined. */
function rangeOf(parse: () => unknown): [number, number] | undefined {
  try {
    parse()
  } catch (e) {
    const m = /expected an integer from (\d+) to (\d+)/.exec((e as Error).message)
    return m ? [Number(m[1]), Number(m[2])] : undefined
  }
  return undefined
}

describe("README: the Configuration table against lib/settings.ts, lib/poller/config.ts and lib/config.ts", () => {
  const rows = new Map(tableAfter(README, '## Configuration').map((cells) => [ticked(cells[0]!)[0]!, cells]))
  const defaults = resolveSettings({})

  it('has a row, with its default and range, for every variable of SETTING_VARIABLES', () => {
    for (const [key, variable] of Object.entries(SETTING_VARIABLES) as [keyof Settings, string][]) {
      const row = rows.get(variable)
      assert.ok(row, `README's Configuration table has no row for ${variable}`)
      const [, deflt, value] = row
      const real = defaults[key]
      if (real === undefined || (Array.isArray(real) && real.length === 0)) assert.match(deflt!, /^–/, `${variable}: no default`)
      else if (typeof real !== 'object' && /^`/.test(deflt!)) assert.equal(ticked(deflt!)[0], String(real), `${variable}: default`)
      const range = rangeOf(() => resolveSettings({ [key]: 'not-a-number' }, { source: 'env' }))
      if (range) assert.ok(value!.startsWith(`${range[0]} to ${range[1]}`), `${variable}: README says "${value}", the resolver ${range[0]} to ${range[1]}`)
    }
    for (const method of ['kubernetes', 'jwt', 'approle'] as const) {
      assert.equal(resolveSettings({ authMethod: method, approleRoleId: 'r', approleSecretIdFile: 'f' }).defaultVaultMountPoint, method)
      assert.match(rows.get('DEFAULT_VAULT_MOUNT_POINT')![1]!, new RegExp(`\`${method}\``))
    }
  })

  it("has a row for every variable the poller host and the loader read, with the poller host's defaults and ranges", () => {
    const variables = [...variablesRead('lib/poller/config.ts'), ...variablesRead('lib/config.ts')]
    assert.ok(variables.includes('WATCH_TIMEOUT') && variables.includes('METRICS_PORT'), `parsed: ${variables.join(', ')}`)
    for (const variable of variables) assert.ok(rows.has(variable), `README's Configuration table has no row for ${variable}`)
    const pollerDefaults: Record<string, keyof typeof DEFAULT_POLLER_CONFIG> = {
      WATCH_TIMEOUT: 'watchTimeoutMilliseconds',
      ROLE_PERMITTED_ANNOTATION: 'rolePermittedAnnotation',
      NAMING_PERMITTED_ANNOTATION: 'namingPermittedAnnotation',
      MOUNT_PERMITTED_ANNOTATION: 'mountPermittedAnnotation',
      SERVICE_ACCOUNT_PERMITTED_ANNOTATION: 'serviceAccountPermittedAnnotation',
    }
    for (const [variable, key] of Object.entries(pollerDefaults)) assert.equal(ticked(rows.get(variable)![1]!)[0], String(DEFAULT_POLLER_CONFIG[key]), `${variable}: default`)
    const watch = rangeOf(() => loadPollerConfig({ WATCH_TIMEOUT: 'x' }))!
    assert.ok(rows.get('WATCH_TIMEOUT')![2]!.startsWith(`${watch[0]} to ${watch[1]}`), 'WATCH_TIMEOUT: range')
    const port = rangeOf(() => loadConfig({ METRICS_PORT: 'x' }))!
    assert.ok(rows.get('METRICS_PORT')![2]!.startsWith(`${port[0]} to ${port[1]}`), 'METRICS_PORT: range')
    // What the DISABLE_POLLING and ENFORCE_NAMESPACE_ANNOTATIONS rows say.
    assert.equal(loadPollerConfig({}).pollingDisabled, false)
    assert.equal(loadPollerConfig({ DISABLE_POLLING: '' }).pollingDisabled, true)
    assert.equal(loadPollerConfig({ DISABLE_POLLING: 'false' }).pollingDisabled, false)
    assert.equal(loadPollerConfig({ DISABLE_POLLING: 'true' }).pollingDisabled, true)
    assert.equal(loadPollerConfig({ ENFORCE_NAMESPACE_ANNOTATIONS: 'false' }).enforceNamespaceAnnotations, true)
  })
})

describe("README: the Metrics table against lib/metrics.ts and the poller host's metrics", () => {
  const rows = tableAfter(README, '## Metrics')
  const byName = new Map(rows.map((cells) => [ticked(cells[0]!)[0]!, cells]))
  const registry = new Registry()
  metrics.VaultMetrics.for(registry)
  new SyncMetrics(registry)
  const registered = registry.getMetricsAsArray() as unknown as { name: string; type: string; labelNames: string[] }[]
  /** The closed label sets of lib/metrics.ts, by metric and label. */
  const closed: Record<string, Record<string, readonly string[]>> = {
    kes_vault_token_lookups_total: { result: metrics.LOOKUP_RESULTS },
    kes_vault_token_renewals_total: { result: metrics.RENEWAL_RESULTS },
    kes_vault_logins_total: { result: metrics.LOGIN_RESULTS, reason: metrics.LOGIN_REASONS },
    kes_vault_token_warnings_total: { code: metrics.WARNING_CODES },
    kes_vault_requests_duration_seconds: { operation: metrics.OPERATIONS, status: metrics.STATUS_CLASSES },
    kes_vault_secret_reads_total: { result: metrics.READ_RESULTS },
    kes_vault_secret_mints_total: { result: metrics.MINT_RESULTS, reason: metrics.MINT_REASONS },
    kes_vault_secret_lease_renewals_total: { result: metrics.RENEWAL_RESULTS },
    kes_vault_secret_lease_revocations_total: { result: metrics.REVOCATION_RESULTS, reason: metrics.REVOCATION_REASONS },
  }

  it('has a row for every metric, and no row for a metric that does not exist', () => {
    assert.deepEqual([...byName.keys()].sort(), registered.map((m) => m.name).sort())
  })

  it("gives each metric its type, its labels and every value of each closed label set", () => {
    for (const m of registered) {
      const [, type, labels] = byName.get(m.name)!
      assert.equal(type, m.type, `${m.name}: type`)
      const parts = labels === '–' ? [] : labels!.split(/,\s*/)
      assert.deepEqual(parts.map((p) => p.split('=')[0]), m.labelNames, `${m.name}: labels`)
      for (const part of parts) {
        const [label, values] = part.split('=') as [string, string | undefined]
        const set = closed[m.name]?.[label]
        if (set) assert.deepEqual(ticked(values ?? ''), [...set], `${m.name}: the values of ${label}`)
      }
    }
    assert.match(README, new RegExp(`mount="${metrics.OVERFLOW_LABEL}", role="${metrics.OVERFLOW_LABEL}"`))
  })
})

describe('README: the examples it points to', function () {
  this.timeout(60_000)
  const read = (file: string) => fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8')

  it('examples/kes-wiring.ts runs as its header and README say, against the dev Vault and its seed', async () => {
    let vault: DevVault | undefined
    try {
      vault = await startDevVault({})
      seedFromYamlObject(vault, loadYaml(read('demo/vault-seed.yaml')))
      const p = start(['node', '--import', 'tsx', 'examples/kes-wiring.ts'], { env: userEnv({ VAULT_ADDR: vault.address, VAULT_TOKEN: vault.rootToken }) })
      assert.equal(await p.exited(45_000), 0, `output:\n${p.output()}`)
      assert.match(p.output(), /^poll 0: Secret keys username, password$[\s\S]*^poll 2: Secret keys username, password$/m)
      assert.match(p.output(), /vault backend closed/)
      assert.doesNotMatch(p.output(), /correct-horse-battery-staple/, 'no secret value is printed')
    } finally {
      await vault?.close()
    }
  })

  type Container = { env: { name: string; value: string }[]; volumeMounts: { name: string; mountPath: string }[] }
  type Volume = { name: string; projected?: { sources: { serviceAccountToken?: { path: string; audience: string } }[] }; configMap?: { name: string } }
  const deployment = loadYaml<{ metadata: { namespace: string }; spec: { template: { spec: { serviceAccountName: string; containers: Container[]; volumes: Volume[] } } } }>(read('deployment.yaml'))
  const pod = deployment.spec.template.spec
  const env = Object.fromEntries(pod.containers[0]!.env.map((e) => [e.name, e.value]))
  /** vault-setup.sh's defaults: NAME="${NAME:-value}". */
  const setup = Object.fromEntries([...read('vault-setup.sh').matchAll(/^([A-Z_]+)="\$\{\1:-([^}]*)\}"/gm)].map((m) => [m[1]!, m[2]!]))

  it("examples/deployment.yaml's environment is a valid configuration of the backend and the poller host", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-deploy-'))
    try {
      const ca = path.join(dir, 'ca.crt')
      fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
      const config = loadConfig({ ...env, VAULT_CACERT: ca })
      const poller = loadPollerConfig(env)
      assert.equal(config.defaultVaultRole, 'kes-vault-backend')
      assert.deepEqual(config.authAudiences, ['vault'])
      assert.equal(poller.pollerIntervalMilliseconds, 60_000)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('examples/deployment.yaml agrees with its own volumes and with vault-setup.sh', () => {
    const mountOf = (volume: string) => pod.containers[0]!.volumeMounts.find((m) => m.name === volume)?.mountPath
    const projected = pod.volumes.find((v) => v.projected)!
    const token = projected.projected!.sources.find((s) => s.serviceAccountToken)!.serviceAccountToken!
    assert.equal(env.VAULT_SERVICE_ACCOUNT_TOKEN_PATH, `${mountOf(projected.name)}/${token.path}`, 'the controller logs in with the projected token')
    const caVolume = pod.volumes.find((v) => v.configMap)!
    assert.equal(path.dirname(env.VAULT_CACERT!), mountOf(caVolume.name), 'VAULT_CACERT is in the mounted ConfigMap')
    assert.match(env.VAULT_ADDR!, /^https:/)
    // One audience everywhere: the projected token, the TokenRequest JWTs and every Vault role.
    assert.equal(token.audience, setup.AUDIENCE)
    assert.equal(env.VAULT_AUTH_AUDIENCES, setup.AUDIENCE)
    assert.equal(env.DEFAULT_VAULT_ROLE, setup.CONTROLLER_ROLE)
    assert.equal(env.DEFAULT_VAULT_MOUNT_POINT ?? 'kubernetes', setup.AUTH_MOUNT)
    assert.ok(env.VAULT_ALLOWED_MOUNTS!.split(',').includes(setup.KV_MOUNT!), 'the KV mount is allowed')
    assert.equal(deployment.metadata.namespace, setup.CONTROLLER_NS)
    assert.equal(pod.serviceAccountName, setup.CONTROLLER_SA)
    // vault-reader is permitted: per namespace by the script's annotation, or in every namespace by the variable.
    const permits = new RegExp(`permitted-service-accounts=\\$\\{READER_SA\\}`).test(read('vault-setup.sh')) || /vault-reader/.test(env.VAULT_PERMITTED_SERVICE_ACCOUNTS ?? '')
    assert.ok(permits && setup.READER_SA === 'vault-reader', 'vault-reader may be named by ExternalSecrets')
    // A reviewer JWT from `kubectl create token` expires and then every login fails.
    assert.doesNotMatch(read('vault-setup.sh'), /^[^#]*create token/m)
  })

  it('examples/crd.yaml keeps every field the host reads, and admits every shape of spec the backend accepts', () => {
    // client-node's loadYaml gives a CRD its typed shape, where x-kubernetes-preserve-unknown-fields is spelled with
    // underscores, except under `items` (typed `any`, kept as written).
    type Schema = { properties?: Record<string, Schema>; items?: Schema; required?: string[]; anyOf?: Schema[]; x_kubernetes_preserve_unknown_fields?: boolean; 'x-kubernetes-preserve-unknown-fields'?: boolean }
    const preserves = (s: Schema) => !!(s.x_kubernetes_preserve_unknown_fields ?? s['x-kubernetes-preserve-unknown-fields'])
    const crd = loadYaml<{ spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } }>(read('crd.yaml'))
    const root = crd.spec.versions[0]!.schema.openAPIV3Schema
    /** What an API server would prune (fields the structural schema does not declare), and anyOf branches not met. */
    function problems(value: unknown, schema: Schema, at: string): string[] {
      const out: string[] = []
      if (Array.isArray(value)) value.forEach((v, i) => out.push(...problems(v, schema.items ?? {}, `${at}[${i}]`)))
      else if (value !== null && typeof value === 'object') {
        const o = value as Record<string, unknown>
        if (schema.anyOf && !schema.anyOf.some((b) => (b.required ?? []).every((r) => r in o))) out.push(`${at}: no anyOf branch holds`)
        for (const r of schema.required ?? []) if (!(r in o)) out.push(`${at}.${r}: required`)
        for (const [k, v] of Object.entries(o)) {
          const sub = schema.properties?.[k]
          if (sub) out.push(...problems(v, sub, `${at}.${k}`))
          else if (!preserves(schema)) out.push(`${at}.${k}: pruned`)
        }
      }
      return out
    }
    // Every field of the host's ExternalSecret type (lib/poller/types.ts) is declared.
    const types = fs.readFileSync(path.join(ROOT, 'lib/poller/types.ts'), 'utf8')
    const fieldsOf = (name: string) => [...new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`).exec(types)![1]!.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]!)
    const spec = root.properties!.spec!
    assert.deepEqual(fieldsOf('ExternalSecretSpec').filter((f) => !spec.properties![f]), [])
    assert.deepEqual(fieldsOf('ExternalSecretDataItem').filter((f) => !spec.properties!.data!.items!.properties![f]), [])
    assert.deepEqual(fieldsOf('ExternalSecretStatus').filter((f) => !root.properties!.status!.properties![f]), [])
    const specs: unknown[] = [
      ...(loadAllYaml(read('demo/externalsecrets.yaml')) as { spec: unknown }[]).map((es) => es.spec),
      { backendType: 'vault', dataFromWithOptions: [{ key: 'secret/data/app/api', versionStage: 'AWSCURRENT', custom: { any: 'thing' } }] },
      { backendType: 'vault', properties: [{ key: 'secret/data/app/database', name: 'password', property: 'password' }] },
      { backendType: 'vault', controllerId: 'blue', type: 'Opaque', template: { metadata: { labels: { a: 'b' } } }, vaultServiceAccount: 'vault-reader', vaultRole: 'team-a', vaultMountPoint: 'kubernetes', kvVersion: 1, data: [{ key: 'k', name: 'n', isBinary: true }] },
    ]
    for (const s of specs) assert.deepEqual(problems({ spec: s, status: { lastSync: 'x', observedGeneration: 1, status: 'SUCCESS' } }, root, ''), [], JSON.stringify(s))
    assert.deepEqual(problems({ spec: { backendType: 'vault' } }, root, ''), ['.spec: no anyOf branch holds'])
    assert.deepEqual(problems({ spec: { backendType: 'vault', dataFromWithOptions: [{ versionStage: 'x' }] } }, root, ''), ['.spec.dataFromWithOptions[0].key: required'])
  })
})
