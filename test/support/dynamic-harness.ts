/**
 * A dev Vault with a database secrets engine, a backend on the same ManualClock (in-process exchange), and
 * ExternalSecrets that read `database/creds/<role>` (username and password, kvVersion 1). Every poll records what
 * each Secret would hold, and whether Vault still honours it.
 */
import { Registry } from 'prom-client'
import { VaultBackend, type VaultBackendOptions } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { DevVault, type RoleInput } from '../../lib/devserver/index.js'
import { createLogger } from '../../lib/log.js'

export const H = 3600_000
export const M = 60_000

export interface DynamicWorldOptions {
  /** The kubernetes auth role's token TTLs (default 1 h, max 24 h). */
  token?: RoleInput
  /** The database role (default_ttl 1 h, max_ttl 24 h). */
  db?: { default_ttl?: number | string; max_ttl?: number | string }
  /** false: an engine whose leases cannot be renewed. */
  renewable?: boolean
  /** Grant `update` on sys/leases/revoke (the default policy does not). */
  canRevoke?: boolean
  /** ExternalSecrets per database role path (default 2); `paths` adds more database roles. */
  perPath?: number
  paths?: string[]
  /** Also one KV ExternalSecret. */
  kv?: boolean
  backend?: Partial<VaultBackendOptions>
}

export interface Served {
  /** ExternalSecret index -> username it holds now (decoded), or undefined when its read failed. */
  users: (string | undefined)[]
  failures: Error[]
}

export interface DynamicWorld {
  clock: ManualClock
  dev: DevVault
  backend: VaultBackend
  registry: Registry
  lines: string[]
  /** Every password a Secret held (decoded), to search logs and errors for. */
  passwords: Set<string>
  specs: { path: string; spec: Record<string, unknown> }[]
  /** Which ExternalSecrets poll (by index); the others are left alone (an ExternalSecret deleted). */
  active: Set<number>
  poll(): Promise<Served>
  /** Poll every 10 s for `durationMs`; `check` runs after each poll. Returns the number of failed reads. */
  run(durationMs: number, check?: (t: number, served: Served) => void | Promise<void>): Promise<number>
  metric(name: string, labels?: Record<string, string>): Promise<number>
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8')

export function dynamicWorld(o: DynamicWorldOptions = {}): DynamicWorld {
  const clock = new ManualClock()
  const dev = new DevVault({ clock })
  dev.enableKubernetesAuth()
  dev.enableDatabase('database', { renewable: o.renewable })
  const paths = o.paths ?? ['app']
  for (const p of paths) dev.writeDatabaseRole('database', p, { default_ttl: o.db?.default_ttl ?? '1h', max_ttl: o.db?.max_ttl ?? '24h' })
  dev.writePolicy('app', [...paths.map((p) => `database/creds/${p}`), 'secret/data/app/', ...(o.canRevoke ? [{ path: 'sys/leases/revoke', capabilities: ['update' as const] }] : [])])
  dev.writeRole('kubernetes', 'app', { policies: ['app'], token_ttl: '1h', token_max_ttl: '24h', bound_service_account_names: ['kes'], bound_service_account_namespaces: ['kes'], ...o.token })
  dev.putSecret('secret', 'app/config', { url: 'https://db.example', password: 'kv-password-1' })
  const jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: clock.now() + 365 * 86400_000 })
  const registry = new Registry()
  const lines: string[] = []
  const backend = new VaultBackend({
    vaultExchange: dev.inProcessExchange(),
    defaultVaultMountPoint: 'kubernetes',
    clock,
    random: () => 1,
    registry,
    jwtProvider: { getJwt: async () => jwt },
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l), clock }),
    ...o.backend,
  })
  const specs: { path: string; spec: Record<string, unknown> }[] = []
  for (const p of paths) {
    for (let i = 0; i < (o.perPath ?? 2); i++) {
      const key = `database/creds/${p}`
      specs.push({ path: key, spec: { vaultRole: 'app', kvVersion: 1, data: [{ key, name: 'username', property: 'username' }, { key, name: 'password', property: 'password' }] } })
    }
  }
  if (o.kv) specs.push({ path: 'secret/data/app/config', spec: { vaultRole: 'app', data: [{ key: 'secret/data/app/config', name: 'username', property: 'url' }, { key: 'secret/data/app/config', name: 'password', property: 'password' }] } })
  const active = new Set(specs.map((_, i) => i))
  const passwords = new Set<string>()
  const poll = async (): Promise<Served> => {
    const users: (string | undefined)[] = specs.map(() => undefined)
    const failures: Error[] = []
    await Promise.all(
      specs.map(async (s, i) => {
        if (!active.has(i)) return
        try {
          const data = await backend.getSecretManifestData({ spec: s.spec as never })
          users[i] = b64(data.username!)
          passwords.add(b64(data.password!))
        } catch (e) {
          failures.push(e as Error)
        }
      }),
    )
    return { users, failures }
  }
  return {
    clock, dev, backend, registry, lines, passwords, specs, active, poll,
    async run(durationMs, check) {
      let failed = 0
      for (let t = 0; t < durationMs; t += 10_000) {
        const served = await poll()
        failed += served.failures.length
        await check?.(t, served)
        await clock.advance(10_000)
      }
      return failed
    },
    async metric(name, labels = {}) {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name)
      return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0)
    },
  }
}
