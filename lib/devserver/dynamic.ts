/**
 * Dynamic secrets: a `database` mount whose every read of `creds/<role>` mints a new credential under a new lease,
 * and the `sys/leases/*` endpoints that renew, look up and revoke leases. After OpenBao's database secrets engine
 * (`builtin/logical/database`) and its expiration manager (`internal/vault/expiration.go`), the rules this product
 * depends on: the lease's TTL and max TTL, renewal counted from now and capped at issue time + max TTL with Vault's
 * warning, `past the max TTL`, non-renewable leases, leases revoked with their token.
 */
import { type LeaseTable, type SecretLease } from './leases.js'
import type { Route } from './kv.js'
import { type VaultReply, UNSUPPORTED_PATH, envelope, errorReply, noContent, notFound } from './reply.js'
import type { DatabaseEngine, DatabaseRole, DevStore, SecretMount, TokenEntry } from './store.js'
import { calculateTtl, parseDurationSeconds } from './ttl.js'

export interface DynamicContext {
  now: number
  /** The request's namespace, normalised ("" = root). */
  namespace: string
  body: Record<string, unknown> | undefined
  requestId: () => string
  randomChars: (n: number) => string
  defaultLeaseTtlSeconds: number
  maxLeaseTtlSeconds: number
}

const iso = (ms: number) => new Date(ms).toISOString()
/** Go's time.Time.Round(time.Second) for an instant in ms (halves round up). */
const roundToSecond = (ms: number) => Math.floor((ms + 500) / 1000) * 1000

/** The TTLs of the mount's system view: its tuning, else the server's defaults. */
function systemView(mount: SecretMount, ctx: DynamicContext) {
  return { mountDefaultTtl: mount.default_lease_ttl ?? ctx.defaultLeaseTtlSeconds, mountMaxTtl: mount.max_lease_ttl ?? ctx.maxLeaseTtlSeconds }
}

/** Validate a role as the plugin stores it; a string is the error. */
// OpenBao: database pathRoleCreateUpdate (default_ttl, max_ttl as TypeDurationSecond; "ttl cannot be greater than max_ttl").
export function buildDatabaseRole(name: string, input: Record<string, unknown>, old?: DatabaseRole): DatabaseRole | string {
  const dur = (field: 'default_ttl' | 'max_ttl'): number | string => {
    if (input[field] === undefined) return old?.[field] ?? 0
    const d = parseDurationSeconds(input[field])
    return d.ok ? d.seconds : `error parsing ${field}: ${d.error}`
  }
  const ttl = dur('default_ttl')
  const max = dur('max_ttl')
  if (typeof ttl === 'string') return ttl
  if (typeof max === 'string') return max
  if (max > 0 && ttl > max) return 'ttl cannot be greater than max_ttl'
  return { name, default_ttl: ttl, max_ttl: max }
}

/** The paths of a database mount this dev Vault serves: creds/<role>, roles/<role>, roles/. */
export function databaseRoute(mountPath: string, mount: SecretMount, rest: string, token: TokenEntry, leases: LeaseTable, ctx: DynamicContext): Route | { reply: VaultReply } {
  const engine = mount.database!
  const creds = /^creds\/([\w.-]+)$/.exec(rest)
  if (creds) return { read: () => mint(mountPath, mount, engine, creds[1]!, token, leases, ctx) }
  const role = /^roles\/([\w.-]+)$/.exec(rest)
  if (role) {
    const name = role[1]!
    return {
      exists: () => engine.roles.has(name),
      read: () => {
        const r = engine.roles.get(name)
        return r ? { status: 200, body: envelope({ requestId: ctx.requestId(), data: { default_ttl: r.default_ttl, max_ttl: r.max_ttl, db_name: 'dev', creation_statements: [], credential_type: 'password' } }), storageWrites: 0 } : notFound()
      },
      write: () => {
        const r = buildDatabaseRole(name, ctx.body ?? {}, engine.roles.get(name))
        if (typeof r === 'string') return errorReply(400, r)
        engine.roles.set(name, r)
        return noContent(1)
      },
      delete: () => noContent(engine.roles.delete(name) ? 1 : 0),
    }
  }
  if (/^roles\/?$/.test(rest)) {
    return {
      list: () =>
        engine.roles.size === 0 ? notFound() : { status: 200, body: envelope({ requestId: ctx.requestId(), data: { keys: [...engine.roles.keys()].sort() } }), storageWrites: 0 },
    }
  }
  // OpenBao: framework.Backend.HandleRequest on a path the backend does not have.
  return { reply: errorReply(404, UNSUPPORTED_PATH) }
}

