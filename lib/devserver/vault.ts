/**
 * Vault's behaviour where this product touches it: one request in, one reply out, no sockets. `handle()` is the
 * single entry the HTTP front and the in-process client both call. Faults, sealing, standby and counting live
 * outside it (`server.ts`); this file is the part that must match docs/vault-api.md and OpenBao's code.
 *
 * A request goes the way it goes in Vault (request_handling.go): unauthenticated paths (sys/health, logins,
 * sys/internal/ui/mounts) straight to their handler; every other path resolves its token (CheckToken), spends a
 * use of a num_uses token, runs the backend's existence check to tell `create` from `update`, checks the ACL built
 * from the token's policies, and only then is routed.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Clock } from '../types.js'
import { JWT_ROLE_LEEWAY, KUBERNETES_LEEWAY, audienceOf, decodeJwtPayload, decodeServiceAccountClaims, validateTimeClaims } from './jwt.js'
import { type DynamicContext, databaseRoute, leaseRoute } from './dynamic.js'
import { type Route, type RouteContext, kv1Route, kv2Route } from './kv.js'
import { Acl, type AclOperation, PolicyError, parsePolicy } from './policy.js'
import {
  ACL_DENIED,
  INVALID_TOKEN_NEW,
  PERMISSION_DENIED,
  UNSUPPORTED_OPERATION,
  UNSUPPORTED_PATH,
  type VaultReply,
  type VaultRequest,
  envelope,
  errorReply,
  multiError,
  noContent,
  notFound,
} from './reply.js'
import {
  type AuthMount,
  type DeadReason,
  type DevStore,
  type Namespace,
  type Role,
  type SecretMount,
  type TokenEntry,
  type TokenRole,
  type TokenType,
  normalizeNamespace,
} from './store.js'
import { calculateTtl, parseDurationSeconds } from './ttl.js'

export { ACL_DENIED, INVALID_TOKEN_NEW, PERMISSION_DENIED, UNSUPPORTED_OPERATION, UNSUPPORTED_PATH, envelope, errorReply, multiError, notFound }
export type { VaultReply, VaultRequest }

/** `lease`: sys/leases/renew, lookup and revoke (secret leases; a token's own renewal is `renew`). */
export type Operation = 'login' | 'lookup' | 'renew' | 'revoke' | 'create' | 'read' | 'lease' | 'health' | 'other'
export const OPERATIONS: readonly Operation[] = ['login', 'lookup', 'renew', 'revoke', 'create', 'read', 'lease', 'health', 'other']

export type ErrorWording = 'new' | 'old'

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
  if (path.startsWith('sys/leases/')) return 'lease'
  if ((method === 'GET' || method === 'HEAD') && !path.startsWith('sys/') && !path.startsWith('auth/')) return 'read'
  return 'other'
}

const b = (ms: number) => Math.floor(ms / 1000)
const iso = (ms: number) => new Date(ms).toISOString()

/** An identity entity, created at an auth method's first login of an alias (one per mount and alias). */
interface Entity {
  id: string
  name: string
  namespace: string
  created: number
  aliases: { id: string; mount: string; mountType: string; accessor: string; name: string }[]
}

type Authenticated = { token: TokenEntry; writes: number } | { reply: VaultReply }

/** policyutil.SanitizePolicies: lower-case, drop empties, `root` alone wins, add `default` unless root; sorted. */
// OpenBao: sdk/helper/policyutil.SanitizePolicies.
export function sanitizePolicies(policies: string[], addDefault: boolean): string[] {
  const out = policies.map((p) => p.trim().toLowerCase()).filter(Boolean)
  if (out.includes('root')) return ['root']
  if (addDefault && !out.includes('default')) out.push('default')
  return [...new Set(out)].sort()
}

function toList(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '')
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean)
  return []
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
}

function bodyOf(req: VaultRequest): Record<string, unknown> | undefined {
  const body = req.body
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined
}

/** Vault's bound_* lists: "*" matches all, a trailing "*" is a prefix glob. */
export function matchesAny(patterns: string[], value: string): boolean {
  return patterns.some((p) => p === '*' || p === value || (p.endsWith('*') && value.startsWith(p.slice(0, -1))))
}

/** Longest mount whose path is a prefix of `path`; returns the mount and the rest of the path. */
function findMount<M>(mounts: Map<string, M>, path: string): [string, M, string] | undefined {
  let best: [string, M, string] | undefined
  for (const [name, m] of mounts) {
    if ((path === name || path.startsWith(`${name}/`)) && (!best || name.length > best[0].length)) best = [name, m, path.slice(name.length + 1)]
  }
  return best
}

/** Go's time.Time.Round(time.Second) for an instant in ms (halves round up). */
const roundToSecond = (ms: number) => Math.floor((ms + 500) / 1000) * 1000

export class VaultSemantics {
  /** Identity entities by (namespace, mount, alias), like Vault's identity store, and by id. */
  private readonly entities = new Map<string, Entity>()
  private readonly entitiesById = new Map<string, Entity>()

  constructor(private readonly s: VaultSettings) {}

  get store(): DevStore {
    return this.s.store
  }

  // ---- ids ---------------------------------------------------------------

  randomChars(n: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
    const rnd = this.s.random
    let out = ''
    for (let i = 0; i < n; i++) {
      const r = rnd ? Math.floor(rnd() * alphabet.length) : this.randomByte() % alphabet.length
      out += alphabet[Math.min(alphabet.length - 1, Math.max(0, r))]
    }
    return out
  }

  /** node:crypto bytes drawn from a pool: a benchmark mints a credential (four ids) per read, 170 000 a simulated day. */
  private randomByte(): number {
    if (this.pooled >= this.pool.length) {
      this.pool = randomBytes(4096)
      this.pooled = 0
    }
    return this.pool[this.pooled++]!
  }

  private pool: Buffer = Buffer.alloc(0)
  private pooled = 0

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

  newAccessor(): string {
    return this.randomChars(24)
  }

  // ---- dispatch ----------------------------------------------------------

