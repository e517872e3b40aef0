import { LRUCache } from 'lru-cache'
import type { Registry } from 'prom-client'
import { AppRoleAuth } from '../auth/approle.js'
import { JwtAuth } from '../auth/jwt.js'
import { KubernetesAuth } from '../auth/kubernetes.js'
import { type AuthMethod, CredentialError, type JwtProvider } from '../auth/types.js'
import { ProjectedServiceAccountTokenFile } from '../kubernetes/projected-file.js'
import { redacting } from '../log.js'
import { type ReadResult, VaultMetrics } from '../metrics.js'
import { credentials } from '../redact.js'
import { resolveSettings, SETTING_VARIABLES, type Settings, type SettingsInput } from '../settings.js'
import { describeIdentity, PolicyDeniedError, SessionClosedError, TokenUnavailableError } from '../token/errors.js'
import { remainingSeconds } from '../token/lease.js'
import { type CarriedState, carriedOver, type TokenPolicy } from '../token/policy.js'
import { type Identity, type SessionDeps, type SessionEvents, TokenSession, type TokenSource } from '../token/session.js'
import { type Clock, type Logger, silentLogger, systemClock } from '../types.js'
import { VaultClient, type VaultReadResponse } from '../vault/client.js'
import { VaultRequestError } from '../vault/errors.js'
import { type NodeVaultClient, readNodeVaultClient } from '../vault/node-vault.js'
import { type HttpExchange, nodeHttpExchange, VaultTransport } from '../vault/transport.js'
import { assertNoCredential, holdingCurrent } from './credential-guard.js'
import { DynamicSecrets } from './dynamic-secrets.js'
import { SecretReadError, SpecError } from './errors.js'
import { resolveIdentity } from './identity.js'
import { type GetArgs, type GetSecretManifestDataArgs, KVBackend, type KVContext, type SecretManifestData } from './kv-backend.js'
import { combineEvents, observeSecretLeases, observeSessions } from './observe.js'
import { checkSecretPath } from '../spec-names.js'
import { guardSpecPaths, specPaths } from './spec-guard.js'

export { CredentialInSecretError, SecretReadError, SpecError } from './errors.js'

/** Kubernetes' bound on a Secret's data (etcd's request size is the hard limit behind it). */
export const KUBERNETES_SECRET_MAX_BYTES = 1024 * 1024

/** Per-namespace service-account JWTs (TokenRequest): what the backend needs of `TokenRequestJwtCache`. */
export interface ServiceAccountJwts {
  forServiceAccount(identity: { namespace: string; serviceAccount: string; audiences?: string[] }): JwtProvider
  close(): void
}

/** Every setting by its name in settings.ts; numbers may come as strings and null means unset, as KES passes them (`process.env.X || null`). */
export type BackendSettingOptions = { [K in keyof Settings]?: Settings[K] | null | (Settings[K] extends number ? string : never) }

