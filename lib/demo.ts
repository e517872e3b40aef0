/**
 * `npm start` with no Vault and no cluster: the embedded dev Vault, seeded from examples/demo, and the example
 * ExternalSecrets polled on a short interval with short token TTLs, so a token's whole life is visible in a minute.
 * With VAULT_ADDR set (and no cluster) the same examples are rendered against that Vault: a dry run, no Secret written.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { dumpYaml, loadAllYaml, loadYaml } from '@kubernetes/client-node'
import { Registry } from 'prom-client'
import type { VaultBackend } from './backend/vault-backend.js'
import { ManualClock } from './clock.js'
import type { Env } from './env.js'
import { type DevVault, startDevVault } from './devserver/index.js'
import type { RoleInput } from './devserver/store.js'
import { createVaultBackend } from './backend/create.js'
import { createLogger } from './log.js'
import { buildSecretManifest } from './poller/secret-manifest.js'
import type { ExternalSecret } from './poller/types.js'
import { systemClock, type Clock } from './types.js'

export const EXAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'demo')

export interface DemoOptions {
  env: Env
  /** Stop after this many polls (default: until Ctrl-C; 40 with --fast). */
  polls?: number
  /** Run on a virtual clock: no waiting between polls. */
  fast?: boolean
  pollMs?: number
  outDir?: string
  examplesDir?: string
  write?: (s: string) => void
  /** Resolves when the demo should stop early (Ctrl-C). */
  stopSignal?: Promise<void>
}

interface Seed {
  auth?: Record<string, { roles?: Record<string, RoleInput> }>
  policies?: Record<string, string[]>
  secrets?: Record<string, Record<string, unknown>>
}

export async function loadExamples(dir = EXAMPLES_DIR): Promise<{ seed: Seed; externalSecrets: ExternalSecret[] }> {
  const seed = loadYaml<Seed>(await fs.readFile(path.join(dir, 'vault-seed.yaml'), 'utf8'))
  const externalSecrets = (loadAllYaml(await fs.readFile(path.join(dir, 'externalsecrets.yaml'), 'utf8')) as ExternalSecret[]).filter(Boolean)
  externalSecrets.forEach((es, i) => {
    es.metadata.uid ??= `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`
    es.metadata.namespace ??= 'default'
  })
  return { seed, externalSecrets }
}

export function seedDevVault(dev: DevVault, seed: Seed): void {
  for (const [mount, { roles = {} } = {}] of Object.entries(seed.auth ?? {})) {
    dev.enableKubernetesAuth(mount)
    for (const [name, role] of Object.entries(roles)) dev.writeRole(mount, name, role)
  }
  for (const [name, paths] of Object.entries(seed.policies ?? {})) dev.writePolicy(name, paths)
  for (const [p, data] of Object.entries(seed.secrets ?? {})) dev.putSecret('secret', p, data)
}

/** Counter values by (mount, role) from the registry, to tell what each identity did during one poll. */
async function tokenCounts(registry: Registry): Promise<Map<string, { login: number; lookup: number; renew: number; capped: number }>> {
  const out = new Map<string, { login: number; lookup: number; renew: number; capped: number }>()
  const at = (labels: Record<string, unknown>) => {
    const k = `${labels.mount}/${labels.role}`
    let v = out.get(k)
    if (!v) out.set(k, (v = { login: 0, lookup: 0, renew: 0, capped: 0 }))
    return v
  }
  const values = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values ?? []
  for (const v of await values('kes_vault_logins_total')) if (v.labels.result === 'success') at(v.labels).login += v.value
  for (const v of await values('kes_vault_token_lookups_total')) at(v.labels).lookup += v.value
  for (const v of await values('kes_vault_token_renewals_total')) {
    at(v.labels).renew += v.value
    if (v.labels.result === 'capped') at(v.labels).capped += v.value
  }
  return out
}

function describeActions(before: { login: number; lookup: number; renew: number; capped: number } | undefined, after: { login: number; lookup: number; renew: number; capped: number }): string {
  const b = before ?? { login: 0, lookup: 0, renew: 0, capped: 0 }
  const acts: string[] = []
  if (after.lookup > b.lookup) acts.push('lookup')
  if (after.renew > b.renew) acts.push(after.capped > b.capped ? 'renew (capped at max TTL)' : 'renew')
  if (after.login > b.login) acts.push('login')
  return acts.join(' + ') || 'nothing (cached lease)'
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length))

