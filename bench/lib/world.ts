/** One workload's world: a dev Vault (in-process, no socket) on a ManualClock, R roles, N ExternalSecrets × 2 keys. */
import { ManualClock } from '../../lib/clock.js'
import { DevVault } from '../../lib/devserver/index.js'
import { VaultClient } from '../../lib/vault/client.js'
import { VaultTransport } from '../../lib/vault/transport.js'

export const MOUNT = 'kubernetes'
export const TOKEN_TTL_S = 3600
export const TOKEN_MAX_TTL_S = 24 * 3600

/** One ExternalSecret: its role and its own two KV v2 paths (ours shares concurrent reads of one path, so paths are distinct). */
export interface ExternalSecret {
  index: number
  role: string
  keys: [string, string]
  /** The object handed to getSecretManifestData. */
  spec: { vaultRole: string; data: { key: string; name: string; property: string }[] }
}

export interface World {
  clock: ManualClock
  dev: DevVault
  jwt: string
  roles: string[]
  secrets: ExternalSecret[]
}

export function makeWorld(n: number, r: number): World {
  const clock = new ManualClock()
  // Never listening: the in-process client is always "reachable" and no port stays open.
  const dev = new DevVault({ clock })
  dev.enableKubernetesAuth(MOUNT)
  const roles = Array.from({ length: r }, (_, i) => `r${i}`)
  for (const role of roles) {
    dev.writePolicy(role, [`secret/data/${role}/`])
    dev.writeRole(MOUNT, role, {
      policies: [role],
      token_ttl: '1h',
      token_max_ttl: '24h',
      bound_service_account_names: ['kes'],
      bound_service_account_namespaces: ['kes'],
    })
  }
  const secrets: ExternalSecret[] = []
  for (let i = 0; i < n; i++) {
    const role = roles[i % r]!
    const keys: [string, string] = [`secret/data/${role}/es${i}/a`, `secret/data/${role}/es${i}/b`]
    dev.putSecret('secret', `${role}/es${i}/a`, { v: `a${i}` })
    dev.putSecret('secret', `${role}/es${i}/b`, { v: `b${i}` })
    secrets.push({
      index: i,
      role,
      keys,
      spec: { vaultRole: role, data: [{ key: keys[0], name: 'a', property: 'v' }, { key: keys[1], name: 'b', property: 'v' }] },
    })
  }
  const jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: clock.now() + 365 * 86400_000 })
  return { clock, dev, jwt, roles, secrets }
}

/** A Vault client for the peers' re-implementations: the same transport ours uses, over the in-process exchange. */
export function peerClient(world: Pick<World, 'dev' | 'clock'>): VaultClient {
  return new VaultClient(new VaultTransport({
    address: 'http://dev-vault.invalid',
    timeoutMs: 10_000,
    maxResponseBytes: 2 * 1024 * 1024,
    exchange: world.dev.inProcessExchange(),
    now: () => world.clock.now(),
  }))
}

/** `data.data.v` of a KV v2 read answer. */
export const kvValue = (res: { data: unknown }): unknown => (res.data as { data?: { v?: unknown } } | null)?.data?.v
