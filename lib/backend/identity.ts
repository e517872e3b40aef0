/**
 * Which Vault identity an ExternalSecret reads as: its auth method, mount and role, and for per-namespace identities
 * the Kubernetes namespace and service account. A pure function of the spec, its namespace and the settings.
 */
import type { Settings } from '../settings.js'
import type { Identity } from '../token/errors.js'
import { SpecError } from './errors.js'
import { checkMount, checkRole, shown } from '../spec-names.js'
import { checkServiceAccountPermitted } from './spec-guard.js'

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
  /** Service accounts the ExternalSecret's namespace permits (read by the host from a namespace annotation). */
  permittedServiceAccounts?: readonly string[]
}

/** The spec field as a string: absent, null and "" mean "not set" (KES's `||`). */
function field(spec: SpecIdentityFields, name: keyof SpecIdentityFields): string | undefined {
  const v = spec[name]
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v !== 'string') throw new SpecError(`spec.${name}`, `must be a string; got ${typeof v}`)
  return v
}

/** The one key of the static token's identity: a one-element array, which no five-element spec identity can equal. */
export const STATIC_TOKEN_KEY = JSON.stringify(['token'])

/**
 * Every name the spec gives is checked (spec-guard.ts) before it can reach a URL, a cache key or a metric label; the
 * operator's defaults are trusted. A spec may name only the service accounts the operator permits.
 */
export function resolveIdentity(spec: SpecIdentityFields, context: IdentityContext, s: Settings): Identity {
  const approle = s.authMethod === 'approle'
  const specRole = field(spec, 'vaultRole')
  const specMount = field(spec, 'vaultMountPoint')
  const specServiceAccount = field(spec, 'vaultServiceAccount')
  if (specRole !== undefined) checkRole('spec.vaultRole', specRole)
  if (specMount !== undefined) checkMount('spec.vaultMountPoint', specMount)
  if (specServiceAccount !== undefined && !approle) {
    checkServiceAccountPermitted('spec.vaultServiceAccount', specServiceAccount, {
      authServiceAccount: s.authServiceAccount,
      permittedServiceAccounts: s.permittedServiceAccounts,
      fromNamespace: context.permittedServiceAccounts,
    })
  }
  if (approle) {
    // AppRole logs in with the one role_id configured, whatever the role is called: a spec naming another role or mount
    // would get the operator's own access under a name of its choosing (a login, a cache entry, series per name).
    const own = { role: s.defaultVaultRole ?? 'approle', mount: s.defaultVaultMountPoint }
    if (specRole !== undefined && specRole !== own.role) throw new SpecError('spec.vaultRole', `${shown(specRole)} is not the AppRole this controller logs in as: with VAULT_AUTH_METHOD=approle every login uses the one role_id of VAULT_APPROLE_ROLE_ID, so an ExternalSecret cannot select a role; name none, or ${shown(own.role)}`)
    if (specMount !== undefined && specMount !== own.mount) throw new SpecError('spec.vaultMountPoint', `${shown(specMount)} is not the auth mount this controller's AppRole logs in at: with VAULT_AUTH_METHOD=approle every login uses the one role_id of VAULT_APPROLE_ROLE_ID at DEFAULT_VAULT_MOUNT_POINT; name none, or ${shown(own.mount)}`)
  }
  const role = specRole ?? s.defaultVaultRole ?? (approle ? 'approle' : undefined)
  if (!role) {
    if (context.staticToken) return { key: STATIC_TOKEN_KEY, method: 'token', mount: 'token', role: 'static' }
    throw new SpecError('spec.vaultRole', 'no Vault role: set spec.vaultRole on the ExternalSecret or DEFAULT_VAULT_ROLE (or VAULT_TOKEN for a static token)')
  }
  const mount = specMount ?? s.defaultVaultMountPoint
  const serviceAccount = approle ? undefined : (specServiceAccount ?? s.authServiceAccount)
  if (serviceAccount && !context.namespace) {
    throw new SpecError('spec.vaultServiceAccount', `a per-namespace identity (service account ${JSON.stringify(serviceAccount)}) needs the ExternalSecret's namespace`)
  }
  const namespace = serviceAccount ? context.namespace : undefined
  // JSON: no spec value can make two identities share a key; the method keeps the static token apart from any role.
  const key = JSON.stringify([s.authMethod, mount, role, namespace ?? null, serviceAccount ?? null])
  return { key, method: s.authMethod, mount, role, ...(namespace ? { namespace, serviceAccount } : {}) }
}
