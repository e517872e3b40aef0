/**
 * The embedded dev Vault: a real HTTP server on loopback with Vault's token semantics on an
 * injected clock, plus the levers tests and demos pull (seed, revoke, rotate, fault, count).
 */
import { randomBytes } from 'node:crypto'
import { type Clock, systemClock } from '../types.js'
import { type CounterSnapshot, Counters } from './counters.js'
import { inProcessExchange } from './in-process.js'
import type { HttpExchange } from '../vault/transport.js'
import { buildDatabaseRole } from './dynamic.js'
import { type FaultHandle, type FaultSpec, Faults } from './faults.js'
import { type ServiceAccountJwtOptions, makeJwt, makeServiceAccountJwt } from './jwt.js'
import { addKv2Version } from './kv.js'
import type { LeaseCounts, SecretLease } from './leases.js'
import { type Policy, type PolicyRule, policyFromInput } from './policy.js'
import { HttpFront, type StandbyMode } from './server.js'
import {
  type AuthMountType,
  type DatabaseRole,
  DevStore,
  type MountTuning,
  type Role,
  type RoleInput,
  type TokenEntry,
  type TokenRole,
  type TokenRoleInput,
  normalizeMount,
  normalizeNamespace,
} from './store.js'
import { SYSTEM_MAX_LEASE_TTL_SECONDS, parseDurationSeconds } from './ttl.js'
import { type ErrorWording, VaultSemantics } from './vault.js'

export interface DevVaultOptions {
  /** Default: the system clock. Tests pass a ManualClock shared with the code under test. */
  clock?: Clock
  /** Default 0: any free port. */
  port?: number
  /** Default: a random "hvs.…" token. */
  rootToken?: string
  /** 403 wording for invalid tokens: 'new' (default) = permission denied + invalid token; 'old' = permission denied. */
  errorWording?: ErrorWording
  /** Mount default_lease_ttl (default 768h). */
  defaultLeaseTtlSeconds?: number
  /** Mount max_lease_ttl (default 768h). */
  maxLeaseTtlSeconds?: number
  /** Randomness for token ids and accessors (default: node:crypto). */
  random?: () => number
  /**
   * Start as a standby of this active node. Every request but sys/health is forwarded to it and answered as it
   * answers (Vault's default), or, with `standbyMode: 'redirect'`, answered with a 307 to it.
   */
  standbyOf?: DevVault
  /** How a standby answers: 'forward' (default for `standbyOf`, as Vault) or 'redirect' (307 + Location). */
  standbyMode?: StandbyMode
  /** Default true: mount KV v2 at `secret/` like `vault server -dev`. */
  kvV2AtSecret?: boolean
}

/** Options shared by the seeding calls. */
export interface InNamespace {
  /** Vault Enterprise namespace ("" or omitted = root). */
  namespace?: string
}

export async function startDevVault(options: DevVaultOptions = {}): Promise<DevVault> {
  const vault = new DevVault(options)
  await vault.startListening(options.port ?? 0)
  return vault
}

export class DevVault {
  readonly clock: Clock
  readonly rootToken: string
  /** Switch the 403 wording at runtime (old Vault / OpenBao vs newer Vault). */
  errorWording: ErrorWording
  /** The active node this standby answers for (undefined on an active node, or a standby that lost its active). */
  standbyOf?: DevVault
  readonly standbyMode?: StandbyMode
  private readonly wasStandby: boolean

  private readonly store = new DevStore()
  private readonly semantics: VaultSemantics
  private readonly counterSet = new Counters()
  private readonly faultSet = new Faults()
  private readonly http: HttpFront
  private isSealed = false
  private everListened = false

  constructor(options: DevVaultOptions = {}) {
    this.clock = options.clock ?? systemClock
    this.rootToken = options.rootToken ?? `hvs.${randomBytes(18).toString('base64url').slice(0, 24)}`
    this.errorWording = options.errorWording ?? 'new'
    this.standbyOf = options.standbyOf
    this.wasStandby = options.standbyOf !== undefined
    this.standbyMode = this.wasStandby ? (options.standbyMode ?? 'forward') : undefined
    this.semantics = new VaultSemantics({
      clock: this.clock,
      store: this.store,
      rootToken: this.rootToken,
      errorWording: () => this.errorWording,
      defaultLeaseTtlSeconds: options.defaultLeaseTtlSeconds ?? SYSTEM_MAX_LEASE_TTL_SECONDS,
      maxLeaseTtlSeconds: options.maxLeaseTtlSeconds ?? SYSTEM_MAX_LEASE_TTL_SECONDS,
      random: options.random,
    })
    const root = this.semantics.makeRootToken()
    this.store.ns('').tokens.set(root.id, root)
    if (options.kvV2AtSecret !== false) this.enableKv('secret', 2)
    this.http = new HttpFront({
      clock: this.clock,
      semantics: this.semantics,
      counters: this.counterSet,
      faults: this.faultSet,
      sealed: () => this.isSealed,
      standby: this.wasStandby ? { mode: this.standbyMode!, active: () => this.standbyOf?.http } : undefined,
    })
  }

