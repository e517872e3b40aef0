/**
 * KES's tenant controls (`Poller._isPermitted`, KES 8.5.4 lib/poller.js), checked before any backend call, with KES's
 * annotation names and order, and three changes:
 *  - every pattern must match the whole value (KES's `new RegExp(p).test(v)` matched any part of it, so `team-a`
 *    let through `secret/data/team-b/team-a-copy`); patterns written as KES documented them (`/dev/ns/.*`,
 *    `arn:aws:iam::1:role/.*`, or already `^…$`) mean the same anchored;
 *  - the mount a spec names (`vaultMountPoint`, where the controller's JWT is posted) is checked too
 *    (MOUNT_PERMITTED_ANNOTATION), and `dataFromWithOptions[].key` as well as `data`/`dataFrom`;
 *  - a refusal names the field (`spec.data[2].key: …`) and quotes a bounded value.
 */

import { shown } from '../spec-names.js'
import { DEFAULT_POLLER_CONFIG, type PollerConfig } from './config.js'
import type { ExternalSecretSpec } from './types.js'

export interface NamespaceLike {
  metadata?: { name?: string; annotations?: Record<string, string> }
}

export type Verdict = { allowed: true } | { allowed: false; reason: string }

export type GuardConfig = Pick<
  PollerConfig,
  'rolePermittedAnnotation' | 'namingPermittedAnnotation' | 'enforceNamespaceAnnotations' | 'mountPermittedAnnotation' | 'defaultVaultMountPoint'
>

/** Longer keys and roles are refused before a regular expression ever runs on them (any backend: AWS ARNs are ≤ 2048). */
export const MAX_GUARDED_LENGTH = 2048

const allow: Verdict = { allowed: true }
const refuse = (field: string, reason: string): Verdict => ({ allowed: false, reason: `${field}: ${reason}` })

/** `pattern` anchored at both ends. Compiled alone first, so no pattern can escape the group (`a)|(.*`). */
export function anchoredPattern(pattern: string): RegExp {
  new RegExp(pattern)
  return new RegExp(`^(?:${pattern})$`)
}

interface Pattern {
  annotation: string
  source: string
  whole: RegExp
  anywhere: RegExp
}

function compile(annotation: string, source: string): Pattern | Verdict {
  try {
    return { annotation, source, whole: anchoredPattern(source), anywhere: new RegExp(source) }
  } catch {
    return { allowed: false, reason: `namespace annotation ${annotation} is not a valid regular expression` }
  }
}

/** KES's wording of each refusal, with the value and the pattern quoted (bounded). */
type Wording = (value: string, pattern: string, annotation: string) => string
const keyWording = (what: string): Wording => (v, p) => `${what} ${v} does not match naming convention ${p}`
const roleWording: Wording = (v, p, a) => `namespace does not allow to assume role ${v} (${a}: ${p})`
const mountWording: Wording = (v, p, a) => `namespace does not allow the Vault auth mount ${v} (${a}: ${p})`

/** One value against one pattern; the reason tells a KES user what changed when only the unanchored test passes. */
function check(field: string, value: unknown, p: Pattern, wording: Wording, inKes = true): Verdict | undefined {
  const text = String(value)
  if (text.length > MAX_GUARDED_LENGTH) return refuse(field, `is ${text.length} characters long; at most ${MAX_GUARDED_LENGTH}`)
  if (p.whole.test(text)) return undefined
  const hint = inKes && p.anywhere.test(text)
    ? '; the pattern must match the whole value (KES matched any part of it: wrap it as ".*(?:…).*" in the annotation to keep that)'
    : ''
  return refuse(field, wording(shown(text), shown(p.source), p.annotation) + hint)
}

function isVerdict(x: Pattern | Verdict): x is Verdict {
  return 'allowed' in x
}