  handle(request: VaultRequest): VaultReply {
    this.store.tidyExpired(this.s.clock.now())
    // OpenBao: http/logical.go buildLogicalRequest: a list request's path always ends in "/".
    const listing = request.method === 'LIST' || ((request.method === 'GET' || request.method === 'HEAD') && request.query.get('list') === 'true')
    const req = listing && !request.path.endsWith('/') ? { ...request, path: `${request.path}/` } : request
    const { path, method } = req
    const readish = method === 'GET' || method === 'HEAD'

    if (path === 'sys/health') return readish ? this.health(req, { sealed: false, standby: false }) : errorReply(405, UNSUPPORTED_OPERATION)

    // Logins are unauthenticated paths of an auth mount; a login path of a mount that does not exist is not one.
    const login = /^auth\/(.+)\/login$/.exec(path)
    if (login && login[1] !== 'token') {
      const mount = this.store.peekNs(req.namespace)?.auth.get(login[1]!)
      if (mount) {
        // OpenBao: handleLoginRequest returns the route error unwrapped.
        if (method !== 'POST' && method !== 'PUT') return errorReply(405, 'unsupported operation')
        return this.login(req, login[1]!, mount)
      }
    }

    // Unauthenticated in Vault (sys PathsSpecial); the handler checks the token's access itself.
    const uiMount = /^sys\/internal\/ui\/mounts\/(.+)$/.exec(path)
    if (uiMount && readish) return this.uiMount(req, uiMount[1]!)

    const auth = this.authenticate(req)
    if ('reply' in auth) return auth.reply
    const reply = this.authorizedRequest(req, auth.token)
    return auth.writes === 0 ? reply : { ...reply, storageWrites: reply.storageWrites + auth.writes }
  }

  private authorizedRequest(req: VaultRequest, token: TokenEntry): VaultReply {
    const route = this.route(req, token)
    if ('reply' in route) {
      // Vault checks the ACL before it routes: a path no policy grants is 403 even if nothing is there.
      if (!this.acl(token).allows(req.path, this.aclOperation(req, undefined))) return errorReply(403, ACL_DENIED)
      return route.reply
    }
    const op = this.aclOperation(req, route)
    // OpenBao: Core.CheckToken -> ACL.AllowOperation (multierror-wrapped permission denied).
    if (!this.acl(token).allows(req.path, op)) return errorReply(403, ACL_DENIED)
    const handler = op === 'read' ? route.read : op === 'list' ? route.list : op === 'delete' ? route.delete : op === 'patch' ? undefined : route.write
    return handler ? handler() : errorReply(405, UNSUPPORTED_OPERATION)
  }

  /** Vault's HTTP method -> logical operation, and the existence check that turns a write into create or update. */
  // OpenBao: http/logical.go buildLogicalRequest (GET ?list=true and LIST are list) + CheckToken's RouteExistenceCheck.
  private aclOperation(req: VaultRequest, route: Route | undefined): AclOperation {
    switch (req.method) {
      case 'GET':
      case 'HEAD':
        return req.query.get('list') === 'true' ? 'list' : 'read'
      case 'LIST':
        return 'list'
      case 'DELETE':
        return 'delete'
      case 'PATCH':
        return 'patch'
      default:
        return route?.exists && !route.exists() ? 'create' : 'update'
    }
  }

  /** The route for an authenticated request, or the reply of a path nothing serves. */
  private route(req: VaultRequest, token: TokenEntry): Route | { reply: VaultReply } {
    const p = req.path
    const body = bodyOf(req)
    // Secret reads are the hot path: straight to the mount when the path is not one of the built-in backends'.
    const builtIn = p.startsWith('auth/') || p.startsWith('sys/') || p.startsWith('identity/') || p === 'cubbyhole' || p.startsWith('cubbyhole/')
    if (!builtIn) return this.secretRoute(req, p, body, token)
    if (p === 'auth/token/lookup-self') return { read: () => this.lookupSelf(token), write: () => this.lookupSelf(token) }
    if (p === 'auth/token/renew-self') return { write: () => this.renewSelf(req, token) }
    if (p === 'auth/token/revoke-self') return { write: () => this.revokeSelf(token) }
    if (p === 'auth/token/create' || p === 'auth/token/create-orphan') {
      return { write: () => this.createToken(req, token, p.endsWith('-orphan'), undefined) }
    }
    const against = /^auth\/token\/create\/([\w.-]+)$/.exec(p)
    if (against) return { write: () => this.createToken(req, token, false, against[1]!) }
    const tokenRole = /^auth\/token\/roles\/([\w.-]+)$/.exec(p)
    if (tokenRole) return this.tokenRoleRoute(req, token, tokenRole[1]!)
    if (/^auth\/token\/roles\/?$/.test(p)) return { list: () => this.listReply([...this.store.ns(token.namespace).tokenRoles.keys()]) }

    const policy = /^sys\/policies\/acl\/(.+)$/.exec(p)
    if (policy) return this.policyRoute(req, policy[1]!)
    if (/^sys\/policies\/acl\/?$/.test(p)) return { list: () => this.listReply(['root', ...this.nsOf(req).policies.keys()]) }
    if (p === 'sys/capabilities-self') return { write: () => this.capabilitiesSelf(token, body) }
    const hash = /^sys\/tools\/hash(?:\/([\w-]+))?$/.exec(p)
    if (hash) return { write: () => this.hash(body, hash[1]) }
    const lease = leaseRoute(p, this.store, this.dynamicContext(req, body))
    if (lease) return lease
    const entity = /^identity\/entity\/(id|name)\/(.+)$/.exec(p)
    if (entity) return { read: () => this.readEntity(entity[1] as 'id' | 'name', entity[2]!) }
    if (p === 'cubbyhole' || p.startsWith('cubbyhole/')) return this.cubbyholeRoute(token, p.slice('cubbyhole/'.length), body)

    // Backends Vault has (token store, other auth mounts, sys, identity) but whose path this dev Vault does not serve.
    if (p.startsWith('auth/') || p.startsWith('sys/') || p.startsWith('identity/')) {
      const mounted = p.startsWith('auth/token/') || p.startsWith('sys/') || p.startsWith('identity/') || !!findMount(this.nsOf(req).auth, p.slice(5))
      if (mounted) return { reply: errorReply(404, UNSUPPORTED_PATH) }
    }
    return this.secretRoute(req, p, body, token)
  }

  private secretRoute(req: VaultRequest, p: string, body: Record<string, unknown> | undefined, token: TokenEntry): Route | { reply: VaultReply } {
    const found = findMount(this.nsOf(req).secrets, p)
    // OpenBao: routing.Router.routeCommon ("no handler for route", an error response: not multierror-wrapped).
    if (!found) return { reply: errorReply(404, `no handler for route "${p}". route entry not found.`) }
    const [name, mount, rest] = found
    if (mount.type === 'database') return databaseRoute(name, mount, rest, token, this.store.leases, this.dynamicContext(req, body))
    const ctx: RouteContext = { now: this.s.clock.now(), requestId: () => this.uuid(), defaultLeaseTtlSeconds: this.s.defaultLeaseTtlSeconds, body, query: req.query }
    return mount.type === 'kv-v1' ? kv1Route(mount, rest, ctx) : kv2Route(mount, rest, ctx)
  }

