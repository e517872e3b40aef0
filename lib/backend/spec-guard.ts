/**
 * The spec guard: every name a whole ExternalSecret spec gives, checked before any request against the rules in
 * lib/spec-names.ts and the operator's settings. The backend calls it once per `getSecretManifestData`.
 */
import { checkSecretPath, checkServiceAccount, MAX_PROPERTY_LENGTH, MAX_SPEC_ITEMS, type PathRules, shown, SpecError, typeOf } from '../spec-names.js'

/** Who may name which service account: the operator's setting, and what the host read from the namespace. */
export interface ServiceAccountRules {
  /** VAULT_AUTH_SERVICE_ACCOUNT: the operator's own choice, always permitted. */
  authServiceAccount?: string
  /** VAULT_PERMITTED_SERVICE_ACCOUNTS; "*" permits any. */
  permittedServiceAccounts: readonly string[]
  /** From the namespace annotation, when the host passed it (poller host: SERVICE_ACCOUNT_PERMITTED_ANNOTATION). */
  fromNamespace?: readonly string[]
}

export function checkServiceAccountPermitted(field: string, value: string, rules: ServiceAccountRules): string {
  checkServiceAccount(field, value)
  if (value === rules.authServiceAccount) return value
  if (rules.permittedServiceAccounts.includes('*') || rules.permittedServiceAccounts.includes(value)) return value
  if (rules.fromNamespace?.includes(value)) return value
  throw new SpecError(
    field,
    `service account ${shown(value)} is not permitted: an ExternalSecret may name only the service accounts the operator permits ` +
      `(VAULT_PERMITTED_SERVICE_ACCOUNTS, or the namespace annotation externalsecrets.kubernetes-client.io/permitted-service-accounts)`,
  )
}

/** The spec fields `guardSpec` reads; anything else passes through to the KV backend untouched. */
interface GuardedSpec {
  data?: unknown
  properties?: unknown
  dataFrom?: unknown
  dataFromWithOptions?: unknown
  kvVersion?: unknown
}

/**
 * Every secret path of a spec, with its field, in KES's read order. Shapes KES itself rejects (a `data` that is not
 * an array, an item that is not an object) are left to the KV backend, which names them the way it always has.
 */
export function* specPaths(spec: GuardedSpec): Generator<{ field: string; key: unknown; byPath?: true }> {
  if (Array.isArray(spec.dataFrom)) {
    for (let i = 0; i < spec.dataFrom.length; i++) yield { field: `spec.dataFrom[${i}]`, key: spec.dataFrom[i] }
  }
  if (Array.isArray(spec.dataFromWithOptions)) {
    for (let i = 0; i < spec.dataFromWithOptions.length; i++) {
      const item = spec.dataFromWithOptions[i] as { key?: unknown } | null
      if (item !== null && typeof item === 'object') yield { field: `spec.dataFromWithOptions[${i}].key`, key: item.key }
    }
  }
  const [items, source] = spec.data === undefined && spec.properties !== undefined ? [spec.properties, 'properties'] : [spec.data, 'data']
  if (Array.isArray(items)) {
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as { key?: unknown; path?: unknown } | null
      // KES reads by `path` when it is truthy (which this backend does not implement) and by `key` otherwise.
      if (item === null || typeof item !== 'object') continue
      if (item.path) yield { field: `spec.${source}[${i}].path`, key: item.path, byPath: true }
      else yield { field: `spec.${source}[${i}].key`, key: item.key }
    }
  }
}

/** The checks of a whole spec that need no identity: kvVersion, every path, every property's length. */
export function guardSpecPaths(spec: GuardedSpec, rules: PathRules): void {
  const kv = spec.kvVersion
  if (kv !== undefined && kv !== 1 && kv !== 2) {
    throw new SpecError('spec.kvVersion', `Unknown "kvVersion" specified: ${typeof kv === 'number' || typeof kv === 'boolean' ? String(kv) : typeof kv === 'string' ? shown(kv) : typeOf(kv)}; expected 1 or 2`)
  }
  const count = [spec.data ?? spec.properties, spec.dataFrom, spec.dataFromWithOptions].reduce<number>((n, a) => n + (Array.isArray(a) ? a.length : 0), 0)
  if (count > MAX_SPEC_ITEMS) throw new SpecError('spec', `has ${count} items in data, dataFrom and dataFromWithOptions together; at most ${MAX_SPEC_ITEMS}`)
  for (const { field, key, byPath } of specPaths(spec)) {
    if (key === undefined || key === null || key === '') throw new SpecError(field, 'is missing: every item needs the Vault path to read')
    checkSecretPath(field, key, rules)
    // A `path` item would fail at `_getByPath` anyway, after the spec's other reads were sent: refuse it before any.
    if (byPath) throw new SpecError(field, `${shown(key as string)}: _getByPath not implemented: the Vault backend cannot fetch a data item by 'path' (neither could KES's); use 'key'`)
  }
  const items = spec.data ?? spec.properties
  if (Array.isArray(items)) {
    items.forEach((item: unknown, i) => {
      const property = (item as { property?: unknown } | null)?.property
      if (typeof property === 'string' && property.length > MAX_PROPERTY_LENGTH) {
        throw new SpecError(`spec.${spec.data === undefined ? 'properties' : 'data'}[${i}].property`, `is ${property.length} characters long; at most ${MAX_PROPERTY_LENGTH}`)
      }
    })
  }
}

/** Where a Secret data key came from, for an error: the `data[]` item that names it, else the JSON documents read whole. */
export function fieldOfSecretKey(spec: GuardedSpec, name: string): string {
  const [items, source] = spec.data === undefined && spec.properties !== undefined ? [spec.properties, 'properties'] : [spec.data, 'data']
  if (Array.isArray(items)) {
    for (let i = items.length - 1; i >= 0; i--) {
      if ((items[i] as { name?: unknown } | null)?.name === name) return `spec.${source}[${i}]`
    }
  }
  const withOptions = Array.isArray(spec.dataFromWithOptions) && spec.dataFromWithOptions.length > 0
  const plain = Array.isArray(spec.dataFrom) && spec.dataFrom.length > 0
  return withOptions && plain ? 'spec.dataFrom or spec.dataFromWithOptions' : withOptions ? 'spec.dataFromWithOptions' : 'spec.dataFrom'
}

