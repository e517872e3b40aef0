/**
 * Vault's behaviour where this product touches it: one request in, one reply out, no sockets.
 * Faults, sealing, standby redirects and counting live in `server.ts`; this file is the
 * part that must match ../shared/vault-api.md field by field.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { Clock } from '../types.js'
import { decodeServiceAccountClaims } from './jwt.js'
import {
  type AuthMount,
  type DeadReason,
  type DevStore,
  type Namespace,
  type Role,
  type SecretMount,
  type SecretVersion,
  type TokenEntry,
  type TokenType,
  normalizeNamespace,
} from './store.js'
import { calculateTtl, parseDurationSeconds } from './ttl.js'

export type Operation = 'login' | 'lookup' | 'renew' | 'revoke' | 'create' | 'read' | 'health' | 'other'
export const OPERATIONS: readonly Operation[] = ['login', 'lookup', 'renew', 'revoke', 'create', 'read', 'health', 'other']

export type ErrorWording = 'new' | 'old'

export const INVALID_TOKEN_NEW = '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n'
export const PERMISSION_DENIED = 'permission denied'
export const UNSUPPORTED_OPERATION = '1 error occurred:\n\t* unsupported operation\n\n'

export interface VaultRequest {
  method: string
  /** Path after `/v1/`, without query or leading slash, e.g. "auth/token/lookup-self". */
  path: string
  query: URLSearchParams
  namespace: string
  token?: string
  body: unknown
}

export interface VaultReply {
  status: number
  /** undefined = no body (204). */
  body?: unknown
  headers?: Record<string, string>
  /** Writes to Vault's storage this request caused (login, renew, revoke, create, num_uses). */
  storageWrites: number
  /** Set when the request carried a token that is expired, revoked or unknown. */
  deadToken?: DeadReason
}

export interface VaultSettings {
  clock: Clock
  store: DevStore
  rootToken: string
  errorWording: () => ErrorWording
  defaultLeaseTtlSeconds: number
  maxLeaseTtlSeconds: number
  random?: () => number
}

export function classify(method: string, path: string): Operation {
  if (/^auth\/.+\/login$/.test(path)) return 'login'
  if (path === 'auth/token/lookup-self' || path === 'auth/token/lookup' || path === 'auth/token/lookup-accessor') return 'lookup'
  if (path === 'auth/token/renew-self' || path === 'auth/token/renew' || path === 'auth/token/renew-accessor') return 'renew'
  if (path.startsWith('auth/token/revoke')) return 'revoke'
  if (path.startsWith('auth/token/create')) return 'create'
  if (path === 'sys/health') return 'health'
  if ((method === 'GET' || method === 'HEAD') && !path.startsWith('sys/') && !path.startsWith('auth/')) return 'read'
  return 'other'
}

const b = (s: number) => Math.floor(s / 1000)
const iso = (ms: number) => new Date(ms).toISOString()

export function envelope(fields: {
  data?: unknown
  auth?: unknown
  warnings?: string[]
  lease_duration?: number
  renewable?: boolean
  requestId: string
}): Record<string, unknown> {
  return {
    request_id: fields.requestId,
    lease_id: '',
    renewable: fields.renewable ?? false,
    lease_duration: fields.lease_duration ?? 0,
    data: fields.data ?? null,
    wrap_info: null,
    warnings: fields.warnings && fields.warnings.length > 0 ? fields.warnings : null,
    auth: fields.auth ?? null,
  }
}

export function errorReply(status: number, ...errors: string[]): VaultReply {
  return { status, body: { errors }, storageWrites: 0 }
}

export const notFound = (): VaultReply => errorReply(404)

type Authenticated = { token: TokenEntry; writes: number } | { reply: VaultReply }

export class VaultSemantics {
  /** Stable entity ids per (namespace, mount, alias), like Vault's identity store. */
  private readonly entities = new Map<string, string>()

  constructor(private readonly s: VaultSettings) {}

  get store(): DevStore {
    return this.s.store
  }

  // ---- ids ---------------------------------------------------------------

