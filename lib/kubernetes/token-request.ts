import { LRUCache } from 'lru-cache'
import { systemTimers, type Timers } from '../clock.js'
import { systemClock, silentLogger, type Clock, type Logger } from '../types.js'
import { ServiceAccountJwtError, scrubJwts, type ServiceAccountJwtSource } from './jwt-source.js'

// Constants and the refresh rule follow the kubelet token manager (pkg/kubelet/token/token_manager.go).
/** Kubernetes rejects TokenRequests shorter than this (ValidateTokenRequest). */
export const MIN_EXPIRATION_SECONDS = 600
export const DEFAULT_EXPIRATION_SECONDS = MIN_EXPIRATION_SECONDS
/** Refresh once a token is older than this fraction of its TTL. */
export const REFRESH_AT_FRACTION = 0.8
/** Long-lived tokens are refreshed daily anyway. */
export const MAX_TTL_MS = 24 * 60 * 60 * 1000
/** Spread refreshes so many identities minted together do not all refresh in the same instant. */
export const MAX_JITTER_MS = 10_000
/** The kubelet sweeps expired tokens every minute. */
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000
/** VSO's client cache bound. */
export const DEFAULT_MAX_ENTRIES = 10_000
/** After a failed refresh while the old JWT is valid, wait this long before asking the API server again. */
export const DEFAULT_RETRY_AFTER_FAILURE_MS = 10_000

/** Which JWT to mint: the cache key, with audiences sorted and expirationSeconds defaulted. */
export interface TokenRequestIdentity {
  namespace: string
  serviceAccount: string
  /** Vault's kubernetes auth role `audience`; empty means the API server's own audience. */
  audiences?: readonly string[]
  expirationSeconds?: number
}

export interface NormalizedTokenRequestIdentity {
  namespace: string
  serviceAccount: string
  audiences: string[]
  expirationSeconds: number
}

/** Times in ms since the epoch, on the API server's clock as reported in status.expirationTimestamp. */
export interface TokenTimes {
  issuedAt: number
  expiresAt: number
}

interface CachedToken extends TokenTimes {
  token: string
  /** Rolled once per token, so its refresh point is fixed and tests can pin it. */
  jitterMs: number
  /** Last failed refresh; the old JWT is served without retrying until DEFAULT_RETRY_AFTER_FAILURE_MS passes. */
  failedAt?: number
}

/** Pure kubelet rule: refresh past 80 % of the TTL (or 24 h), brought forward by the jitter. */
export function requiresRefresh(t: TokenTimes, now: number, jitterMs: number): boolean {
  if (now > t.issuedAt + MAX_TTL_MS - jitterMs) return true
  const ttl = t.expiresAt - t.issuedAt
  return now > t.expiresAt - ttl * (1 - REFRESH_AT_FRACTION) - jitterMs
}

export function isExpired(t: Pick<TokenTimes, 'expiresAt'>, now: number): boolean {
  return now >= t.expiresAt
}

// RFC 1123 subdomain: what Kubernetes accepts for namespace and service account names.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

export function normalizeIdentity(id: TokenRequestIdentity, defaultExpirationSeconds = DEFAULT_EXPIRATION_SECONDS): NormalizedTokenRequestIdentity {
  const bad = (msg: string) => new ServiceAccountJwtError('InvalidArgument', msg)
  for (const [field, v] of [['namespace', id.namespace], ['serviceAccount', id.serviceAccount]] as const) {
    if (typeof v !== 'string' || v.length > 253 || !DNS_SUBDOMAIN.test(v)) {
      throw bad(`TokenRequest ${field} ${JSON.stringify(v)} is not a valid Kubernetes name`)
    }
  }
  const expirationSeconds = id.expirationSeconds ?? defaultExpirationSeconds
  if (!Number.isInteger(expirationSeconds) || expirationSeconds < MIN_EXPIRATION_SECONDS) {
    throw bad(`TokenRequest expirationSeconds must be an integer of at least ${MIN_EXPIRATION_SECONDS} (Kubernetes' minimum), got ${expirationSeconds}`)
  }
  const audiences = [...new Set(id.audiences ?? [])].sort()
  if (audiences.some((a) => typeof a !== 'string' || a === '')) throw bad('TokenRequest audiences must be non-empty strings')
  return { namespace: id.namespace, serviceAccount: id.serviceAccount, audiences, expirationSeconds }
}