export interface VaultBackendOptions extends BackendSettingOptions {
  /**
   * KES: returns a node-vault client. It is called once; its endpoint, path prefix, namespace, headers and any token
   * already set on it are used, and requests go through the backend's own transport (deadline, redirects, size).
   */
  vaultFactory?: () => NodeVaultClient
  /** How bytes reach Vault: node:http(s) by default; the dev Vault's in-process exchange in benchmarks and soaks. */
  vaultExchange?: HttpExchange
  logger?: Logger
  clock?: Clock
  registry?: Registry
  random?: () => number
  /** Where logins get the controller's service-account JWT. Default: the projected file at serviceAccountTokenPath. */
  jwtProvider?: JwtProvider
  /** TokenRequest JWTs for per-namespace identities (spec.vaultServiceAccount or authServiceAccount). */
  tokenRequests?: ServiceAccountJwts
  /** AppRole credentials: the role_id and a reader of the secret_id (read at each login). */
  approle?: { roleId: string; secretId: () => Promise<string> }
  /** More listeners of every token decision and outcome, besides the metrics and logs (the demo shows why it acted). */
  sessionEvents?: Partial<SessionEvents>
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

interface Connection {
  client: VaultClient
  /** A token set on the node-vault client handed in: every identity uses it first (KES). */
  preset?: string
  /** An identity found the preset dead or replaced it by a login: identities created later do not try it. */
  presetGivenUp?: boolean
}

function settingsInput(o: VaultBackendOptions): SettingsInput {
  const input: SettingsInput = {}
  for (const key of Object.keys(SETTING_VARIABLES) as (keyof Settings)[]) if (o[key] !== undefined) input[key] = o[key]
  if (o.approle && input.approleRoleId === undefined) input.approleRoleId = o.approle.roleId
  return input
}

/**
 * Drop-in for KES's VaultBackend. One token per identity (auth method, mount and role, and for per-namespace
 * identities the Kubernetes namespace and service account; one backend talks to one Vault address and namespace),
 * kept with its lease in a bounded cache.
 */
export class VaultBackend extends KVBackend {
  readonly settings: Settings
  readonly policy: TokenPolicy
  private readonly clock: Clock
  private readonly log: Logger
  private readonly metrics: VaultMetrics
  /** Identities proven by a login or by the operator's token: the token cache (VAULT_TOKEN_CACHE_MAX). */
  private readonly sessions: LRUCache<string, TokenSession>
  /**
   * Identities with no token yet, while their first reads run: they enter the cache once a login gives them a token;
   * if none does, only their login backoff is kept (`carried`), and the session is let go.
   */
  private readonly starting = new Map<string, TokenSession>()
  /** Login backoff and self-denial of identities no longer cached: it survives eviction (bounded on its own). */
  private readonly carried: LRUCache<string, CarriedState>
  private readonly reads = new Map<string, Promise<VaultReadResponse>>()
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly retiring = new Set<Promise<boolean>>()
  private readonly jwt: JwtProvider
  /** The AppRole secret_id reader, shared by every approle identity so its current value stays registered (credential-guard.ts). */
  private secretIdReader?: () => Promise<string>
  private readonly detachMetrics: () => void
  private readonly sessionDeps: SessionDeps
  private connection?: Connection
  private readonly connecting: Promise<Connection>
  private closing?: Promise<{ revoked: number }>
  /** getSecretManifestData calls admitted (begun before close) and not yet done. */
  private admitted = 0
  private lastSweep: number
  /** Dynamic secrets (reads answered with a lease), kept and renewed per identity and path. */
  private readonly dynamic: DynamicSecrets

  constructor(private readonly options: VaultBackendOptions = {}) {
    const logger = redacting(options.logger ?? silentLogger)
    // A Kubernetes Secret holds at most 1 MiB: a spec asking for more is refused before the Secret is built.
    super({ logger, maxSecretBytes: KUBERNETES_SECRET_MAX_BYTES })
    this.log = logger
    this.settings = resolveSettings(settingsInput(options), { source: 'options', approleSecretIdReader: !!options.approle })
    const s = this.settings
    this.clock = options.clock ?? systemClock
    this.lastSweep = this.clock.now()
    this.policy = { renewThresholdSeconds: s.tokenRenewThreshold, lookupIntervalMs: s.tokenLookupIntervalMilliseconds, expirySkewSeconds: s.expirySkewSeconds }
    this.metrics = VaultMetrics.for(options.registry, { identityMax: s.metricsIdentityMax })
    const jwt = options.jwtProvider ?? new ProjectedServiceAccountTokenFile({ path: s.serviceAccountTokenPath, clock: this.clock, logger })
    // The controller's JWT stays registered while current, so no Secret can receive it (credential-guard.ts).
    this.jwt = { getJwt: holdingCurrent(() => jwt.getJwt()) }
    credentials.add(s.vaultToken)
    // Only identities holding a token enter the cache: made-up roles in a tenant's specs, which never log in, cannot
    // evict a real identity (whose eviction costs a revoke and a login, two writes, per poll).
    this.sessions = this.pool(s.tokenCacheMax)
    // Far more than the pools: a tenant's thousands of broken roles keep their login backoff too.
    this.carried = new LRUCache({ max: Math.max(100_000, 2 * s.tokenCacheMax) })
    this.sessionDeps = {
      clock: this.clock,
      policy: this.policy,
      random: options.random ?? Math.random,
      events: combineEvents(observeSessions(this.metrics, logger, this.clock), options.sessionEvents),
      credentials,
    }
    this.dynamic = new DynamicSecrets({
      ...this.sessionDeps,
      mode: s.dynamicSecrets,
      max: s.dynamicSecretsCacheMax,
      pollerIntervalMilliseconds: s.pollerIntervalMilliseconds,
      events: observeSecretLeases(this.metrics, logger, this.clock),
      client: () => this.connection?.client,
      metrics: this.metrics,
      logger,
    })
    if (options.vaultFactory) {
      this.connecting = this.connectNodeVault(options.vaultFactory)
      this.connecting.catch(() => undefined) // surfaced to each read, not as an unhandled rejection
    } else {
      this.connection = this.connect({ address: s.vaultAddr, apiPrefix: '/v1', namespace: s.vaultNamespace, headers: {} })
      this.connecting = Promise.resolve(this.connection)
    }
    this.detachMetrics = this.metrics.addSource({
      ttl: () => this.ttlSamples(),
      size: () => this.sessions.size,
      identities: () => [...this.allSessions()].map((session) => session.identity),
    })
  }