/**
 * A read of creds/<role>: a new database user, registered as a lease of the reading token.
 * TTL: CalculateTTL(role default_ttl, role max_ttl) in the plugin, again in request handling; a batch token's lease is
 * cut to the token's own expiry (Register). Every read is a new credential, which is what KES #766 ran into.
 */
// OpenBao: database pathCredsCreateRead -> request_handling.go (CalculateTTL, Register) -> ExpirationManager.Register.
function mint(mountPath: string, mount: SecretMount, engine: DatabaseEngine, name: string, token: TokenEntry, leases: LeaseTable, ctx: DynamicContext): VaultReply {
  const role = engine.roles.get(name)
  // An error response with no error: a 400 (RespondErrorCommon with a response).
  if (!role) return errorReply(400, `unknown role: ${name}`)
  const now = ctx.now
  const calc = calculateTtl({ now, issueTime: now, increment: 0, roleTtl: role.default_ttl, roleMaxTtl: role.max_ttl, explicitMaxTtl: 0, period: 0, ...systemView(mount, ctx) })
  if (!calc.ok) return errorReply(500, calc.error)
  let expireAt = now + calc.ttl * 1000
  // OpenBao: Register: "If the token is a batch token, we want to constrain the maximum lifetime by the token's lifetime".
  if (token.type === 'batch' && token.expireAt !== null && token.expireAt < expireAt) expireAt = token.expireAt
  const path = `${mountPath}/creds/${name}`
  // The plugin's default username template: v-{{display_name}}-{{role_name}}-{{random 20}}-{{unix_time}}, cut to 63.
  const username = `v-${token.display_name}-${name}-${ctx.randomChars(20)}-${Math.floor(now / 1000)}`.slice(0, 63)
  const password = `${ctx.randomChars(4)}-${ctx.randomChars(16)}`
  const lease: SecretLease = {
    id: `${path}/${ctx.randomChars(24)}`,
    namespace: ctx.namespace,
    mount: mountPath,
    role: name,
    path,
    issueTime: now,
    expireAt,
    lastRenewal: null,
    renewable: engine.renewable,
    clientToken: token.id,
    username,
  }
  leases.purge(now)
  leases.add(lease)
  // Register rounds: time.Until(ExpireTime).Round(time.Second).
  const ttl = Math.round((expireAt - now) / 1000)
  const body = { ...envelope({ requestId: ctx.requestId(), data: { username, password }, lease_duration: ttl, renewable: engine.renewable, warnings: calc.warnings }), lease_id: lease.id }
  return { status: 200, body, storageWrites: 1 }
}

/** sys/leases/lookup, sys/leases/renew[/<id>], sys/leases/revoke[/<id>]; undefined for any other path. */
export function leaseRoute(path: string, store: DevStore, ctx: DynamicContext): Route | undefined {
  const m = /^sys\/leases\/(lookup|renew|revoke)(?:\/(.+))?$/.exec(path)
  if (!m || (m[1] === 'lookup' && m[2] !== undefined)) return undefined
  const [, what, urlId] = m as unknown as [string, 'lookup' | 'renew' | 'revoke', string | undefined]
  const id = typeof ctx.body?.lease_id === 'string' && ctx.body.lease_id !== '' ? ctx.body.lease_id : (urlId ?? '')
  // OpenBao: handleLeaseLookup / handleRenew / handleRevoke: "lease_id must be specified" (ErrInvalidRequest: 400).
  const handler = () => (id === '' ? errorReply(400, 'lease_id must be specified') : what === 'lookup' ? lookup(id, store, ctx) : what === 'renew' ? renew(id, store, ctx) : revoke(id, store, ctx))
  return { write: handler }
}