  private randomChars(n: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
    const rnd = this.s.random
    const bytes = rnd ? null : randomBytes(n)
    let out = ''
    for (let i = 0; i < n; i++) {
      const r = rnd ? Math.floor(rnd() * alphabet.length) : bytes![i]! % alphabet.length
      out += alphabet[Math.min(alphabet.length - 1, Math.max(0, r))]
    }
    return out
  }

  uuid(): string {
    if (!this.s.random) return randomUUID()
    const hex = Array.from({ length: 32 }, () => Math.floor(this.s.random!() * 16).toString(16)).join('')
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }

  newTokenId(type: TokenType): string {
    return type === 'batch' ? `hvb.${this.randomChars(88)}` : `hvs.${this.randomChars(24)}`
  }

  newSecretId(): string {
    return this.uuid()
  }

  // ---- dispatch ----------------------------------------------------------

  handle(req: VaultRequest): VaultReply {
    const { path, method } = req
    const write = method === 'POST' || method === 'PUT'
    const readish = method === 'GET' || method === 'HEAD'

    if (path === 'sys/health') return readish ? this.health(req, { sealed: false, standby: false }) : errorReply(405, UNSUPPORTED_OPERATION)

    const login = /^auth\/(.+)\/login$/.exec(path)
    if (login && login[1] !== 'token') {
      if (!write) return errorReply(405, UNSUPPORTED_OPERATION)
      return this.login(req, login[1]!)
    }

    if (path === 'auth/token/lookup-self') return readish || write ? this.lookupSelf(req) : errorReply(405, UNSUPPORTED_OPERATION)
    if (path === 'auth/token/renew-self') return write ? this.renewSelf(req) : errorReply(405, UNSUPPORTED_OPERATION)
    if (path === 'auth/token/revoke-self') return write ? this.revokeSelf(req) : errorReply(405, UNSUPPORTED_OPERATION)
    if (path === 'auth/token/create' || path === 'auth/token/create-orphan') {
      return write ? this.createToken(req, path.endsWith('-orphan')) : errorReply(405, UNSUPPORTED_OPERATION)
    }
    if (path.startsWith('auth/') || path.startsWith('sys/')) {
      // Unknown auth or sys path: Vault checks the token first, then finds no route.
      const auth = this.authenticate(req)
      if ('reply' in auth) return auth.reply
      return { ...notFound(), storageWrites: auth.writes }
    }
    return this.secretPath(req)
  }

  // ---- tokens ------------------------------------------------------------

  private invalidToken(reason: DeadReason | undefined): VaultReply {
    const message = this.s.errorWording() === 'new' ? INVALID_TOKEN_NEW : PERMISSION_DENIED
    return { ...errorReply(403, message), deadToken: reason }
  }

  /** Resolve the request's token in its namespace; a token past expire_time does not exist. */
  private authenticate(req: VaultRequest): Authenticated {
    const id = req.token
    if (!id) return { reply: errorReply(403, PERMISSION_DENIED) }
    const ns = this.store.peekNs(req.namespace)
    let token = ns?.tokens.get(id)
    // Root-namespace tokens (the root token) reach child namespaces; others stay in their own.
    if (!token && normalizeNamespace(req.namespace) !== '') {
      const rootTok = this.store.ns('').tokens.get(id)
      if (rootTok && rootTok.policies.includes('root')) token = rootTok
    }
    if (!token) return { reply: this.invalidToken(this.store.revoked.has(id) ? 'revoked' : 'unknown') }
    if (token.expireAt !== null && token.expireAt <= this.s.clock.now()) return { reply: this.invalidToken('expired') }
    let writes = 0
    if (token.num_uses > 0) {
      // A use-limited token writes its use count on every request, then dies on its last use.
      token.num_uses -= 1
      writes += 1
      if (token.num_uses === 0) {
        this.store.revoke(token)
        token = { ...token, num_uses: 0 }
      }
    }
    return { token, writes }
  }