  private dynamicContext(req: VaultRequest, body: Record<string, unknown> | undefined): DynamicContext {
    return {
      now: this.s.clock.now(),
      namespace: normalizeNamespace(req.namespace),
      body,
      requestId: () => this.uuid(),
      randomChars: (n) => this.randomChars(n),
      defaultLeaseTtlSeconds: this.s.defaultLeaseTtlSeconds,
      maxLeaseTtlSeconds: this.s.maxLeaseTtlSeconds,
    }
  }

  /** The request's namespace; an unknown one reads as empty and is not created by a read. */
  private nsOf(req: VaultRequest): Namespace {
    return this.store.peekNs(req.namespace) ?? this.store.blankNs()
  }

  private listReply(keys: string[]): VaultReply {
    if (keys.length === 0) return notFound()
    return { status: 200, body: envelope({ requestId: this.uuid(), data: { keys: [...new Set(keys)].sort() } }), storageWrites: 0 }
  }

  private ok(data: unknown, warnings: string[] = [], storageWrites = 0): VaultReply {
    return { status: 200, body: envelope({ requestId: this.uuid(), data, warnings }), storageWrites }
  }

  // ---- tokens and the ACL ------------------------------------------------

  private invalidToken(reason: DeadReason | undefined): VaultReply {
    const message = this.s.errorWording() === 'new' ? INVALID_TOKEN_NEW : PERMISSION_DENIED
    return { ...errorReply(403, message), deadToken: reason }
  }