export async function runDemo(o: DemoOptions): Promise<{ failedPolls: number; polls: number }> {
  const write = o.write ?? ((s: string) => process.stdout.write(s))
  const dryRun = !!o.env.VAULT_ADDR
  const pollMs = o.pollMs ?? 2_000
  const clock: Clock & Partial<ManualClock> = o.fast ? new ManualClock(Date.now()) : systemClock
  const outDir = path.resolve(o.outDir ?? 'out/secrets')
  const { seed, externalSecrets } = await loadExamples(o.examplesDir)
  const registry = new Registry()
  let dev: DevVault | undefined
  let backend: VaultBackend
  const logger = createLogger({ level: 'warn', write: (l) => process.stderr.write(l + '\n'), clock })
  if (dryRun) {
    backend = createVaultBackend(o.env, { registry, clock, logger })
    // From a workstation there is no service-account JWT: with VAULT_TOKEN set, read as that token instead of the roles.
    const asToken = !!o.env.VAULT_TOKEN && !o.env.DEFAULT_VAULT_ROLE
    if (asToken) for (const es of externalSecrets) delete es.spec.vaultRole
    write(
      `kes-vault-backend: rendering ${externalSecrets.length} example ExternalSecrets against VAULT_ADDR=${o.env.VAULT_ADDR} (dry run: no Secret is written to a cluster)` +
        `${asToken ? '; reading with VAULT_TOKEN instead of the ExternalSecrets\' roles' : ''}\n`,
    )
  } else {
    dev = await startDevVault({ clock })
    seedDevVault(dev, seed)
    const jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kubernetes-external-secrets', expiresAt: clock.now() + 86400_000 })
    // The demo's own poll interval and thresholds; VAULT_* variables from the environment still apply on top.
    backend = createVaultBackend(
      { POLLER_INTERVAL_MILLISECONDS: String(pollMs), ...o.env, VAULT_ADDR: dev.address },
      { registry, clock, logger, jwtProvider: { getJwt: async () => jwt }, defaultVaultMountPoint: 'kubernetes' },
    )
    write(
      `kes-vault-backend demo: embedded dev Vault at ${dev.address} (no VAULT_ADDR and no cluster configured)\n` +
        `  ${externalSecrets.length} ExternalSecrets from examples/demo, polled every ${pollMs / 1000} s${o.fast ? ' on a virtual clock (--fast)' : ''}; ` +
        `renew threshold ${backend.policy.renewThresholdSeconds} s; lookups at most every ${backend.policy.lookupIntervalMs / 1000} s per identity\n` +
        `  roles: ${Object.entries(seed.auth?.kubernetes?.roles ?? {}).map(([n, r]) => `${n} (ttl ${r.token_ttl}${r.token_max_ttl ? `, max ${r.token_max_ttl}` : ''}${r.renewable === false ? ', not renewable' : ''})`).join(', ')}\n` +
        `  rendered Secrets go to ${outDir}\n\n`,
    )
  }
  write(`${pad('time', 8)}${pad('identity', 22)}${pad('ttl', 8)}${pad('action', 34)}ExternalSecrets\n`)

  const started = clock.now()
  const limit = o.polls ?? (o.fast || dryRun ? (dryRun ? 1 : 40) : Infinity)
  let stop = false
  void o.stopSignal?.then(() => (stop = true))
  let polls = 0
  let failedPolls = 0
  for (; polls < limit && !stop; polls++) {
    const before = await tokenCounts(registry)
    const results = await Promise.allSettled(
      externalSecrets.map((es) => backend.getSecretManifestData({ spec: es.spec as never, namespace: es.metadata.namespace })),
    )
    const after = await tokenCounts(registry)
    const byRole = new Map<string, { ok: number; total: number; error?: string }>()
    await Promise.all(
      results.map(async (r, i) => {
        const es = externalSecrets[i]!
        const id = es.spec.vaultRole ? `${es.spec.vaultMountPoint ?? 'kubernetes'}/${es.spec.vaultRole}` : 'token/static'
        const s = byRole.get(id) ?? { ok: 0, total: 0 }
        s.total++
        byRole.set(id, s)
        if (r.status === 'fulfilled') {
          s.ok++
          const file = path.join(outDir, es.metadata.namespace ?? 'default', `${es.metadata.name}.yaml`)
          await fs.mkdir(path.dirname(file), { recursive: true })
          await fs.writeFile(file, dumpYaml(buildSecretManifest(es, r.value)), { mode: 0o600 })
        } else {
          failedPolls++
          s.error = (r.reason as Error).message
        }
      }),
    )
    const ttls = new Map([...backend.ttlSamples()].map((s) => [`${s.mount}/${s.role}`, s.remainingSeconds]))
    const t = `+${Math.round((clock.now() - started) / 1000)}s`
    for (const [id, s] of byRole) {
      const ttl = ttls.get(id)
      const action = after.get(id) ? describeActions(before.get(id), after.get(id)!) : 'no token'
      write(`${pad(t, 8)}${pad(id, 22)}${pad(ttl === undefined ? "-" : Number.isFinite(ttl) ? `${Math.round(ttl)} s` : "never", 8)}${pad(action, 34)}${s.ok}/${s.total} ok${s.error ? `  (${s.error})` : ''}\n`)
    }
    if (polls + 1 >= limit || stop) break
    if (o.fast) await (clock as ManualClock).advance(pollMs)
    else await Promise.race([new Promise((r) => setTimeout(r, pollMs)), o.stopSignal ?? new Promise(() => {})])
  }
  polls++

  const text = (await registry.metrics()).split('\n').filter((l) => l.includes('kes_vault_') && !l.includes('_bucket')).join('\n')
  await backend.close()
  write(`\n${polls} polls of ${externalSecrets.length} ExternalSecrets, ${failedPolls} failed reads; Secrets in ${outDir}\n`)
  if (dev) {
    const c = dev.counters()
    write(`Vault requests by operation (counted by the dev Vault): ` +
      `login ${c.requests.login}, lookup ${c.requests.lookup}, renew ${c.requests.renew}, revoke ${c.requests.revoke}, read ${c.requests.read}; ` +
      `storage writes ${c.storageWrites}; requests with a dead token ${c.deadTokenRequests.length}\n`)
    await dev.close()
  }
  write(`\nPrometheus metrics (histogram buckets omitted):\n${text}\n`)
  return { failedPolls, polls }
}