  /** http://127.0.0.1:<port> */
  get address(): string {
    return this.http.address
  }

  get port(): number {
    return Number(new URL(this.http.address).port)
  }

  get isStandby(): boolean {
    return this.wasStandby
  }

  /** On a standby: the active node it now answers for; undefined = none (requests get Vault's "no active node" errors). */
  setActiveNode(active: DevVault | undefined): void {
    if (!this.wasStandby) throw new Error('dev vault: setActiveNode is for a standby (start it with standbyOf or startStandby)')
    this.standbyOf = active
  }

  // ---- lifecycle -----------------------------------------------------------

  /** Listen (again) on the same port; the first call picks `port` (0 = any free port). */
  async startListening(port?: number): Promise<void> {
    if (!this.everListened) {
      await this.http.listen(port ?? 0)
      this.everListened = true
    } else {
      await this.http.resume()
    }
  }

  /** Stop listening and drop open connections: clients get ECONNREFUSED until startListening(). */
  async stopListening(): Promise<void> {
    await this.http.stop()
  }

  get listening(): boolean {
    return this.http.listening
  }

  async close(): Promise<void> {
    this.faultSet.clear()
    await this.http.close()
  }

  /**
   * An exchange that talks to this dev Vault in-process (no socket): same faults, seal, semantics and counters.
   * Hand it to a backend as `vaultExchange`; for benchmarks and soaks that send millions of simulated requests.
   */
  inProcessExchange(): HttpExchange {
    return inProcessExchange({
      clock: this.clock,
      semantics: this.semantics,
      counters: this.counterSet,
      faults: this.faultSet,
      sealed: () => this.isSealed,
      reachable: () => !this.everListened || this.http.listening,
    })
  }

  /**
   * A standby of this node on its own port. Without `standbyMode` it answers 307 to here, as it did before
   * forwarding was modelled (tests of redirects rely on it); pass `standbyMode: 'forward'` for Vault's default.
   */
  startStandby(options: Omit<DevVaultOptions, 'standbyOf'> = {}): Promise<DevVault> {
    return startDevVault({ clock: this.clock, standbyMode: 'redirect', ...options, standbyOf: this })
  }

  // ---- mounts, roles, policies ----------------------------------------------

  enableAuth(mount: string, type: AuthMountType, options: InNamespace & MountTuning & { bound_issuer?: string } = {}): void {
    this.store.ns(options.namespace).auth.set(normalizeMount(mount), {
      type,
      roles: new Map(),
      accessor: `auth_${type}_${this.semantics.uuid().slice(0, 8)}`,
      default_lease_ttl: options.default_lease_ttl,
      max_lease_ttl: options.max_lease_ttl,
      bound_issuer: options.bound_issuer,
    })
  }

  enableKubernetesAuth(mount = 'kubernetes', options: InNamespace & MountTuning = {}): void {
    this.enableAuth(mount, 'kubernetes', options)
  }

  enableApproleAuth(mount = 'approle', options: InNamespace & MountTuning = {}): void {
    this.enableAuth(mount, 'approle', options)
  }

  /** The jwt auth method (static keys: JWTs made by `makeJwt` verify). `bound_issuer`: the `iss` every JWT must carry. */
  enableJwtAuth(mount = 'jwt', options: InNamespace & MountTuning & { bound_issuer?: string } = {}): void {
    this.enableAuth(mount, 'jwt', options)
  }

