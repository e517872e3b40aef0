import { LRUCache } from 'lru-cache'
import type { Registry } from 'prom-client'
import { AppRoleAuth } from '../auth/approle.js'
import { type JwtProvider, KubernetesAuth } from '../auth/kubernetes.js'
import { StaticTokenAuth } from '../auth/token.js'
import type { AuthMethod } from '../auth/types.js'
import { DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH } from '../config.js'
import { ProjectedServiceAccountTokenFile } from '../kubernetes/projected-file.js'
import type { TokenRequestJwtCache } from '../kubernetes/token-request.js'
import { redacting } from '../log.js'
import { type ReadResult, VaultMetrics } from '../metrics.js'
import { redactor } from '../redact.js'
import { observeSessions } from '../token/events.js'
import { remainingSeconds } from '../token/lease.js'
import type { TokenPolicy } from '../token/policy.js'
import { type Identity, PolicyDeniedError, TokenSession, TokenUnavailableError } from '../token/session.js'
import { type Clock, type Logger, silentLogger, systemClock } from '../types.js'
import { createNodeVaultClient, type NodeVaultClient, VaultClient } from '../vault/client.js'
import { VaultRequestError } from '../vault/errors.js'
import { type GetArgs, KVBackend, type KVContext } from './kv-backend.js'

export interface VaultBackendOptions {
  /** KES: returns a node-vault client. One client serves every identity (the token travels per request). */
  vaultFactory?: () => NodeVaultClient
  /** KES: renew when the remaining TTL is at or below this many seconds. Default 3 poll intervals. */
  tokenRenewThreshold?: number | string
  logger?: Logger
  defaultVaultMountPoint?: string
  defaultVaultRole?: string
  pollerIntervalMilliseconds?: number
  /** A lookup-self at most this often per identity; 0 = before every read (KES). Default: the poll interval. */
  tokenLookupIntervalMilliseconds?: number
  serviceAccountTokenPath?: string
  clock?: Clock
  /** Bound of the token cache (identities). Default 10 000, as VSO. */
  tokenCacheMax?: number
  registry?: Registry
  random?: () => number
  /** Vault address and namespace, part of every identity; also used to build the client when no vaultFactory. */
  vaultAddr?: string
  vaultNamespace?: string
  vaultCaCert?: string
  vaultSkipVerify?: boolean
  requestTimeoutMilliseconds?: number
  /** Static token (VAULT_TOKEN), used when no role is configured. */
  vaultToken?: string
  revokeTokensOnShutdown?: boolean
  /** Where logins get the controller's service-account JWT. Default: the projected file at serviceAccountTokenPath. */
  jwtProvider?: JwtProvider
  /** TokenRequest JWTs for per-namespace identities (spec.vaultServiceAccount or authServiceAccount). */
  tokenRequests?: TokenRequestJwtCache
  /** Log in as this service account of each ExternalSecret's namespace (VAULT_AUTH_SERVICE_ACCOUNT). */
  authServiceAccount?: string
  authAudiences?: string[]
  authMethod?: 'kubernetes' | 'jwt' | 'approle'
  approle?: { roleId: string; secretId: () => Promise<string> }
  /** A token this close to expiry (s) is never sent. Default 2. */
  expirySkewSeconds?: number
}

export interface SpecOptions {
  vaultMountPoint?: string | null
  vaultRole?: string | null
  kvVersion?: number
  vaultServiceAccount?: string | null
  [k: string]: unknown
}

export interface CloseOptions {
  /** Revoke the tokens this backend created (revoke-self). Default: revokeTokensOnShutdown (true). */
  revoke?: boolean
}

/** A read that failed, named by key and identity, with what to do. Never carries a token or a value. */
export class SecretReadError extends Error {
  constructor(
    message: string,
    readonly key: string,
    readonly status?: number,
    /** Set when nothing was sent because Vault's Retry-After has not passed yet. */
    readonly retryAfterSeconds?: number,
  ) {
    super(redactor.text(message))
    this.name = 'SecretReadError'
  }
}

function numberOption(name: string, v: number | string | undefined, fallback: number, min: number): number {
  if (v === undefined || v === '') return fallback
  const n = typeof v === 'number' ? v : Number(v)
  if (!Number.isFinite(n) || n < min) throw new TypeError(`${name} must be a number >= ${min}; got ${JSON.stringify(v)}`)
  return n
}

/**
 * Drop-in for KES's VaultBackend. One token per identity (Vault address and namespace, auth mount, role, and for
 * per-namespace identities the Kubernetes namespace and service account), kept with its lease in a bounded cache.
 */
export class VaultBackend extends KVBackend {
  readonly policy: TokenPolicy
  private readonly clock: Clock
  private readonly log: Logger
  private readonly vault: VaultClient
  private readonly metrics: VaultMetrics
  private readonly sessions: LRUCache<string, TokenSession>
  private readonly reads = new Map<string, Promise<{ data?: any }>>()
  private readonly jwt: JwtProvider
  private readonly detachMetrics: () => void
  private readonly sessionDeps: ConstructorParameters<typeof TokenSession>[3]
  private closed = false