  private async connectNodeVault(factory: () => NodeVaultClient): Promise<Connection> {
    const setup = await readNodeVaultClient(factory())
    if (!setup.headersCaptured) {
      this.log.warn('could not read the request options of the node-vault client handed in through vaultFactory: its headers (e.g. X-VAULT-NAMESPACE) are not used; set VAULT_NAMESPACE / vaultNamespace')
    }
    this.connection = this.connect({ ...setup, namespace: this.settings.vaultNamespace ?? setup.namespace })
    if (setup.token) credentials.add(setup.token)
    if (setup.token && this.settings.authServiceAccount && this.settings.defaultVaultRole) {
      this.log.warn('the token preset on the node-vault client is not used: VAULT_AUTH_SERVICE_ACCOUNT gives each namespace its own identity, and one token would read for all of them; each namespace logs in as its service account')
    }
    return this.connection
  }

  private connect(at: { address: string; apiPrefix: string; namespace?: string; headers: Record<string, string>; token?: string }): Connection {
    const s = this.settings
    const transport = new VaultTransport({
      address: at.address,
      apiPrefix: at.apiPrefix,
      namespace: at.namespace,
      headers: at.headers,
      timeoutMs: s.requestTimeoutMilliseconds,
      maxResponseBytes: s.maxResponseBytes,
      redirectOrigins: s.redirectOrigins,
      exchange: this.options.vaultExchange ?? nodeHttpExchange({ ca: s.vaultCaCert, rejectUnauthorized: !s.vaultSkipVerify }),
      now: () => this.clock.now(),
      observe: (op, status, seconds) => this.metrics.request(op, status, seconds),
    })
    return { client: new VaultClient(transport), preset: at.token }
  }

  /** The Vault client, once the node-vault client handed in has been read (immediately otherwise). */
  ready(): Promise<VaultClient> {
    return this.connecting.then((c) => c.client)
  }

  /** Remaining TTL per cached identity, at this instant (the metrics gauge reads it at scrape time). */
  *ttlSamples(): Iterable<{ mount: string; role: string; remainingSeconds: number }> {
    const now = this.clock.now()
    for (const s of this.allSessions()) {
      // A seed token not looked up yet has no known TTL: no sample, rather than "never expires".
      if (s.lease && (s.lease.lookedUp || s.lease.origin === 'login')) yield { mount: s.identity.mount, role: s.identity.role, remainingSeconds: remainingSeconds(s.lease, now) }
    }
  }

  /** The cached sessions (read-only view for hosts and tests). */
  get tokenSessions(): TokenSession[] {
    return [...this.allSessions()]
  }

