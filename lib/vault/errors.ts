import { redactor } from '../redact.js'

export type VaultOperation = 'login' | 'lookup' | 'renew' | 'revoke' | 'read'

/**
 * What a failure means for the token manager. `invalid_token` is the only one that says the token is dead;
 * `permission_denied` may be either (old Vault wording) and is settled with a lookup-self.
 */
export type VaultErrorKind =
  | 'invalid_token'
  | 'permission_denied'
  | 'not_found'
  | 'bad_request'
  | 'not_renewable'
  | 'lease_expired'
  | 'past_max_ttl'
  | 'sealed'
  | 'rate_limited'
  | 'unavailable'
  | 'server'
  | 'timeout'
  | 'network'

const TRANSIENT = new Set<VaultErrorKind>(['sealed', 'rate_limited', 'unavailable', 'server', 'timeout', 'network'])

/**
 * The only error type that leaves the Vault layer. Built field by field from node-vault/axios errors, which carry
 * the request config with the X-Vault-Token header and the login body; none of that is copied.
 */
export class VaultRequestError extends Error {
  constructor(
    readonly operation: VaultOperation,
    readonly kind: VaultErrorKind,
    readonly status: number | undefined,
    readonly path: string,
    readonly vaultMessage: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(redactor.text(`vault ${operation} ${path} failed: ${status ? `${status} ` : ''}${vaultMessage}`))
    this.name = 'VaultRequestError'
  }

  get transient(): boolean {
    return TRANSIENT.has(this.kind)
  }
}

/** Map a Vault status and its `errors[]` text to a kind, using the messages listed in shared/vault-api.md. */
export function classifyResponse(status: number, message: string): VaultErrorKind {
  const m = message.toLowerCase()
  if (status === 403) return m.includes('invalid token') ? 'invalid_token' : 'permission_denied'
  if (status === 404) return 'not_found'
  if (status === 429) return 'rate_limited'
  if (m.includes('past the max ttl')) return 'past_max_ttl'
  if (status === 400) {
    if (m.includes('lease is not renewable') || m.includes('batch tokens cannot be renewed') || m.includes('invalid lease id')) {
      return 'not_renewable'
    }
    if (m.includes('lease expired')) return 'lease_expired'
    return 'bad_request'
  }
  if (status === 503) return m.includes('sealed') ? 'sealed' : 'unavailable'
  if (status >= 500) return 'server'
  return 'bad_request'
}

interface NodeVaultLikeError {
  message?: unknown
  code?: unknown
  response?: { statusCode?: unknown; status?: unknown; body?: unknown; headers?: Record<string, unknown> }
}

const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT'])

export function toVaultRequestError(err: unknown, operation: VaultOperation, path: string): VaultRequestError {
  if (err instanceof VaultRequestError) return err
  const e = (err ?? {}) as NodeVaultLikeError
  const status = Number(e.response?.statusCode ?? e.response?.status) || undefined
  if (status) {
    const body = e.response?.body as { errors?: unknown[] } | undefined
    const first = Array.isArray(body?.errors) && body.errors.length > 0 ? String(body.errors[0]) : ''
    const message = first.replace(/\s+/g, ' ').trim() || `status ${status}`
    const headers = e.response?.headers ?? {}
    const retry = Number(Object.entries(headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1])
    return new VaultRequestError(operation, classifyResponse(status, first), status, path, message, retry > 0 ? retry : undefined)
  }
  const code = typeof e.code === 'string' ? e.code : ''
  const msg = typeof e.message === 'string' ? e.message : String(err)
  if (TIMEOUT_CODES.has(code) || /timeout/i.test(msg)) {
    return new VaultRequestError(operation, 'timeout', undefined, path, `no answer in time (${code || 'timeout'})`)
  }
  return new VaultRequestError(operation, 'network', undefined, path, code ? `connection error ${code}` : `connection error: ${msg}`)
}
