/**
 * The fault and soak engine: a dev Vault, a VaultBackend and many ExternalSecrets on one virtual clock, polled by a
 * minimal KES-style host (a failing poll leaves its Secret untouched; a successful one writes what the backend gave),
 * with faults applied at planned or seeded-random times. The per-fault tests, the fast soak test and the CLI
 * (`soak-main.ts`) all run through `runSoak`.
 *
 * Time: the dev Vault's clock is a ManualClock moved with `set()` one tick at a time (no timers are involved, so
 * nothing sleeps); the backend sees the same clock plus an offset, so a "host clock jump" moves only the backend's
 * view of time, as a stepped node clock would. Every ExternalSecret polls once per interval, at a seeded phase.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import nodeVault from 'node-vault'
import { Registry } from 'prom-client'
import { SecretReadError, VaultBackend, type VaultBackendOptions } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { type DevVault, startDevVault } from '../../lib/devserver/index.js'
import type { RoleInput } from '../../lib/devserver/store.js'
import { ProjectedServiceAccountTokenFile, type TokenFileSystem } from '../../lib/kubernetes/projected-file.js'
import { type TokenRequestApi, TokenRequestJwtCache } from '../../lib/kubernetes/token-request.js'
import { createLogger } from '../../lib/log.js'
import { TokenUnavailableError } from '../../lib/token/errors.js'
import type { Clock } from '../../lib/types.js'
import { prng } from '../support/prng.js'

export const S = 1000
export const M = 60_000
export const H = 3_600_000

// ---- roles ---------------------------------------------------------------------------------------------------

export interface RoleKind {
  name: string
  input: RoleInput
  /** Read a KV version 1 mount instead of v2. */
  kv1?: boolean
  /** Log in as a per-namespace service account, its JWT minted with TokenRequest. */
  tokenRequest?: boolean
  /** Service token (revocable from outside; batch tokens are not). */
  service: boolean
}

/** Ten kinds of role, so every token shape Vault hands out is in every soak. Threshold: 3 polls = 30 s. */
export const ROLE_KINDS: RoleKind[] = [
  { name: 'std', input: { token_ttl: '1h', token_max_ttl: '4h' }, service: true },
  { name: 'short', input: { token_ttl: '5m', token_max_ttl: '30m' }, service: true },
  { name: 'nonrenew', input: { token_ttl: '15m', token_explicit_max_ttl: '15m' }, service: true },
  { name: 'batch', input: { token_ttl: '10m', token_type: 'batch' }, service: false },
  { name: 'periodic', input: { token_period: '10m' }, service: true },
  // TTL 20 s is below the 30 s renew threshold: a misconfiguration that must warn once and keep working.
  { name: 'tinyttl', input: { token_ttl: 20, token_max_ttl: '10m' }, service: true },
  { name: 'explicitmax', input: { token_ttl: '10m', token_explicit_max_ttl: '25m' }, service: true },
  { name: 'tokenreq', input: { token_ttl: '1h', token_max_ttl: '4h' }, tokenRequest: true, service: true },
  { name: 'kv1', input: { token_ttl: '30m', token_max_ttl: '2h' }, kv1: true, service: true },
  { name: 'long', input: { token_ttl: '2h', token_max_ttl: '8h' }, service: true },
]

// ---- faults --------------------------------------------------------------------------------------------------

export type FaultKind =
  | 'sealed'
  | 'no-active'
  | 'refused'
  | 'reset'
  | 'slow'
  | 'rate-limit'
  | 'revoke-token'
  | 'revoke-role'
  | 'delete-role'
  | 'policy-denied'
  | 'jwt-rotated'
  | 'jwt-expired'
  | 'file-missing'
  | 'tokenrequest-failing'
  | 'bad-spec'
  | 'clock-forward'
  | 'clock-back'

export interface PlannedFault {
  kind: FaultKind
  /** ms after the start of the run. */
  at: number
  /** How long the fault is in force (0 = a one-off event). */
  durationMs: number
  /** Index of the role it targets (role-scoped faults). */
  role?: number
  /** reset / rate-limit: how many requests it hits. */
  times?: number
  /** rate-limit: Retry-After seconds sent. */
  retryAfterSeconds?: number
  /** clock jumps: minutes. */
  minutes?: number
  label?: string
}