  private mountTtls(mount: { default_lease_ttl?: number; max_lease_ttl?: number } | undefined) {
    return {
      mountDefaultTtl: mount?.default_lease_ttl ?? this.s.defaultLeaseTtlSeconds,
      mountMaxTtl: mount?.max_lease_ttl ?? this.s.maxLeaseTtlSeconds,
    }
  }

  private authBlock(t: TokenEntry, leaseDuration: number): Record<string, unknown> {
    return {
      client_token: t.id,
      accessor: t.accessor,
      policies: t.policies,
      token_policies: t.policies,
      metadata: t.meta,
      lease_duration: leaseDuration,
      renewable: t.renewable,
      entity_id: t.entity_id,
      token_type: t.type,
      orphan: t.orphan,
      mfa_requirement: null,
      num_uses: t.num_uses,
    }
  }

  /** Issue a token from a role at login (TTL = CalculateTTL with increment 0). */
  private issueFromRole(
    req: VaultRequest,
    mountPath: string,
    mount: AuthMount,
    role: Role,
    meta: Record<string, string>,
    displayName: string,
    alias: string,
  ): VaultReply {
    const now = this.s.clock.now()
    const calc = calculateTtl({
      now,
      issueTime: now,
      increment: 0,
      roleTtl: role.token_ttl,
      roleMaxTtl: role.token_max_ttl,
      explicitMaxTtl: role.token_explicit_max_ttl,
      period: role.token_period,
      ...this.mountTtls(mount),
    })
    if (!calc.ok) return errorReply(500, calc.error)
    const ns = this.store.ns(req.namespace)
    const entityKey = `${normalizeNamespace(req.namespace)}|${mountPath}|${alias}`
    let entity = this.entities.get(entityKey)
    if (!entity) this.entities.set(entityKey, (entity = this.uuid()))
    const batch = role.token_type === 'batch'
    const token: TokenEntry = {
      id: this.newTokenId(role.token_type),
      accessor: batch ? '' : this.randomChars(24),
      namespace: normalizeNamespace(req.namespace),
      policies: withDefault(role.policies),
      meta,
      display_name: displayName,
      path: `auth/${mountPath}/login`,
      issueTime: now,
      expireAt: now + calc.ttl * 1000,
      creation_ttl: calc.ttl,
      explicit_max_ttl: role.token_explicit_max_ttl,
      period: role.token_period,
      renewable: !batch && role.renewable,
      type: role.token_type,
      num_uses: role.token_num_uses,
      orphan: true,
      lastRenewal: null,
      entity_id: entity,
      role: { mount: mountPath, name: role.name },
      tokenTtl: 0,
    }
    ns.tokens.set(token.id, token)
    return {
      status: 200,
      body: envelope({ requestId: this.uuid(), auth: this.authBlock(token, calc.ttl), warnings: calc.warnings }),
      storageWrites: 1,
    }
  }

  private login(req: VaultRequest, mountPath: string): VaultReply {
    const mount = this.store.peekNs(req.namespace)?.auth.get(mountPath)
    if (!mount) return errorReply(403, PERMISSION_DENIED) // no such auth mount: Vault's ACL denies the unauthenticated call
    const body = (req.body ?? {}) as Record<string, unknown>
    return mount.type === 'kubernetes' ? this.kubernetesLogin(req, mountPath, mount, body) : this.approleLogin(req, mountPath, mount, body)
  }

