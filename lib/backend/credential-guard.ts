/**
 * Defence in depth behind the path rules (spec-guard.ts): whatever path a tenant found, no value that contains a
 * credential this backend holds is ever written into a Secret.
 *
 * "Held" means registered in the process-wide registry (redact.ts): the tokens of cached sessions, a static or preset
 * token, and (from here) the controller's current service-account JWT and AppRole secret ID. Those two were registered
 * only while a login was on the wire; a Vault path that echoes them back can be read at any time, so the backend keeps
 * the current one (and the one before it, which stays valid until it expires) registered for as long as it is current.
 * Registering beats asking the JWT source at check time: no file read or TokenRequest on the read path, and the same
 * registration also scrubs the JWT from every log line and error.
 */
import { type CredentialRegistry, credentials } from '../redact.js'
import { CredentialInSecretError } from './errors.js'
import { fieldOfSecretKey } from './spec-guard.js'

/**
 * `read` with its last two distinct answers kept registered. The controller's JWT source and secret-ID reader hold one
 * value each at a time, so the registry grows by at most two per source.
 */
export function holdingCurrent(read: () => Promise<string>, registry: CredentialRegistry = credentials): () => Promise<string> {
  let current: string | undefined
  let previous: string | undefined
  return async () => {
    const value = await read()
    if (value !== current) {
      registry.add(value)
      registry.forget(previous)
      previous = current
      current = value
    }
    return value
  }
}

/**
 * Refuse Secret data in which any key or value holds a live credential, plain or base64 (standard or URL-safe, any
 * alignment, whitespace ignored). Values are checked as the bytes the Secret would hold (decoded once from the
 * manifest's base64). O(total size).
 */
export function assertNoCredential(data: Readonly<Record<string, string>>, spec: Parameters<typeof fieldOfSecretKey>[0], registry: CredentialRegistry = credentials): void {
  if (registry.size === 0) return
  for (const [name, encoded] of Object.entries(data)) {
    // Keys are written as they are too: dataFrom takes a Vault secret's JSON keys.
    if (registry.contains(name)) throw new CredentialInSecretError(fieldOfSecretKey(spec, name), name, 'key')
    // latin1 maps every byte to one character: ASCII credentials are found inside binary or UTF-8 values alike.
    if (registry.contains(Buffer.from(encoded, 'base64').toString('latin1'))) throw new CredentialInSecretError(fieldOfSecretKey(spec, name), name)
  }
}