/** A live lease of the request's namespace (leases are per-namespace views in Vault). */
function liveLease(id: string, store: DevStore, ctx: DynamicContext): SecretLease | undefined {
  const lease = store.leases.get(id, ctx.now)
  return lease && lease.namespace === ctx.namespace ? lease : undefined
}

// OpenBao: SystemBackend.handleLeaseLookup ("invalid lease"; ttl as leaseEntry.ttl(); renewable from leaseEntry.renewable()).
function lookup(id: string, store: DevStore, ctx: DynamicContext): VaultReply {
  const lease = liveLease(id, store, ctx)
  if (!lease) return errorReply(400, 'invalid lease')
  const data = {
    expire_time: iso(lease.expireAt),
    id,
    issue_time: iso(lease.issueTime),
    last_renewal: lease.lastRenewal === null ? null : iso(lease.lastRenewal),
    path: lease.path,
    renewable: lease.renewable && store.findToken(lease.clientToken)?.type !== 'batch',
    ttl: Math.trunc((lease.expireAt - roundToSecond(ctx.now)) / 1000) + 0,
  }
  return { status: 200, body: envelope({ requestId: ctx.requestId(), data }), storageWrites: 0 }
}

/**
 * The new TTL counts from now: the increment if given, else the role's default_ttl (else the mount's), capped at
 * issue time + max TTL with Vault's warning; past it, `past the max TTL, cannot renew`. Errors from the plugin come
 * back through handleError as 400s, wrapped by renewEntry.
 */
// OpenBao: SystemBackend.handleRenew -> ExpirationManager.Renew (leaseEntry.renewable) -> renewEntry -> database
// secretCredsRenew (CalculateTTL with the role's TTLs) -> CalculateTTL again in Renew, its warnings added.
function renew(id: string, store: DevStore, ctx: DynamicContext): VaultReply {
  const body = ctx.body ?? {}
  const inc = parseDurationSeconds(body.increment)
  if (!inc.ok) return errorReply(400, `error converting input ${String(body.increment)} for field "increment": ${inc.error}`)
  const lease = liveLease(id, store, ctx)
  if (!lease) return errorReply(400, 'lease not found')
  if (!lease.renewable) return errorReply(400, 'lease is not renewable')
  const failed = (err: string) => errorReply(400, `failed to renew entry: resp: (*logical.Response)(nil) err: ${err}`)
  const mount = store.ns(lease.namespace).secrets.get(lease.mount)
  const role = mount?.database?.roles.get(lease.role)
  if (!mount || !role) return failed(`error during renew: could not find role with name "${lease.role}"`)
  const calc = calculateTtl({
    now: ctx.now,
    issueTime: lease.issueTime,
    increment: Math.max(0, inc.seconds),
    roleTtl: role.default_ttl,
    roleMaxTtl: role.max_ttl,
    explicitMaxTtl: 0,
    period: 0,
    ...systemView(mount, ctx),
  })
  if (!calc.ok) return failed(calc.error)
  let expireAt = ctx.now + calc.ttl * 1000
  const token = store.findToken(lease.clientToken)
  // OpenBao: Renew: a batch token's lease never outlives the token.
  if (token?.type === 'batch' && token.expireAt !== null && token.expireAt < expireAt) expireAt = token.expireAt
  lease.expireAt = expireAt
  lease.lastRenewal = ctx.now
  store.leases.renewed()
  const ttl = Math.round((expireAt - ctx.now) / 1000)
  const reply = { ...envelope({ requestId: ctx.requestId(), lease_duration: ttl, renewable: true, warnings: calc.warnings }), lease_id: id }
  return { status: 200, body: reply, storageWrites: 1 }
}

/** 204 whether or not the lease existed: revoking what is gone is not an error. */
// OpenBao: SystemBackend.handleRevoke (sync, the default) -> ExpirationManager.Revoke -> revokeCommon (le == nil: return nil).
function revoke(id: string, store: DevStore, ctx: DynamicContext): VaultReply {
  const lease = liveLease(id, store, ctx)
  if (!lease) return noContent(0)
  store.leases.revoke(id, ctx.now)
  return noContent(1)
}