  private kubernetesLogin(req: VaultRequest, mountPath: string, mount: AuthMount, body: Record<string, unknown>): VaultReply {
    const roleName = typeof body.role === 'string' ? body.role : ''
    const jwt = typeof body.jwt === 'string' ? body.jwt : ''
    if (!roleName) return errorReply(400, 'missing role')
    if (!jwt) return errorReply(400, 'missing jwt')
    const role = mount.roles.get(roleName)
    if (!role) return errorReply(400, `invalid role name "${roleName}"`)
    const claims = decodeServiceAccountClaims(jwt)
    if (!claims || !claims.name || !claims.namespace) return errorReply(403, PERMISSION_DENIED)
    if (claims.exp !== undefined && claims.exp * 1000 <= this.s.clock.now()) {
      return errorReply(403, 'invalid expiration time (exp) claim: token is expired')
    }
    if (!matchesAny(role.bound_service_account_names, claims.name)) return errorReply(403, 'service account name not authorized')
    if (!matchesAny(role.bound_service_account_namespaces, claims.namespace)) return errorReply(403, 'namespace not authorized')
    // The TokenReview stand-in: a JWT the "cluster" no longer accepts (rotated, SA deleted).
    if (!this.acceptedJwts.has(jwt)) return errorReply(403, PERMISSION_DENIED)
    const meta = {
      role: roleName,
      service_account_name: claims.name,
      service_account_namespace: claims.namespace,
      service_account_secret_name: '',
      service_account_uid: claims.uid ?? '',
    }
    return this.issueFromRole(req, mountPath, mount, role, meta, `${mountPath}-${claims.namespace}-${claims.name}`, claims.uid ?? claims.name)
  }

  private approleLogin(req: VaultRequest, mountPath: string, mount: AuthMount, body: Record<string, unknown>): VaultReply {
    const roleId = typeof body.role_id === 'string' ? body.role_id : ''
    const secretId = typeof body.secret_id === 'string' ? body.secret_id : ''
    if (!roleId) return errorReply(400, 'missing role_id')
    const role = [...mount.roles.values()].find((r) => r.role_id === roleId)
    if (!role || !role.secret_ids.includes(secretId)) return errorReply(400, 'invalid role or secret ID')
    return this.issueFromRole(req, mountPath, mount, role, { role_name: role.name }, mountPath, role.role_id)
  }

  /** Set by the DevVault: the JWTs the stand-in TokenReview accepts. */
  acceptedJwts = new Set<string>()

  lookupData(t: TokenEntry): Record<string, unknown> {
    const now = this.s.clock.now()
    const data: Record<string, unknown> = {
      accessor: t.accessor,
      creation_time: b(t.issueTime),
      creation_ttl: t.creation_ttl,
      display_name: t.display_name,
      entity_id: t.entity_id,
      expire_time: t.expireAt === null ? null : iso(t.expireAt),
      explicit_max_ttl: t.explicit_max_ttl,
      id: t.id,
      issue_time: iso(t.issueTime),
      meta: t.meta,
      num_uses: t.num_uses,
      orphan: t.orphan,
      path: t.path,
      policies: t.policies,
      renewable: t.renewable,
      ttl: t.expireAt === null ? 0 : Math.max(0, Math.round((t.expireAt - now) / 1000)),
      type: t.type,
    }
    if (t.period > 0) data.period = t.period
    if (t.lastRenewal !== null) {
      data.last_renewal = iso(t.lastRenewal)
      data.last_renewal_time = b(t.lastRenewal)
    }
    return data
  }

  private lookupSelf(req: VaultRequest): VaultReply {
    const auth = this.authenticate(req)
    if ('reply' in auth) return auth.reply
    return { status: 200, body: envelope({ requestId: this.uuid(), data: this.lookupData(auth.token) }), storageWrites: auth.writes }
  }