  /** KES's `_get`: read `key` with the identity's token; kvVersion 1 returns `data`, 2 returns `data.data`, JSON-stringified. */
  override async _get({ key, specOptions }: GetArgs, context: KVContext = {}): Promise<unknown> {
    const spec = specOptions as SpecOptions
    const kvVersion = spec.kvVersion === undefined ? 2 : spec.kvVersion
    // Checked before any Vault call: a bad spec costs Vault nothing (KES found out after the read). A caller that went
    // through getSecretManifestData had every path checked with its field already; a direct caller gets "key".
    if (typeof key !== 'string' || key === '') throw new SecretReadError('spec.data[].key must be a non-empty Vault path', String(key))
    checkSecretPath('key', key, this.settings)
    if (kvVersion !== 1 && kvVersion !== 2) {
      throw new SecretReadError(`Unknown "kvVersion" specified: ${JSON.stringify(kvVersion)}; expected 1 or 2`, key)
    }
    // A call admitted before close() goes on (close waits for it); a direct `_get` after close() is refused.
    if (this.closing && this.admitted === 0) throw new SecretReadError('the Vault backend is closed; nothing is read', key)
    const work = this.read(spec, key, kvVersion, context)
    this.inflight.add(work)
    try {
      return await work
    } finally {
      this.inflight.delete(work)
    }
  }

  /**
   * KES's entry point, with the tenant checks first: every path, the identity (mount, role, service account) and
   * kvVersion are checked before any Vault request, so a refused spec costs Vault nothing and names its field. The
   * Secret data that comes back is refused whole if any value holds a credential of this backend.
   */
  override async getSecretManifestData(args: GetSecretManifestDataArgs): Promise<SecretManifestData> {
    // close() refuses new calls, and waits (bounded) for the ones admitted before it.
    if (this.closing) throw new SecretReadError('the Vault backend is closed; nothing is read', '')
    this.admitted++
    const work = this.manifest(args)
    this.inflight.add(work)
    try {
      return await work
    } finally {
      this.inflight.delete(work)
      this.admitted--
    }
  }

  private async manifest(args: GetSecretManifestDataArgs): Promise<SecretManifestData> {
    const spec = args?.spec as (SpecOptions & Record<string, unknown>) | null | undefined
    if (spec !== null && typeof spec === 'object') {
      if (!this.connection) await this.connecting
      guardSpecPaths(spec, this.settings)
      // A spec that reads nothing needs no identity (KES gave it an empty Secret).
      if (!specPaths(spec).next().done) this.identityOf(spec, { namespace: args.namespace, permittedServiceAccounts: args.permittedServiceAccounts })
    }
    const data = await super.getSecretManifestData(args)
    try {
      assertNoCredential(data, spec ?? {})
    } catch (err) {
      this.log.warn({ namespace: args.namespace, error: (err as Error).message }, 'refused to write a credential the backend holds into a Secret')
      throw err
    }
    return data
  }

  private async read(spec: SpecOptions, key: string, kvVersion: 1 | 2, context: KVContext): Promise<string> {
    if (!this.connection) await this.connecting // once: the hot path does not yield for it
    this.sweepIdle()
    const session = this.sessionFor(spec, context)
    let res: VaultReadResponse
    try {
      // Dynamic secrets: an answer with a lease is kept and served by its lease (lib/backend/dynamic-secrets.ts).
      res = await this.dynamic.read(session, key, () => this.readShared(session, key))
    } catch (err) {
      throw this.readFailure(err, key, kvVersion, session.identity)
    } finally {
      this.settle(session)
    }
    const body = res.data as { data?: unknown } | null | undefined
    const data = kvVersion === 1 ? body : body?.data
    // KES failed with a TypeError here; never turn a missing payload into the text "undefined" in a Secret.
    if (data === undefined || data === null) {
      this.metrics.read('failure')
      throw new SecretReadError(`Vault answered "${key}" without ${kvVersion === 1 ? 'data' : 'data.data'}; is kvVersion ${kvVersion} right for this mount?`, key)
    }
    let text: string
    try {
      text = this.serialized(res, kvVersion, data)
    } catch {
      // JSON.stringify recurses: an answer nested hundreds of thousands deep ends in a RangeError, not a Secret.
      this.metrics.read('failure')
      throw new SecretReadError(`Vault's answer for "${key}" is nested too deeply to be a Secret's content`, key)
    }
    this.metrics.read('success')
    return text
  }