  enableKv(mount: string, version: 1 | 2, options: InNamespace & MountTuning = {}): void {
    const uuid = this.semantics.uuid()
    this.store.ns(options.namespace).secrets.set(normalizeMount(mount), {
      type: version === 1 ? 'kv-v1' : 'kv-v2',
      secrets: new Map(),
      accessor: `kv_${uuid.slice(0, 8)}`,
      uuid,
      default_lease_ttl: options.default_lease_ttl,
      max_lease_ttl: options.max_lease_ttl,
    })
  }

  /**
   * Create or replace a role on an auth mount. Durations: seconds or Go strings ("1h"). Its service tokens are
   * always renewable (Vault has no `renewable` on these roles): use `token_type: 'batch'` or `writeTokenRole`.
   */
  writeRole(mount: string, name: string, input: RoleInput, options: InNamespace = {}): Role {
    const m = this.authMount(mount, options.namespace)
    const role = buildRole(name, input, m.type, () => this.semantics.uuid())
    m.roles.set(name, role)
    return { ...role }
  }

  /** A token role (`auth/token/roles/:name`), for `auth/token/create/:name`: the one way to get non-renewable service tokens. */
  writeTokenRole(name: string, input: TokenRoleInput, options: InNamespace = {}): TokenRole {
    const roles = this.store.ns(options.namespace).tokenRoles
    const role = this.semantics.buildTokenRole(name, input as Record<string, unknown>, roles.get(name))
    if (typeof role === 'string') throw new Error(`dev vault: token role "${name}": ${role}`)
    roles.set(name, role)
    return { ...role }
  }

  getTokenRole(name: string, options: InNamespace = {}): TokenRole | undefined {
    const r = this.store.ns(options.namespace).tokenRoles.get(name)
    return r ? { ...r } : undefined
  }

  deleteTokenRole(name: string, options: InNamespace = {}): boolean {
    return this.store.ns(options.namespace).tokenRoles.delete(name)
  }

  /** Change some fields of an existing role; tokens see the change at their next renewal. */
  updateRole(mount: string, name: string, patch: RoleInput, options: InNamespace = {}): Role {
    const m = this.authMount(mount, options.namespace)
    const old = m.roles.get(name)
    if (!old) throw new Error(`dev vault: no role "${name}" on auth/${mount}`)
    const merged = buildRole(name, { ...roleAsInput(old), ...patch }, m.type, () => this.semantics.uuid())
    m.roles.set(name, merged)
    return { ...merged }
  }

  deleteRole(mount: string, name: string, options: InNamespace = {}): boolean {
    return this.authMount(mount, options.namespace).roles.delete(name)
  }

  getRole(mount: string, name: string, options: InNamespace = {}): Role | undefined {
    const r = this.authMount(mount, options.namespace).roles.get(name)
    return r ? { ...r } : undefined
  }

  /** An AppRole secret_id for a role (generated when not given). */
  addSecretId(mount: string, roleName: string, secretId?: string, options: InNamespace = {}): string {
    const role = this.authMount(mount, options.namespace).roles.get(roleName)
    if (!role) throw new Error(`dev vault: no role "${roleName}" on auth/${mount}`)
    const id = secretId ?? this.semantics.newSecretId()
    role.secret_ids.push(id)
    return id
  }

  /**
   * Create or replace an ACL policy (`default` included: edit it to take the self endpoints away). `policy` is
   * - a list of path prefixes (after /v1/) it may read: `['secret/data/app/']` = `path "secret/data/app/*" { capabilities = ["read"] }`,
   * - rules with capabilities: `[{ path: 'secret/data/+/config', capabilities: ['read', 'list'] }]` (mixable with prefixes),
   * - or HCL text, as `vault policy write` sends it.
   */
  writePolicy(name: string, policy: string | ReadonlyArray<string | PolicyRule>, options: InNamespace = {}): void {
    const n = name.trim().toLowerCase()
    if (n === 'root' || n === 'response-wrapping') throw new Error(`dev vault: cannot update "${n}" policy`)
    this.store.setPolicy(this.store.ns(options.namespace), policyFromInput(n, policy))
  }

  /** The policy as stored (its HCL and parsed rules), or undefined. */
  getPolicy(name: string, options: InNamespace = {}): Policy | undefined {
    const p = this.store.ns(options.namespace).policies.get(name.toLowerCase())
    return p ? { ...p, rules: p.rules.map((r) => ({ ...r, capabilities: [...r.capabilities] })) } : undefined
  }