  private renewSelf(req: VaultRequest): VaultReply {
    const auth = this.authenticate(req)
    if ('reply' in auth) return auth.reply
    const t = auth.token
    const fail = (status: number, msg: string): VaultReply => ({ ...errorReply(status, msg), storageWrites: auth.writes })
    if (t.type === 'batch') return fail(400, 'batch tokens cannot be renewed')
    if (t.expireAt === null) return fail(400, 'invalid lease ID')
    if (!t.renewable) return fail(400, 'lease is not renewable')
    const body = (req.body ?? {}) as Record<string, unknown>
    const inc = parseDurationSeconds(body.increment)
    if (!inc.ok) return fail(400, `error converting input ${String(body.increment)} for field "increment": ${inc.error}`)

    // Role TTLs are re-read at every renewal; a deleted role ends the token's renewals.
    let roleTtl = t.tokenTtl
    let roleMaxTtl = 0
    let period = t.period
    let mountTtls = this.mountTtls(undefined)
    if (t.role) {
      const mount = this.store.ns(t.namespace).auth.get(t.role.mount)
      const role = mount?.roles.get(t.role.name)
      if (!mount || !role) {
        // *unverified* wording: the auth plugin's error wrapped by the expiration manager.
        return fail(500, `failed to renew entry: resp: (*logical.Response)(nil) err: role ${t.role.name} does not exist during renewal`)
      }
      roleTtl = role.token_ttl
      roleMaxTtl = role.token_max_ttl
      period = role.token_period
      mountTtls = this.mountTtls(mount)
    }
    const now = this.s.clock.now()
    const calc = calculateTtl({
      now,
      issueTime: t.issueTime,
      increment: inc.seconds,
      roleTtl,
      roleMaxTtl,
      explicitMaxTtl: t.explicit_max_ttl,
      period,
      ...mountTtls,
    })
    if (!calc.ok) return fail(500, calc.error)
    t.period = period
    t.expireAt = now + calc.ttl * 1000
    t.lastRenewal = now
    return {
      status: 200,
      body: envelope({ requestId: this.uuid(), auth: this.authBlock(t, calc.ttl), warnings: calc.warnings }),
      storageWrites: auth.writes + 1,
    }
  }

  private revokeSelf(req: VaultRequest): VaultReply {
    const auth = this.authenticate(req)
    if ('reply' in auth) return auth.reply
    if (auth.token.type === 'batch') return { ...errorReply(400, 'batch tokens cannot be revoked'), storageWrites: auth.writes }
    this.store.revoke(auth.token)
    return { status: 204, storageWrites: auth.writes + 1 }
  }

  private createToken(req: VaultRequest, orphan: boolean): VaultReply {
    const auth = this.authenticate(req)
    if ('reply' in auth) return auth.reply
    const parent = auth.token
    const fail = (msg: string): VaultReply => ({ ...errorReply(400, msg), storageWrites: auth.writes })
    const body = (req.body ?? {}) as Record<string, unknown>
    const durations: Record<string, number> = {}
    for (const field of ['ttl', 'explicit_max_ttl', 'period'] as const) {
      const d = parseDurationSeconds(body[field])
      if (!d.ok) return fail(`error converting input ${String(body[field])} for field "${field}": ${d.error}`)
      durations[field] = d.seconds
    }
    const type: TokenType = body.type === 'batch' ? 'batch' : 'service'
    if (body.type !== undefined && body.type !== 'batch' && body.type !== 'service' && body.type !== 'default') {
      return fail(`invalid 'token_type' value "${String(body.type)}"`)
    }
    const requested = toList(body.policies)
    const policies = requested.length > 0 ? requested : parent.policies.filter((p) => p !== 'default')
    const isRoot = parent.policies.includes('root')
    if (!isRoot && !policies.every((p) => p === 'default' || parent.policies.includes(p))) {
      return fail('child policies must be subset of parent')
    }
    if (type === 'batch' && durations.period! > 0) return fail('batch tokens cannot be periodic')
    const now = this.s.clock.now()
    const calc = calculateTtl({
      now,
      issueTime: now,
      increment: 0,
      roleTtl: durations.ttl!,
      roleMaxTtl: 0,
      explicitMaxTtl: durations.explicit_max_ttl!,
      period: durations.period!,
      ...this.mountTtls(undefined),
    })
    if (!calc.ok) return fail(calc.error)
    const finalPolicies = policies.includes('root') || body.no_default_policy === true ? [...new Set(policies)].sort() : withDefault(policies)
    const token: TokenEntry = {
      id: this.newTokenId(type),
      accessor: type === 'batch' ? '' : this.randomChars(24),
      namespace: parent.namespace,
      policies: finalPolicies,
      meta: isStringRecord(body.meta) ? body.meta : null,
      display_name: typeof body.display_name === 'string' && body.display_name ? `token-${body.display_name}` : 'token',
      path: orphan ? 'auth/token/create-orphan' : 'auth/token/create',
      issueTime: now,
      expireAt: now + calc.ttl * 1000,
      creation_ttl: calc.ttl,
      explicit_max_ttl: durations.explicit_max_ttl!,
      period: durations.period!,
      renewable: type === 'service' && body.renewable !== false,
      type,
      num_uses: typeof body.num_uses === 'number' && body.num_uses > 0 ? Math.trunc(body.num_uses) : 0,
      orphan: orphan || body.no_parent === true || type === 'batch',
      lastRenewal: null,
      entity_id: '',
      tokenTtl: durations.ttl!,
      parent: orphan || body.no_parent === true || !parent.accessor ? undefined : parent.accessor,
    }
    this.store.ns(parent.namespace).tokens.set(token.id, token)
    return {
      status: 200,
      body: envelope({ requestId: this.uuid(), auth: this.authBlock(token, calc.ttl), warnings: calc.warnings }),
      storageWrites: auth.writes + 1,
    }
  }