/** Every fault of issue 8 the in-process soak can apply, with its duration. (Standby 307s need HTTP: see standby.test.ts.) */
export const FAULT_CATALOGUE: Array<Omit<PlannedFault, 'at'>> = [
  { kind: 'sealed', durationMs: 1 * M, label: 'sealed 1 min' },
  { kind: 'sealed', durationMs: 5 * M, label: 'sealed 5 min' },
  { kind: 'sealed', durationMs: 30 * M, label: 'sealed 30 min' },
  { kind: 'no-active', durationMs: 5 * M, label: 'no active node 5 min' },
  { kind: 'refused', durationMs: 2 * M, label: 'connection refused 2 min' },
  { kind: 'reset', durationMs: 0, times: 200, label: 'reset mid-response x200' },
  { kind: 'slow', durationMs: 1 * M, label: 'slower than timeout 1 min' },
  { kind: 'rate-limit', durationMs: 0, times: 300, label: '429 burst x300 (no Retry-After)' },
  { kind: 'rate-limit', durationMs: 1 * M, retryAfterSeconds: 5, label: '429 quota exceeded 1 min (Retry-After 5 s)' },
  { kind: 'revoke-token', durationMs: 0, label: 'token revoked' },
  { kind: 'revoke-role', durationMs: 0, label: 'all role tokens revoked' },
  { kind: 'delete-role', durationMs: 20 * M, label: 'role deleted 20 min' },
  { kind: 'policy-denied', durationMs: 10 * M, label: 'policy denies 10 min' },
  { kind: 'jwt-rotated', durationMs: 0, label: 'SA JWT rotated' },
  { kind: 'jwt-expired', durationMs: 10 * M, label: 'SA JWT expired 10 min' },
  { kind: 'file-missing', durationMs: 10 * M, label: 'token file missing 10 min' },
  { kind: 'tokenrequest-failing', durationMs: 10 * M, label: 'TokenRequest failing 10 min' },
  { kind: 'bad-spec', durationMs: 10 * M, label: 'bad specs 10 min' },
  { kind: 'clock-forward', durationMs: 5 * M, minutes: 10, label: 'host clock +10 min' },
  { kind: 'clock-back', durationMs: 5 * M, minutes: 10, label: 'host clock -10 min' },
]

/** Faults that force exactly one extra login of their role when it holds a live service token. */
const FORCES_LOGIN = new Set<FaultKind>(['revoke-token', 'revoke-role', 'jwt-expired', 'file-missing', 'tokenrequest-failing'])
/** Faults whose failed reads are unavoidable while in force: Vault (or the cluster) refuses to serve. */
const ROLE_SCOPED = new Set<FaultKind>(['revoke-token', 'revoke-role', 'delete-role', 'policy-denied', 'jwt-expired', 'file-missing', 'tokenrequest-failing'])

/**
 * Seeded plan: the catalogue shuffled into equal slots over the run, each fault at a random offset in its slot, ending
 * at least 15 minutes before the slot does, so every fault's effects (and recovery) are measured apart.
 */
export function planFaults(seed: number, durationMs: number, roles: number, repeat = 1): PlannedFault[] {
  const rnd = prng(seed ^ 0x5eed)
  const list: Array<Omit<PlannedFault, 'at'>> = []
  for (let r = 0; r < repeat; r++) list.push(...FAULT_CATALOGUE.map((f) => ({ ...f })))
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[list[i], list[j]] = [list[j]!, list[i]!]
  }
  const slot = Math.floor(durationMs / (list.length + 1))
  return list.map((f, i) => {
    const room = Math.max(0, slot - f.durationMs - 15 * M)
    const at = Math.floor(((i + 1) * slot + rnd() * room) / S) * S
    return { ...f, at, role: pickRole(f.kind, rnd, roles) }
  })
}

function pickRole(kind: FaultKind, rnd: () => number, roles: number): number | undefined {
  if (!ROLE_SCOPED.has(kind)) return undefined
  if (kind === 'tokenrequest-failing') return ROLE_KINDS.findIndex((k) => k.tokenRequest)
  // Faults about the controller's JWT or a token: a service-token role on the projected file.
  const eligible = ROLE_KINDS.slice(0, roles)
    .map((k, i) => ({ k, i }))
    .filter(({ k }) => k.service && !k.tokenRequest && (kind !== 'revoke-token' || k.name !== 'tinyttl'))
  return eligible[Math.floor(rnd() * eligible.length)]!.i
}

// ---- results -------------------------------------------------------------------------------------------------

export interface FaultRow {
  fault: string
  at: string
  role: string
  /** Failed reads in the fault's window. */
  failedReads: number
  /** Failed while the fault was in force (Vault or the cluster refused): unavoidable. */
  unavoidable: number
  /** Failed after the fault was lifted because logins were backing off (30 s cap while Vault is down) or Vault's Retry-After had not passed. */
  backoff: number
  /** Failed after the fault was lifted for any other reason: the backend's own doing. Must be 0. */
  avoidable: number
  logins: number
  loginFailures: number
  /** Logins the fault should cost (revocation, forced re-login). */
  expectedExtraLogins: number
  renewals: number
  /** Requests Vault saw with a token it had revoked (unavoidable: the cache cannot know) / already expired (never allowed). */
  deadRevoked: number
  deadExpired: number
  deadReads: number
  /** Poll intervals after the fault was lifted until every ExternalSecret had succeeded again. */
  pollsToRecover: number
  secretsLost: number
}