export function cacheKey(id: NormalizedTokenRequestIdentity): string {
  return JSON.stringify([id.namespace, id.serviceAccount, id.audiences, id.expirationSeconds])
}

export function describeIdentity(id: NormalizedTokenRequestIdentity): string {
  const aud = id.audiences.length ? id.audiences.join(',') : '(API server default)'
  return `TokenRequest ${id.namespace}/${id.serviceAccount} (audiences ${aud}, expirationSeconds ${id.expirationSeconds})`
}

/** The TokenRequest body and the fields of the answer we read (authentication.k8s.io/v1). */
export interface TokenRequestBody {
  apiVersion: 'authentication.k8s.io/v1'
  kind: 'TokenRequest'
  spec: { audiences: string[]; expirationSeconds?: number }
}
export interface TokenRequestResult {
  spec?: { expirationSeconds?: number }
  status?: { token?: string; expirationTimestamp?: Date | string }
}

/**
 * The one API call we need; a field (like the kubelet's getToken) so tests and hosts can swap it. Structural
 * (client-node's CoreV1Api satisfies it) so the library's types do not pull in @kubernetes/client-node's.
 */
export interface TokenRequestApi {
  createNamespacedServiceAccountToken(param: { name: string; namespace: string; body: TokenRequestBody }): Promise<TokenRequestResult>
}

export interface TokenRequestJwtCacheOptions {
  /** Defaults to createCoreV1Api() (kube-config.ts: the default kubeconfig), loaded at the first TokenRequest. */
  api?: TokenRequestApi
  clock?: Clock
  timers?: Timers
  logger?: Logger
  /** [0, 1); the jitter is random() * MAX_JITTER_MS. */
  random?: () => number
  maxEntries?: number
  defaultExpirationSeconds?: number
  sweepIntervalMs?: number
  retryAfterFailureMs?: number
}

export interface TokenRequestJwtCacheStats {
  /** TokenRequests sent to the API server. */
  requests: number
  /** TokenRequests that failed. */
  failures: number
  /** getJwt answered from the cache. */
  hits: number
  /** getJwt answered with an old, still valid JWT because a refresh failed. */
  staleServed: number
}

// Loaded on first use: a library user who never mints a TokenRequest does not load client-node.
async function defaultApi(): Promise<TokenRequestApi> {
  return (await import('./kube-config.js')).createCoreV1Api()
}

/**
 * Service-account JWTs minted with the TokenRequest API, cached like the kubelet does: one token per
 * (namespace, service account, audiences, expirationSeconds), refreshed past 80 % of its TTL, the old one served
 * while a refresh fails and it is still valid. ESO and VSO mint one per login; this mints one per 80 % of TTL.
 */
export class TokenRequestJwtCache {
  readonly stats: TokenRequestJwtCacheStats = { requests: 0, failures: 0, hits: 0, staleServed: 0 }
  private api: TokenRequestApi | undefined
  private readonly clock: Clock
  private readonly timers: Timers
  private readonly logger: Logger
  private readonly random: () => number
  private readonly defaultExpirationSeconds: number
  private readonly sweepIntervalMs: number
  private readonly retryAfterFailureMs: number
  private readonly entries: LRUCache<string, CachedToken>
  // Outside the LRU so an eviction cannot split a single flight in two.
  private readonly inflight = new Map<string, Promise<string>>()
  private sweepTimer: unknown
  private closed = false

