/** Errors of the token layer. They say why and what to do, never the credential. */
import { quote } from '../redact.js'

/** Who a token belongs to. `key` is the cache key; mount and role are the metric labels. */
export interface Identity {
  key: string
  method: 'kubernetes' | 'jwt' | 'approle' | 'token'
  mount: string
  role: string
  /** Kubernetes namespace and service account of a per-namespace identity. */
  namespace?: string
  serviceAccount?: string
}

export function describeIdentity(id: Identity): string {
  if (id.method === 'token') return 'the static VAULT_TOKEN'
  return `auth mount "${id.mount}", role "${id.role}"${id.namespace ? ` (service account ${id.namespace}/${id.serviceAccount})` : ''}`
}

/** No token can be had right now; says why and when the next attempt is. */
export class TokenUnavailableError extends Error {
  constructor(
    readonly identity: Identity,
    readonly loginError: Error | undefined,
    /** ms on the clock of the next login attempt; Infinity when none will come (a dead static token). */
    readonly retryAt: number,
    now: number,
  ) {
    const wait = Math.max(0, Math.ceil((retryAt - now) / 1000))
    super(
      identity.method === 'token'
        ? 'the static VAULT_TOKEN is invalid, expired or revoked, and no role is configured to log in with; ' +
            'set a new VAULT_TOKEN or configure DEFAULT_VAULT_ROLE'
        : `no valid Vault token for ${describeIdentity(identity)}` +
            (loginError ? `: login failed (${loginError.message})` : '') +
            (Number.isFinite(retryAt) ? `; next login attempt in ${wait} s` : ''),
    )
    this.name = 'TokenUnavailableError'
  }
}

/** A read was denied although the token is alive: the role's policies do not allow the path. */
export class PolicyDeniedError extends Error {
  constructor(
    readonly identity: Identity,
    readonly path: string,
    policies: readonly string[],
  ) {
    super(
      `vault denied reading "${quote(path)}" for ${describeIdentity(identity)} although the token is valid ` +
        `(policies: ${policies.join(', ') || 'unknown'}); grant "read" on this path to one of the role's policies`,
    )
    this.name = 'PolicyDeniedError'
  }
}

/** The backend is closing or closed: nothing more is sent to Vault. */
export class SessionClosedError extends Error {
  constructor(readonly identity: Identity) {
    super(`the Vault backend is closed; nothing is sent for ${describeIdentity(identity)}`)
    this.name = 'SessionClosedError'
  }
}