export interface SoakResult {
  seed: number
  profile: string
  externalSecrets: number
  roles: number
  simulatedHours: number
  polls: number
  failedReads: number
  rows: FaultRow[]
  totals: {
    logins: number
    loginFloor: number
    expectedExtraLogins: number
    loginFailures: number
    renewals: number
    deadReads: number
    deadExpired: number
    deadRevoked: number
    /** Distinct seconds with a request carrying a revoked token (at most one per revocation). */
    deadRevokedSeconds: number
    crashes: number
    secretsLost: number
    secretsWrong: number
    secretsDeleted: number
    leakedLogLines: number
    logLines: number
    thresholdWarnings: number
    heapGrowthMb: number
    wallSeconds: number
    vaultRequests: number
  }
  /** First few leaked log lines / wrong Secrets, for diagnosis. */
  samples: string[]
  /** Requests by operation and result as the dev Vault (and the standby, when used) saw them. */
  vault: { results: Record<string, Record<string, number>>; standby?: Record<string, Record<string, number>> }
}

// ---- the engine ----------------------------------------------------------------------------------------------

export interface SoakOptions {
  seed: number
  profile?: string
  roles: number
  perRole: number
  pollMs?: number
  durationMs: number
  faults: PlannedFault[]
  transport?: 'in-process' | 'http'
  requestTimeoutMs?: number
  /** Vault values change every this often (some ExternalSecrets' secrets get a new version). 0 = never. */
  rotateValuesEveryMs?: number
  /** Also run a fault-free control with one ExternalSecret per role to find the login floor. */
  control?: boolean
  /** Point the client at a standby instead (HTTP only). */
  viaStandby?: boolean
  /** Which ROLE_KINDS to use (default: the first `roles`). */
  kinds?: number[]
  backend?: Partial<VaultBackendOptions>
  /** Measure heap (forces GC). */
  heap?: boolean
  onProgress?: (hour: number) => void
}

interface EsState {
  index: number
  role: number
  namespace: string
  name: string
  path: string
  spec: Record<string, unknown>
  goodSpec: Record<string, unknown>
  /** The Kubernetes Secret: the decoded `password`, undefined before the first successful poll. */
  secret?: string
  /** Every value Vault ever held for the path (a stale one is late, not lost). */
  history: Set<string>
  current: string
  lastOk: number
  lastFail: number
}