  /** Vault refuses to delete `default` and `root`; to take away what `default` grants, write it empty. */
  deletePolicy(name: string, options: InNamespace = {}): boolean {
    const n = name.trim().toLowerCase()
    if (n === 'default') throw new Error('dev vault: cannot delete default policy (Vault refuses too); write it empty instead: writePolicy("default", [])')
    if (n === 'root' || n === 'response-wrapping') throw new Error(`dev vault: cannot delete "${n}" policy`)
    return this.store.deletePolicy(this.store.ns(options.namespace), n)
  }

  // ---- dynamic secrets (the database engine) ---------------------------------

  /**
   * A `database` secrets engine at `mount`: each read of `<mount>/creds/<role>` mints a new credential (a database
   * user) under a new lease. `default_ttl` / `max_ttl` tune the mount (its default_lease_ttl / max_lease_ttl);
   * `renewable: false` models an engine whose leases cannot be extended (AWS STS credentials, for example).
   */
  enableDatabase(mount = 'database', options: InNamespace & { default_ttl?: number | string; max_ttl?: number | string; renewable?: boolean } = {}): void {
    const uuid = this.semantics.uuid()
    const tuning = (field: string, v: number | string | undefined) => (v === undefined ? undefined : seconds(field, v) || undefined)
    this.store.ns(options.namespace).secrets.set(normalizeMount(mount), {
      type: 'database',
      secrets: new Map(),
      accessor: `database_${uuid.slice(0, 8)}`,
      uuid,
      default_lease_ttl: tuning('default_ttl', options.default_ttl),
      max_lease_ttl: tuning('max_ttl', options.max_ttl),
      database: { roles: new Map(), renewable: options.renewable ?? true },
    })
  }

  /** A role of a database mount: the TTL and max TTL of the credentials `creds/<name>` mints (0 or omitted = the mount's). */
  writeDatabaseRole(mount: string, name: string, input: { default_ttl?: number | string; max_ttl?: number | string } = {}, options: InNamespace = {}): DatabaseRole {
    const engine = this.store.ns(options.namespace).secrets.get(normalizeMount(mount))?.database
    if (!engine) throw new Error(`dev vault: no database mount "${mount}"; call enableDatabase first`)
    const role = buildDatabaseRole(name, input, engine.roles.get(name))
    if (typeof role === 'string') throw new Error(`dev vault: database role "${name}": ${role}`)
    engine.roles.set(name, role)
    return { ...role }
  }

  /**
   * Credentials alive now (what the database holds as users): leases not revoked, not expired, whose token is alive.
   * Filter by mount, role or namespace.
   */
  liveCredentials(options: InNamespace & { mount?: string; role?: string } = {}): number {
    return this.liveLeases(options).length
  }

  /** The live leases (copies), each with the token that read it (`clientToken`). */
  liveLeases(options: InNamespace & { mount?: string; role?: string } = {}): SecretLease[] {
    return this.store.leases
      .live(this.clock.now())
      .filter((l) => options.namespace === undefined || l.namespace === normalizeNamespace(options.namespace))
      .filter((l) => options.mount === undefined || l.mount === normalizeMount(options.mount))
      .filter((l) => options.role === undefined || l.role === options.role)
      .map((l) => ({ ...l }))
  }

  /** Revoke one lease from outside, as `vault lease revoke` would (counted as a revocation by request). */
  revokeLease(leaseId: string): boolean {
    return this.store.leases.revoke(leaseId, this.clock.now())
  }

  /** Leases minted, renewed and revoked (by why) since the start or the last resetCounters(). */
  leaseCounts(): LeaseCounts {
    this.store.leases.purge(this.clock.now(), true)
    return this.store.leases.counts()
  }

  // ---- KV --------------------------------------------------------------------

  /** Write a secret; on KV v2 a new version (returned). `path` is below the mount: ("secret", "app/db"). */
  putSecret(mount: string, path: string, data: Record<string, unknown>, options: InNamespace = {}): number {
    const m = this.kvMount(mount, options.namespace)
    const key = normalizeMount(path)
    const now = this.clock.now()
    if (m.type === 'kv-v1') {
      m.secrets.set(key, [{ version: 1, data: { ...data }, created_time: now, deletion_time: null, destroyed: false }])
      return 1
    }
    return addKv2Version(m, key, data, now).version
  }

