/**
 * Dynamic secrets (issue #15, KES #766): N ExternalSecrets, each reading a username and a password from its own
 * `database/creds/es<i>` (database role TTL 1 h, max 24 h), one auth role (token TTL 1 h, Vault's default max), poll 10 s, a
 * whole day on the in-process dev Vault, every poll in full (no sampling). The role's policy grants `update` on
 * sys/leases/revoke, so revocations are shown; with the default policy they are denied once and the leases end at
 * their TTL or with the token.
 *
 * Strategies:
 *  - `kes-457`: RE-IMPLEMENTATION of KES's final Vault backend on a dynamic path: every data item of every poll
 *    looks up the token and reads the path, so each read mints (two per ExternalSecret per poll), nothing revoked.
 *  - `ours-every-poll`: this backend with VAULT_DYNAMIC_SECRETS=every-poll (KES's minting, with our single flight:
 *    one read per path per poll).
 *  - `ours`: this backend with defaults (VAULT_DYNAMIC_SECRETS=keep).
 */
import { Registry } from 'prom-client'
import { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { DevVault } from '../../lib/devserver/index.js'
import { MOUNT, peerClient, TOKEN_TTL_S, type World } from './world.js'

export const DYNAMIC_STRATEGIES = ['kes-457', 'ours-every-poll', 'ours'] as const
export type DynamicStrategyName = (typeof DYNAMIC_STRATEGIES)[number]

export interface DynamicRunSpec {
  strategy: DynamicStrategyName
  n: number
  pollMs: number
  durationMs: number
}

export interface DynamicResult {
  spec: DynamicRunSpec
  /** Credentials minted (database users created). */
  mints: number
  leaseRenewals: number
  /** Leases revoked by sys/leases/revoke (superseded, idle, at close). */
  leaseRevocations: number
  logins: number
  tokenRenewals: number
  lookups: number
  /** Vault storage writes as the dev Vault counts them: logins, token renewals, mints, lease renewals, revocations. */
  writes: number
  /** Users the database holds after the strategy's close() (ours revokes; KES never did). */
  liveAfterClose: number
  /** The most users the database held at any hour mark (sampled hourly, and at the end). */
  maxLive: number
  failedReads: number
  /** Times an ExternalSecret's Secret changed content, averaged over the N (a change can restart its pods). */
  secretChangesPerEs: number
  wallMs: number
}

interface DynamicWorld extends Pick<World, 'clock' | 'dev' | 'jwt'> {
  specs: { vaultRole: string; kvVersion: number; data: { key: string; name: string; property: string }[] }[]
}

function makeDynamicWorld(n: number): DynamicWorld {
  const clock = new ManualClock()
  const dev = new DevVault({ clock })
  dev.enableKubernetesAuth(MOUNT)
  dev.enableDatabase('database')
  dev.writePolicy('r0', ['database/creds/', { path: 'sys/leases/revoke', capabilities: ['update'] }])
  // No token max TTL on the role: Vault's default (32 days), so no token re-login falls inside the day.
  dev.writeRole(MOUNT, 'r0', { policies: ['r0'], token_ttl: TOKEN_TTL_S, bound_service_account_names: ['kes'], bound_service_account_namespaces: ['kes'] })
  const specs: DynamicWorld['specs'] = []
  for (let i = 0; i < n; i++) {
    dev.writeDatabaseRole('database', `es${i}`, { default_ttl: '1h', max_ttl: '24h' })
    const key = `database/creds/es${i}`
    specs.push({ vaultRole: 'r0', kvVersion: 1, data: [{ key, name: 'username', property: 'username' }, { key, name: 'password', property: 'password' }] })
  }
  const jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: clock.now() + 365 * 86400_000 })
  return { clock, dev, jwt, specs }
}

interface DynamicStrategy {
  /** One poll of one ExternalSecret: the username its Secret holds. */
  sync(i: number): Promise<string>
  close(): Promise<void>
}

function ours(w: DynamicWorld, pollMs: number, mode: 'keep' | 'every-poll'): DynamicStrategy {
  const backend = new VaultBackend({
    vaultExchange: w.dev.inProcessExchange(),
    defaultVaultMountPoint: MOUNT,
    pollerIntervalMilliseconds: pollMs,
    dynamicSecrets: mode,
    clock: w.clock,
    random: () => 0.5,
    registry: new Registry(),
    jwtProvider: { getJwt: async () => w.jwt },
  })
  return {
    async sync(i) {
      const data = await backend.getSecretManifestData({ spec: w.specs[i]! as never })
      return data.username!
    },
    async close() {
      await backend.close()
    },
  }
}

