import { quote, REDACTED } from '../redact.js'
import { MAX_MESSAGE, SpecError } from '../spec-names.js'

export { MAX_MESSAGE, SpecError } from '../spec-names.js'

/**
 * Errors raised by the KV backend while turning an ExternalSecret spec into Secret data.
 * Messages name the spec location, key, property or path involved: never a secret value.
 */

export type KVBackendErrorCode =
  /** The spec is not shaped the way KES needs it (KES would have failed with a bare TypeError). */
  | 'INVALID_SPEC'
  /** `property` was asked for but the key's JSON value does not have it (same condition and text as KES). */
  | 'PROPERTY_NOT_FOUND'
  /** The backend has no implementation for this kind of item (e.g. `data[].path`). */
  | 'NOT_IMPLEMENTED'
  /** The value cannot be used as asked (e.g. `isBinary` on a value that is not base64). */
  | 'INVALID_VALUE'
  /** The Secret would be larger than a Kubernetes Secret may be. */
  | 'TOO_LARGE'

/** Where in the spec the failing item lives. */
export type SpecSource = 'spec' | 'data' | 'dataFrom' | 'dataFromWithOptions'

export interface KVBackendErrorDetails {
  source?: SpecSource
  /** Index of the item inside its source array. */
  index?: number
  key?: unknown
  property?: unknown
  path?: unknown
}

export class KVBackendError extends Error {
  readonly code: KVBackendErrorCode
  readonly source?: SpecSource
  readonly index?: number
  readonly key?: unknown
  readonly property?: unknown
  readonly path?: unknown

  constructor(code: KVBackendErrorCode, message: string, details: KVBackendErrorDetails = {}) {
    // Keys, properties and names in the text are tenant input: bounded and redacted like any other quote.
    super(quote(message, MAX_MESSAGE))
    this.name = 'KVBackendError'
    this.code = code
    this.source = details.source
    this.index = details.index
    this.key = bounded(details.key)
    this.property = bounded(details.property)
    this.path = bounded(details.path)
  }
}

/**
 * Defence in depth: a value about to be written into a Secret holds a credential this backend holds (a Vault token,
 * the controller's service-account JWT, an AppRole secret ID; plain or base64). The ExternalSecret is refused and
 * nothing is written; the error names where the value came from, never the value.
 */
export class CredentialInSecretError extends SpecError {
  /** The Secret data key the value was meant for (bounded), or REDACTED when the key itself holds the credential. */
  readonly secretKey: string

  constructor(field: string, secretKey: string, part: 'value' | 'key' = 'value') {
    // A key holding the credential is not quoted at all: quote() would miss a base64 form broken by whitespace.
    const name = part === 'key' ? REDACTED : quote(secretKey, 100)
    super(
      field,
      `${part === 'key' ? 'a Secret key' : `the value for Secret key ${JSON.stringify(name)}`} contains a credential the Vault backend holds (a Vault token, a service-account JWT ` +
        `or an AppRole secret ID, as it is or base64-encoded); the ExternalSecret is refused and no Secret is written. ` +
        `Read only secrets meant for this namespace; if this ${part} is such a secret, rotate it: it matches a live credential`,
    )
    this.name = 'CredentialInSecretError'
    this.secretKey = name
  }
}

/** A read that failed, named by key and identity, with what to do. Never carries a token or a value. */
export class SecretReadError extends Error {
  readonly key: string

  constructor(
    message: string,
    key: string,
    readonly status?: number,
    /** Set when nothing was sent because Vault's Retry-After has not passed yet. */
    readonly retryAfterSeconds?: number,
  ) {
    super(quote(message, MAX_MESSAGE))
    this.name = 'SecretReadError'
    this.key = quote(String(key), 600)
  }
}


/** A tenant-supplied value kept on an error: strings bounded and redacted, objects reduced to their kind. */
function bounded(v: unknown): unknown {
  if (typeof v === 'string') return quote(v, 600)
  if (v !== null && typeof v === 'object') return Array.isArray(v) ? '[array]' : '[object]'
  return v
}
