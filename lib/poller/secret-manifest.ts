/** The Secret an ExternalSecret produces (KES `_createSecretManifest`) and whether a live Secret differs from it. */

import type { ExternalSecret, OwnerReference, SecretManifest } from './types.js'
import { specOf } from './types.js'

export function ownerReferenceOf(es: ExternalSecret): OwnerReference {
  return {
    apiVersion: es.apiVersion,
    controller: true,
    kind: es.kind,
    name: es.metadata.name,
    uid: es.metadata.uid,
  }
}

/**
 * KES: `merge(cloneDeep(template), { apiVersion, kind, metadata: { name, ownerReferences }, type, data })`.
 * The template is the base; name, owner, type and backend data win. Template strings may use
 * `<%= data.KEY %>` / `<%= data['KEY'] %>` with the decoded backend value (KES ran lodash.template,
 * which evaluates arbitrary JavaScript from the ExternalSecret's author; we substitute values only).
 */
export function buildSecretManifest(es: ExternalSecret, data: Record<string, string>): SecretManifest {
  const spec = specOf(es)
  const rawTemplate = spec.template
  const template = isPlainObject(rawTemplate) ? compileTemplate(rawTemplate, decodeAll(data)) : {}
  const type = (typeof template.type === 'string' && template.type) || spec.type || 'Opaque'
  const generated = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: es.metadata.name, ownerReferences: [ownerReferenceOf(es)] },
    type,
    data: { ...data },
  }
  return deepMerge(structuredClone(template), generated) as SecretManifest
}

/** KES `_equalSecretData`: only labels, annotations and data decide; key order does not. */
export function secretNeedsUpdate(existing: Pick<SecretManifest, 'metadata' | 'data'>, desired: SecretManifest): boolean {
  return !(
    sameRecord(existing.metadata?.labels, desired.metadata.labels) &&
    sameRecord(existing.metadata?.annotations, desired.metadata.annotations) &&
    sameRecord(existing.data, desired.data)
  )
}

function sameRecord(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ak = Object.keys(a ?? {})
  const bk = Object.keys(b ?? {})
  if (ak.length !== bk.length) return false
  return ak.every((k) => Object.prototype.hasOwnProperty.call(b ?? {}, k) && (a ?? {})[k] === (b ?? {})[k])
}

function decodeAll(data: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(data)) out[k] = Buffer.from(v, 'base64').toString('utf8')
  return out
}

const PLACEHOLDER = /<%=\s*data(?:\.([A-Za-z_$][\w$]*)|\[\s*(['"])(.*?)\2\s*\])\s*%>/g

function compileTemplate(value: Record<string, unknown>, data: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string') {
      out[k] = v.replace(PLACEHOLDER, (whole, dotKey: string | undefined, _q, bracketKey: string | undefined) => {
        const key = dotKey ?? bracketKey ?? ''
        return Object.prototype.hasOwnProperty.call(data, key) ? data[key]! : whole
      })
    } else if (isPlainObject(v)) {
      out[k] = compileTemplate(v, data)
    } else {
      out[k] = v
    }
  }
  return out
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** lodash.merge for JSON: objects merge recursively, anything else from `source` replaces. */
function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(source)) {
    if (k === '__proto__' || k === 'constructor') continue
    const t = target[k]
    target[k] = isPlainObject(v) && isPlainObject(t) ? deepMerge(t, v) : v
  }
  return target
}