  /** KV v1: remove. KV v2: soft-delete the given versions (default: the latest). */
  deleteSecret(mount: string, path: string, options: InNamespace & { versions?: number[] } = {}): void {
    const m = this.kvMount(mount, options.namespace)
    const key = normalizeMount(path)
    if (m.type === 'kv-v1') {
      m.secrets.delete(key)
      return
    }
    const versions = m.secrets.get(key) ?? []
    const wanted = options.versions ?? (versions.length ? [versions[versions.length - 1]!.version] : [])
    for (const v of versions) if (wanted.includes(v.version) && v.deletion_time === null) v.deletion_time = this.clock.now()
  }

  /** KV v2: destroy versions for good (default: the latest). */
  destroySecret(mount: string, path: string, options: InNamespace & { versions?: number[] } = {}): void {
    const m = this.kvMount(mount, options.namespace)
    const versions = m.secrets.get(normalizeMount(path)) ?? []
    const wanted = options.versions ?? (versions.length ? [versions[versions.length - 1]!.version] : [])
    for (const v of versions) {
      if (wanted.includes(v.version)) {
        v.destroyed = true
        v.data = null
      }
    }
  }

  // ---- service-account JWTs (the TokenReview stand-in) ---------------------------

  /**
   * A JWT-shaped service-account token; accepted for login unless `accept: false`. `issuedAt` defaults to an hour
   * before expiry, or to now on the dev Vault's clock for a longer-lived JWT (never in the future: the kubernetes
   * auth method refuses a JWT whose iat/nbf is more than 60 s ahead).
   */
  makeServiceAccountJwt(options: ServiceAccountJwtOptions & { accept?: boolean }): string {
    const jwt = makeServiceAccountJwt({ ...options, issuedAt: options.issuedAt ?? Math.min(this.clock.now(), options.expiresAt - 3600_000) })
    if (options.accept !== false) this.acceptJwt(jwt)
    return jwt
  }

  acceptJwt(jwt: string): void {
    this.semantics.acceptedJwts.add(jwt)
  }

  rejectJwt(jwt: string): void {
    this.semantics.acceptedJwts.delete(jwt)
  }

  /** Replace the whole accepted set (a key rotation: old JWTs stop working). */
  rotateJwts(accepted: string[]): void {
    this.semantics.acceptedJwts = new Set(accepted)
  }

  /**
   * A JWT for the jwt auth method with these claims, signed by a key the mount trusts unless `accept: false`.
   * Times are whole seconds on the dev Vault's clock: `{ sub: 'ci', aud: 'vault', exp: Math.floor(clock.now() / 1000) + 600 }`.
   */
  makeJwt(claims: Record<string, unknown>, options: { accept?: boolean } = {}): string {
    const jwt = makeJwt(claims)
    if (options.accept !== false) this.acceptJwt(jwt)
    return jwt
  }

  // ---- tokens ---------------------------------------------------------------------

  /** Revoke one token, found by its id or its accessor. Returns how many tokens died (children too). */
  revokeToken(tokenOrAccessor: string): number {
    const t = this.store.findToken(tokenOrAccessor) ?? this.store.findByAccessor(tokenOrAccessor)
    return t ? this.store.revoke(t) : 0
  }

  /** Revoke every token a role issued (like `vault token revoke -mode=path` on its login). */
  revokeRoleTokens(mount: string, role: string, options: InNamespace = {}): number {
    const ns = normalizeNamespace(options.namespace)
    const m = normalizeMount(mount)
    let n = 0
    for (const t of this.store.allTokens()) {
      if (t.namespace === ns && t.role?.mount === m && t.role.name === role) n += this.store.revoke(t)
    }
    return n
  }

  /** lookup-self's `data` for a token, computed now; undefined when it is revoked or expired. No request is counted. */
  lookupToken(token: string): Record<string, unknown> | undefined {
    const t = this.store.findToken(token)
    if (!t || (t.expireAt !== null && t.expireAt <= this.clock.now())) return undefined
    return this.semantics.lookupData(t)
  }

  /** Tokens alive now (not revoked, not past expire_time), root token excluded. */
  liveTokens(options: { role?: string; mount?: string } & InNamespace = {}): number {
    const now = this.clock.now()
    return this.store
      .allTokens()
      .filter((t: TokenEntry) => t.id !== this.rootToken)
      .filter((t) => t.expireAt === null || t.expireAt > now)
      .filter((t) => options.namespace === undefined || t.namespace === normalizeNamespace(options.namespace))
      .filter((t) => options.role === undefined || t.role?.name === options.role)
      .filter((t) => options.mount === undefined || t.role?.mount === normalizeMount(options.mount)).length
  }