const BAD_SPECS: Array<(good: Record<string, unknown>) => Record<string, unknown>> = [
  // missing key
  (g) => ({ ...g, data: [{ name: 'password', property: 'password' }] }),
  // unknown kvVersion
  (g) => ({ ...g, kvVersion: 3 }),
  // property not found
  (g) => ({ ...g, data: [{ ...(g.data as object[])[0], property: 'no-such-property' }] }),
  // data not an array
  (g) => ({ ...g, data: { key: 'x' } }),
]

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const wallStart = performance.now()
  const pollMs = o.pollMs ?? 10 * S
  const tick = S
  const rnd = prng(o.seed)
  const clock = new ManualClock()
  const start = clock.now()
  let offset = 0
  const hostClock: Clock = { now: () => clock.now() + offset }
  // Token ids and request ids from node:crypto (fast); no count depends on them.
  const dev = await startDevVault({ clock })
  const standby = o.viaStandby ? await dev.startStandby() : undefined
  const kinds = o.kinds ? o.kinds.map((k) => ROLE_KINDS[k]!) : ROLE_KINDS.slice(0, o.roles)
  if (!o.kinds && kinds.length < o.roles) throw new Error(`at most ${ROLE_KINDS.length} roles`)

  // ---- Vault: mounts, policies, roles, secrets
  dev.enableKubernetesAuth('kubernetes')
  dev.enableKv('kv1', 1)
  const mountOf = (k: RoleKind) => (k.kv1 ? 'kv1' : 'secret')
  const policyPaths = (k: RoleKind, i: number) => [k.kv1 ? `kv1/r${i}/` : `secret/data/r${i}/`]
  kinds.forEach((k, i) => {
    dev.writePolicy(`p${i}`, policyPaths(k, i))
    dev.writeRole('kubernetes', roleName(i), roleInput(k, i))
  })
  const es: EsState[] = []
  let version = 0
  const valueOf = (i: number) => `sv-${o.seed}-${i}-${version}`
  for (let r = 0; r < kinds.length; r++) {
    for (let j = 0; j < o.perRole; j++) {
      const index = es.length
      const k = kinds[r]!
      const path = `r${r}/es${index}`
      const current = valueOf(index)
      dev.putSecret(mountOf(k), path, { password: current, user: 'u' })
      const key = k.kv1 ? `kv1/${path}` : `secret/data/${path}`
      const goodSpec: Record<string, unknown> = {
        backendType: 'vault',
        vaultMountPoint: 'kubernetes',
        vaultRole: roleName(r),
        kvVersion: k.kv1 ? 1 : 2,
        ...(k.tokenRequest ? { vaultServiceAccount: 'reader' } : {}),
        data: [{ key, name: 'password', property: 'password' }],
      }
      es.push({ index, role: r, namespace: `team-${r}`, name: `es-${index}`, path, spec: goodSpec, goodSpec, history: new Set([current]), current, lastOk: -1, lastFail: -1 })
    }
  }

  // ---- the controller's projected service-account token file, rotated by a "kubelet" every 40 min (1 h JWTs)
  const file = { jwt: '' as string | undefined, version: 0 }
  const kubeletRotate = (validMs = H) => {
    file.jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', issuedAt: clock.now(), expiresAt: clock.now() + validMs })
    file.version++
  }
  kubeletRotate()
  let kubeletStopped = false
  const fs: TokenFileSystem = {
    async stat() {
      if (file.jwt === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
      return { mtimeMs: file.version, ctimeMs: file.version, size: file.jwt.length, ino: file.version, dev: 1 }
    },
    async readFile() {
      if (file.jwt === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
      return file.jwt
    },
  }

  // ---- TokenRequest, in-process: JWTs the dev Vault accepts; can be made to fail
  const tr = { failing: false, requests: 0, failures: 0 }
  const trApi: TokenRequestApi = {
    createNamespacedServiceAccountToken: (async ({ name, namespace, body }: { name: string; namespace: string; body: { spec: { expirationSeconds?: number } } }) => {
      tr.requests++
      if (tr.failing) {
        tr.failures++
        throw Object.assign(new Error('HTTP-Code: 500 Message: Internal Server Error'), { code: 500, body: '{"message":"etcd timeout"}' })
      }
      const ttl = body.spec.expirationSeconds ?? 3600
      const exp = clock.now() + ttl * 1000
      const token = dev.makeServiceAccountJwt({ namespace, serviceAccount: name, issuedAt: clock.now(), expiresAt: exp })
      return { status: { token, expirationTimestamp: new Date(exp) }, spec: { expirationSeconds: ttl } }
    }) as never,
  }
  const noTimers = { setTimeout: () => 0, clearTimeout: () => {} }
  const tokenRequests = new TokenRequestJwtCache({ api: trApi, clock: hostClock, timers: noTimers, random: () => 0.5 })

  // ---- logs: every line checked for credentials and values
  const samples: string[] = []
  let logLines = 0
  let leaked = 0
  let thresholdWarnings = 0
  const seenTokens = new Set<string>()
  const forbidden = /eyJ[\w-]{8,}\.|sv-\d+-\d+-\d+|hv[sb]\.[\w-]{8,}/
  const write = (line: string) => {
    logLines++
    if (line.includes('threshold_above_ttl') || line.includes('VAULT_TOKEN_RENEW_THRESHOLD')) thresholdWarnings++
    let bad = forbidden.test(line)
    if (!bad && file.jwt && line.includes(file.jwt.slice(-20))) bad = true
    if (bad) {
      leaked++
      if (samples.length < 5) samples.push(`leak: ${line.slice(0, 300)}`)
    }
  }
  const logger = createLogger({ level: 'info', write, clock: hostClock })

  const address = standby ? standby.address : dev.address
  const backend = new VaultBackend({
    // HTTP: a node-vault client built as KES builds it; in-process: the dev Vault's exchange, no socket.
    ...(o.transport === 'http'
      ? { vaultFactory: () => nodeVault({ endpoint: address, debug: () => {}, requestOptions: { followAllRedirects: true } } as never) as never }
      : { vaultExchange: dev.inProcessExchange() }),
    // A standby redirects to the active node, another origin of the same cluster.
    ...(standby ? { redirectOrigins: [dev.address] } : {}),
    defaultVaultMountPoint: 'kubernetes',
    pollerIntervalMilliseconds: pollMs,
    requestTimeoutMilliseconds: o.requestTimeoutMs ?? 5 * S,
    clock: hostClock,
    random: prng(o.seed ^ 0xbeef),
    registry: new Registry(),
    jwtProvider: new ProjectedServiceAccountTokenFile({ path: '/var/run/secrets/tokens/vault', clock: hostClock, fs, logger }),
    tokenRequests,
    // ExternalSecrets of the TokenRequest kind name this service account; the operator permits it (issue 11).
    permittedServiceAccounts: ['reader'],
    logger,
    revokeTokensOnShutdown: false,
    ...o.backend,
  })

  // ---- crash watch
  let crashes = 0
  const onCrash = (e: unknown) => {
    crashes++
    if (samples.length < 5) samples.push(`crash: ${String((e as Error)?.stack ?? e).slice(0, 300)}`)
  }
  process.on('unhandledRejection', onCrash)
  process.on('uncaughtException', onCrash)

  // ---- phases: each ExternalSecret polls once per interval at a seeded offset
  const buckets: EsState[][] = Array.from({ length: Math.max(1, Math.floor(pollMs / tick)) }, () => [])
  for (const e of es) buckets[Math.floor(rnd() * buckets.length)]!.push(e)

  let polls = 0
  let failedReads = 0
  let secretsWritten = 0
  const counters = () => (standby ? mergeCounters(dev, standby) : dev.counters())

  // ---- fault windows
  interface Window {
    f: PlannedFault
    end: number
    /** Next fault's start (or the end of the run): where this fault's accounting stops. */
    until: number
    failed: number
    unavoidable: number
    backoff: number
    handle?: { remaining: number }
    before?: ReturnType<typeof snapshot>
    after?: ReturnType<typeof snapshot>
    recoveredAt?: number
    lost: number
    lift?: () => void | Promise<void>
    hadToken: boolean
  }
  const snapshot = () => {
    const c = counters()
    const dead = c.deadTokenRequests
    return {
      logins: c.results.login['200'] ?? 0,
      loginFailures: c.errors.login,
      renewals: c.requests.renew,
      deadRevoked: dead.filter((d) => d.reason !== 'expired').length,
      deadExpired: dead.filter((d) => d.reason === 'expired').length,
      deadReads: dead.filter((d) => d.operation === 'read').length,
      // Seconds in which a revoked token was used: requests already in flight when the first 403 came back all carry
      // it, but once one answer says "revoked" the identity must never send it again (one second per revocation).
      deadRevokedSeconds: new Set(dead.filter((d) => d.reason !== 'expired').map((d) => Math.floor(d.at / S))).size,
      total: c.total,
    }
  }
  const plan = [...o.faults].sort((a, b) => a.at - b.at)
  const windows: Window[] = plan.map((f, i) => ({
    f,
    end: f.at + f.durationMs,
    until: plan[i + 1]?.at ?? o.durationMs,
    failed: 0,
    unavoidable: 0,
    backoff: 0,
    lost: 0,
    hadToken: false,
  }))
  let active: Window | undefined
  let inForce = false
  let nextWindow = 0

  const sessionOf = (role: number) => backend.tokenSessions.find((s) => s.identity.role === roleName(role))

  const apply = async (w: Window): Promise<void> => {
    const f = w.f
    const r = f.role
    const lease = r === undefined ? undefined : sessionOf(r)?.lease
    w.hadToken = !!lease && (lease.expireTime === null || lease.expireTime > hostClock.now() + 5 * S)
    switch (f.kind) {
      case 'sealed':
        dev.seal()
        w.lift = () => dev.unseal()
        return
      case 'no-active': {
        const h = dev.injectFault({ kind: 'no-active' })
        w.lift = () => h.remove()
        return
      }
      case 'refused':
        await dev.stopListening()
        w.lift = () => dev.startListening()
        return
      case 'reset':
        w.handle = dev.injectFault({ kind: 'reset', times: f.times ?? 100 })
        return
      case 'slow': {
        const h = dev.injectFault({ kind: 'latency', latencyMs: 2 * (o.requestTimeoutMs ?? 5 * S) })
        w.lift = () => h.remove()
        return
      }
      case 'rate-limit':
        if (f.durationMs > 0) {
          // A quota exceeded for a while: every request in the window is refused, with Retry-After.
          const h = dev.injectFault({ kind: 'rate-limit', retryAfterSeconds: f.retryAfterSeconds })
          w.lift = () => h.remove()
        } else {
          w.handle = dev.injectFault({ kind: 'rate-limit', times: f.times ?? 100, retryAfterSeconds: f.retryAfterSeconds })
        }
        return
      case 'revoke-token':
        if (lease) dev.revokeToken(lease.accessor)
        return
      case 'revoke-role':
        dev.revokeRoleTokens('kubernetes', roleName(r!))
        return
      case 'delete-role':
        dev.deleteRole('kubernetes', roleName(r!))
        w.lift = () => void dev.writeRole('kubernetes', roleName(r!), roleInput(kinds[r!]!, r!))
        return
      case 'policy-denied':
        dev.writePolicy(`p${r}`, ['secret/data/nothing-here/'])
        w.lift = () => dev.writePolicy(`p${r}`, policyPaths(kinds[r!]!, r!))
        return
      case 'jwt-rotated': {
        // The cluster's signing key rotated: only the new controller JWT (and live TokenRequest JWTs) are accepted.
        const old = file.jwt!
        kubeletRotate()
        dev.rejectJwt(old)
        return
      }
      case 'jwt-expired':
        // The kubelet stops rotating after writing a JWT that lives 1 min; a revocation makes the backend log in with
        // it (so no older valid JWT is cached), a second one at +3 min needs a login when every JWT it has is expired.
        kubeletStopped = true
        kubeletRotate(M)
        dev.revokeRoleTokens('kubernetes', roleName(r!))
        at(f.at + 3 * M, () => void dev.revokeRoleTokens('kubernetes', roleName(r!)))
        w.lift = () => {
          kubeletStopped = false
          kubeletRotate()
        }
        return
      case 'file-missing':
        file.jwt = undefined
        file.version++
        dev.revokeRoleTokens('kubernetes', roleName(r!))
        w.lift = () => kubeletRotate()
        return
      case 'tokenrequest-failing':
        tr.failing = true
        dev.revokeRoleTokens('kubernetes', roleName(r!))
        w.lift = () => {
          tr.failing = false
        }
        return
      case 'bad-spec': {
        // One ExternalSecret of each of the first roles gets a broken spec; their Secrets must stay as they are.
        const victims = kinds.map((_, i) => es.find((e) => e.role === i)!).filter(Boolean).slice(0, BAD_SPECS.length * 2)
        victims.forEach((e, i) => (e.spec = BAD_SPECS[i % BAD_SPECS.length]!(e.goodSpec)))
        w.lift = () => victims.forEach((e) => (e.spec = e.goodSpec))
        return
      }
      case 'clock-forward':
      case 'clock-back': {
        const d = (f.minutes ?? 10) * M * (f.kind === 'clock-back' ? -1 : 1)
        offset += d
        w.lift = () => {
          offset -= d
        }
        return
      }
    }
  }

  // One-off callbacks at given times (used by faults).
  const timed: Array<{ at: number; fn: () => void }> = []
  const at = (t: number, fn: () => void) => timed.push({ at: t, fn })

  const pollOne = async (e: EsState, t: number): Promise<void> => {
    polls++
    let ok = false
    let backingOff = false
    try {
      const data = await backend.getSecretManifestData({ spec: e.spec as never, namespace: e.namespace })
      const value = data.password === undefined ? undefined : Buffer.from(data.password, 'base64').toString()
      // The host writes what the backend gave; a backend that resolves with nothing or garbage blanks the Secret.
      if (value !== e.secret) {
        e.secret = value
        secretsWritten++
      }
      ok = value !== undefined && e.history.has(value)
      if (!ok && samples.length < 5) samples.push(`wrong content for ${e.name}`)
    } catch (err) {
      ok = false
      // Held back on purpose: logins backing off, or Vault's Retry-After not yet passed (nothing was sent).
      backingOff = err instanceof TokenUnavailableError || (err instanceof SecretReadError && err.retryAfterSeconds !== undefined)
    }
    if (ok) e.lastOk = t
    else {
      e.lastFail = t
      failedReads++
      if (active) {
        active.failed++
        if (inForce || e.spec !== e.goodSpec) active.unavoidable++
        else if (backingOff) active.backoff++
        else if (samples.length < 5) samples.push(`avoidable failure of ${e.name} after ${active.f.label}`)
      }
    }
  }

  const lostNow = () => es.filter((e) => e.lastOk >= 0 && (e.secret === undefined || !e.history.has(e.secret))).length

  const heapMb = () => {
    if (!o.heap) return 0
    v8.setFlagsFromString('--expose_gc')
    const gc = vm.runInNewContext('gc') as () => void
    gc()
    gc()
    return process.memoryUsage().heapUsed / 2 ** 20
  }
  let heapStart = 0

  try {
    for (let t = 0; t < o.durationMs; t += tick) {
      clock.set(start + t)
      // Background: the kubelet rotates the controller's JWT; Vault values change.
      if (!kubeletStopped && t > 0 && t % (40 * M) === 0) kubeletRotate()
      if (o.rotateValuesEveryMs && t > 0 && t % o.rotateValuesEveryMs === 0) {
        version++
        for (const e of es) {
          if (e.index % 7 !== version % 7) continue
          e.current = valueOf(e.index)
          e.history.add(e.current)
          dev.putSecret(mountOf(kinds[e.role]!), e.path, { password: e.current, user: 'u' })
        }
      }
      for (let i = 0; i < timed.length; i++) {
        if (timed[i]!.at <= t) {
          timed[i]!.fn()
          timed.splice(i--, 1)
        }
      }
      // Fault windows.
      if (active && inForce && (active.handle ? active.handle.remaining <= 0 : t >= active.end)) {
        active.end = t
        await active.lift?.()
        inForce = false
      }
      if (active && !inForce && active.recoveredAt === undefined && es.every((e) => e.lastOk >= active!.end || (e.lastFail < active!.f.at && e.lastOk >= 0 && t - active!.end >= pollMs))) {
        active.recoveredAt = t
      }
      if (active && t >= active.until) {
        // Plans never overlap faults, but a hand-made one might: the next fault starts only after this one is lifted.
        if (inForce) await active.lift?.()
        inForce = false
        active.after = snapshot()
        active.lost = lostNow()
        active = undefined
      }
      if (!active && nextWindow < windows.length && t >= windows[nextWindow]!.f.at) {
        active = windows[nextWindow++]!
        active.before = snapshot()
        await apply(active)
        inForce = active.f.durationMs > 0 || active.f.kind === 'reset' || active.f.kind === 'rate-limit'
        if (active.f.durationMs === 0) active.end = t
      }
      if (t === H && o.heap) heapStart = heapMb()
      if (o.onProgress && t % H === 0) o.onProgress(t / H)
      const due = buckets[(t % pollMs) / tick]!
      if (due.length) await Promise.all(due.map((e) => pollOne(e, t)))
    }
    clock.set(start + o.durationMs)
    if (active) {
      active.after = snapshot()
      active.lost = lostNow()
    }
    for (const w of windows) if (w.f.durationMs > 0 && w.end >= o.durationMs) await w.lift?.()
  } finally {
    process.off('unhandledRejection', onCrash)
    process.off('uncaughtException', onCrash)
  }
  const heapEnd = o.heap ? heapMb() : 0
  void seenTokens

  // ---- final state
  let secretsWrong = 0
  let secretsLost = 0
  for (const e of es) {
    if (e.secret !== e.current) {
      secretsWrong++
      if (samples.length < 5) samples.push(`final content of ${e.name}: ${e.secret === undefined ? 'missing' : 'stale or wrong'}`)
    }
    if (e.secret === undefined || !e.history.has(e.secret)) secretsLost++
  }
  const end = snapshot()
  const vaultSeen = { results: dev.counters().results, standby: standby?.counters().results }
  const rows: FaultRow[] = windows.map((w) => {
    const b = w.before!
    const a = w.after ?? end
    const expected = FORCES_LOGIN.has(w.f.kind) && w.hadToken ? (w.f.kind === 'jwt-expired' ? 2 : 1) : 0
    return {
      fault: w.f.label ?? w.f.kind,
      at: hhmm(w.f.at),
      role: w.f.role === undefined ? 'all' : `${roleName(w.f.role)} (${kinds[w.f.role]!.name})`,
      failedReads: w.failed,
      unavoidable: w.unavoidable,
      backoff: w.backoff,
      avoidable: w.failed - w.unavoidable - w.backoff,
      logins: a.logins - b.logins,
      loginFailures: a.loginFailures - b.loginFailures,
      expectedExtraLogins: expected,
      renewals: a.renewals - b.renewals,
      deadRevoked: a.deadRevoked - b.deadRevoked,
      deadExpired: a.deadExpired - b.deadExpired,
      deadReads: a.deadReads - b.deadReads,
      pollsToRecover: w.failed === 0 ? 0 : w.recoveredAt === undefined ? Infinity : Math.ceil((w.recoveredAt - w.end) / pollMs),
      secretsLost: w.lost,
    }
  })

  await backend.close({ revoke: false })
  tokenRequests.close()
  await standby?.close()
  await dev.close()

  let loginFloor = NaN
  if (o.control) {
    const c = await runSoak({ ...o, perRole: 1, faults: [], control: false, heap: false, onProgress: undefined, rotateValuesEveryMs: 0 })
    loginFloor = c.totals.logins
  }

  return {
    seed: o.seed,
    profile: o.profile ?? 'custom',
    externalSecrets: es.length,
    roles: kinds.length,
    simulatedHours: o.durationMs / H,
    polls,
    failedReads,
    rows,
    totals: {
      logins: end.logins,
      loginFloor,
      expectedExtraLogins: rows.reduce((n, r) => n + r.expectedExtraLogins, 0),
      loginFailures: end.loginFailures,
      renewals: end.renewals,
      deadReads: end.deadReads,
      deadExpired: end.deadExpired,
      deadRevoked: end.deadRevoked,
      deadRevokedSeconds: end.deadRevokedSeconds,
      crashes,
      secretsLost,
      secretsWrong,
      secretsDeleted: es.filter((e) => e.lastOk >= 0 && e.secret === undefined).length,
      leakedLogLines: leaked,
      logLines,
      thresholdWarnings,
      heapGrowthMb: Math.round((heapEnd - heapStart) * 10) / 10,
      wallSeconds: Math.round((performance.now() - wallStart) / 100) / 10,
      vaultRequests: end.total,
    },
    samples,
    vault: vaultSeen,
  }
}

function roleName(i: number): string {
  return `role${i}`
}

function roleInput(k: RoleKind, i: number): RoleInput {
  return {
    policies: [`p${i}`],
    bound_service_account_names: k.tokenRequest ? ['reader'] : ['kes'],
    bound_service_account_namespaces: k.tokenRequest ? [`team-${i}`] : ['kes'],
    ...k.input,
  }
}

function mergeCounters(active: DevVault, standby: DevVault) {
  const a = active.counters()
  a.redirects += standby.counters().redirects
  return a
}

export function hhmm(ms: number): string {
  const m = Math.floor(ms / M)
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`
}

// ---- printing ------------------------------------------------------------------------------------------------

const COLUMNS: Array<[keyof FaultRow, string]> = [
  ['fault', 'fault injected'],
  ['at', 'at'],
  ['role', 'role'],
  ['failedReads', 'failed reads'],
  ['unavoidable', 'unavoidable'],
  ['backoff', 'after lift: backoff / Retry-After'],
  ['avoidable', 'avoidable'],
  ['logins', 'logins'],
  ['expectedExtraLogins', 'forced logins'],
  ['loginFailures', 'login failures'],
  ['renewals', 'renewals'],
  ['deadReads', 'dead-token reads'],
  ['deadRevoked', 'dead-token reqs (revoked)'],
  ['deadExpired', 'dead-token reqs (expired)'],
  ['pollsToRecover', 'polls to recover'],
  ['secretsLost', 'Secrets lost'],
]

/** A Markdown table per fault, then the totals. */
export function formatResult(r: SoakResult): string {
  const lines: string[] = []
  lines.push(`profile ${r.profile}, seed ${r.seed}: ${r.externalSecrets} ExternalSecrets, ${r.roles} roles, ${r.simulatedHours} simulated hours, ${r.polls} polls`)
  lines.push('')
  lines.push(`| ${COLUMNS.map(([, h]) => h).join(' | ')} |`)
  lines.push(`|${COLUMNS.map(() => '---').join('|')}|`)
  for (const row of r.rows) lines.push(`| ${COLUMNS.map(([k]) => String(row[k])).join(' | ')} |`)
  const t = r.totals
  lines.push('')
  lines.push('| total | value |')
  lines.push('|---|---|')
  const add = (k: string, v: unknown) => lines.push(`| ${k} | ${v} |`)
  add('polls (reads of ExternalSecrets)', r.polls)
  add('failed reads', r.failedReads)
  add('Vault requests', t.vaultRequests)
  add('logins', `${t.logins} (fault-free control run: ${Number.isNaN(t.loginFloor) ? 'not run' : t.loginFloor}; forced by revocations/expiries: ${t.expectedExtraLogins})`)
  add('login failures', t.loginFailures)
  add('renewals', t.renewals)
  add('reads sent with a dead token (all: token revoked from outside between lookups)', t.deadReads)
  add('requests with an expired token', t.deadExpired)
  add('requests with a token revoked from outside (all in flight before the first 403 came back)', `${t.deadRevoked}, in ${t.deadRevokedSeconds} distinct seconds`)
  add('process crashes (unhandled rejections / exceptions)', t.crashes)
  add('Secrets deleted or blanked', t.secretsDeleted)
  add('Secrets lost (content never held by Vault)', t.secretsLost)
  add('Secrets with wrong final content', t.secretsWrong)
  add('log lines / with a token, JWT or secret value', `${t.logLines} / ${t.leakedLogLines}`)
  add('threshold >= TTL warnings', t.thresholdWarnings)
  add('heap growth hour 1 -> end (MB)', t.heapGrowthMb)
  add('wall time (s)', t.wallSeconds)
  if (r.samples.length) {
    lines.push('')
    for (const s of r.samples) lines.push(`- ${s}`)
  }
  return lines.join('\n')
}