  /** One JSON text per answer: the items of a spec that read one secret share it (no copy per item). */
  private readonly texts = new WeakMap<VaultReadResponse, Partial<Record<1 | 2, string>>>()

  private serialized(res: VaultReadResponse, kvVersion: 1 | 2, data: unknown): string {
    let texts = this.texts.get(res)
    if (!texts) this.texts.set(res, (texts = {}))
    return (texts[kvVersion] ??= JSON.stringify(data))
  }

  /** Concurrent reads of one path by one identity (several ExternalSecrets, or items of one) share one request. */
  private readShared(session: TokenSession, key: string): Promise<VaultReadResponse> {
    const id = JSON.stringify([session.identity.key, key])
    let p = this.reads.get(id)
    if (!p) {
      const client = this.connection!.client
      p = session.withToken(key, (token) => client.read(key, token)).finally(() => this.reads.delete(id))
      this.reads.set(id, p)
    }
    return p
  }

  private readFailure(err: unknown, key: string, kvVersion: number, id: Identity): Error {
    const as = `as ${describeIdentity(id)}`
    let result: ReadResult = 'failure'
    let out: Error
    if (err instanceof PolicyDeniedError) {
      result = 'denied'
      out = err
    } else if (err instanceof TokenUnavailableError || err instanceof SessionClosedError) {
      out = err
    } else if (err instanceof VaultRequestError) {
      switch (err.kind) {
        case 'not_found': {
          result = 'not_found'
          const hint =
            kvVersion === 2 && !key.split('/').includes('data')
              ? `; for a KV version 2 mount the path must include /data/ (e.g. "${key.replace(/^([^/]+)\//, '$1/data/')}"), or set kvVersion: 1 for a KV version 1 mount`
              : '; check the path, and that the secret (or its latest version) is not deleted'
          out = new SecretReadError(`secret "${key}" not found in Vault (404) ${as}${hint}`, key, 404)
          break
        }
        default:
          out = err.transient
            ? new SecretReadError(`reading "${key}" ${as} failed: ${err.vaultMessage}${err.status ? ` (${err.status})` : ''}; Vault is unavailable, the existing Secret is kept and the read is retried on the next poll`, key, err.status, err.retryAfterSeconds)
            : new SecretReadError(`reading "${key}" ${as} failed: ${err.status ? `${err.status} ` : ''}${err.vaultMessage}`, key, err.status)
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
    const connection = this.connection
    if (!connection) throw new Error('the Vault backend is not connected yet; await backend.ready() first')
    const staticToken = this.settings.vaultToken ?? connection.preset
    const identity = this.identityOf(spec, context)
    const cached = this.sessions.get(identity.key) ?? this.starting.get(identity.key)
    if (cached) return cached
    // KES used a token preset on the node-vault client for every role; here only for the operator's default identity:
    // a role a tenant names logs in as that role and never reads with the controller's token.
    const preset = connection.preset && this.isDefaultIdentity(identity, context) ? connection.preset : undefined
    const source = this.tokenSource(identity, staticToken, connection, preset)
    const session = new TokenSession(identity, source, connection.client, this.sessionDeps, this.carried.get(identity.key))
    // A session that starts with the operator's token has one already; any other gets one by logging in.
    if (source.seed) this.sessions.set(identity.key, session)
    else this.starting.set(identity.key, session)
    return session
  }

  /** After a read: a starting identity that now holds a token enters the cache; one that does not is let go. */
  private settle(session: TokenSession): void {
    const key = session.identity.key
    if (this.starting.get(key) !== session || session.busy) return
    this.starting.delete(key)
    if (session.lease) this.sessions.set(key, session)
    else this.carry(session)
  }

  /** A cache of sessions whose drop (eviction, idleness) retires the session: its token revoked, its backoff kept. */
  private pool(max: number): LRUCache<string, TokenSession> {
    return new LRUCache<string, TokenSession>({
      max,
      dispose: (session, _key, reason) => {
        if (reason !== 'evict' && reason !== 'delete') return
        if (reason === 'evict' && this.clock.now() - session.lastUsed < 2 * this.settings.pollerIntervalMilliseconds) {
          this.log.warn({ mount: session.identity.mount, role: session.identity.role }, 'token cache is full and evicted an identity in use; raise VAULT_TOKEN_CACHE_MAX above the number of identities')
        }
        if (!this.closing) this.retire(session)
      },
    })
  }

  /** Every session: the cached ones, then the ones still getting their first token. */
  private *allSessions(): Generator<TokenSession> {
    yield* this.sessions.values()
    yield* this.starting.values()
  }

  /** The identity a spec reads as; every name in it checked (spec-guard.ts), the service account permitted. */
  private identityOf(spec: SpecOptions, context: KVContext): Identity {
    const staticToken = !!(this.settings.vaultToken ?? this.connection?.preset)
    return resolveIdentity(spec, { namespace: context.namespace, staticToken, permittedServiceAccounts: context.permittedServiceAccounts }, this.settings)
  }

  /** The operator's default identity, and not a per-namespace one: a token preset on the client serves no namespace. */
  private isDefaultIdentity(identity: Identity, context: KVContext): boolean {
    if (identity.namespace !== undefined) return false
    try {
      return identity.key === this.identityOf({}, context).key
    } catch {
      return false
    }
  }

  private tokenSource(id: Identity, staticToken: string | undefined, connection: Connection, preset: string | undefined): TokenSource {
    if (id.method === 'token') {
      return { canLogin: false, seed: staticToken, login: () => Promise.reject(new CredentialError('a static token cannot log in')) }
    }
    const method = this.authMethod(id)
    const client = connection.client
    return {
      canLogin: true,
      seed: preset && !connection.presetGivenUp ? preset : undefined,
      // KES replaced the client's token by the first login's: once one identity gives the preset up, so do new ones.
      seedGivenUp: (token) => {
        if (token === connection.preset) connection.presetGivenUp = true
      },
      login: () => method.login(client, () => this.clock.now()),
    }
  }

  private authMethod(id: Identity): AuthMethod {
    const o = this.options
    const s = this.settings
    if (id.method === 'approle') {
      const secretId = (this.secretIdReader ??= holdingCurrent(o.approle?.secretId ?? readSecretIdFile(s.approleSecretIdFile!)))
      return new AppRoleAuth(id.mount, id.role, s.approleRoleId!, secretId)
    }
    let jwt = this.jwt
    if (id.namespace) {
      if (!o.tokenRequests) throw new SpecError('spec.vaultServiceAccount', `service account "${id.serviceAccount}" needs Kubernetes API access (TokenRequest) to log in as it`)
      jwt = o.tokenRequests.forServiceAccount({ namespace: id.namespace, serviceAccount: id.serviceAccount!, audiences: s.authAudiences })
    }
    return id.method === 'jwt' ? new JwtAuth(id.mount, id.role, jwt) : new KubernetesAuth(id.mount, id.role, jwt)
  }

  /** Identities no ExternalSecret asked for within VAULT_IDENTITY_IDLE_MILLISECONDS are dropped, their tokens revoked. */
  private sweepIdle(): void {
    const idle = this.settings.identityIdleMilliseconds
    const now = this.clock.now()
    if (idle === 0 || now - this.lastSweep < Math.min(idle, this.settings.pollerIntervalMilliseconds)) return
    this.lastSweep = now
    this.dynamic.sweepIdle(now, idle) // before the identities: revoking a lease needs its identity's token
    for (const [key, session] of this.sessions.entries()) if (now - session.lastUsed >= idle) this.sessions.delete(key)
  }

  /**
   * Revoke a dropped identity's token in the background (tracked, so close() waits for it), once the reads it had in
   * flight are answered; then keep its backoff for the identity's next session.
   */
  private retire(session: TokenSession): void {
    // Now, for a new session of this identity created before the retirement ends; again when it ends.
    this.carry(session)
    const done = session
      .retire({ revoke: true })
      .catch((err: unknown) => {
        this.log.warn({ mount: session.identity.mount, role: session.identity.role, error: (err as Error).message }, 'revoking the token of a dropped identity failed; it will expire at its TTL')
        return false
      })
      .finally(() => this.carry(session))
    this.retiring.add(done)
    void done.finally(() => this.retiring.delete(done))
  }

  /** What outlives a dropped session (policy.ts), read again once its login in flight has ended, so that its failure counts. */
  private carry(session: TokenSession): void {
    const key = session.identity.key
    // A newer session of this identity already started from what was carried; it carries its own when dropped.
    // (During the LRU's dispose the dropped session itself is still in the map.)
    const cached = this.sessions.peek(key) ?? this.starting.get(key)
    if (cached && cached !== session) return
    const carried = carriedOver(session.state)
    if (carried) this.carried.set(key, carried)
    else this.carried.delete(key)
  }

  /**
   * Stop: refuse new reads, wait (bounded) for reads in flight, then revoke every token this backend created,
   * including one whose login was still on the wire. A second call waits for the first.
   */
  close(options: CloseOptions = {}): Promise<{ revoked: number }> {
    this.closing ??= this.shutdown(options.revoke ?? this.settings.revokeTokensOnShutdown)
    return this.closing
  }

  private async shutdown(revoke: boolean): Promise<{ revoked: number }> {
    this.detachMetrics()
    // Every request ends within its deadline; a credential source that hangs must not hold shutdown forever. Reads in
    // flight get two deadlines, lease revocations one, token revocations one, and leases whose token's revocation did
    // not happen whatever is left: 4 deadlines in all, whatever Vault does.
    const deadline = this.settings.requestTimeoutMilliseconds
    const started = performance.now()
    const left = (most: number) => Math.max(0, Math.min(most, 4 * deadline - (performance.now() - started)))
    await settledWithin([...this.inflight], left(2 * deadline))
    // Leases first (revoking one needs its identity's token); those a token's revocation takes are left to it.
    await settledWithin([this.dynamic.close(revoke)], left(deadline))
    const sessions = [...this.allSessions()]
    const tokens = new Map(sessions.map((s) => [s, s.lease]))
    this.sessions.clear()
    this.starting.clear()
    const results = await settledWithin([...sessions.map((s) => s.retire({ revoke })), ...this.retiring], left(deadline))
    // A token whose revocation was refused, failed or came too late is still alive, and so are the leases left to it:
    // revoke those one by one with it, in what is left of the 4 deadlines.
    const unrevoked = new Map([...tokens].filter((_, i) => results[i]?.status !== 'fulfilled' || results[i]?.value !== true))
    if (revoke && unrevoked.size > 0) await settledWithin([this.dynamic.revokeLeftWith(unrevoked)], left(deadline))
    let revoked = 0
    for (const r of results) {
      if (r.status === 'fulfilled' && r.value === true) revoked++
      if (r.status === 'rejected') this.log.warn({ error: (r.reason as Error).message }, 'revoking a vault token at shutdown failed; it will expire at its TTL')
    }
    this.options.tokenRequests?.close()
    this.connection?.client.transport.close()
    this.log.info({ revoked }, 'vault backend closed')
    return { revoked }
  }
}

/** The AppRole secret_id from a file, read at each login (it may be rotated). */
function readSecretIdFile(path: string): () => Promise<string> {
  return async () => {
    const { readFile } = await import('node:fs/promises')
    try {
      return (await readFile(path, 'utf8')).trim()
    } catch (e) {
      throw new CredentialError(`VAULT_APPROLE_SECRET_ID_FILE=${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
}

/** Settle what settles within `ms` (real time); what does not is reported as not settled. */
async function settledWithin<T>(work: Promise<T>[], ms: number): Promise<PromiseSettledResult<T | undefined>[]> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
    timer.unref?.()
  })
  try {
    return await Promise.allSettled(work.map((w) => Promise.race([w, late])))
  } finally {
    clearTimeout(timer)
  }
}
