/**
 * The hostile-tenant world: the dev Vault (in-process, on a ManualClock) with two teams, one controller backend, and a
 * wire tap that collects every credential that crossed it (tokens sent and received, JWTs and secret IDs posted to
 * logins), so each test can search Secrets, errors, log lines and metrics for any of them, plain or base64.
 */
import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import { VaultBackend, type VaultBackendOptions } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { type DevVault, startDevVault } from '../../lib/devserver/index.js'
import { type TokenRequestApi, TokenRequestJwtCache } from '../../lib/kubernetes/token-request.js'
import { createLogger } from '../../lib/log.js'
import { CredentialRegistry } from '../../lib/redact.js'
import type { HttpExchange } from '../../lib/vault/transport.js'

export const b64 = (s: string) => Buffer.from(s).toString('base64')
export const TEAMS = ['a', 'b'] as const

export interface World {
  clock: ManualClock
  dev: DevVault
  backend: VaultBackend
  registry: Registry
  lines: string[]
  /** The controller's service-account JWT (projected file stand-in). */
  jwt: string
  /** Every credential seen on the wire so far, plus the root token and the controller's JWT. */
  credentials(): string[]
  /** TokenRequests asked of the (fake) Kubernetes API: namespace/name. */
  tokenRequests: string[]
  /** Requests that reached the dev Vault (every operation). */
  requests(): number
  /** A well-formed spec of team `t` reading its own secret `i`, and what its Secret must hold. */
  good(t: 'a' | 'b', i?: number): { spec: Record<string, unknown>; expect: Record<string, string> }
  close(): Promise<void>
}

export async function world(options: Partial<VaultBackendOptions> | ((dev: DevVault) => Partial<VaultBackendOptions>) = {}): Promise<World> {
  const clock = new ManualClock()
  const dev = await startDevVault({ clock })
  dev.enableKubernetesAuth('kubernetes')
  dev.enableKv('kv1', 1)
  for (const t of TEAMS) {
    dev.writePolicy(`team-${t}`, [`secret/data/team-${t}/`, `kv1/team-${t}/`])
    // The controller's own account may log in as either team's role (KES's one shared identity) ...
    dev.writeRole('kubernetes', `team-${t}`, { policies: [`team-${t}`], token_ttl: '1h', token_max_ttl: '4h', bound_service_account_names: ['kes', 'vault-reader'], bound_service_account_namespaces: ['kes', t] })
    for (let i = 0; i < 3; i++) dev.putSecret('secret', `team-${t}/app${i}`, { password: `pw-${t}-${i}` })
  }
  // ... and a privileged role exists too, for the controller's own purposes.
  dev.writePolicy('admin', ['secret/data/', 'kv1/'])
  dev.writeRole('kubernetes', 'admin', { policies: ['admin'], token_ttl: '1h', bound_service_account_names: ['kes', 'ns-admin'], bound_service_account_namespaces: ['kes', 'a', 'b'] })

  const seen = new Set<string>([dev.rootToken])
  const jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: clock.now() + 365 * 86400_000 })
  seen.add(jwt)
  const inner = dev.inProcessExchange()
  const tap: HttpExchange = async (req, limits) => {
    const token = req.headers['x-vault-token']
    if (token) seen.add(token)
    if (req.body) {
      const body = JSON.parse(req.body) as Record<string, unknown>
      for (const k of ['jwt', 'secret_id', 'token']) if (typeof body[k] === 'string') seen.add(body[k] as string)
    }
    const res = await inner(req, limits)
    try {
      const answer = JSON.parse(res.body) as { auth?: { client_token?: string } }
      if (answer?.auth?.client_token) seen.add(answer.auth.client_token)
    } catch {
      // not JSON: nothing to collect
    }
    return res
  }

  const tokenRequests: string[] = []
  const api: TokenRequestApi = {
    createNamespacedServiceAccountToken: (async ({ name, namespace, body }: { name: string; namespace: string; body: { spec: { expirationSeconds?: number } } }) => {
      tokenRequests.push(`${namespace}/${name}`)
      const seconds = body.spec.expirationSeconds ?? 3600
      const expiresAt = clock.now() + seconds * 1000
      const token = dev.makeServiceAccountJwt({ namespace, serviceAccount: name, expiresAt })
      seen.add(token)
      return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: seconds }, status: { token, expirationTimestamp: new Date(expiresAt) } }
    }) as never,
  }

  const registry = new Registry()
  const lines: string[] = []
  const backend = new VaultBackend({
    vaultExchange: tap,
    defaultVaultMountPoint: 'kubernetes',
    pollerIntervalMilliseconds: 10_000,
    clock,
    random: () => 0.5,
    registry,
    jwtProvider: { getJwt: async () => jwt },
    tokenRequests: new TokenRequestJwtCache({ api, clock, timers: clock, random: () => 0 }),
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l), clock }),
    revokeTokensOnShutdown: false,
    ...(typeof options === 'function' ? options(dev) : options),
  })
  return {
    clock,
    dev,
    backend,
    registry,
    lines,
    jwt,
    tokenRequests,
    credentials: () => [...seen],
    requests: () => dev.counters().total,
    good(t, i = 0) {
      return {
        spec: { vaultRole: `team-${t}`, data: [{ key: `secret/data/team-${t}/app${i}`, name: 'password', property: 'password' }] },
        expect: { password: b64(`pw-${t}-${i}`) },
      }
    },
    async close() {
      await backend.close({ revoke: false })
      await dev.close()
    },
  }
}

/** Everything an error carries: message, stack, every own field (nested errors too) and the cause chain. */
export function errorText(e: unknown, depth = 0): string {
  if (!(e instanceof Error) || depth > 4) return typeof e === 'string' ? e : JSON.stringify(e) ?? String(e)
  const parts = [e.message, e.stack ?? '']
  for (const k of Object.getOwnPropertyNames(e)) {
    if (k === 'message' || k === 'stack') continue
    const v = (e as unknown as Record<string, unknown>)[k]
    parts.push(`${k}=${v instanceof Error ? errorText(v, depth + 1) : safeJson(v)}`)
  }
  if (e.cause !== undefined) parts.push(`cause=${errorText(e.cause, depth + 1)}`)
  return parts.join('\n')
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}

/** Fails naming the place when any credential (plain, or base64 at any alignment) appears in any of the texts. */
export function assertNoCredential(credentials: readonly string[], texts: Record<string, string>): void {
  const registry = new CredentialRegistry()
  for (const c of credentials) registry.add(c)
  assert.ok(registry.size >= 1, 'the tap saw credentials (a scan over none would prove nothing)')
  const hits = Object.entries(texts).filter(([, text]) => registry.contains(text)).map(([where]) => where)
  assert.deepEqual(hits, [], 'a credential appears in these places')
}

/** Decoded text of Secret data, as a Kubernetes user would read it. */
export function decoded(data: Record<string, string> | undefined): string {
  return Object.entries(data ?? {})
    .map(([k, v]) => `${k}=${Buffer.from(v, 'base64').toString('latin1')}`)
    .join('\n')
}
