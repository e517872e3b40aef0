/**
 * Typed Vault calls over the transport. Every answer the token layer relies on is validated here: a login without a
 * token, a TTL that is not a sane whole number, a boolean that is a string, is a `bad_response` error and never a
 * cached token. Error texts name the field, never its value.
 */
import { type VaultOperation, VaultRequestError } from './errors.js'
import type { VaultTransport } from './transport.js'

/** The `auth` block of a login or renew-self answer, validated. */
export interface VaultAuth {
  client_token: string
  accessor: string
  policies: string[]
  lease_duration: number
  renewable: boolean
  token_type: 'service' | 'batch'
  metadata: Record<string, string>
  /** Uses the token has (0 = unlimited): every request spends one, and the last use kills it. */
  num_uses: number
}

export interface VaultAuthResponse {
  auth: VaultAuth
  warnings: string[]
}

/** `data` of lookup-self, validated; fields Vault omits stay undefined. */
export interface TokenLookupData {
  accessor?: string
  creation_ttl?: number
  expire_time: string | null
  explicit_max_ttl?: number
  issue_time?: string
  period?: number
  policies?: string[]
  renewable?: boolean
  ttl: number
  type?: 'service' | 'batch'
  num_uses?: number
}

/** A secret read: its data and, for dynamic secrets, its lease. */
export interface VaultReadResponse {
  data: unknown
  lease_id: string
  lease_duration: number
  renewable: boolean
  warnings: string[]
}

/** A hundred years: longer is no TTL Vault would grant, only a broken answer. */
export const MAX_SANE_TTL_SECONDS = 100 * 365 * 86_400

type Json = Record<string, unknown>

class Shape {
  constructor(
    private readonly operation: VaultOperation,
    private readonly path: string,
  ) {}

  fail(what: string): never {
    throw new VaultRequestError(this.operation, 'bad_response', 200, this.path, `Vault's answer is malformed: ${what}`)
  }

  object(v: unknown, field: string): Json {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(`${field} is not an object`)
    return v as Json
  }

  seconds(v: unknown, field: string, optional = false): number | undefined {
    if (v === undefined || v === null) return optional ? undefined : this.fail(`${field} is missing`)
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_SANE_TTL_SECONDS) this.fail(`${field} is not a whole number of seconds from 0 to ${MAX_SANE_TTL_SECONDS}`)
    return n
  }

  boolean(v: unknown, field: string, optional = false): boolean | undefined {
    if (v === undefined || v === null) return optional ? undefined : this.fail(`${field} is missing`)
    if (typeof v !== 'boolean') this.fail(`${field} is not a boolean`)
    return v
  }

  string(v: unknown, field: string, optional = false): string | undefined {
    if (v === undefined || v === null) return optional ? undefined : this.fail(`${field} is missing`)
    if (typeof v !== 'string') this.fail(`${field} is not a string`)
    return v
  }

  strings(v: unknown, field: string): string[] | undefined {
    if (v === undefined || v === null) return undefined
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.fail(`${field} is not a list of strings`)
    return [...(v as string[])]
  }

  tokenType(v: unknown, field: string): 'service' | 'batch' | undefined {
    const t = this.string(v, field, true)
    if (t === undefined || t === '' || t === 'service' || t === 'default') return t === undefined ? undefined : 'service'
    if (t === 'batch') return 'batch'
    return this.fail(`${field} is neither "service" nor "batch"`)
  }

  warnings(v: unknown): string[] {
    return this.strings(v, 'warnings') ?? []
  }
}

function authResponse(body: unknown, operation: VaultOperation, path: string): VaultAuthResponse {
  const s = new Shape(operation, path)
  const top = s.object(body, 'the answer')
  const a = s.object(top.auth, 'auth')
  const token = s.string(a.client_token, 'auth.client_token')!
  if (token === '') s.fail('auth.client_token is empty')
  const type = s.tokenType(a.token_type, 'auth.token_type') ?? 'service'
  const metadata = a.metadata === undefined || a.metadata === null ? {} : s.object(a.metadata, 'auth.metadata')
  return {
    auth: {
      client_token: token,
      accessor: s.string(a.accessor, 'auth.accessor', true) ?? '',
      policies: s.strings(a.token_policies, 'auth.token_policies') ?? s.strings(a.policies, 'auth.policies') ?? [],
      lease_duration: s.seconds(a.lease_duration, 'auth.lease_duration')!,
      renewable: s.boolean(a.renewable, 'auth.renewable')!,
      token_type: type,
      metadata: Object.fromEntries(Object.entries(metadata).filter((e): e is [string, string] => typeof e[1] === 'string')),
      num_uses: s.seconds(a.num_uses, 'auth.num_uses', true) ?? 0,
    },
    warnings: s.warnings(top.warnings),
  }
}

