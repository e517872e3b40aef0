/** The Secret an ExternalSecret produces (KES `_createSecretManifest`) and whether a live Secret differs from it. */

import { credentials } from '../redact.js'
import { SpecError } from '../spec-names.js'
import { shown } from '../spec-names.js'
import type { ExternalSecret, ExternalSecretSpec, OwnerReference, SecretManifest } from './types.js'
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
 *
 * The template is tenant input: it is rendered in one linear pass, at most TEMPLATE_MAX_CHARACTERS in and out and
 * TEMPLATE_MAX_DEPTH deep, and a key the Kubernetes client would drop (`__proto__`) is refused, never lost; every
 * other key (`constructor`, `prototype`, ...) is kept. Refusals are `SpecError`s naming the field.
 */
export function buildSecretManifest(es: ExternalSecret, data: Record<string, string>): SecretManifest {
  const spec = specOf(es)
  for (const name of Object.keys(data)) {
    if (DROPPED_KEYS.has(name)) throw new SpecError(secretKeyField(spec, name), `Secret key "${name}" is a name the Kubernetes client drops on the way to the API server; rename it`)
  }
  const rawTemplate = spec.template
  const template = isPlainObject(rawTemplate) ? renderTemplate(rawTemplate, decodeAll(data)) : {}
  const type = (typeof template.type === 'string' && template.type) || spec.type || 'Opaque'
  const generated = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: es.metadata.name, ownerReferences: [ownerReferenceOf(es)] },
    type,
    data: { ...data },
  }
  const manifest = deepMerge(template, generated) as SecretManifest
  // Defence in depth: values from several items, joined by a template, can spell a credential no single value held.
  if (credentials.size > 0 && isPlainObject(rawTemplate)) {
    if (credentials.contains(renderedText(template))) {
      throw new SpecError('spec.template', 'the rendered Secret contains a credential the controller holds (a Vault token, a service-account JWT or an AppRole secret ID); the ExternalSecret is refused and no Secret is written')
    }
    // Kubernetes takes a template's `data` values as base64: b64(b64(token)) from Vault would be b64(token) in the Secret.
    // Checked as merged (deepMerge fills the template in place): exactly the values the Secret will hold.
    if (isPlainObject(manifest.data)) {
      for (const [k, v] of Object.entries(manifest.data)) {
        if (typeof v === 'string' && credentials.contains(Buffer.from(v, 'base64').toString('latin1'))) {
          throw new SpecError(fieldPath('spec.template.data', k), 'base64-decoded (as Kubernetes takes template data), contains a credential the controller holds (a Vault token, a service-account JWT or an AppRole secret ID); the ExternalSecret is refused and no Secret is written')
        }
      }
    }
  }
  return manifest
}

/**
 * Every key and string of the rendered template as one text to scan, NUL-separated: contains() drops whitespace, and a
 * newline separator would let a base64 form span two strings.
 */
function renderedText(value: unknown): string {
  const out: string[] = []
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v)
    else if (Array.isArray(v)) v.forEach(walk)
    else if (isPlainObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        out.push(k)
        walk(x)
      }
    }
  }
  walk(value)
  return out.join('\0')
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
  for (const [k, v] of Object.entries(data)) setOwn(out, k, Buffer.from(v, 'base64').toString('utf8'))
  return out
}

/** A Kubernetes Secret holds at most 1 MiB; a template (or what it renders to) larger than that cannot become one. */
export const TEMPLATE_MAX_CHARACTERS = 1024 * 1024
export const TEMPLATE_MAX_DEPTH = 32
/** Keys @kubernetes/client-node's serializer loses (it assigns, and `__proto__` assignment sets a prototype). */
const DROPPED_KEYS = new Set(['__proto__'])
/** A Secret key is `[-._a-zA-Z0-9]+`, at most 253 characters: no placeholder can name anything else. */
const MAX_SECRET_KEY = 253

/** Where a Secret data key came from, for an error. */
function secretKeyField(spec: ExternalSecretSpec, name: string): string {
  const items = spec.data ?? spec.properties
  const index = Array.isArray(items) ? items.findIndex((i) => i?.name === name) : -1
  return index >= 0 ? `spec.${spec.data ? 'data' : 'properties'}[${index}].name` : 'spec.dataFrom'
}