  constructor(opts: TokenRequestJwtCacheOptions = {}) {
    this.api = opts.api
    this.clock = opts.clock ?? systemClock
    this.timers = opts.timers ?? systemTimers
    this.logger = opts.logger ?? silentLogger
    this.random = opts.random ?? Math.random
    this.defaultExpirationSeconds = opts.defaultExpirationSeconds ?? DEFAULT_EXPIRATION_SECONDS
    this.sweepIntervalMs = opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS
    this.retryAfterFailureMs = opts.retryAfterFailureMs ?? DEFAULT_RETRY_AFTER_FAILURE_MS
    this.entries = new LRUCache({ max: opts.maxEntries ?? DEFAULT_MAX_ENTRIES })
    if (!Number.isInteger(this.defaultExpirationSeconds) || this.defaultExpirationSeconds < MIN_EXPIRATION_SECONDS) {
      throw new ServiceAccountJwtError('InvalidArgument', `defaultExpirationSeconds must be an integer of at least ${MIN_EXPIRATION_SECONDS}`)
    }
    this.scheduleSweep()
  }

  /** Cached tokens (expired ones linger until the next sweep). */
  get size(): number {
    return this.entries.size
  }

  /** A source bound to one identity, for a backend that holds a source per (namespace, account, mount, role). */
  forServiceAccount(id: TokenRequestIdentity): TokenRequestJwtSource {
    return new TokenRequestJwtSource(this, normalizeIdentity(id, this.defaultExpirationSeconds))
  }

  async getJwt(id: TokenRequestIdentity): Promise<string> {
    const norm = normalizeIdentity(id, this.defaultExpirationSeconds)
    const key = cacheKey(norm)
    const now = this.clock.now()
    const entry = this.entries.get(key)
    if (entry && !requiresRefresh(entry, now, entry.jitterMs)) {
      this.stats.hits++
      return entry.token
    }
    // A refresh just failed: the old JWT is still good, do not hammer the API server on every login.
    if (entry && entry.failedAt !== undefined && now - entry.failedAt < this.retryAfterFailureMs && !isExpired(entry, now)) {
      this.stats.staleServed++
      return entry.token
    }
    let flight = this.inflight.get(key)
    if (!flight) {
      flight = this.refresh(key, norm, entry).finally(() => this.inflight.delete(key))
      this.inflight.set(key, flight)
    }
    return flight
  }

  /** Drops expired tokens; runs every sweepIntervalMs on the injected timers. */
  sweep(): number {
    const now = this.clock.now()
    let dropped = 0
    for (const [key, entry] of [...this.entries.entries()]) {
      if (isExpired(entry, now)) {
        this.entries.delete(key)
        dropped++
      }
    }
    return dropped
  }

  /** Stops the sweep timer and forgets every token. */
  close(): void {
    this.closed = true
    if (this.sweepTimer !== undefined) this.timers.clearTimeout(this.sweepTimer)
    this.sweepTimer = undefined
    this.entries.clear()
  }

  private scheduleSweep(): void {
    if (this.closed) return
    this.sweepTimer = this.timers.setTimeout(() => {
      this.sweep()
      this.scheduleSweep()
    }, this.sweepIntervalMs)
  }

  private async refresh(key: string, id: NormalizedTokenRequestIdentity, old: CachedToken | undefined): Promise<string> {
    try {
      const fresh = await this.fetch(id)
      this.entries.set(key, fresh)
      return fresh.token
    } catch (e) {
      const err = e instanceof ServiceAccountJwtError ? e : classifyApiError(e, id)
      this.stats.failures++
      const now = this.clock.now()
      if (old && !isExpired(old, now)) {
        old.failedAt = now
        this.entries.set(key, old)
        this.stats.staleServed++
        this.logger.error(
          { namespace: id.namespace, serviceAccount: id.serviceAccount, status: err.status, reason: err.reason, err: err.message, expiresAt: iso(old.expiresAt) },
          'TokenRequest refresh failed; serving the previous service account JWT until it expires',
        )
        return old.token
      }
      if (old) {
        throw new ServiceAccountJwtError(
          'Expired',
          `the service account JWT for "${id.namespace}/${id.serviceAccount}" expired at ${iso(old.expiresAt)} and could not be refreshed: ${err.message}`,
          err.status,
        )
      }
      throw err
    }
  }

