import { Registry } from 'prom-client'
import { VaultBackend, type VaultBackendOptions } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { type DevVault, startDevVault } from '../../lib/devserver/index.js'
import type { RoleInput } from '../../lib/devserver/store.js'
import { createLogger } from '../../lib/log.js'

export interface Harness {
  clock: ManualClock
  dev: DevVault
  backend: VaultBackend
  registry: Registry
  lines: string[]
  jwt: { current: string }
  /** One poll of every ExternalSecret; returns the failures. */
  poll(): Promise<Error[]>
  /** Poll every `intervalMs` for `durationMs`, returning the number of failed reads. */
  run(durationMs: number, intervalMs?: number, onTick?: (t: number) => void | Promise<void>): Promise<number>
  close(): Promise<void>
}

export interface HarnessOptions {
  roles?: Record<string, RoleInput>
  perRole?: number
  pollMs?: number
  backend?: Partial<VaultBackendOptions>
  /** Talk to the dev Vault over loopback HTTP with node-vault (default), or in-process. */
  transport?: 'http' | 'in-process'
  errorWording?: 'new' | 'old'
  /** Point node-vault at this address instead (a standby). */
  address?: (dev: DevVault) => Promise<string>
}

/** A dev Vault seeded with roles and secrets, a backend on the same ManualClock, and ExternalSecrets per role. */
export async function harness(o: HarnessOptions = {}): Promise<Harness> {
  const clock = new ManualClock()
  const dev = await startDevVault({ clock, errorWording: o.errorWording })
  dev.enableKubernetesAuth('kubernetes')
  const roles = o.roles ?? { app: { token_ttl: '1h', token_max_ttl: '4h' } }
  const perRole = o.perRole ?? 2
  const specs: { spec: Record<string, unknown>; expect: string }[] = []
  for (const [role, input] of Object.entries(roles)) {
    dev.writePolicy(role, [`secret/data/${role}/`])
    dev.writeRole('kubernetes', role, { policies: [role], bound_service_account_names: ['kes'], bound_service_account_namespaces: ['kes'], ...input })
    for (let i = 0; i < perRole; i++) {
      dev.putSecret('secret', `${role}/es${i}`, { password: `pw-${role}-${i}`, user: 'u' })
      specs.push({ spec: { vaultRole: role, data: [{ key: `secret/data/${role}/es${i}`, name: 'password', property: 'password' }] }, expect: Buffer.from(`pw-${role}-${i}`).toString('base64') })
    }
  }
  const jwt = { current: dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: clock.now() + 365 * 86400_000 }) }
  const registry = new Registry()
  const lines: string[] = []
  const address = o.address ? await o.address(dev) : dev.address
  const backend = new VaultBackend({
    // HTTP goes through the product's own transport over node:http (what createVaultBackend builds).
    ...(o.transport === 'in-process' ? { vaultExchange: dev.inProcessExchange() } : { vaultAddr: address }),
    defaultVaultMountPoint: 'kubernetes',
    pollerIntervalMilliseconds: o.pollMs ?? 10_000,
    clock,
    random: () => 1,
    registry,
    jwtProvider: { getJwt: async () => jwt.current },
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l), clock }),
    // Through a standby: its 307 leads to the active node, another origin of the same cluster.
    ...(o.address ? { redirectOrigins: [dev.address] } : {}),
    ...o.backend,
  })
  const poll = async () => {
    const results = await Promise.allSettled(specs.map((s) => backend.getSecretManifestData({ spec: s.spec as never })))
    const failures: Error[] = []
    results.forEach((r, i) => {
      if (r.status === 'rejected') failures.push(r.reason as Error)
      else if (r.value.password !== specs[i]!.expect) failures.push(new Error(`wrong content for ExternalSecret ${i}`))
    })
    return failures
  }
  return {
    clock, dev, backend, registry, lines, jwt, poll,
    async run(durationMs, intervalMs = o.pollMs ?? 10_000, onTick) {
      let failed = 0
      for (let t = 0; t < durationMs; t += intervalMs) {
        await onTick?.(t)
        failed += (await poll()).length
        await clock.advance(intervalMs)
      }
      return failed
    },
    async close() {
      await backend.close({ revoke: false })
      await dev.close()
    },
  }
}