  // ---- faults --------------------------------------------------------------------

  /** Inject a fault; `handle.remove()` ends it, `times` limits it to the next N matching requests. */
  injectFault(spec: FaultSpec): FaultHandle {
    return this.faultSet.add(spec)
  }

  clearFaults(): void {
    this.faultSet.clear()
  }

  /** Seal: every request but sys/health gets 503 `Vault is sealed`; sys/health reports sealed. */
  seal(): void {
    this.isSealed = true
  }

  unseal(): void {
    this.isSealed = false
  }

  get sealed(): boolean {
    return this.isSealed
  }

  // ---- counters ------------------------------------------------------------------

  /** A copy of the counters now. */
  counters(): CounterSnapshot {
    return this.counterSet.snapshot()
  }

  /** Resets the request counters and the lease counts. */
  resetCounters(): void {
    this.counterSet.reset()
    this.store.leases.resetCounts()
  }

  // ---- internals -------------------------------------------------------------------

  private authMount(mount: string, namespace?: string) {
    const m = this.store.ns(namespace).auth.get(normalizeMount(mount))
    if (!m) throw new Error(`dev vault: no auth mount "${mount}"${namespace ? ` in namespace "${namespace}"` : ''}; call enableAuth first`)
    return m
  }

  private kvMount(mount: string, namespace?: string) {
    const m = this.store.ns(namespace).secrets.get(normalizeMount(mount))
    if (!m || m.type === 'database') throw new Error(`dev vault: no KV mount "${mount}"${namespace ? ` in namespace "${namespace}"` : ''}; call enableKv first`)
    return m
  }
}

function seconds(field: string, v: number | string | undefined): number {
  const d = parseDurationSeconds(v)
  if (!d.ok) throw new Error(`dev vault: role field ${field}: ${d.error}`)
  return d.seconds
}

export const RENEWABLE_REFUSED =
  "auth-method roles have no 'renewable' field: Vault's kubernetes, approle and jwt methods always issue renewable service tokens " +
  "(tokenutil.PopulateTokenAuth). For a token that cannot be renewed use token_type: 'batch' on the role, or a token role " +
  '(writeTokenRole(name, { renewable: false }) and auth/token/create/<name>); for a token that stops renewing, set token_max_ttl equal to token_ttl.'

function buildRole(name: string, input: RoleInput, type: AuthMountType, uuid: () => string): Role {
  if (input.renewable !== undefined) throw new Error(`dev vault: role "${name}": ${RENEWABLE_REFUSED}`)
  const tokenType = input.token_type === 'batch' ? 'batch' : 'service'
  // OpenBao: builtin/credential/jwt pathRoleCreateUpdate ("a user claim must be defined on the role").
  if (type === 'jwt' && !input.user_claim) throw new Error(`dev vault: role "${name}": a user claim must be defined on the role (user_claim, e.g. "sub")`)
  return {
    name,
    policies: [...(input.token_policies ?? input.policies ?? [])],
    token_ttl: seconds('token_ttl', input.token_ttl),
    token_max_ttl: seconds('token_max_ttl', input.token_max_ttl),
    token_period: seconds('token_period', input.token_period),
    token_explicit_max_ttl: seconds('token_explicit_max_ttl', input.token_explicit_max_ttl),
    token_type: tokenType,
    token_num_uses: input.token_num_uses ?? 0,
    token_no_default_policy: input.token_no_default_policy ?? false,
    bound_service_account_names: [...(input.bound_service_account_names ?? (type === 'kubernetes' ? ['*'] : []))],
    bound_service_account_namespaces: [...(input.bound_service_account_namespaces ?? (type === 'kubernetes' ? ['*'] : []))],
    audience: input.audience ?? '',
    role_id: input.role_id ?? (type === 'approle' ? uuid() : ''),
    secret_ids: [...(input.secret_ids ?? []), ...(input.secret_id ? [input.secret_id] : [])],
    bound_audiences: [...(input.bound_audiences ?? [])],
    bound_subject: input.bound_subject ?? '',
    bound_claims: { ...(input.bound_claims ?? {}) },
    user_claim: input.user_claim ?? '',
  }
}

function roleAsInput(r: Role): RoleInput {
  const { name: _name, ...rest } = r
  return { ...rest, token_type: rest.token_type }
}