  /** The root token entry (created at startup; never expires). */
  makeRootToken(): TokenEntry {
    const now = this.s.clock.now()
    return {
      id: this.s.rootToken,
      accessor: this.randomChars(24),
      namespace: '',
      policies: ['root'],
      meta: null,
      display_name: 'root',
      path: 'auth/token/root',
      issueTime: now,
      expireAt: null,
      creation_ttl: 0,
      explicit_max_ttl: 0,
      period: 0,
      renewable: false,
      type: 'service',
      num_uses: 0,
      orphan: true,
      lastRenewal: null,
      entity_id: '',
      tokenTtl: 0,
    }
  }

  // ---- KV ----------------------------------------------------------------

  private allowed(ns: Namespace | undefined, token: TokenEntry, path: string): boolean {
    if (token.policies.includes('root')) return true
    const tokenNs = this.store.ns(token.namespace)
    return token.policies.some((p) =>
      (tokenNs.policies.get(p) ?? ns?.policies.get(p) ?? []).some((prefix) => path.startsWith(prefix.replace(/\*$/, ''))),
    )
  }

  private secretPath(req: VaultRequest): VaultReply {
    const auth = this.authenticate(req)
    if ('reply' in auth) return auth.reply
    const ns = this.store.peekNs(req.namespace)
    const withWrites = (r: VaultReply): VaultReply => ({ ...r, storageWrites: r.storageWrites + auth.writes })
    // Vault checks the ACL before it routes: a path no policy grants is 403 even if nothing is there.
    if (!this.allowed(ns, auth.token, req.path)) return withWrites(errorReply(403, PERMISSION_DENIED))
    if (req.method !== 'GET' && req.method !== 'HEAD') return withWrites(errorReply(405, UNSUPPORTED_OPERATION))
    const found = ns ? findMount(ns.secrets, req.path) : undefined
    if (!found) return withWrites(notFound())
    const [mount, rest] = found
    return withWrites(mount.type === 'kv-v1' ? this.readKv1(mount, rest) : this.readKv2(mount, rest, req.query))
  }

  private readKv1(mount: SecretMount, rest: string): VaultReply {
    const v = mount.secrets.get(rest)?.[0]
    if (!v || !v.data) return notFound()
    const lease = mount.default_lease_ttl ?? this.s.defaultLeaseTtlSeconds
    return { status: 200, body: envelope({ requestId: this.uuid(), data: v.data, lease_duration: lease }), storageWrites: 0 }
  }

  private versionMetadata(v: SecretVersion): Record<string, unknown> {
    return {
      created_time: iso(v.created_time),
      custom_metadata: null,
      deletion_time: v.deletion_time === null ? '' : iso(v.deletion_time),
      destroyed: v.destroyed,
      version: v.version,
    }
  }