/** KES 8.x (after PR #457): per data item, lookup-self, renew-self at ttl <= 3 polls, then the read. No single flight. */
function kes457(w: DynamicWorld, pollMs: number): DynamicStrategy {
  const vault = peerClient(w)
  let token: string | undefined
  const thresholdS = (3 * pollMs) / 1000
  async function get(path: string): Promise<Record<string, string>> {
    if (token) {
      try {
        const look = await vault.lookupSelf(token)
        if (look.ttl <= thresholdS) await vault.renewSelf(token)
      } catch {
        token = undefined
      }
    }
    if (!token) token = (await vault.login(MOUNT, { role: 'r0', jwt: w.jwt })).auth.client_token
    return (await vault.read(path, token)).data as Record<string, string>
  }
  return {
    async sync(i) {
      const spec = w.specs[i]!
      const values = await Promise.all(spec.data.map((d) => get(d.key).then((data) => data[d.property]!)))
      return values[0]!
    },
    async close() {},
  }
}

export async function simulateDynamic(spec: DynamicRunSpec): Promise<DynamicResult> {
  const started = performance.now()
  const w = makeDynamicWorld(spec.n)
  const strategy = spec.strategy === 'kes-457' ? kes457(w, spec.pollMs) : ours(w, spec.pollMs, spec.strategy === 'ours' ? 'keep' : 'every-poll')
  const last: string[] = []
  let changes = 0
  let failedReads = 0
  let maxLive = 0
  for (let t = 0; t < spec.durationMs; t += spec.pollMs) {
    const results = await Promise.allSettled(w.specs.map((_, i) => strategy.sync(i)))
    results.forEach((r, i) => {
      if (r.status === 'rejected') failedReads += 2
      else if (r.value !== last[i]) {
        changes++
        last[i] = r.value
      }
    })
    if (t % 3_600_000 === 0) maxLive = Math.max(maxLive, w.dev.liveCredentials())
    await w.clock.advance(spec.pollMs)
  }
  maxLive = Math.max(maxLive, w.dev.liveCredentials())
  await strategy.close()
  const c = w.dev.counters()
  const leases = w.dev.leaseCounts()
  return {
    spec,
    mints: leases.minted,
    leaseRenewals: leases.renewed,
    leaseRevocations: leases.revoked.request,
    logins: c.ok.login,
    tokenRenewals: c.ok.renew,
    lookups: c.requests.lookup,
    writes: c.storageWrites,
    liveAfterClose: w.dev.liveCredentials(),
    maxLive,
    failedReads,
    secretChangesPerEs: changes / spec.n,
    wallMs: performance.now() - started,
  }
}

const fmt = (x: number) => (Number.isInteger(x) ? x.toLocaleString('en-US') : x.toFixed(1))

export function dynamicTable(results: DynamicResult[]): string {
  const head = ['strategy', 'mints/day', 'lease renewals/day', 'lease revocations', 'logins + token renewals', '**writes/day**', 'Secret changes per ExternalSecret', 'DB users: peak / after close', 'failed reads']
  const lines = [`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '--:').join('|')}|`]
  for (const r of results) {
    lines.push(
      `| ${r.spec.strategy} | ${fmt(r.mints)} | ${fmt(r.leaseRenewals)} | ${fmt(r.leaseRevocations)} | ${fmt(r.logins + r.tokenRenewals)} | **${fmt(r.writes)}** | ${fmt(r.secretChangesPerEs)} | ${fmt(r.maxLive)} / ${fmt(r.liveAfterClose)} | ${fmt(r.failedReads)} |`,
    )
  }
  return lines.join('\n')
}

/** Every dynamic strategy on the same workload, one after the other (about 12 s in all for N=10). */
export async function runDynamic(n: number, pollMs: number, durationMs: number, progress: (line: string) => void = () => {}): Promise<DynamicResult[]> {
  const out: DynamicResult[] = []
  for (const strategy of DYNAMIC_STRATEGIES) {
    const r = await simulateDynamic({ strategy, n, pollMs, durationMs })
    progress(`dynamic ${strategy} N=${n} (${(r.wallMs / 1000).toFixed(1)} s)`)
    out.push(r)
  }
  return out
}

export function dynamicSection(results: DynamicResult[]): string {
  const n = results[0]?.spec.n ?? 0
  return [
    `### Dynamic secrets (\`npm run bench -- --dynamic\`)`,
    '',
    `N=${n} ExternalSecrets, each reading username and password from its own \`database/creds/es<i>\` (lease TTL 1 h, max 24 h), one role (token TTL 1 h, Vault's default max TTL of 32 days), poll 10 s, 24 h, every poll simulated; the role's policy grants sys/leases/revoke. Writes = logins + token renewals + mints + lease renewals + revocations, as the dev Vault counts them (a revoke-self at close included). DB users = live leases, what the database holds: the peak over the day (sampled hourly) and what is left after the strategy's close().`,
    '',
    dynamicTable(results),
  ].join('\n')
}