  constructor(private readonly options: VaultBackendOptions = {}) {
    const logger = redacting(options.logger ?? silentLogger)
    super({ logger })
    this.log = logger
    this.clock = options.clock ?? systemClock
    const poll = numberOption('pollerIntervalMilliseconds', options.pollerIntervalMilliseconds, 10_000, 1)
    this.policy = {
      renewThresholdSeconds: numberOption('tokenRenewThreshold', options.tokenRenewThreshold, (3 * poll) / 1000, 0),
      lookupIntervalMs: numberOption('tokenLookupIntervalMilliseconds', options.tokenLookupIntervalMilliseconds, poll, 0),
      expirySkewSeconds: numberOption('expirySkewSeconds', options.expirySkewSeconds, 2, 0),
    }
    this.metrics = VaultMetrics.for(options.registry)
    const client =
      options.vaultFactory?.() ??
      createNodeVaultClient({
        endpoint: options.vaultAddr ?? 'http://127.0.0.1:8200',
        namespace: options.vaultNamespace,
        timeoutMs: options.requestTimeoutMilliseconds,
        caCert: options.vaultCaCert,
        skipVerify: options.vaultSkipVerify,
      })
    this.vault = new VaultClient(client, (op, status, s) => this.metrics.request(op, status, s), options.requestTimeoutMilliseconds, () => this.clock.now())
    this.jwt = options.jwtProvider ?? new ProjectedServiceAccountTokenFile({ path: options.serviceAccountTokenPath ?? DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH, clock: this.clock, logger })
    this.sessions = new LRUCache<string, TokenSession>({
      max: numberOption('tokenCacheMax', options.tokenCacheMax, 10_000, 1),
      dispose: (session, _key, reason) => {
        if (reason === 'evict' && this.clock.now() - session.lastUsed < 2 * poll) {
          this.log.warn({ mount: session.identity.mount, role: session.identity.role }, 'token cache is full and evicted an identity in use; raise VAULT_TOKEN_CACHE_MAX above the number of identities')
        }
      },
    })
    const events = observeSessions(this.metrics, logger, this.clock)
    this.sessionDeps = { clock: this.clock, policy: this.policy, random: options.random ?? Math.random, events }
    this.detachMetrics = this.metrics.addTtlSource(
      () => this.ttlSamples(),
      () => this.sessions.size,
    )
  }

  /** Remaining TTL per cached identity, at this instant (the metrics gauge reads it at scrape time). */
  *ttlSamples(): Iterable<{ mount: string; role: string; remainingSeconds: number }> {
    const now = this.clock.now()
    for (const s of this.sessions.values()) {
      if (s.lease) yield { mount: s.identity.mount, role: s.identity.role, remainingSeconds: remainingSeconds(s.lease, now) }
    }
  }

  /** The cached sessions (read-only view for hosts and tests). */
  get tokenSessions(): TokenSession[] {
    return [...this.sessions.values()]
  }

  /** KES's `_get`: read `key` with the identity's token; kvVersion 1 returns `data`, 2 returns `data.data`, JSON-stringified. */
  override async _get({ key, specOptions }: GetArgs, context: KVContext = {}): Promise<unknown> {
    const spec = specOptions as SpecOptions
    const kvVersion = spec.kvVersion === undefined ? 2 : spec.kvVersion
    // Checked before any Vault call: a bad spec costs Vault nothing (KES found out after the read).
    if (kvVersion !== 1 && kvVersion !== 2) {
      throw new SecretReadError(`Unknown "kvVersion" specified: ${JSON.stringify(kvVersion)}; expected 1 or 2`, key)
    }
    if (typeof key !== 'string' || key === '') throw new SecretReadError('spec.data[].key must be a non-empty Vault path', String(key))
    if (this.closed) throw new SecretReadError('the Vault backend is closed', key)
    const session = this.sessionFor(spec, context)
    let res: { data?: any }
    try {
      res = await this.readShared(session, key)
    } catch (err) {
      throw this.readFailure(err, key, kvVersion, session.identity)
    }
    const data = kvVersion === 1 ? res?.data : res?.data?.data
    // KES failed with a TypeError here; never turn a missing payload into the text "undefined" in a Secret.
    if (data === undefined || data === null) {
      this.metrics.read('failure')
      throw new SecretReadError(`Vault answered "${key}" without ${kvVersion === 1 ? 'data' : 'data.data'}; is kvVersion ${kvVersion} right for this mount?`, key)
    }
    this.metrics.read('success')
    return JSON.stringify(data)
  }

  /** Concurrent reads of one path by one identity (several ExternalSecrets, or items of one) share one request. */
  private readShared(session: TokenSession, key: string): Promise<{ data?: any }> {
    const id = `${session.identity.key}\u0000${key}`
    let p = this.reads.get(id)
    if (!p) {
      p = session.withToken(key, (token) => this.vault.read(key, token)).finally(() => this.reads.delete(id))
      this.reads.set(id, p)
    }
    return p
  }

