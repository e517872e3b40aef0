/**
 * Which Vault identity an ExternalSecret reads as: its auth method, mount and role, and for per-namespace identities
 * the Kubernetes namespace and service account. A pure function of the spec, its namespace and the settings.
 */
import type { Settings } from '../settings.js'
import type { Identity } from '../token/errors.js'
import { SpecError } from './errors.js'

export interface SpecIdentityFields {
  vaultMountPoint?: unknown
  vaultRole?: unknown
  vaultServiceAccount?: unknown
}

export interface IdentityContext {
  /** Namespace of the ExternalSecret, when the host passed one. */
  namespace?: string
  /** A static token is configured (VAULT_TOKEN, or a token preset on the node-vault client). */
  staticToken: boolean
}

/** The spec field as a string: absent, null and "" mean "not set" (KES's `||`). */
function field(spec: SpecIdentityFields, name: keyof SpecIdentityFields): string | undefined {
  const v = spec[name]
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v !== 'string') throw new SpecError(`spec.${name}`, `must be a string; got ${typeof v}`)
  return v
}

export function resolveIdentity(spec: SpecIdentityFields, context: IdentityContext, s: Settings): Identity {
  const approle = s.authMethod === 'approle'
  const role = field(spec, 'vaultRole') ?? s.defaultVaultRole ?? (approle ? 'approle' : undefined)
  if (!role) {
    if (context.staticToken) return { key: JSON.stringify(['token']), method: 'token', mount: 'token', role: 'static' }
    throw new SpecError('spec.vaultRole', 'no Vault role: set spec.vaultRole on the ExternalSecret or DEFAULT_VAULT_ROLE (or VAULT_TOKEN for a static token)')
  }
  const mount = field(spec, 'vaultMountPoint') ?? s.defaultVaultMountPoint
  const serviceAccount = approle ? undefined : (field(spec, 'vaultServiceAccount') ?? s.authServiceAccount)
  if (serviceAccount && !context.namespace) {
    throw new SpecError('spec.vaultServiceAccount', `a per-namespace identity (service account "${serviceAccount}") needs the ExternalSecret's namespace`)
  }
  const namespace = serviceAccount ? context.namespace : undefined
  // JSON: no spec value can make two identities share a key; the method keeps the static token apart from any role.
  const key = JSON.stringify([s.authMethod, mount, role, namespace ?? null, serviceAccount ?? null])
  return { key, method: s.authMethod, mount, role, ...(namespace ? { namespace, serviceAccount } : {}) }
}
