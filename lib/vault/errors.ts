import { quote } from '../redact.js'

export type VaultOperation = 'login' | 'lookup' | 'renew' | 'revoke' | 'read'

/**
 * What a failure means, decided once here from Vault's status and wording (docs/vault-api.md); every caller switches
 * on the kind, never on a status code. `invalid_token` is the only kind that says the token is dead;
 * `permission_denied` may be either on old Vault and OpenBao (one wording for both) and is settled by the token policy.
 */
export type VaultErrorKind =
  | 'invalid_token'
  | 'permission_denied'
  | 'not_found'
  | 'bad_request'
  /** Renewal impossible: not renewable, a batch token, or no lease. */
  | 'not_renewable'
  | 'lease_expired'
  /** A secret lease Vault no longer has: revoked, expired, or gone with the token that read it. */
  | 'lease_not_found'
  | 'past_max_ttl'
  | 'sealed'
  | 'rate_limited'
  | 'unavailable'
  | 'server'
  | 'timeout'
  | 'network'
  /** A redirect to an origin outside the configured Vault cluster, or too many hops: nothing was sent there. */
  | 'redirect_refused'
  | 'too_large'
  /** An answer that is not what Vault sends (not JSON, a login without a token, a negative TTL, ...). */
  | 'bad_response'
  /** The backend was closed before this request left: nothing was sent. */
  | 'closed'

/**
 * The longest Retry-After honoured (seconds). A quota's block interval may be minutes; a header asking for a day, or
 * forever, is a proxy's mistake, and honouring it would stop syncing for that long. One request per 5 min asks again.
 */
export const MAX_RETRY_AFTER_SECONDS = 300

/** Kinds that say Vault (or the way to it) is unwell right now, not that the request was wrong. */
const TRANSIENT: ReadonlySet<VaultErrorKind> = new Set(['sealed', 'rate_limited', 'unavailable', 'server', 'timeout', 'network', 'bad_response'])

export function isTransient(kind: VaultErrorKind): boolean {
  return TRANSIENT.has(kind)
}

/**
 * The only error type that leaves the Vault layer. Its text is redacted and bounded when it is built: Vault quotes
 * request paths (which tenants write) and its own messages, and either may be long or carry a credential.
 */
export class VaultRequestError extends Error {
  /** Vault's own message (first entry of `errors[]`), whitespace folded, redacted, at most 300 characters. */
  readonly vaultMessage: string
  readonly path: string

  constructor(
    readonly operation: VaultOperation,
    readonly kind: VaultErrorKind,
    readonly status: number | undefined,
    path: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    const detail = quote(message.replace(/\s+/g, ' ').trim(), 300)
    const where = quote(path, 200)
    super(`vault ${operation} ${where} failed: ${status ? `${status} ` : ''}${detail}`)
    this.name = 'VaultRequestError'
    this.vaultMessage = detail
    this.path = where
  }

  get transient(): boolean {
    return isTransient(this.kind)
  }
}

/** Vault wraps errors from a backend in a multierror: "1 error occurred:\n\t* permission denied\n\n". */
const unwrap = (message: string) => message.replace(/^\d+ errors? occurred:\s*/i, '').replace(/\s*\*\s*/g, ' ').trim()

/** Map a Vault status and its `errors[]` text to a kind. */
export function classifyResponse(status: number, message: string): VaultErrorKind {
  const m = unwrap(message).toLowerCase()
  if (status === 403) return m.includes('invalid token') ? 'invalid_token' : 'permission_denied'
  if (status === 404) return 'not_found'
  if (status === 429) return 'rate_limited'
  if (m.includes('past the max ttl')) return 'past_max_ttl'
  if (status === 400) {
    if (m.includes('lease is not renewable') || m.includes('batch tokens cannot be renewed') || m.includes('invalid lease id')) return 'not_renewable'
    if (m.includes('lease expired')) return 'lease_expired'
    if (m.includes('lease not found') || m === 'invalid lease') return 'lease_not_found'
    return 'bad_request'
  }
  if (status === 503) return m.includes('sealed') ? 'sealed' : 'unavailable'
  // A standby that cannot find its active node; 412: a performance standby without the required index state yet.
  if (m.includes('active cluster node not found') || status === 412) return 'unavailable'
  if (status >= 500) return 'server'
  return 'bad_request'
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT'])

/** A failure below HTTP (connect, TLS, reset) as a VaultRequestError; never copies the request (it carries the token). */
export function networkError(err: unknown, operation: VaultOperation, path: string): VaultRequestError {
  const e = (err ?? {}) as { code?: unknown; message?: unknown }
  const code = typeof e.code === 'string' ? e.code : ''
  if (TIMEOUT_CODES.has(code)) return new VaultRequestError(operation, 'timeout', undefined, path, `no answer in time (${code})`)
  const msg = typeof e.message === 'string' ? e.message : String(err)
  return new VaultRequestError(operation, 'network', undefined, path, code ? `connection error ${code}` : `connection error: ${msg}`)
}
