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
import { VaultBackend } from './backend/vault-backend.js'
import { ManualClock } from './clock.js'
import type { Env } from './env.js'
import { resolveSettings } from './settings.js'
import { loadConfig } from './config.js'
import { type DevVault, type DevVaultSeed, seedFromYamlObject, startDevVault } from './devserver/index.js'
import { createLogger } from './log.js'
import { buildSecretManifest } from './poller/secret-manifest.js'
import type { ExternalSecret } from './poller/types.js'
import { systemClock, type Clock } from './types.js'
import type { Identity } from './token/errors.js'
import { remainingSeconds, type TokenLease } from './token/lease.js'
import { type Decision, effectiveThreshold, type LoginReason, type RenewalResult } from './token/policy.js'
import type { SessionEvents } from './token/session.js'

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

export async function loadExamples(dir = EXAMPLES_DIR): Promise<{ seed: DevVaultSeed; externalSecrets: ExternalSecret[] }> {
  const seed = loadYaml<DevVaultSeed>(await fs.readFile(path.join(dir, 'vault-seed.yaml'), 'utf8'))
  const externalSecrets = (loadAllYaml(await fs.readFile(path.join(dir, 'externalsecrets.yaml'), 'utf8')) as ExternalSecret[]).filter(Boolean)
  externalSecrets.forEach((es, i) => {
    es.metadata.uid ??= `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`
    es.metadata.namespace ??= 'default'
  })
  return { seed, externalSecrets }
}

const LOGIN_WHY: Record<LoginReason, string> = {
  first: 'first',
  expired: 'token expired',
  revoked: 'token revoked',
  max_ttl: 'max TTL',
  not_renewable: 'not renewable',
  self_denied: 'no default policy',
}

/**
 * What each identity did during a poll, and why, as the token policy decided it (lib/token/policy.ts): the backend
 * reports each decision and its outcome; nothing here re-derives a TTL or a threshold.
 */
export class ActionLog implements Partial<SessionEvents> {
  private readonly parts = new Map<string, string[]>()
  private readonly pending = new Map<string, string>()

  constructor(
    private readonly clock: Clock,
    private readonly policy: { renewThresholdSeconds: number },
  ) {}

  private push(id: Identity, part: string): void {
    const k = `${id.mount}/${id.role}`
    this.parts.set(k, [...(this.parts.get(k) ?? []), part])
  }

  /** Everything identity `key` did since the last call, or undefined when it sent nothing. */
  take(key: string): string | undefined {
    const parts = this.parts.get(key)
    this.parts.delete(key)
    return parts?.join(' + ')
  }

  decided(id: Identity, d: Decision, lease: TokenLease | undefined): void {
    const why = (left: number, threshold: number) => `${Math.round(left)} s left <= ${threshold} s threshold`
    if (d.action === 'lookup') this.push(id, 'lookup')
    else if (d.action === 'renew') this.pending.set(id.key, why(d.remainingSeconds, d.thresholdSeconds))
    else if (d.action === 'login') {
      const timed = lease && (d.reason === 'max_ttl' || d.reason === 'not_renewable' || d.reason === 'self_denied')
      const left = timed ? `: ${why(remainingSeconds(lease, this.clock.now()), effectiveThreshold(lease, this.policy.renewThresholdSeconds))}` : ''
      this.pending.set(id.key, `${LOGIN_WHY[d.reason]}${left}`)
    }
  }

  renewal(id: Identity, result: RenewalResult): void {
    const why = this.pending.get(id.key)
    this.pending.delete(id.key)
    if (result === 'success' || result === 'capped') this.push(id, `renew${result === 'capped' ? ', capped at max TTL' : ''}${why ? ` (${why})` : ''}`)
    else this.push(id, `renew ${result.replace('_', ' ')}`)
  }

  login(id: Identity, result: 'success' | 'failure'): void {
    const why = this.pending.get(id.key)
    this.pending.delete(id.key)
    this.push(id, result === 'success' ? `login (${why ?? 'first'})` : 'login failed')
  }
}

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length))
const DEFAULT_POLL_MS = 2_000