function lookupData(body: unknown, path: string): TokenLookupData {
  const s = new Shape('lookup', path)
  const d = s.object(s.object(body, 'the answer').data, 'data')
  const expire = d.expire_time === null || d.expire_time === undefined ? null : s.string(d.expire_time, 'data.expire_time')!
  if (expire !== null && !Number.isFinite(Date.parse(expire))) s.fail('data.expire_time is not a time')
  return {
    accessor: s.string(d.accessor, 'data.accessor', true),
    creation_ttl: s.seconds(d.creation_ttl, 'data.creation_ttl', true),
    expire_time: expire,
    explicit_max_ttl: s.seconds(d.explicit_max_ttl, 'data.explicit_max_ttl', true),
    issue_time: s.string(d.issue_time, 'data.issue_time', true),
    period: s.seconds(d.period, 'data.period', true),
    policies: s.strings(d.policies, 'data.policies'),
    renewable: s.boolean(d.renewable, 'data.renewable', true),
    ttl: s.seconds(d.ttl, 'data.ttl')!,
    type: s.tokenType(d.type, 'data.type'),
    num_uses: s.seconds(d.num_uses, 'data.num_uses', true),
  }
}

/** A secret lease's renewal: its (new) duration, whether it can be renewed again, and Vault's warnings (the cap). */
export interface VaultLeaseRenewal {
  lease_id: string
  lease_duration: number
  renewable: boolean
  warnings: string[]
}

function leaseRenewal(body: unknown, path: string): VaultLeaseRenewal {
  const s = new Shape('renew', path)
  const top = s.object(body, 'the answer')
  return {
    lease_id: s.string(top.lease_id, 'lease_id')!,
    lease_duration: s.seconds(top.lease_duration, 'lease_duration')!,
    renewable: s.boolean(top.renewable, 'renewable')!,
    warnings: s.warnings(top.warnings),
  }
}

function readResponse(body: unknown, path: string): VaultReadResponse {
  const s = new Shape('read', path)
  const top = s.object(body, 'the answer')
  return {
    data: top.data,
    lease_id: s.string(top.lease_id, 'lease_id', true) ?? '',
    lease_duration: s.seconds(top.lease_duration, 'lease_duration', true) ?? 0,
    renewable: s.boolean(top.renewable, 'renewable', true) ?? false,
    warnings: s.warnings(top.warnings),
  }
}

export class VaultClient {
  constructor(readonly transport: VaultTransport) {}

  async login(mount: string, body: Record<string, unknown>): Promise<VaultAuthResponse> {
    const path = `auth/${mount}/login`
    return authResponse(await this.transport.send('login', 'POST', path, { body }), 'login', path)
  }

  async lookupSelf(token: string): Promise<TokenLookupData> {
    const path = 'auth/token/lookup-self'
    return lookupData(await this.transport.send('lookup', 'GET', path, { token }), path)
  }

  async renewSelf(token: string, increment?: number): Promise<VaultAuthResponse> {
    const path = 'auth/token/renew-self'
    return authResponse(await this.transport.send('renew', 'POST', path, { token, body: increment ? { increment } : {} }), 'renew', path)
  }

  async revokeSelf(token: string): Promise<void> {
    await this.transport.send('revoke', 'POST', 'auth/token/revoke-self', { token, body: {} })
  }

  async read(path: string, token: string): Promise<VaultReadResponse> {
    return readResponse(await this.transport.send('read', 'GET', path, { token }), path)
  }

  /** `PUT sys/leases/renew`: a secret lease (a dynamic secret's), not a token. No increment: the engine's TTL. */
  async renewLease(token: string, leaseId: string, increment?: number): Promise<VaultLeaseRenewal> {
    const path = 'sys/leases/renew'
    return leaseRenewal(await this.transport.send('renew', 'PUT', path, { token, body: increment ? { lease_id: leaseId, increment } : { lease_id: leaseId } }), path)
  }

  /** `PUT sys/leases/revoke` (204). The `default` policy does not grant it: a 403 is the usual answer. */
  async revokeLease(token: string, leaseId: string): Promise<void> {
    await this.transport.send('revoke', 'PUT', 'sys/leases/revoke', { token, body: { lease_id: leaseId } })
  }
}