  private readFailure(err: unknown, key: string, kvVersion: number, id: Identity): Error {
    const as = `as auth mount "${id.mount}", role "${id.role}"${id.namespace ? ` (service account ${id.namespace}/${id.serviceAccount})` : ''}`
    let result: ReadResult = 'failure'
    let out: Error
    if (err instanceof PolicyDeniedError) {
      result = 'denied'
      out = err
    } else if (err instanceof TokenUnavailableError) {
      out = err
    } else if (err instanceof VaultRequestError) {
      if (err.status === 404) {
        result = 'not_found'
        const hint =
          kvVersion === 2 && !key.split('/').includes('data')
            ? `; for a KV version 2 mount the path must include /data/ (e.g. "${key.replace(/^([^/]+)\//, '$1/data/')}"), or set kvVersion: 1 for a KV version 1 mount`
            : '; check the path, and that the secret (or its latest version) is not deleted'
        out = new SecretReadError(`secret "${key}" not found in Vault (404) ${as}${hint}`, key, 404)
      } else if (err.transient) {
        out = new SecretReadError(`reading "${key}" ${as} failed: ${err.vaultMessage}${err.status ? ` (${err.status})` : ''}; Vault is unavailable, the existing Secret is kept and the read is retried on the next poll`, key, err.status, err.retryAfterSeconds)
      } else {
        out = new SecretReadError(`reading "${key}" ${as} failed: ${err.status ?? ''} ${err.vaultMessage}`, key, err.status)
      }
    } else {
      out = err instanceof Error ? err : new Error(String(err))
    }
    this.metrics.read(result)
    // The error goes to the caller (the poller logs it once, with the ExternalSecret); here only for debugging.
    this.log.debug({ key, mount: id.mount, role: id.role, result, error: out.message }, 'vault secret read failed')
    return out
  }

  /** The session of the identity this spec resolves to, created on first use (the hot path is one map lookup). */
  sessionFor(spec: SpecOptions, context: KVContext = {}): TokenSession {
    const o = this.options
    const approle = o.authMethod === 'approle'
    const role = spec.vaultRole || o.defaultVaultRole || (approle ? 'approle' : undefined)
    const mount = spec.vaultMountPoint || o.defaultVaultMountPoint || (approle ? 'approle' : 'kubernetes')
    const serviceAccount = (!approle && (spec.vaultServiceAccount || o.authServiceAccount)) || undefined
    const staticToken = !role && !!o.vaultToken
    if (!role && !staticToken) {
      throw new SecretReadError('no Vault role: set spec.vaultRole on the ExternalSecret or DEFAULT_VAULT_ROLE (or VAULT_TOKEN for a static token)', '')
    }
    if (serviceAccount && !staticToken && !context.namespace) {
      throw new SecretReadError(`a per-namespace identity (service account "${serviceAccount}") needs the ExternalSecret's namespace`, '')
    }
    const namespace = serviceAccount && !staticToken ? context.namespace : undefined
    const key = [o.vaultAddr ?? '', o.vaultNamespace ?? '', staticToken ? 'token' : mount, role ?? 'static', namespace ?? '', namespace ? serviceAccount : ''].join('\u0000')
    const cached = this.sessions.get(key)
    if (cached) return cached

    let auth: AuthMethod
    const method = o.authMethod === 'jwt' ? 'jwt' : 'kubernetes'
    if (staticToken) {
      auth = new StaticTokenAuth(o.vaultToken!)
    } else if (approle) {
      if (!o.approle) throw new SecretReadError('approle auth needs VAULT_APPROLE_ROLE_ID and VAULT_APPROLE_SECRET_ID_FILE', '')
      auth = new AppRoleAuth(mount, role!, o.approle.roleId, o.approle.secretId)
    } else if (namespace) {
      if (!o.tokenRequests) throw new SecretReadError(`service account "${serviceAccount}" needs Kubernetes API access (TokenRequest) to log in as it`, '')
      auth = new KubernetesAuth(mount, role!, o.tokenRequests.forServiceAccount({ namespace, serviceAccount: serviceAccount!, audiences: o.authAudiences }), method)
    } else {
      auth = new KubernetesAuth(mount, role!, this.jwt, method)
    }
    const identity: Identity = { key, mount: auth.mount, role: auth.role, ...(namespace ? { namespace, serviceAccount } : {}) }
    const session = new TokenSession(identity, auth, this.vault, this.sessionDeps)
    this.sessions.set(key, session)
    return session
  }

  /** Stop, and by default revoke the tokens this backend created so a shutdown leaves no live token behind. */
  async close({ revoke = this.options.revokeTokensOnShutdown ?? true }: CloseOptions = {}): Promise<{ revoked: number }> {
    if (this.closed) return { revoked: 0 }
    this.closed = true
    this.detachMetrics()
    this.options.tokenRequests?.close()
    let revoked = 0
    if (revoke) {
      const results = await Promise.allSettled(this.tokenSessions.map((s) => s.revoke()))
      for (const r of results) {
        if (r.status === 'fulfilled' && r.value) revoked++
        if (r.status === 'rejected') this.log.warn({ error: (r.reason as Error).message }, 'revoking a vault token at shutdown failed; it will expire at its TTL')
      }
    }
    this.sessions.clear()
    this.log.info({ revoked }, 'vault backend closed')
    return { revoked }
  }
}