/** Every key the spec names, with its field: what KES tested (`data`/`properties` key and path, `dataFrom`) and `dataFromWithOptions`. */
function* keysOf(spec: ExternalSecretSpec): Generator<{ field: string; value: unknown; wording: Wording }> {
  const items = spec.data || spec.properties
  const source = spec.data ? 'data' : 'properties'
  if (Array.isArray(items)) {
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Record<string, unknown> | null
      if (item === null || typeof item !== 'object') continue
      if ('path' in item) yield { field: `spec.${source}[${i}].path`, value: item.path, wording: keyWording('path') }
      if ('key' in item) yield { field: `spec.${source}[${i}].key`, value: item.key, wording: keyWording('key name') }
    }
  }
  if (Array.isArray(spec.dataFrom)) {
    for (let i = 0; i < spec.dataFrom.length; i++) yield { field: `spec.dataFrom[${i}]`, value: spec.dataFrom[i], wording: keyWording('key name') }
  }
  const withOptions = spec.dataFromWithOptions
  if (Array.isArray(withOptions)) {
    for (let i = 0; i < withOptions.length; i++) {
      const item = withOptions[i] as Record<string, unknown> | null
      if (item !== null && typeof item === 'object') yield { field: `spec.dataFromWithOptions[${i}].key`, value: item.key, wording: keyWording('key name') }
    }
  }
}

/**
 * May this namespace sync this ExternalSecret? KES's rules in KES's order: no annotations at all allows unless
 * ENFORCE_NAMESPACE_ANNOTATIONS; the naming annotation (every key); the role annotation (`roleArn` or `vaultRole`); then
 * the mount annotation. A missing annotation allows, except under enforcement; an empty one allows everything (KES).
 */
export function isPermitted(namespace: NamespaceLike, spec: ExternalSecretSpec, config: GuardConfig): Verdict {
  const annotations = namespace.metadata?.annotations
  const nsName = namespace.metadata?.name ?? ''
  const enforce = config.enforceNamespaceAnnotations
  if (!annotations) {
    return enforce ? { allowed: false, reason: `Namespace annotation is required (ENFORCE_NAMESPACE_ANNOTATIONS): namespace ${nsName} has none` } : allow
  }
  const missing = (annotation: string): Verdict => ({ allowed: false, reason: `Missing required annotation ${annotation} on namespace ${nsName}` })

  // 1. keys
  const naming = annotations[config.namingPermittedAnnotation]
  if (!naming && enforce) return missing(config.namingPermittedAnnotation)
  if (naming) {
    const p = compile(config.namingPermittedAnnotation, naming)
    if (isVerdict(p)) return p
    for (const { field, value, wording } of keysOf(spec)) {
      const v = check(field, value, p, wording)
      if (v) return v
    }
  }

  // 2. role
  const roleField = spec.roleArn ? 'spec.roleArn' : 'spec.vaultRole'
  const role = spec.roleArn || spec.vaultRole
  if (role) {
    const pattern = annotations[config.rolePermittedAnnotation]
    if (!pattern && enforce) return missing(config.rolePermittedAnnotation)
    // An empty (or absent) annotation allows every role, as in KES (and, as in KES, counts as missing under enforcement).
    if (pattern) {
      const p = compile(config.rolePermittedAnnotation, pattern)
      if (isVerdict(p)) return p
      const v = check(roleField, role, p, roleWording)
      if (v) return v
    }
  }

  // 3. auth mount (not in KES): the mount decides where the controller's JWT goes.
  const mount = spec.vaultMountPoint
  if (mount) {
    const pattern = annotations[config.mountPermittedAnnotation]
    if (!pattern) {
      if (enforce && mount !== config.defaultVaultMountPoint) return missing(config.mountPermittedAnnotation)
    } else {
      const p = compile(config.mountPermittedAnnotation, pattern)
      if (isVerdict(p)) return p
      const v = check('spec.vaultMountPoint', mount, p, mountWording, false)
      if (v) return v
    }
  }
  return allow
}

/** The role part of `isPermitted` alone (the role annotation, anchored), for hosts that check only roles. */
export function isRolePermitted(namespace: NamespaceLike, spec: ExternalSecretSpec, annotationKey: string): Verdict {
  const config: GuardConfig = { ...DEFAULT_POLLER_CONFIG, rolePermittedAnnotation: annotationKey, namingPermittedAnnotation: '\0none', mountPermittedAnnotation: '\0none' }
  return isPermitted(namespace, { ...spec, vaultMountPoint: undefined }, config)
}

/** The service accounts the namespace permits in spec.vaultServiceAccount (comma-separated annotation), if it says. */
export function permittedServiceAccountsOf(namespace: NamespaceLike, annotation: string): string[] | undefined {
  const raw = namespace.metadata?.annotations?.[annotation]
  if (raw === undefined) return undefined
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}