export async function runDemo(o: DemoOptions): Promise<{ failedPolls: number; polls: number }> {
  const write = o.write ?? ((s: string) => process.stdout.write(s))
  const dryRun = !!o.env.VAULT_ADDR
  // The demo's own 2 s keeps a token's life short enough to watch; a user's POLLER_INTERVAL_MILLISECONDS wins.
  // Validated by the one resolver, with its bounds (1 s to 7 days), like every other setting.
  const userPollMs = o.env.POLLER_INTERVAL_MILLISECONDS?.trim() ? resolveSettings({ pollerIntervalMilliseconds: o.env.POLLER_INTERVAL_MILLISECONDS }, { source: 'env' }).pollerIntervalMilliseconds : undefined
  const pollMs = o.pollMs ?? userPollMs ?? DEFAULT_POLL_MS
  // --fast starts on a whole second: Vault rounds `now` to one in a TTL, so the output is the same on every run.
  const clock: Clock & Partial<ManualClock> = o.fast ? new ManualClock(Math.floor(Date.now() / 1000) * 1000) : systemClock
  const outDir = path.resolve(o.outDir ?? 'out/secrets')
  // Shown relative to where the user ran it, when inside it.
  const rel = path.relative(process.cwd(), outDir)
  const shownOutDir = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : outDir
  const { seed, externalSecrets } = await loadExamples(o.examplesDir)
  const registry = new Registry()
  // Validated before the dev Vault starts, so a bad variable leaves nothing listening. VAULT_* variables apply on top.
  let config = loadConfig(dryRun ? o.env : { ...o.env, POLLER_INTERVAL_MILLISECONDS: String(pollMs) })
  let dev: DevVault | undefined
  if (!dryRun) {
    dev = await startDevVault({ clock })
    seedFromYamlObject(dev, seed)
    config = { ...config, vaultAddr: dev.address }
  }
  // Quiet by default (the table is the output); LOG_LEVEL, when set, is honoured and logs go to stderr.
  const logger = createLogger({ level: o.env.LOG_LEVEL?.trim() ? config.logLevel : 'warn', write: (l) => process.stderr.write(l + '\n'), clock })
  let backend: VaultBackend
  const actions = new ActionLog(clock, { renewThresholdSeconds: config.tokenRenewThreshold })
  const untilStopped = o.polls === undefined && !o.fast && !dryRun
  const interval = `${pollMs / 1000} s${userPollMs !== undefined ? ' (POLLER_INTERVAL_MILLISECONDS)' : ''}`
  if (!dev) {
    backend = new VaultBackend({ ...config, registry, clock, logger, sessionEvents: actions })
    // From a workstation there is no service-account JWT: with VAULT_TOKEN set, read as that token instead of the roles.
    const asToken = !!o.env.VAULT_TOKEN && !o.env.DEFAULT_VAULT_ROLE
    if (asToken) for (const es of externalSecrets) delete es.spec.vaultRole
    write(
      `kes-vault-backend: rendering ${externalSecrets.length} example ExternalSecrets against VAULT_ADDR=${o.env.VAULT_ADDR} (dry run: no Secret is written to a cluster)` +
        `${asToken ? '; reading with VAULT_TOKEN instead of the ExternalSecrets\' roles' : ''}\n`,
    )
  } else {
    const jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kubernetes-external-secrets', expiresAt: clock.now() + 86400_000 })
    backend = new VaultBackend({ ...config, registry, clock, logger, sessionEvents: actions, jwtProvider: { getJwt: async () => jwt }, defaultVaultMountPoint: 'kubernetes' })
    write(
      `kes-vault-backend demo: embedded dev Vault at ${dev.address} (no VAULT_ADDR: nothing of yours is touched)\n` +
        `  ${externalSecrets.length} ExternalSecrets from examples/demo, polled every ${interval}${o.fast ? ' on a virtual clock (--fast)' : ''}; ` +
        `renew threshold ${backend.policy.renewThresholdSeconds} s; lookups at most every ${backend.policy.lookupIntervalMs / 1000} s per identity\n` +
        `  roles: ${Object.entries(seed.auth?.kubernetes?.roles ?? {}).map(([n, r]) => `${n} (ttl ${r.token_ttl}${r.token_max_ttl ? `, max ${r.token_max_ttl}` : ''}${r.token_type === 'batch' ? ', batch: not renewable' : ''})`).join(', ')}\n` +
        `  rendered Secrets go to ${shownOutDir}\n`,
    )
  }
  if (untilStopped) write('  Ctrl-C to stop (then: Vault requests by operation and the metrics)\n')
  write('\n')

  const identityOf = (es: ExternalSecret) => (es.spec.vaultRole ? `${es.spec.vaultMountPoint ?? 'kubernetes'}/${es.spec.vaultRole}` : 'token/static')
  // The action goes last, so a long label cannot push the other columns out of line.
  const idWidth = Math.max(10, ...externalSecrets.map((es) => identityOf(es).length)) + 2
  write(`${pad('time', 8)}${pad('identity', idWidth)}${pad('ttl', 8)}${pad('Secrets', 9)}action (why)\n`)

  const started = clock.now()
  const limit = o.polls ?? (o.fast || dryRun ? (dryRun ? 1 : 40) : Infinity)
  let stop = false
  void o.stopSignal?.then(() => (stop = true))
  let polls = 0
  let failedPolls = 0
  let nextAt = started
  while (polls < limit && !stop) {
    const at = clock.now()
    const results = await Promise.allSettled(
      externalSecrets.map((es) => backend.getSecretManifestData({ spec: es.spec as never, namespace: es.metadata.namespace })),
    )
    const byRole = new Map<string, { ok: number; total: number; errors: string[] }>()
    await Promise.all(
      results.map(async (r, i) => {
        const es = externalSecrets[i]!
        const id = identityOf(es)
        const s = byRole.get(id) ?? { ok: 0, total: 0, errors: [] }
        s.total++
        byRole.set(id, s)
        if (r.status === 'fulfilled') {
          s.ok++
          const file = path.join(outDir, es.metadata.namespace ?? 'default', `${es.metadata.name}.yaml`)
          await fs.mkdir(path.dirname(file), { recursive: true })
          await fs.writeFile(file, dumpYaml(buildSecretManifest(es, r.value)), { mode: 0o600 })
        } else {
          failedPolls++
          s.errors.push(`${es.metadata.name}: ${(r.reason as Error).message}`)
        }
      }),
    )
    const ttls = new Map([...backend.ttlSamples()].map((s) => [`${s.mount}/${s.role}`, s.remainingSeconds]))
    const t = `+${Math.round((at - started) / 1000)}s`
    for (const [id, s] of byRole) {
      const ttl = ttls.get(id)
      const action = actions.take(id) ?? (ttl === undefined ? 'no token' : 'nothing (cached lease)')
      const ttlText = ttl === undefined ? '-' : Number.isFinite(ttl) ? `${Math.round(ttl)} s` : 'never'
      write(`${pad(t, 8)}${pad(id, idWidth)}${pad(ttlText, 8)}${pad(`${s.ok}/${s.total} ok`, 9)}${action}\n`)
      for (const e of s.errors) write(`${' '.repeat(8)}! ${e}\n`)
    }
    polls++
    if (polls >= limit || stop) break
    // Polls at absolute times (start + k * interval), so the time a poll takes does not add up into drift; a poll that
    // overran its slot is followed by the next slot on the grid, not by a burst of catch-up polls.
    nextAt += pollMs
    const now = clock.now()
    if (nextAt < now) nextAt = now + pollMs - ((now - started) % pollMs)
    if (o.fast) await (clock as ManualClock).advance(nextAt - now)
    else await Promise.race([new Promise((r) => setTimeout(r, nextAt - now)), o.stopSignal ?? new Promise(() => {})])
  }

  const text = (await registry.metrics()).split('\n').filter((l) => l.includes('kes_vault_') && !l.includes('_bucket')).join('\n')
  await backend.close()
  write(`\n${polls} poll${polls === 1 ? '' : 's'} of ${externalSecrets.length} ExternalSecrets, ${failedPolls} failed reads; Secrets in ${shownOutDir}\n`)
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