  /** Resolve the request's token in its namespace; a token past expire_time does not exist. */
  // OpenBao: Core.fetchACLTokenEntryAndEntity (no token / unknown token: permission denied) + TokenStore.UseToken.
  private authenticate(req: VaultRequest, spendUse = true): Authenticated {
    const id = req.token
    if (!id) return { reply: errorReply(403, PERMISSION_DENIED) }
    const ns = this.store.peekNs(req.namespace)
    let token = ns?.tokens.get(id)
    // Root-namespace tokens (the root token) reach child namespaces; others stay in their own.
    if (!token && normalizeNamespace(req.namespace) !== '') {
      const rootTok = this.store.ns('').tokens.get(id)
      if (rootTok && rootTok.policies.includes('root')) token = rootTok
    }
    if (!token) return { reply: this.invalidToken(this.store.revoked.has(id) ? 'revoked' : this.store.expired.has(id) ? 'expired' : 'unknown') }
    if (token.expireAt !== null && token.expireAt <= this.s.clock.now()) return { reply: this.invalidToken('expired') }
    let writes = 0
    if (token.num_uses > 0 && spendUse) {
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

  /** The ACL of a token: its policies as stored in its namespace (missing ones are skipped), templated for its entity. */
  // OpenBao: policy.Store.ACL -> policy.NewACL.
  acl(token: TokenEntry): Acl {
    // Built once per token and policy change: the soak and the benchmark send millions of requests.
    const cached = this.acls.get(token)
    if (cached && cached.epoch === this.store.policyEpoch) return cached.acl
    const ns = this.store.ns(token.namespace)
    const policies = token.policies.includes('root') ? [{ name: 'root', raw: '', rules: [] }] : token.policies.flatMap((p) => ns.policies.get(p) ?? [])
    const entity = token.entity_id ? this.entityById(token.entity_id) : undefined
    const acl = new Acl(policies, { entityId: entity?.id, entityName: entity?.name })
    this.acls.set(token, { epoch: this.store.policyEpoch, acl })
    return acl
  }

  private readonly acls = new WeakMap<TokenEntry, { epoch: number; acl: Acl }>()

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

  // ---- logins --------------------------------------------------------------

  private entityFor(namespace: string, mountPath: string, mount: AuthMount, alias: string): Entity {
    const key = `${normalizeNamespace(namespace)}|${mountPath}|${alias}`
    let entity = this.entities.get(key)
    if (!entity) {
      const id = this.uuid()
      // OpenBao: IdentityStore.CreateOrFetchEntity names a new entity "entity_<first block of its id>".
      entity = { id, name: `entity_${id.split('-')[0]}`, namespace: normalizeNamespace(namespace), created: this.s.clock.now(), aliases: [] }
      entity.aliases.push({ id: this.uuid(), mount: `auth/${mountPath}/`, mountType: mount.type, accessor: mount.accessor, name: alias })
      this.entities.set(key, entity)
      this.entitiesById.set(id, entity)
    }
    return entity
  }

  private entityById(id: string): Entity | undefined {
    return this.entitiesById.get(id)
  }

  /** Issue a token from a role at login: TTL = CalculateTTL with increment 0; renewable unless batch. */
  // OpenBao: tokenutil.PopulateTokenAuth (Renewable = true) -> Core.LoginCreateToken -> Core.RegisterAuth.
  private issueFromRole(req: VaultRequest, mountPath: string, mount: AuthMount, role: Role, meta: Record<string, string>, displayName: string, alias: string): VaultReply {
    const policies = sanitizePolicies(role.policies, !role.token_no_default_policy)
    if (policies.includes('root')) return errorReply(400, 'auth methods cannot create root tokens')
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
    if (!calc.ok) return errorReply(500, multiError(calc.error))
    const ns = this.store.ns(req.namespace)
    const entity = this.entityFor(req.namespace, mountPath, mount, alias)
    const batch = role.token_type === 'batch'
    const token: TokenEntry = {
      id: this.newTokenId(role.token_type),
      accessor: batch ? '' : this.newAccessor(),
      namespace: normalizeNamespace(req.namespace),
      policies,
      meta,
      display_name: `${mountPath.replace(/\//g, '-')}-${displayName}`.replace(/-$/, ''),
      path: `auth/${mountPath}/login`,
      issueTime: now,
      expireAt: now + calc.ttl * 1000,
      creation_ttl: calc.ttl,
      explicit_max_ttl: role.token_explicit_max_ttl,
      period: role.token_period,
      renewable: !batch,
      type: role.token_type,
      num_uses: role.token_num_uses,
      orphan: true,
      lastRenewal: null,
      entity_id: entity.id,
      role: { mount: mountPath, name: role.name },
      leaseTtl: calc.ttl,
      cubbyhole: new Map(),
    }
    ns.tokens.set(token.id, token)
    return { status: 200, body: envelope({ requestId: this.uuid(), auth: this.authBlock(token, calc.ttl), warnings: calc.warnings }), storageWrites: 1 }
  }

  private login(req: VaultRequest, mountPath: string, mount: AuthMount): VaultReply {
    const body = bodyOf(req) ?? {}
    if (mount.type === 'kubernetes') return this.kubernetesLogin(req, mountPath, mount, body)
    if (mount.type === 'jwt') return this.jwtLogin(req, mountPath, mount, body)
    return this.approleLogin(req, mountPath, mount, body)
  }

  // vault-plugin-auth-kubernetes: pathLogin -> parseAndValidateJWT (cap validator, 60 s clock-skew leeway) -> TokenReview.
  private kubernetesLogin(req: VaultRequest, mountPath: string, mount: AuthMount, body: Record<string, unknown>): VaultReply {
    const roleName = typeof body.role === 'string' ? body.role : ''
    const jwt = typeof body.jwt === 'string' ? body.jwt : ''
    if (!roleName) return errorReply(400, 'missing role')
    if (!jwt) return errorReply(400, 'missing jwt')
    const role = mount.roles.get(roleName)
    if (!role) return errorReply(400, `invalid role name "${roleName}"`)
    const claims = decodeServiceAccountClaims(jwt)
    // Not a JWT at all: "error verifying token signature", which the plugin answers with a bare permission denied.
    if (!claims) return errorReply(403, PERMISSION_DENIED)
    if (role.audience && !(claims.aud ?? []).includes(role.audience)) {
      return errorReply(403, 'invalid audience (aud) claim: audience claim does not match any expected audience')
    }
    const timeError = validateTimeClaims(claims, this.s.clock.now(), KUBERNETES_LEEWAY)
    if (timeError) return errorReply(403, timeError)
    if (!claims.name || !claims.namespace) return errorReply(403, PERMISSION_DENIED)
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
    return this.issueFromRole(req, mountPath, mount, role, meta, `${claims.namespace}-${claims.name}`, claims.uid ?? claims.name)
  }

  // OpenBao: builtin/credential/approle pathLoginUpdate.
  private approleLogin(req: VaultRequest, mountPath: string, mount: AuthMount, body: Record<string, unknown>): VaultReply {
    const roleId = typeof body.role_id === 'string' ? body.role_id : ''
    const secretId = typeof body.secret_id === 'string' ? body.secret_id : ''
    if (!roleId) return errorReply(400, 'missing role_id')
    const role = [...mount.roles.values()].find((r) => r.role_id === roleId)
    if (!role || !role.secret_ids.includes(secretId)) return errorReply(400, 'invalid role or secret ID')
    return this.issueFromRole(req, mountPath, mount, role, { role_name: role.name }, '', role.role_id)
  }

  /** jwt auth method, static keys: every failure is a 400 error response worded as the plugin words it. */
  // OpenBao: builtin/credential/jwt pathLogin (cap jwt.Validator.Validate, validateBoundClaims, createIdentity).
  private jwtLogin(req: VaultRequest, mountPath: string, mount: AuthMount, body: Record<string, unknown>): VaultReply {
    const roleName = typeof body.role === 'string' ? body.role.toLowerCase() : ''
    if (!roleName) return errorReply(400, 'missing role')
    const role = mount.roles.get(roleName)
    if (!role) return errorReply(400, `role "${roleName}" could not be found`)
    const jwt = typeof body.jwt === 'string' ? body.jwt : ''
    if (!jwt) return errorReply(400, 'missing token')
    const invalid = (why: string) => errorReply(400, `error validating token: ${why}`)
    const claims = decodeJwtPayload(jwt)
    if (!claims) return invalid('error verifying token signature: go-jose/go-jose: compact JWS format must have three parts')
    if (!this.acceptedJwts.has(jwt)) return invalid('error verifying token signature: no known key successfully validated the token signature')
    if (mount.bound_issuer && claims.iss !== mount.bound_issuer) return invalid('invalid issuer (iss) claim')
    if (role.bound_subject && claims.sub !== role.bound_subject) return invalid('invalid subject (sub) claim')
    const aud = audienceOf(claims)
    if (role.bound_audiences.length > 0 && !role.bound_audiences.some((a) => aud.includes(a))) {
      return invalid('invalid audience (aud) claim: audience claim does not match any expected audience')
    }
    const num = (v: unknown) => (typeof v === 'number' ? v : undefined)
    const timeError = validateTimeClaims({ exp: num(claims.exp), iat: num(claims.iat), nbf: num(claims.nbf) }, this.s.clock.now(), JWT_ROLE_LEEWAY)
    if (timeError) return invalid(timeError)
    if (aud.length > 0 && role.bound_audiences.length === 0) return errorReply(400, 'audience claim found in JWT but no audiences bound to the role')
    const user = claims[role.user_claim]
    if (user === undefined || user === null) return errorReply(400, `claim "${role.user_claim}" not found in token`)
    if (typeof user !== 'string') return errorReply(400, `claim "${role.user_claim}" could not be converted to string`)
    for (const [claim, expected] of Object.entries(role.bound_claims)) {
      const actual = claims[claim]
      if (actual === undefined || actual === null) return errorReply(400, `error validating claims: claim "${claim}" is missing`)
      const actuals = Array.isArray(actual) ? actual : [actual]
      const wanted = Array.isArray(expected) ? expected : [expected]
      if (!wanted.some((w) => actuals.some((a) => a === w))) {
        return errorReply(400, `error validating claims: claim "${claim}" does not match any associated bound claim values`)
      }
    }
    return this.issueFromRole(req, mountPath, mount, role, { role: roleName }, user, user)
  }

  /** Set by the DevVault: the JWTs the stand-in TokenReview (kubernetes) and issuer keys (jwt) accept. */
  acceptedJwts = new Set<string>()

  // ---- the token store ---------------------------------------------------

  /** lookup-self's data: Vault's fields; `ttl` as leaseEntry.ttl() computes it. */
  // OpenBao: TokenStore.handleLookup (+ ExpirationManager.FetchLeaseTimesByToken; the init root token has no lease).
  lookupData(t: TokenEntry): Record<string, unknown> {
    const now = this.s.clock.now()
    const data: Record<string, unknown> = {
      accessor: t.accessor,
      creation_time: b(t.issueTime),
      creation_ttl: t.creation_ttl,
      display_name: t.display_name,
      entity_id: t.entity_id,
      expire_time: null,
      explicit_max_ttl: t.explicit_max_ttl,
      id: t.id,
      meta: t.meta,
      num_uses: t.num_uses,
      orphan: t.orphan,
      path: t.path,
      policies: t.policies,
      ttl: 0,
      type: t.type,
    }
    if (t.tokenRole) data.role = t.tokenRole
    if (t.period > 0) data.period = t.period
    if (t.path === 'auth/token/root') return data // no lease entry: no expire_time, ttl, renewable or issue_time
    if (t.lastRenewal !== null) {
      data.last_renewal = iso(t.lastRenewal)
      data.last_renewal_time = b(t.lastRenewal)
    }
    if (t.expireAt !== null) {
      data.expire_time = iso(t.expireAt)
      // OpenBao: leaseEntry.ttl(): int64(ExpireTime.Sub(time.Now().Round(time.Second)).Seconds()), truncated.
      data.ttl = Math.trunc((t.expireAt - roundToSecond(now)) / 1000) + 0
    }
    // OpenBao: leaseEntry.renewable(): a lease with no expiry (non-expiring root token) is not renewable.
    data.renewable = t.renewable && t.type !== 'batch' && t.expireAt !== null
    data.issue_time = iso(t.issueTime)
    return data
  }

  private lookupSelf(token: TokenEntry): VaultReply {
    return this.ok(this.lookupData(token))
  }

  /** renew-self: the expiration manager's RenewToken, with the auth method's (or token store's) renew callback. */
  // OpenBao: TokenStore.handleRenewSelf -> ExpirationManager.RenewToken -> renewAuthEntry -> CalculateTTL; le.Auth stored.
  private renewSelf(req: VaultRequest, t: TokenEntry): VaultReply {
    if (t.type === 'batch') return errorReply(400, 'batch tokens cannot be renewed')
    if (t.expireAt === null) return errorReply(400, 'invalid lease ID')
    if (!t.renewable) return errorReply(400, 'lease is not renewable')
    const body = bodyOf(req) ?? {}
    const inc = parseDurationSeconds(body.increment)
    if (!inc.ok) return errorReply(400, `error converting input ${String(body.increment)} for field "increment": ${inc.error}`)
    // An error from the renew callback comes back as (nil, err): 500, multierror-wrapped.
    const failed = (msg: string) => errorReply(500, multiError(`failed to renew entry: ${msg}`))

    let roleTtl: number
    let roleMaxTtl = 0
    let period = t.period
    let explicitMaxTtl = t.explicit_max_ttl
    let mountTtls = this.mountTtls(undefined)
    if (t.role) {
      // Auth methods re-read their role at every renewal (pathLoginRenew): TTL, max TTL and period.
      const mount = this.store.ns(t.namespace).auth.get(t.role.mount)
      const role = mount?.roles.get(t.role.name)
      if (!mount || !role) {
        // vault-plugin-auth-kubernetes / jwt: "role %s does not exist during renewal"; approle quotes the name (%q).
        return failed(mount?.type === 'approle' ? `role "${t.role.name}" does not exist during renewal` : `role ${t.role.name} does not exist during renewal`)
      }
      roleTtl = role.token_ttl
      roleMaxTtl = role.token_max_ttl
      period = role.token_period
      mountTtls = this.mountTtls(mount)
    } else {
      // OpenBao: TokenStore.authRenew: the stored auth's TTL (sticky); a token role's period and explicit max re-read.
      roleTtl = t.leaseTtl
      if (t.tokenRole) {
        const role = this.store.ns(t.namespace).tokenRoles.get(t.tokenRole)
        if (!role) return failed(`original token role "${t.tokenRole}" could not be found, not renewing`)
        period = role.token_period
        explicitMaxTtl = role.token_explicit_max_ttl
      }
    }
    const now = this.s.clock.now()
    const calc = calculateTtl({ now, issueTime: t.issueTime, increment: inc.seconds, roleTtl, roleMaxTtl, explicitMaxTtl, period, ...mountTtls })
    // OpenBao: RenewToken returns (nil, err) for "past the max TTL, cannot renew": a 500 in a multierror.
    if (!calc.ok) return errorReply(500, multiError(calc.error))
    t.period = period
    t.leaseTtl = calc.ttl
    t.expireAt = now + calc.ttl * 1000
    t.lastRenewal = now
    return { status: 200, body: envelope({ requestId: this.uuid(), auth: this.authBlock(t, calc.ttl), warnings: calc.warnings }), storageWrites: 1 }
  }

  // OpenBao: TokenStore.handleRevokeSelf -> revokeCommon.
  private revokeSelf(token: TokenEntry): VaultReply {
    if (token.type === 'batch') return errorReply(400, 'batch tokens cannot be revoked')
    this.store.revoke(token)
    return noContent(1)
  }

  private isSudo(token: TokenEntry, path: string): boolean {
    return this.acl(token).capabilities(path).some((c) => c === 'root' || c === 'sudo')
  }

  /** auth/token/create, create-orphan and create/:role. */
  // OpenBao: TokenStore.handleCreateCommon (+ resolveTokenPolicies, parseAndMergeTTLPeriod).
  private createToken(req: VaultRequest, parent: TokenEntry, orphanPath: boolean, roleName: string | undefined): VaultReply {
    const fail = (msg: string) => errorReply(400, msg)
    const body = bodyOf(req) ?? {}
    const ns = this.store.ns(parent.namespace)
    if (parent.type === 'batch') return fail('batch tokens cannot create more tokens')
    if (parent.num_uses > 0) return fail('restricted use token cannot generate child tokens')
    const isSudo = this.isSudo(parent, req.path)
    let role: TokenRole | undefined
    if (roleName !== undefined) {
      role = ns.tokenRoles.get(roleName)
      if (!role) return fail(`unknown role ${roleName}`)
    }

    let typeStr = typeof body.type === 'string' ? body.type : ''
    if (role) {
      if (role.token_type === 'default-batch' && typeStr === '') typeStr = 'batch'
      else if (role.token_type === 'service' || role.token_type === 'batch') typeStr = role.token_type
    }
    let renewable = body.renewable === undefined ? true : body.renewable === true || body.renewable === 'true'
    const durations: Record<'ttl' | 'explicit_max_ttl' | 'period', number> = { ttl: 0, explicit_max_ttl: 0, period: 0 }
    for (const field of ['ttl', 'explicit_max_ttl', 'period'] as const) {
      const d = parseDurationSeconds(body[field])
      if (!d.ok) return fail(d.error)
      if (d.seconds < 0) return fail(`${field} must be positive`)
      durations[field] = d.seconds
    }
    const numUses = typeof body.num_uses === 'number' ? Math.trunc(body.num_uses) : Number(body.num_uses ?? 0) || 0
    let type: TokenType = 'service'
    if (typeStr === 'batch') {
      const bad = durations.explicit_max_ttl ? 'explicit_max_ttl' : numUses ? 'num_uses' : durations.period ? 'period' : ''
      if (bad) return fail(`batch tokens cannot have "${bad}" set`)
      type = 'batch'
      renewable = false
    } else if (typeStr !== '' && typeStr !== 'service') return fail(`invalid 'token_type' value`)
    if (numUses < 0) return fail('number of uses cannot be negative')

    let tokenNumUses = numUses
    let path = orphanPath ? 'auth/token/create-orphan' : 'auth/token/create'
    if (role) {
      path = `auth/token/create/${role.name}${role.path_suffix ? `/${role.path_suffix}` : ''}`
      if (renewable && !role.renewable) renewable = false
      if (role.token_num_uses > 0 && (tokenNumUses === 0 || role.token_num_uses < tokenNumUses)) tokenNumUses = role.token_num_uses
    }

    // Policies: a role's allowed/disallowed lists, else the parent's (subset unless sudo).
    const requested = toList(body.policies)
    const noDefault = body.no_default_policy === true || body.no_default_policy === 'true'
    let policies: string[]
    if (role && (role.allowed_policies.length > 0 || role.disallowed_policies.length > 0)) {
      const addDefault = !noDefault && !role.token_no_default_policy && !role.disallowed_policies.includes('default')
      let final = requested.length > 0 ? sanitizePolicies(requested, addDefault) : []
      if (role.allowed_policies.length > 0) {
        const allowed = sanitizePolicies(role.allowed_policies, addDefault)
        if (final.length === 0) final = allowed
        else if (!final.every((p) => allowed.includes(p))) {
          return fail(`token policies (${JSON.stringify(final)}) must be subset of the role's allowed policies (${JSON.stringify(allowed)}) or glob policies ([])`)
        }
      } else if (final.length === 0) final = sanitizePolicies(parent.policies, addDefault)
      const disallowed = final.find((p) => role!.disallowed_policies.includes(p))
      if (disallowed) return fail(`token policy "${disallowed}" is disallowed by this role`)
      policies = final
    } else if (requested.length === 0) {
      policies = sanitizePolicies(parent.policies, false)
    } else if (!isSudo) {
      const parentSet = sanitizePolicies(parent.policies, false)
      if (!sanitizePolicies(requested, false).every((p) => parentSet.includes(p))) return fail('child policies must be subset of parent')
      policies = sanitizePolicies(requested, !noDefault && parent.policies.includes('default'))
    } else {
      policies = sanitizePolicies(requested, !noDefault)
    }
    if (noDefault) policies = policies.filter((p) => p !== 'default')
    if (policies.includes('root')) {
      if (!parent.policies.includes('root')) return fail('root tokens may not be created without parent token being root')
      if (type === 'batch') return fail('batch tokens cannot be root tokens')
    }

    let orphan = orphanPath
    if (role) orphan = role.orphan
    else if (body.no_parent === true || body.no_parent === 'true') {
      if (!isSudo) return fail('root or sudo privileges required to create orphan token')
      orphan = true
    }

    let explicitMaxTtl = durations.explicit_max_ttl
    let period = 0
    const warnings: string[] = []
    if (durations.period > 0) {
      if (!isSudo) return fail('root or sudo privileges required to create periodic token')
      period = durations.period
    }
    if (role && type !== 'batch') {
      if (role.token_explicit_max_ttl) {
        if (explicitMaxTtl === 0) explicitMaxTtl = role.token_explicit_max_ttl
        else {
          explicitMaxTtl = Math.min(explicitMaxTtl, role.token_explicit_max_ttl)
          warnings.push(`Explicit max TTL specified both during creation call and in role; using the lesser value of ${explicitMaxTtl} seconds`)
        }
      }
      if (role.token_period) {
        if (period === 0) period = role.token_period
        else {
          period = Math.min(period, role.token_period)
          warnings.push(`Period specified both during creation call and in role; using the lesser value of ${period} seconds`)
        }
      }
    }

    const now = this.s.clock.now()
    let ttl = durations.ttl
    if (period > 0 || ttl > 0 || !policies.includes('root')) {
      const calc = calculateTtl({ now, issueTime: now, increment: 0, roleTtl: ttl, roleMaxTtl: 0, explicitMaxTtl, period, ...this.mountTtls(undefined) })
      if (!calc.ok) return errorReply(500, multiError(calc.error))
      warnings.push(...calc.warnings)
      ttl = calc.ttl
    }
    if (ttl === 0 && explicitMaxTtl > 0) ttl = explicitMaxTtl
    if (ttl === 0) {
      // A non-expiring root token: not renewable.
      if (parent.expireAt !== null) return fail('expiring root tokens cannot create non-expiring root tokens')
      renewable = false
    }
    const token: TokenEntry = {
      id: this.newTokenId(type),
      accessor: type === 'batch' ? '' : this.newAccessor(),
      namespace: parent.namespace,
      policies,
      meta: isStringRecord(body.meta) ? body.meta : null,
      display_name: typeof body.display_name === 'string' && body.display_name ? `token-${body.display_name}`.replace(/[^a-zA-Z0-9-]/g, '-').replace(/-+$/, '') : 'token',
      path,
      issueTime: now,
      expireAt: ttl === 0 ? null : now + ttl * 1000,
      creation_ttl: ttl,
      explicit_max_ttl: explicitMaxTtl,
      period,
      renewable,
      type,
      num_uses: tokenNumUses,
      orphan: orphan || type === 'batch',
      lastRenewal: null,
      entity_id: orphan ? '' : parent.entity_id,
      tokenRole: role?.name,
      leaseTtl: ttl,
      parent: orphan || !parent.accessor ? undefined : parent.accessor,
      cubbyhole: new Map(),
    }
    ns.tokens.set(token.id, token)
    for (const p of policies) if (p !== 'root' && !ns.policies.has(p)) warnings.push(`Policy "${p}" does not exist`)
    const authBlock = { ...this.authBlock(token, ttl) }
    return { status: 200, body: envelope({ requestId: this.uuid(), auth: authBlock, warnings }), storageWrites: 1 }
  }

  /** The root token entry (created at startup; never expires, has no lease). */
  // OpenBao: TokenStore.rootToken (as Core.Initialize creates it).
  makeRootToken(): TokenEntry {
    const now = this.s.clock.now()
    return {
      id: this.s.rootToken,
      accessor: this.newAccessor(),
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
      leaseTtl: 0,
      cubbyhole: new Map(),
    }
  }

  // ---- token roles ---------------------------------------------------------

  /** Validate and build a token role; a string is the error Vault gives. */
  // OpenBao: TokenStore.tokenStoreRoleCreateUpdate.
  buildTokenRole(name: string, input: Record<string, unknown>, old?: TokenRole): TokenRole | string {
    const dur = (field: string): number | string => {
      const d = parseDurationSeconds(input[field])
      return d.ok ? d.seconds : `error parsing role fields: ${field}: ${d.error}`
    }
    const bool = (field: string, fallback: boolean) => (input[field] === undefined ? fallback : input[field] === true || input[field] === 'true')
    const period = input.token_period ?? input.period
    const explicit = input.token_explicit_max_ttl ?? input.explicit_max_ttl
    const p = dur(input.token_period !== undefined ? 'token_period' : 'period')
    const e = dur(input.token_explicit_max_ttl !== undefined ? 'token_explicit_max_ttl' : 'explicit_max_ttl')
    if (typeof p === 'string') return p
    if (typeof e === 'string') return e
    const typeRaw = input.token_type === undefined ? (old?.token_type ?? 'default-service') : String(input.token_type)
    const type = typeRaw === 'default' ? 'default-service' : typeRaw
    if (!['default-service', 'default-batch', 'service', 'batch'].includes(type)) return `invalid 'token_type' value "${typeRaw}"`
    const role: TokenRole = {
      name,
      allowed_policies: input.allowed_policies !== undefined ? sanitizePolicies(toList(input.allowed_policies), false) : (old?.allowed_policies ?? []),
      disallowed_policies: input.disallowed_policies !== undefined ? [...new Set(toList(input.disallowed_policies).map((x) => x.toLowerCase()))].sort() : (old?.disallowed_policies ?? []),
      orphan: bool('orphan', old?.orphan ?? false),
      renewable: bool('renewable', old?.renewable ?? true),
      path_suffix: typeof input.path_suffix === 'string' ? input.path_suffix : (old?.path_suffix ?? ''),
      token_type: type as TokenRole['token_type'],
      token_period: period === undefined ? (old?.token_period ?? 0) : p,
      token_explicit_max_ttl: explicit === undefined ? (old?.token_explicit_max_ttl ?? 0) : e,
      token_num_uses: input.token_num_uses === undefined ? (old?.token_num_uses ?? 0) : Number(input.token_num_uses) || 0,
      token_no_default_policy: bool('token_no_default_policy', old?.token_no_default_policy ?? false),
    }
    if (role.path_suffix.includes('..')) return `error registering path suffix: path cannot contain parent references`
    if (role.token_type === 'batch') {
      if (!role.orphan) return "'token_type' cannot be 'batch' when role is set to generate non-orphan tokens"
      if (role.token_period) return "'token_type' cannot be 'batch' when role is set to generate periodic tokens"
      if (role.renewable) return "'token_type' cannot be 'batch' when role is set to generate renewable tokens"
      if (role.token_explicit_max_ttl) return "'token_type' cannot be 'batch' when role is set to generate tokens with an explicit max TTL"
    }
    return role
  }

  tokenRoleData(role: TokenRole): Record<string, unknown> {
    const data: Record<string, unknown> = {
      allowed_entity_aliases: null,
      allowed_policies: role.allowed_policies,
      allowed_policies_glob: [],
      disallowed_policies: role.disallowed_policies,
      disallowed_policies_glob: [],
      explicit_max_ttl: 0,
      name: role.name,
      orphan: role.orphan,
      path_suffix: role.path_suffix,
      period: 0,
      renewable: role.renewable,
      token_explicit_max_ttl: role.token_explicit_max_ttl,
      token_no_default_policy: role.token_no_default_policy,
      token_period: role.token_period,
      token_type: role.token_type,
    }
    if (role.token_num_uses > 0) data.token_num_uses = role.token_num_uses
    return data
  }

  // OpenBao: TokenStore paths roles/:name (tokenStoreRoleRead, tokenStoreRoleCreateUpdate, tokenStoreRoleDelete).
  private tokenRoleRoute(req: VaultRequest, token: TokenEntry, name: string): Route {
    const roles = this.store.ns(token.namespace).tokenRoles
    return {
      exists: () => roles.has(name),
      read: () => {
        const role = roles.get(name)
        return role ? this.ok(this.tokenRoleData(role)) : notFound()
      },
      write: () => {
        const role = this.buildTokenRole(name, bodyOf(req) ?? {}, roles.get(name))
        if (typeof role === 'string') return errorReply(400, role)
        roles.set(name, role)
        return noContent(1)
      },
      delete: () => noContent(roles.delete(name) ? 1 : 0),
    }
  }

  // ---- policies -------------------------------------------------------------

  // OpenBao: SystemBackend.handlePoliciesRead / handlePoliciesSet / handlePoliciesDelete (policy.Store rules on root and default).
  private policyRoute(req: VaultRequest, rawName: string): Route {
    const ns = req.method === 'GET' || req.method === 'HEAD' ? this.nsOf(req) : this.store.ns(req.namespace)
    const name = rawName.trim().toLowerCase()
    return {
      exists: () => name === 'root' || ns.policies.has(name),
      read: () => {
        const p = name === 'root' ? { name: 'root', raw: '' } : ns.policies.get(name)
        return p ? this.ok({ name: p.name, policy: p.raw }) : notFound()
      },
      write: () => {
        const body = bodyOf(req) ?? {}
        let raw = typeof body.policy === 'string' ? body.policy : ''
        if (raw === '') return errorReply(400, "'policy' parameter not supplied or empty")
        if (/^[A-Za-z0-9+/]+={0,2}$/.test(raw.trim()) && raw.trim().length % 4 === 0) {
          const decoded = Buffer.from(raw.trim(), 'base64').toString('utf8')
          if (decoded.includes('path')) raw = decoded
        }
        if (name === 'root' || name === 'response-wrapping') return errorReply(400, `cannot update "${name}" policy`)
        try {
          this.store.setPolicy(ns, parsePolicy(name, raw))
        } catch (e) {
          if (e instanceof PolicyError) return errorReply(400, e.message)
          throw e
        }
        const warnings = name !== rawName ? [`policy name was converted to ${name}`] : []
        return warnings.length > 0 ? { ...this.ok(null, warnings), storageWrites: 1 } : noContent(1)
      },
      delete: () => {
        if (name === 'root' || name === 'response-wrapping') return errorReply(400, `cannot delete "${name}" policy`)
        if (name === 'default') return errorReply(400, 'cannot delete default policy')
        return noContent(this.store.deletePolicy(ns, name) ? 1 : 0)
      },
    }
  }

  // OpenBao: SystemBackend.handleCapabilities (capabilities-self) -> Core.Capabilities -> ACL.Capabilities.
  private capabilitiesSelf(token: TokenEntry, body: Record<string, unknown> | undefined): VaultReply {
    const paths = toList(body?.paths).length > 0 ? toList(body?.paths) : toList(body?.path)
    if (paths.length === 0) return errorReply(400, 'paths must be supplied')
    const acl = this.acl(token)
    const data: Record<string, unknown> = {}
    for (const p of paths) data[p] = acl.capabilities(p.replace(/^\/+/, ''))
    if (paths.length === 1) data.capabilities = data[paths[0]!]
    return this.ok(data)
  }

  // OpenBao: SystemBackend.pathHashWrite.
  private hash(body: Record<string, unknown> | undefined, urlAlgorithm: string | undefined): VaultReply {
    const algorithm = urlAlgorithm ?? (typeof body?.algorithm === 'string' ? body.algorithm : 'sha2-256')
    const format = typeof body?.format === 'string' ? body.format : 'hex'
    const input = typeof body?.input === 'string' ? body.input : ''
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(input) || input.length % 4 !== 0) return errorReply(400, 'unable to decode input as base64: illegal base64 data')
    if (format !== 'hex' && format !== 'base64') return errorReply(400, `unsupported encoding format ${format}; must be "hex" or "base64"`)
    const node = { 'sha2-224': 'sha224', 'sha2-256': 'sha256', 'sha2-384': 'sha384', 'sha2-512': 'sha512', 'sha3-224': 'sha3-224', 'sha3-256': 'sha3-256', 'sha3-384': 'sha3-384', 'sha3-512': 'sha3-512' }[algorithm]
    if (!node) return errorReply(400, `unsupported algorithm ${algorithm}`)
    return this.ok({ sum: createHash(node).update(Buffer.from(input, 'base64')).digest(format) })
  }

  // OpenBao: IdentityStore pathEntityIDRead / pathEntityNameRead (handleEntityReadCommon), the fields this dev Vault keeps.
  private readEntity(by: 'id' | 'name', key: string): VaultReply {
    const e = [...this.entities.values()].find((x) => (by === 'id' ? x.id === key : x.name === key))
    if (!e) return notFound()
    return this.ok({
      aliases: e.aliases.map((a) => ({
        canonical_id: e.id,
        creation_time: iso(e.created),
        id: a.id,
        last_update_time: iso(e.created),
        metadata: null,
        mount_accessor: a.accessor,
        mount_path: a.mount,
        mount_type: a.mountType,
        name: a.name,
      })),
      creation_time: iso(e.created),
      direct_group_ids: [],
      disabled: false,
      group_ids: [],
      id: e.id,
      inherited_group_ids: [],
      last_update_time: iso(e.created),
      merged_entity_ids: null,
      metadata: null,
      name: e.name,
      namespace_id: e.namespace === '' ? 'root' : e.namespace,
      policies: [],
    })
  }

  /** The token's own KV v1 store. */
  // OpenBao: builtin/logical/cubbyhole (CubbyholeBackend: handleRead, handleWrite, handleDelete, handleList, handleExistenceCheck).
  private cubbyholeRoute(token: TokenEntry, key: string, body: Record<string, unknown> | undefined): Route {
    const box = token.cubbyhole
    return {
      exists: () => box.has(key),
      read: () => {
        const data = box.get(key)
        return data ? this.ok(data) : notFound()
      },
      list: () => {
        const prefix = key === '' || key.endsWith('/') ? key : `${key}/`
        const keys = [...box.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length).replace(/\/.*$/, '/'))
        return this.listReply(keys)
      },
      write: () => {
        if (key === '') return errorReply(400, 'missing path')
        if (!body || Object.keys(body).length === 0) return errorReply(400, 'missing data fields')
        box.set(key, { ...body })
        return noContent(1)
      },
      delete: () => {
        if (key === '') return errorReply(400, 'missing path')
        return noContent(box.delete(key) ? 1 : 0)
      },
    }
  }

