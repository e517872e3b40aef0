/**
 * ExternalSecret specs are untrusted input: tenants write them, the controller holds the Vault identity. The rules for
 * every name a spec gives (secret paths, auth mount, role, service account), as Vault and Kubernetes spell them, and
 * the error that refuses one: a `SpecError` naming the field (`spec.data[2].key`) and quoting at most a bounded,
 * redacted prefix of the value. Pure, and at the bottom of the layers: the backend, the poller host and the settings
 * resolver all check names here (lib/backend/spec-guard.ts applies them to a whole spec).
 */
import { quote } from './redact.js'

/** No error message built from tenant input or Vault's text is longer than this (a 1 MB key must not log 1 MB per poll). */
export const MAX_MESSAGE = 2000

/** An ExternalSecret field that cannot be used as written (tenant input): names the field, quotes at most a bounded prefix. */
export class SpecError extends Error {
  /** Where in the spec, e.g. "spec.vaultRole" or "spec.data[2].key" (itself bounded: it may hold a template key). */
  readonly field: string

  constructor(field: string, detail: string) {
    const where = quote(field, 200)
    super(quote(`${where}: ${detail}`, MAX_MESSAGE))
    this.name = 'SpecError'
    this.field = where
  }
}

/**
 * Vault's own trees: never a secret engine an ExternalSecret may read. Every path of Vault's built-in `default` policy
 * lies under one of them (OpenBao `internal/vault/policy/policy_store.go`): `auth/token/lookup-self` (the token
 * itself), `renew-self`, `revoke-self`; `sys/capabilities-self`, `sys/internal/ui/resultant-acl`, `sys/leases/renew`,
 * `sys/leases/lookup`, `sys/wrapping/{wrap,lookup,unwrap}`, `sys/tools/hash[/*]`; `identity/entity/id/<own id>`,
 * `identity/entity/name/<own name>`, `identity/oidc/provider/+/authorize`; `cubbyhole/*` (the token's private store,
 * and `cubbyhole/response` of the response-wrapping policy). Beyond the default policy, `auth/<mount>/...` holds auth
 * configuration and `sys/` everything of the server.
 */
export const RESERVED_TREES = ['auth', 'sys', 'identity', 'cubbyhole'] as const

/** Vault has no path limit of its own; no KV path anyone writes is this long, and errors quote less. */
export const MAX_KEY_LENGTH = 512
export const MAX_MOUNT_LENGTH = 128
export const MAX_ROLE_LENGTH = 128
/** Kubernetes: a service account name is a DNS-1123 subdomain, at most 253 characters. */
export const MAX_SERVICE_ACCOUNT_LENGTH = 253
/**
 * Items of one spec (data, dataFrom and dataFromWithOptions together). Far above any real ExternalSecret; a bound on
 * what one tenant's spec can make the controller read, parse and check in one poll.
 */
export const MAX_SPEC_ITEMS = 1000
/** lodash paths (`a.b[0]`); KES set no bound, a KES user never needs more. */
export const MAX_PROPERTY_LENGTH = 1024
/** How much of a refused value an error quotes. */
const QUOTED = 80

/** Vault's name rule for roles of the kubernetes, jwt and approle methods (`framework.GenericNameRegex`). */
const ROLE_NAME = /^\w(?:[\w.-]*\w)?$/
/** One segment of an auth mount path: what `vault auth enable -path=` users write. */
const MOUNT_SEGMENT = /^[\w.-]+$/
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/
/** C0/C1 controls, format characters (bidi overrides, zero-width), line and paragraph separators. */
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u
const ABSOLUTE_URL = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//

/** The refused value in an error: bounded, redacted, JSON-quoted (so control characters show as escapes). */
export function shown(value: string): string {
  return JSON.stringify(quote(value, QUOTED))
}

export function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v
}

/** The path as the transport sends it: leading slashes dropped (KES's node-vault sent `//secret/...`, which Vault cleaned). */
export function normalizeVaultPath(path: string): string {
  return path.replace(/^\/+/, '')
}

/** What is wrong with a Vault path's spelling, or undefined. Checks the length first: a 1 MB key costs O(1). */
export function pathProblem(value: string, max: number): string | undefined {
  if (value === '') return 'must not be empty'
  if (value.length > max) return `is ${value.length} characters long; at most ${max}`
  const control = CONTROL.exec(value)
  if (control) return `contains a control or invisible character (U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at index ${control.index}`
  if (ABSOLUTE_URL.test(value)) return 'is an absolute URL; give a Vault path such as secret/data/app'
  if (value.includes('%')) return "contains '%': write the path as Vault names it, not percent-encoded"
  if (value.includes('?')) return "contains '?': a query is not part of a Vault path"
  if (value.includes('#')) return "contains '#': a fragment is not part of a Vault path"
  if (value.includes('\\')) return "contains '\\': Vault paths are separated by '/'"
  const segments = normalizeVaultPath(value).split('/')
  if (segments.some((s) => s === '.' || s === '..')) return "has a '.' or '..' segment"
  if (segments.some((s) => s === '')) return "has an empty segment ('//' or a trailing '/')"
  return undefined
}