/** Called only when an error is raised: quoting a key redacts it, which costs a scan of the key. */
function fieldPath(parent: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${shown(key)}]`
}

/** Own data property, whatever the key: never a prototype setter. */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

/**
 * The template with every placeholder replaced, as a fresh object (objects and arrays copied, so the ExternalSecret
 * is never shared with the Secret). Strings in arrays are copied as they are, as KES's mapValues left them.
 * Linear: each character of the template is read a bounded number of times; the budget counts keys and strings in, and
 * strings out, so a large value substituted many times is refused too.
 */
export function renderTemplate(template: Record<string, unknown>, data: Record<string, string>): Record<string, unknown> {
  const budget = { in: 0, out: 0 }
  // A field is a function, built into a string only for an error: quoting every key up front cost a redaction scan of
  // each, before the budget was charged.
  const charge = (field: () => string, n: number, dir: 'in' | 'out') => {
    budget[dir] += n
    if (budget[dir] > TEMPLATE_MAX_CHARACTERS) {
      throw new SpecError(
        dir === 'in' ? 'spec.template' : field(),
        dir === 'in'
          ? `is larger than ${TEMPLATE_MAX_CHARACTERS} characters (keys and strings), the most a Secret can hold`
          : `renders to more than ${TEMPLATE_MAX_CHARACTERS} characters (the template's strings with the values substituted), the most a Secret can hold`,
      )
    }
  }
  const walk = (value: unknown, field: () => string, depth: number, substitute: boolean): unknown => {
    if (depth > TEMPLATE_MAX_DEPTH) throw new SpecError(field(), `is nested deeper than ${TEMPLATE_MAX_DEPTH} levels`)
    if (typeof value === 'string') {
      charge(field, value.length, 'in')
      const out = substitute ? substitutePlaceholders(value, data) : value
      charge(field, out.length, 'out')
      return out
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, () => `${field()}[${i}]`, depth + 1, false))
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(value)) {
        const at = () => fieldPath(field(), k)
        charge(at, k.length, 'in')
        if (DROPPED_KEYS.has(k)) throw new SpecError(at(), 'is a key the Kubernetes client drops on the way to the API server; rename it')
        setOwn(out, k, walk((value as Record<string, unknown>)[k], at, depth + 1, substitute))
      }
      return out
    }
    return value
  }
  return walk(template, () => 'spec.template', 0, true) as Record<string, unknown>
}

const isSpace = (c: number) =>
  c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36
const isIdentPart = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57)
/** `[-._a-zA-Z0-9]` */
const isSecretKeyChar = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45 || c === 46

/**
 * `<%= data.KEY %>` or `<%= data['KEY'] %>` (either quote) at `at`: its end and key, or undefined. Every loop stops at
 * the first character that cannot continue the placeholder, and a bracketed key at MAX_SECRET_KEY characters, so no
 * character is scanned from more than a bounded number of starts.
 */
function placeholderAt(s: string, at: number): { end: number; key: string } | undefined {
  let i = at + 3
  const skip = () => {
    while (i < s.length && isSpace(s.charCodeAt(i))) i++
  }
  skip()
  if (!s.startsWith('data', i)) return undefined
  i += 4
  let key: string
  if (s.charCodeAt(i) === 46 /* . */) {
    const start = ++i
    if (!isIdentStart(s.charCodeAt(i))) return undefined
    while (i < s.length && isIdentPart(s.charCodeAt(i))) i++
    key = s.slice(start, i)
  } else if (s.charCodeAt(i) === 91 /* [ */) {
    i++
    skip()
    const quote = s.charCodeAt(i)
    if (quote !== 39 && quote !== 34) return undefined
    const start = ++i
    while (i < s.length && i - start < MAX_SECRET_KEY && isSecretKeyChar(s.charCodeAt(i))) i++
    if (s.charCodeAt(i) !== quote) return undefined
    key = s.slice(start, i++)
    skip()
    if (s.charCodeAt(i) !== 93 /* ] */) return undefined
    i++
  } else return undefined
  skip()
  if (!s.startsWith('%>', i)) return undefined
  return { end: i + 2, key }
}

/** One pass over `s`; a placeholder whose key is not in `data` stays as written (KES's lodash would have thrown). */
export function substitutePlaceholders(s: string, data: Record<string, string>): string {
  let out = ''
  let from = 0
  let i = s.indexOf('<%=')
  while (i !== -1) {
    const p = placeholderAt(s, i)
    if (p && Object.hasOwn(data, p.key)) {
      out += s.slice(from, i) + data[p.key]
      from = p.end
    }
    i = s.indexOf('<%=', p ? p.end : i + 3)
  }
  return from === 0 ? s : out + s.slice(from)
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** lodash.merge for JSON: objects merge recursively, anything else from `source` replaces. Own keys only. */
function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(source)) {
    const v = source[k]
    const t = Object.hasOwn(target, k) ? target[k] : undefined
    setOwn(target, k, isPlainObject(v) && isPlainObject(t) ? deepMerge(t, v) : v)
  }
  return target
}