  private async fetch(id: NormalizedTokenRequestIdentity): Promise<CachedToken> {
    this.api ??= await defaultApi()
    this.stats.requests++
    const sentAt = this.clock.now()
    const body: TokenRequestBody = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: id.audiences, expirationSeconds: id.expirationSeconds },
    }
    const tr = await this.api.createNamespacedServiceAccountToken({ name: id.serviceAccount, namespace: id.namespace, body })
    const token = tr?.status?.token
    const exp = tr?.status?.expirationTimestamp
    const expiresAtServer = exp instanceof Date ? exp.getTime() : typeof exp === 'string' ? Date.parse(exp) : NaN
    if (typeof token !== 'string' || token === '' || !Number.isFinite(expiresAtServer)) {
      throw new ServiceAccountJwtError(
        'InvalidResponse',
        `TokenRequest for serviceaccount "${id.namespace}/${id.serviceAccount}" returned no ${typeof token !== 'string' || token === '' ? 'status.token' : 'status.expirationTimestamp'}`,
      )
    }
    // The issuer may grant a different duration than asked; spec.expirationSeconds in the response is what it granted.
    const ttlMs = (tr.spec?.expirationSeconds ?? id.expirationSeconds) * 1000
    // Never believe a token lives longer than the TTL counted from when we asked: a server clock ahead of ours
    // would otherwise make us serve a JWT past its real expiry.
    const expiresAt = Math.min(expiresAtServer, sentAt + ttlMs)
    const entry: CachedToken = { token, expiresAt, issuedAt: expiresAt - ttlMs, jitterMs: this.random() * MAX_JITTER_MS }
    this.logger.debug(
      { namespace: id.namespace, serviceAccount: id.serviceAccount, audiences: id.audiences, expiresAt: iso(expiresAt) },
      'minted service account JWT with TokenRequest',
    )
    return entry
  }
}

/** One identity's view of the cache. */
export class TokenRequestJwtSource implements ServiceAccountJwtSource {
  readonly description: string
  constructor(
    private readonly cache: TokenRequestJwtCache,
    readonly identity: NormalizedTokenRequestIdentity,
  ) {
    this.description = describeIdentity(identity)
  }

  getJwt(): Promise<string> {
    return this.cache.getJwt(this.identity)
  }
}

/** Turns an ApiException / FetchError into an error that says what to fix. Only the Status message survives. */
export function classifyApiError(e: unknown, id: Pick<NormalizedTokenRequestIdentity, 'namespace' | 'serviceAccount'>): ServiceAccountJwtError {
  const who = `"${id.namespace}/${id.serviceAccount}"`
  const status = typeof (e as { code?: unknown })?.code === 'number' ? ((e as { code: number }).code) : undefined
  if (status === undefined) {
    const msg = e instanceof Error ? e.message : String(e)
    return new ServiceAccountJwtError('Network', `TokenRequest for serviceaccount ${who} failed before the API server answered: ${msg}`)
  }
  const serverMessage = statusMessage((e as { body?: unknown }).body)
  const detail = serverMessage ? `: ${serverMessage}` : ''
  switch (status) {
    case 404:
      return new ServiceAccountJwtError('NotFound', `serviceaccount ${who} not found (TokenRequest got 404${detail})`, 404)
    case 403:
      return new ServiceAccountJwtError(
        'Forbidden',
        `TokenRequest for serviceaccount ${who} forbidden (403): the controller needs RBAC to "create" "serviceaccounts/token" in namespace "${id.namespace}"${detail}`,
        403,
      )
    case 401:
      return new ServiceAccountJwtError(
        'Unauthorized',
        `TokenRequest for serviceaccount ${who} unauthorized (401): the Kubernetes API server rejected the controller's own credentials`,
        401,
      )
    default:
      return new ServiceAccountJwtError('ApiError', `TokenRequest for serviceaccount ${who} failed with HTTP ${status}${detail}`, status)
  }
}

/** metav1.Status.message from an error body (client-node 1.x hands it over as a JSON string). */
function statusMessage(body: unknown): string | undefined {
  let b = body
  if (typeof b === 'string') {
    try {
      b = JSON.parse(b)
    } catch {
      return undefined // not a Status: say nothing rather than echo an unknown body
    }
  }
  const m = (b as { message?: unknown } | null)?.message
  return typeof m === 'string' && m !== '' ? scrubJwts(m).slice(0, 500) : undefined
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
