import { credentials } from '../redact.js'

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
    super(message)
    this.name = 'KVBackendError'
    this.code = code
    this.source = details.source
    this.index = details.index
    this.key = details.key
    this.property = details.property
    this.path = details.path
  }
}

/** An ExternalSecret field that cannot be used as written (tenant input): names the field, quotes at most a bounded prefix. */
export class SpecError extends Error {
  constructor(
    /** Where in the spec, e.g. "spec.vaultRole" or "spec.data[2].key". */
    readonly field: string,
    detail: string,
  ) {
    super(credentials.text(`${field}: ${detail}`))
    this.name = 'SpecError'
  }
}

/** A read that failed, named by key and identity, with what to do. Never carries a token or a value. */
export class SecretReadError extends Error {
  constructor(
    message: string,
    readonly key: string,
    readonly status?: number,
    /** Set when nothing was sent because Vault's Retry-After has not passed yet. */
    readonly retryAfterSeconds?: number,
  ) {
    super(credentials.text(message))
    this.name = 'SecretReadError'
  }
}
