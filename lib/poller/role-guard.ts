/** KES's role guard (`Poller._isPermitted`), checked before any backend call. */

import type { ExternalSecretSpec } from './types.js'

export interface NamespaceLike {
  metadata?: { name?: string; annotations?: Record<string, string> }
}

export type Verdict = { allowed: true } | { allowed: false; reason: string }

/**
 * The namespace annotation `annotationKey` holds a regex the ExternalSecret's role
 * (`spec.roleArn` or `spec.vaultRole`) must match. As in KES: no role, no annotations, or no such
 * annotation (an empty regex) allows; an invalid regex refuses rather than throwing.
 */
export function isRolePermitted(namespace: NamespaceLike, spec: ExternalSecretSpec, annotationKey: string): Verdict {
  const role = spec.roleArn || spec.vaultRole
  if (!role) return { allowed: true }
  const annotations = namespace.metadata?.annotations
  if (!annotations) return { allowed: true }
  const pattern = annotations[annotationKey] ?? ''
  let re: RegExp
  try {
    re = new RegExp(pattern)
  } catch {
    return { allowed: false, reason: `namespace annotation ${annotationKey} is not a valid regular expression` }
  }
  return re.test(role) ? { allowed: true } : { allowed: false, reason: `namespace does not allow to assume role ${role}` }
}