/** The first path segment, when it is one of Vault's own trees (compared without case: no spelling gets past it). */
export function reservedTree(path: string): string | undefined {
  const first = normalizeVaultPath(path).split('/', 1)[0]!.toLowerCase()
  return (RESERVED_TREES as readonly string[]).includes(first) ? first : undefined
}

/** True when `path` lies under `prefix` at a segment boundary (`secret` allows `secret/x`, not `secrets/x`). */
export function underPrefix(path: string, prefix: string): boolean {
  const p = normalizeVaultPath(path)
  return p === prefix || p.startsWith(`${prefix}/`)
}

export interface PathRules {
  /** VAULT_ALLOWED_MOUNTS, normalized (no leading or trailing slash); empty: any path outside Vault's own trees. */
  allowedMounts: readonly string[]
}

/**
 * A secret path a spec asks to read (`data[].key`, `dataFrom[]`, `dataFromWithOptions[].key`): well formed, not under
 * Vault's own trees, inside the operator's allowlist. Returns the path unchanged.
 */
export function checkSecretPath(field: string, value: unknown, rules: PathRules): string {
  if (typeof value !== 'string') throw new SpecError(field, `must be a Vault path (a string); got ${typeOf(value)}`)
  const problem = pathProblem(value, MAX_KEY_LENGTH)
  if (problem) throw new SpecError(field, `${shown(value)} ${problem}`)
  const tree = reservedTree(value)
  if (tree) {
    throw new SpecError(
      field,
      `${shown(value)} is under Vault's own "${tree}/" tree (tokens, identities, the controller's cubbyhole); ExternalSecrets read only from secret engines`,
    )
  }
  if (rules.allowedMounts.length > 0 && !rules.allowedMounts.some((m) => underPrefix(value, m))) {
    const list = rules.allowedMounts.slice(0, 8).join(', ') + (rules.allowedMounts.length > 8 ? ', …' : '')
    throw new SpecError(field, `${shown(value)} is outside the secret mounts this controller may read (VAULT_ALLOWED_MOUNTS: ${list})`)
  }
  return value
}

/** `spec.vaultMountPoint`: the auth mount the controller's JWT is posted to (`auth/<mount>/login`). */
export function checkMount(field: string, value: string): string {
  if (value.length > MAX_MOUNT_LENGTH) throw new SpecError(field, `is ${value.length} characters long; at most ${MAX_MOUNT_LENGTH}`)
  const segments = value.split('/')
  if (segments.some((s) => s === '.' || s === '..' || !MOUNT_SEGMENT.test(s))) {
    throw new SpecError(field, `${shown(value)} is not an auth mount path: segments of letters, digits, '_', '.' and '-' separated by '/', no '.' or '..' segment, no leading or trailing '/'`)
  }
  if (value.toLowerCase() === 'token') throw new SpecError(field, `"token" is Vault's token store, which has no login; name the auth mount of a role (e.g. kubernetes)`)
  return value
}

/** `spec.vaultRole`: Vault's own rule for role names, bounded. */
export function checkRole(field: string, value: string): string {
  if (value.length > MAX_ROLE_LENGTH) throw new SpecError(field, `is ${value.length} characters long; at most ${MAX_ROLE_LENGTH}`)
  if (!ROLE_NAME.test(value)) throw new SpecError(field, `${shown(value)} is not a Vault role name: letters, digits, '_', '.' and '-', starting and ending with a letter, digit or '_'`)
  return value
}

/** `spec.vaultServiceAccount`: a Kubernetes service account name (DNS-1123 subdomain). */
export function checkServiceAccount(field: string, value: string): string {
  if (value.length > MAX_SERVICE_ACCOUNT_LENGTH) throw new SpecError(field, `is ${value.length} characters long; at most ${MAX_SERVICE_ACCOUNT_LENGTH}`)
  if (!DNS1123_SUBDOMAIN.test(value)) throw new SpecError(field, `${shown(value)} is not a Kubernetes service account name (lower-case letters, digits, '-' and '.')`)
  return value
}

/**
 * An operator's VAULT_ALLOWED_MOUNTS entry, normalized: a secret-engine mount (`secret`) or a deeper prefix
 * (`secret/data/team-a`). Returns an error text for the settings resolver, or the normalized entry.
 */
export function allowedMountEntry(entry: string): { ok: true; value: string } | { ok: false; problem: string } {
  const value = entry.replace(/^\/+|\/+$/g, '')
  const problem = pathProblem(value, MAX_KEY_LENGTH)
  if (problem) return { ok: false, problem: `${shown(entry)} ${problem}` }
  const tree = reservedTree(value)
  if (tree) return { ok: false, problem: `${shown(entry)} is under Vault's own "${tree}/" tree, which ExternalSecrets may never read` }
  return { ok: true, value }
}
