/** One request in, one reply out: the shapes Vault's HTTP layer writes, and the error texts it wraps. */
import type { DeadReason } from './store.js'

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
  /** Writes to Vault's storage this request caused (login, renew, revoke, create, num_uses, KV and policy writes). */
  storageWrites: number
  /** Set when the request carried a token that is expired, revoked or unknown. */
  deadToken?: DeadReason
}

/**
 * How go-multierror prints its errors. Vault wraps an error in one when it comes back from a backend as an
 * error rather than an error response (an ACL denial, `past the max TTL`, a failed renewal).
 */
// OpenBao: request_handling.go handleRequest (multierror.Append) printed by go-multierror's ListFormatFunc.
export function multiError(...errors: string[]): string {
  const points = errors.map((e) => `\t* ${e}`).join('\n')
  return `${errors.length === 1 ? '1 error occurred' : `${errors.length} errors occurred`}:\n${points}\n\n`
}

export const INVALID_TOKEN_NEW = multiError('permission denied', 'invalid token')
export const PERMISSION_DENIED = 'permission denied'
/** A valid token whose policies do not grant the path (CheckToken's ACL result, multierror-wrapped). */
export const ACL_DENIED = multiError(PERMISSION_DENIED)
export const UNSUPPORTED_OPERATION = multiError('unsupported operation')
export const UNSUPPORTED_PATH = multiError('unsupported path')

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

/** A read that finds nothing: the backend returned no response. */
export const notFound = (): VaultReply => errorReply(404)

export const noContent = (storageWrites = 0): VaultReply => ({ status: 204, storageWrites })