  private readKv2(mount: SecretMount, rest: string, query: URLSearchParams): VaultReply {
    const data = /^data\/(.+)$/.exec(rest)
    if (data) {
      const versions = mount.secrets.get(data[1]!)
      if (!versions || versions.length === 0) return notFound()
      const wanted = Number(query.get('version') ?? '0')
      const v = !Number.isInteger(wanted) || wanted <= 0 ? versions[versions.length - 1]! : versions.find((x) => x.version === wanted)
      if (!v) return notFound()
      const gone = v.destroyed || (v.deletion_time !== null && v.deletion_time <= this.s.clock.now())
      // A deleted or destroyed version: 404, but with the version's metadata in the body.
      return {
        status: gone ? 404 : 200,
        body: envelope({ requestId: this.uuid(), data: { data: gone ? null : v.data, metadata: this.versionMetadata(v) } }),
        storageWrites: 0,
      }
    }
    const meta = /^metadata\/(.+)$/.exec(rest)
    if (meta) {
      const versions = mount.secrets.get(meta[1]!)
      if (!versions || versions.length === 0) return notFound()
      const last = versions[versions.length - 1]!
      const live = versions.filter((v) => !v.destroyed)
      const versionMap: Record<string, unknown> = {}
      for (const v of versions) {
        versionMap[String(v.version)] = {
          created_time: iso(v.created_time),
          deletion_time: v.deletion_time === null ? '' : iso(v.deletion_time),
          destroyed: v.destroyed,
        }
      }
      return {
        status: 200,
        body: envelope({
          requestId: this.uuid(),
          data: {
            cas_required: false,
            created_time: iso(versions[0]!.created_time),
            current_version: last.version,
            custom_metadata: null,
            delete_version_after: '0s',
            max_versions: 0,
            oldest_version: live[0]?.version ?? 0,
            updated_time: iso(last.created_time),
            versions: versionMap,
          },
        }),
        storageWrites: 0,
      }
    }
    // A KV v2 path read without data/: newer Vault answers a bare 404 (KES #439, #857).
    return notFound()
  }

  // ---- health ------------------------------------------------------------

  health(req: VaultRequest, state: { sealed: boolean; standby: boolean }): VaultReply {
    const q = req.query
    const code = (name: string, fallback: number) => {
      const v = Number(q.get(name))
      return q.has(name) && Number.isInteger(v) && v > 0 ? v : fallback
    }
    const standbyOk = q.has('standbyok') && q.get('standbyok') !== 'false'
    const status = state.sealed
      ? code('sealedcode', 503)
      : state.standby
        ? standbyOk
          ? code('activecode', 200)
          : code('standbycode', 429)
        : code('activecode', 200)
    const body: Record<string, unknown> = {
      initialized: true,
      sealed: state.sealed,
      standby: state.standby,
      performance_standby: false,
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      server_time_utc: b(this.s.clock.now()),
      version: '1.15.6+dev',
      enterprise: false,
    }
    if (!state.sealed) {
      body.cluster_name = 'vault-cluster-dev'
      body.cluster_id = 'c0ffee00-dev0-4000-8000-000000000000'
    }
    return { status, body: req.method === 'HEAD' ? undefined : body, storageWrites: 0 }
  }
}

function withDefault(policies: string[]): string[] {
  return [...new Set(['default', ...policies])].sort()
}

function toList(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '')
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean)
  return []
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
}

/** Vault's bound_* lists: "*" matches all, a trailing "*" is a prefix glob. */
export function matchesAny(patterns: string[], value: string): boolean {
  return patterns.some((p) => p === '*' || p === value || (p.endsWith('*') && value.startsWith(p.slice(0, -1))))
}

/** Longest mount whose path is a prefix of `path`; returns the mount and the rest of the path. */
function findMount(mounts: Map<string, SecretMount>, path: string): [SecretMount, string] | undefined {
  let best: [SecretMount, string] | undefined
  let bestLen = -1
  for (const [name, m] of mounts) {
    if ((path === name || path.startsWith(`${name}/`)) && name.length > bestLen) {
      best = [m, path.slice(name.length + 1)]
      bestLen = name.length
    }
  }
  return best
}