  // ---- mounts as the CLI sees them ---------------------------------------

  /** What `vault kv get/put` asks first to learn the KV version of a path. */
  // OpenBao: SystemBackend.pathInternalUIMountRead (+ mountInfo, hasMountAccess).
  private uiMount(req: VaultRequest, rawPath: string): VaultReply {
    const path = rawPath.endsWith('/') ? rawPath : `${rawPath}/`
    // An unauthenticated path: no use of a num_uses token is spent; a missing or dead token is the handler's error.
    const auth = this.authenticate(req, false)
    if ('reply' in auth) return { ...errorReply(403, ACL_DENIED), deadToken: auth.reply.deadToken }
    const withWrites = (r: VaultReply): VaultReply => ({ ...r, storageWrites: r.storageWrites + auth.writes })
    const denied = () => withWrites(errorReply(403, `preflight capability check returned 403, please ensure client's policies grant access to path "${path}"`))
    const ns = this.nsOf(req)
    const secret = findMount(ns.secrets, path.replace(/\/$/, ''))
    const authMount = path.startsWith('auth/') ? findMount(ns.auth, path.slice(5).replace(/\/$/, '')) : undefined
    let info: Record<string, unknown>
    let fullPath: string
    if (secret) {
      const [name, m] = secret as [string, SecretMount, string]
      fullPath = `${name}/`
      info = {
        accessor: m.accessor,
        config: { default_lease_ttl: m.default_lease_ttl ?? 0, force_no_cache: false, max_lease_ttl: m.max_lease_ttl ?? 0 },
        description: m.type === 'kv-v2' ? 'key/value secret storage' : '',
        external_entropy_access: false,
        local: false,
        options: m.type === 'database' ? null : { version: m.type === 'kv-v2' ? '2' : '1' },
        path: fullPath,
        plugin_version: '',
        running_plugin_version: m.type === 'database' ? 'v1.15.6+builtin.vault' : 'v0.20.0+builtin',
        running_sha256: '',
        seal_wrap: false,
        type: m.type === 'database' ? 'database' : 'kv',
        uuid: m.uuid,
      }
    } else if (authMount) {
      const [name, m] = authMount
      fullPath = `auth/${name}/`
      info = {
        accessor: m.accessor,
        config: { default_lease_ttl: m.default_lease_ttl ?? 0, force_no_cache: false, max_lease_ttl: m.max_lease_ttl ?? 0, token_type: 'default-service' },
        description: '',
        external_entropy_access: false,
        local: false,
        options: null,
        path: `${name}/`,
        plugin_version: '',
        running_plugin_version: '',
        running_sha256: '',
        seal_wrap: false,
        type: m.type,
        uuid: '',
      }
    } else return denied() // no such mount: the same 403, so the path cannot be used to list mounts
    if (!this.acl(auth.token).hasMountAccess(fullPath)) return denied()
    return withWrites(this.ok(info))
  }

  // ---- health ------------------------------------------------------------

  // OpenBao: http/sys_health.go handleSysHealthGet / handleSysHealthHead (status codes and the *code parameters).
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
