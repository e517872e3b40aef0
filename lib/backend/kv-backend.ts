/**
 * Port of Kubernetes External Secrets' `KVBackend` (lib/backends/kv-backend.js, last changed by KES 8.4.0 commit
 * 4dbb6dd "Introduce dataFromWithOptions"; unchanged through 8.5.4, the final release).
 *
 * `getSecretManifestData({ spec })` produces exactly what KES produced for the same spec and the same `_get` answers:
 * same keys, same key order, same base64 bytes, same items skipped, same rejections. The only additions are
 *  - an optional `namespace` next to `spec`, handed to `_get` / `_getByPath` as a second `context` argument
 *    (the first argument stays deep-equal to what KES passes);
 *  - clear errors (class KVBackendError) where KES failed with a bare TypeError, and warnings that name the item.
 * Secret values never appear in a log line or an error message; key names, property names and paths may.
 */
import { silentLogger, type Logger } from '../types.js'
import { KVBackendError, type SpecSource } from './errors.js'

export { KVBackendError } from './errors.js'
export type { KVBackendErrorCode, SpecSource } from './errors.js'

/** Per-item options: everything on a `data[]` / `dataFromWithOptions[]` item except the fields KES strips. */
export type KeyOptions = Record<string, unknown>
/** Everything on the spec except `properties`, `data`, `dataFrom`, `dataFromWithOptions` (e.g. vaultRole, kvVersion). */
export type SpecOptions = Record<string, unknown>

export interface DataItem {
  /** Secret key in the backend (a Vault path for the Vault backend). */
  key?: string
  /** Key of the resulting Kubernetes Secret entry. */
  name?: string
  /** When present (even if empty), the backend value is JSON-parsed and this (lodash `get`) path is taken from it. */
  property?: string
  /** The value (after `property`) is a base64 string of binary data: decoded once, so it is not double-encoded. */
  isBinary?: boolean
  /** Fetch every secret under a path (`_getByPath`); the Vault backend does not implement it. */
  path?: string
  /** Any other field (versionStage, versionId, ...) is passed to `_get` in `keyOptions`, as KES does. */
  [option: string]: unknown
}

export interface DataFromWithOptionsItem {
  key: string
  [option: string]: unknown
}

export interface ExternalSecretSpec {
  /** Deprecated name of `data`, used only when `data` is absent. */
  properties?: DataItem[]
  data?: DataItem[]
  dataFrom?: string[]
  dataFromWithOptions?: DataFromWithOptionsItem[]
  [option: string]: unknown
}

/** Extra information for the subclass that KES did not have. Never part of the first `_get` argument. */
export interface KVContext {
  /** Namespace of the ExternalSecret, when the caller passed one: lets the subclass pick a per-namespace identity. */
  readonly namespace?: string
  /** Service accounts the namespace permits in spec.vaultServiceAccount, when the host read them (a namespace annotation). */
  readonly permittedServiceAccounts?: readonly string[]
}

/** Per getSecretManifestData (its context): JSON parsed by the text it came from, so items reading one secret parse it once. */
const parsedIn = new WeakMap<KVContext, Map<string, { value: unknown } | { error: unknown }>>()

/**
 * Keys merged into one Secret, over every item: a Secret of 1 MiB cannot hold this many, so a spec that would merge
 * more is refused before the merge costs seconds of CPU.
 */
export const MAX_MERGED_KEYS = 200_000

/** `JSON.parse(value)` as KES did it, once per distinct text within one getSecretManifestData (see parsedIn). */
function parseJson(value: unknown, context: KVContext): unknown {
  const cache = parsedIn.get(context)
  if (!cache || typeof value !== 'string') return JSON.parse(value as string)
  const hit = cache.get(value)
  if (hit) {
    if ('error' in hit) throw hit.error
    return hit.value
  }
  try {
    const parsed = JSON.parse(value) as unknown
    cache.set(value, { value: parsed })
    return parsed
  } catch (error) {
    cache.set(value, { error })
    throw error
  }
}

/** First argument of `_get`: exactly the object KES passes. */
export interface GetArgs {
  /** Secret key. KES passes `undefined` for a `data[]` item that has neither `key` nor `path` (the CRD forbids it). */
  key: string
  keyOptions: KeyOptions
  /** The same object for every call made by one `getSecretManifestData`. */
  specOptions: SpecOptions
}

export interface GetByPathArgs {
  path: string
  keyOptions: KeyOptions
  specOptions: SpecOptions
}

export interface GetSecretManifestDataArgs {
  spec: ExternalSecretSpec
  namespace?: string
  /** From the host, never from the spec: the service accounts the ExternalSecret's namespace permits. */
  permittedServiceAccounts?: readonly string[]
}

/** Kubernetes Secret `data`: name -> base64. */
export type SecretManifestData = Record<string, string>

type ParsedValues = Record<string, unknown> | undefined

/** Key Value backend: everything but the backend read itself. */
export abstract class KVBackend {
  protected readonly _logger: Logger

  /** A Secret larger than this (bytes of base64 data and keys) is refused before it is built; KES had no bound. */
  protected readonly maxSecretBytes: number

  constructor({ logger = silentLogger, maxSecretBytes = Infinity }: { logger?: Logger; maxSecretBytes?: number } = {}) {
    this._logger = logger
    this.maxSecretBytes = maxSecretBytes
  }

  /**
   * Read one secret from the backend.
   *
   * Resolve with the raw value as KES backends do: a string (the Vault backend resolves `JSON.stringify(...)` of the
   * secret's data, which is `undefined` when that data is missing), or a Buffer for binary backends. Any other value is
   * treated exactly as KES treats it (JSON.parse coerces it to a string; encoding uses `${value}`, or JSON for objects).
   * Reject to fail the whole `getSecretManifestData` call.
   */
  abstract _get(args: GetArgs, context: KVContext): Promise<unknown>

  /** Read every secret under a path (KES `_getByPath`). Not implemented here, as in KES; the Vault backend never had it. */
  _getByPath(args: GetByPathArgs, _context: KVContext): Promise<unknown> {
    throw new KVBackendError(
      'NOT_IMPLEMENTED',
      `_getByPath not implemented: this backend cannot fetch a data item by 'path' (path '${String(args.path)}'); use 'key'`,
      { path: args.path },
    )
  }

  /** KES `_fetchDataValues`: one `{ [name]: value }` per `data[]` item, `undefined` for an item whose JSON could not be parsed. */
  _fetchDataValues(
    { data, specOptions }: { data: readonly DataItem[]; specOptions?: SpecOptions },
    context: KVContext = {},
  ): Promise<ParsedValues[]> {
    return Promise.all(
      data.map(async (dataItem, index) => {
        assertDataItem(dataItem, index)
        const { name, property = null, key, path, ...keyOptions } = dataItem

        let response: Record<string, unknown> = {}
        let plainOrObjValue: unknown

        // Supporting fetching by key or by path (as KES: a falsy path means "by key").
        let singleParameterKey = true
        if (path) {
          singleParameterKey = false
        }

        if (singleParameterKey) {
          plainOrObjValue = await this._get({ key: key as string, keyOptions, specOptions: specOptions as SpecOptions }, context)
        } else {
          plainOrObjValue = await this._getByPath({ path: path as string, keyOptions, specOptions: specOptions as SpecOptions }, context)
        }

        const shouldParseValue = 'property' in dataItem
        const isBinary = 'isBinary' in dataItem && dataItem.isBinary === true

        let value: unknown = plainOrObjValue
        if (shouldParseValue) {
          let parsedValue: unknown
          try {
            parsedValue = parseJson(value, context)
          } catch {
            // KES skips the item (no entry, no rejection). The parser's message is not logged: it quotes the value.
            this._logger.warn(
              { source: 'data', index, key, property },
              `Failed to JSON.parse value for '${key}', please verify that your secret value is correctly formatted as JSON.` +
                ` To use plain text secret remove the 'property: ${property}'` +
                ` (spec.data[${index}] '${String(name)}' skipped: property '${property}' was asked for, so the value must be a JSON object)`,
            )
            return undefined
          }

          if (!hasIn(parsedValue, property)) {
            throw new KVBackendError(
              'PROPERTY_NOT_FOUND',
              `Could not find property ${property} in ${key === undefined && path ? `path ${path}` : key}` +
                ` (spec.data[${index}]: ${describeMissing(parsedValue)})`,
              { source: 'data', index, key, property, path },
            )
          }

          // KES let a property index into a string ('id[3]': one character); a secret read one character per item
          // is a secret no check could see whole. Property paths select from JSON objects and arrays only.
          const keys = castPath(property, parsedValue)
          if (typeof (keys.length > 1 ? get(parsedValue, keys.slice(0, -1)) : parsedValue) === 'string') {
            throw new KVBackendError(
              'INVALID_SPEC',
              `spec.data[${index}].property '${String(property).slice(0, 200)}' reads inside a string value; a property selects from JSON objects and arrays only`,
              { source: 'data', index, key, property },
            )
          }

          value = get(parsedValue, property)
        }

        if (isBinary) {
          // The value in the backend is binary data already encoded in base64; a Buffer is left as it is.
          if (typeof value === 'string') {
            // KES decoded leniently (Buffer.from skips invalid characters) and wrote the garbage to the Secret.
            // Refuse instead, so the existing Secret stays as it is.
            if (!isBase64(value)) {
              throw new KVBackendError(
                'INVALID_VALUE',
                `spec.data[${index}] '${String(name)}': isBinary is set, so the value of ${key}${property === null ? '' : ` property ${property}`} must be base64-encoded binary data, and it is not`,
                { source: 'data', index, key, property },
              )
            }
            value = Buffer.from(value, 'base64')
          }
        }

        if (singleParameterKey) {
          response = { [name as string]: value }
        } else {
          // Returning dict with path keys and values (plain assignment, as KES).
          const values = value as any
          for (const records in values) {
            response[records] = values[records]
          }
        }

        return response
      }),
    )
  }

  /** KES `_fetchDataFromValues`: the JSON-parsed value of each key, `undefined` when it is not JSON. */
  _fetchDataFromValues(
    { dataFrom, specOptions }: { dataFrom: readonly string[]; specOptions?: SpecOptions },
    context: KVContext = {},
  ): Promise<unknown[]> {
    return Promise.all(
      dataFrom.map(async (key, index) => {
        const value = await this._get({ key, specOptions: specOptions as SpecOptions, keyOptions: {} }, context)

        try {
          return parseJson(value, context)
        } catch {
          this._logger.warn(
            { source: 'dataFrom', index, key },
            `Failed to JSON.parse value for '${key}', please verify that your secret value is correctly formatted as JSON.` +
              ` (spec.dataFrom[${index}] skipped: dataFrom expects the value to be a JSON object)`,
          )
          return undefined
        }
      }),
    )
  }

  /** KES `_fetchDataFromValuesWithOptions`: like dataFrom, every field but `key` goes to `_get` as `keyOptions`. */
  _fetchDataFromValuesWithOptions(
    { dataFromWithOptions, specOptions }: { dataFromWithOptions: readonly DataFromWithOptionsItem[]; specOptions?: SpecOptions },
    context: KVContext = {},
  ): Promise<unknown[]> {
    return Promise.all(
      dataFromWithOptions.map(async (dataItem, index) => {
        if (dataItem === null || dataItem === undefined) throw invalidItem('dataFromWithOptions', index, dataItem)
        const { key, ...keyOptions } = dataItem
        const value = await this._get({ key, specOptions: specOptions as SpecOptions, keyOptions }, context)

        try {
          return parseJson(value, context)
        } catch {
          // KES logged `'${dataItem}'` here, i.e. "[object Object]"; name the key instead.
          this._logger.warn(
            { source: 'dataFromWithOptions', index, key },
            `Failed to JSON.parse value for '${key}', please verify that your secret value is correctly formatted as JSON.` +
              ` (spec.dataFromWithOptions[${index}] skipped: dataFromWithOptions expects the value to be a JSON object)`,
          )
          return undefined
        }
      }),
    )
  }

  /** KES `_toBuffer`: Buffers as they are, other objects (including null) as JSON, everything else as `${value}`. */
  _toBuffer(plainValue: unknown): Buffer {
    if (plainValue instanceof Buffer) {
      return plainValue
    }

    if (typeof plainValue === 'object') {
      return Buffer.from(JSON.stringify(plainValue), 'utf-8')
    }

    return Buffer.from(`${plainValue as string}`, 'utf8')
  }

  /**
   * Kubernetes Secret data for an ExternalSecret spec, byte-identical to KES.
   * Merge order: dataFrom, then dataFromWithOptions, then data; within each, array order; a later entry overwrites an
   * earlier one with the same name but keeps the earlier one's position. `_get` is called in that same order.
   */
  async getSecretManifestData(args: GetSecretManifestDataArgs): Promise<SecretManifestData> {
    if (args === null || typeof args !== 'object' || args.spec === null || args.spec === undefined) {
      throw new KVBackendError('INVALID_SPEC', 'getSecretManifestData needs { spec }: the ExternalSecret spec is missing', {
        source: 'spec',
      })
    }
    const { spec, namespace, permittedServiceAccounts } = args
    const {
      // Use properties to be backwards compatible.
      properties = [],
      data = properties,
      dataFrom = [],
      dataFromWithOptions = [],
      ...specOptions
    } = spec

    assertArray(data, spec.data === undefined && spec.properties !== undefined ? 'spec.properties' : 'spec.data')
    assertArray(dataFrom, 'spec.dataFrom')
    assertArray(dataFromWithOptions, 'spec.dataFromWithOptions')
    data.forEach((item, index) => assertDataItem(item, index))
    dataFromWithOptions.forEach((item, index) => {
      if (item === null || item === undefined) throw invalidItem('dataFromWithOptions', index, item)
    })

    const context: KVContext = { namespace, ...(permittedServiceAccounts ? { permittedServiceAccounts } : {}) }
    parsedIn.set(context, new Map())
    const [dataFromValues, dataFromValuesWithOptions, dataValues] = await Promise.all([
      this._fetchDataFromValues({ dataFrom, specOptions }, context),
      this._fetchDataFromValuesWithOptions({ dataFromWithOptions, specOptions }, context),
      this._fetchDataValues({ data, specOptions }, context),
    ])

    // KES's `{ ...acc, ...parsedValue }`, in one pass (KES copied the whole accumulator per item): own enumerable keys,
    // strings spread into indices, undefined/null/numbers add nothing. A null prototype keeps a key named __proto__ a key.
    const plainValues: Record<string, unknown> = Object.create(null)
    let merged = 0
    let previous: unknown
    for (const parsedValue of (dataFromValues as unknown[]).concat(dataFromValuesWithOptions).concat(dataValues)) {
      // The same parsed secret twice in a row merges to the same result: once is enough (items share one parse).
      if (parsedValue === null || parsedValue === undefined || parsedValue === previous) continue
      previous = parsedValue
      merged += typeof parsedValue === 'object' ? Object.keys(parsedValue).length : String(parsedValue).length
      if (merged > MAX_MERGED_KEYS) {
        throw new KVBackendError('TOO_LARGE', `the secrets this spec reads hold more than ${MAX_MERGED_KEYS} keys together; a Kubernetes Secret cannot hold that many`, { source: 'spec' })
      }
      Object.assign(plainValues, parsedValue)
    }

    let bytes = 0
    const encodedEntries: [string, string][] = []
    for (const [name, plainValue] of Object.entries(plainValues)) {
      const encoded = this._toBuffer(plainValue).toString('base64')
      bytes += name.length + encoded.length
      if (bytes > this.maxSecretBytes) {
        throw new KVBackendError(
          'TOO_LARGE',
          `the Secret would hold more than ${this.maxSecretBytes} bytes (reached at key '${name.slice(0, 100)}'); a Kubernetes Secret holds at most 1 MiB: read fewer or smaller secrets`,
          { source: 'spec', key: name },
        )
      }
      encodedEntries.push([name, encoded])
    }

    return Object.fromEntries(encodedEntries) as SecretManifestData
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Spec checks: only where KES itself always failed (with a bare TypeError), so the outcome is the same rejection.

function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function assertArray(value: unknown, field: string): asserts value is unknown[] {
  if (!Array.isArray(value)) {
    throw new KVBackendError('INVALID_SPEC', `${field} must be an array; got ${typeName(value)}`, {
      source: field === 'spec.dataFrom' ? 'dataFrom' : field === 'spec.dataFromWithOptions' ? 'dataFromWithOptions' : 'data',
    })
  }
}

function invalidItem(source: SpecSource, index: number, item: unknown): KVBackendError {
  const expected = source === 'data' ? 'an object with key (or path) and name' : 'an object with key'
  return new KVBackendError('INVALID_SPEC', `spec.${source}[${index}] must be ${expected}; got ${typeName(item)}`, {
    source,
    index,
  })
}

/** KES destructures each data item and then evaluates `'property' in item`: any non-object item fails there. */
function assertDataItem(item: unknown, index: number): asserts item is DataItem {
  if (item === null || typeof item !== 'object') throw invalidItem('data', index, item)
}

/** Standard or URL-safe base64, padding optional, whitespace (line breaks of PEM-style wrapping) ignored. */
function isBase64(s: string): boolean {
  const compact = s.replace(/\s+/g, '')
  return compact.length % 4 !== 1 && /^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)
}

function describeMissing(parsedValue: unknown): string {
  if (parsedValue !== null && typeof parsedValue === 'object' && !Array.isArray(parsedValue)) {
    return 'the value is a JSON object without that property'
  }
  const kind = parsedValue === null ? 'null' : Array.isArray(parsedValue) ? 'array' : typeof parsedValue
  return `the value is a JSON ${kind}, expected a JSON object with that property`
}

// ---------------------------------------------------------------------------------------------------------------------
// lodash 4.17.21 `get` and `hasIn`, which KES uses for `property` (so 'a.b', 'a[0]' and '["x.y"]' behave the same,
// and a literal key containing dots wins over the deep path when present). Reimplemented here: lodash is not a
// dependency of this package.

const reIsDeepProp = /\.|\[(?:[^[\]]*|(["'])(?:(?!\1)[^\\]|\\.)*?\1)\]/
const reIsPlainProp = /^\w*$/
const rePropName = /[^.[\]]+|\[(?:(-?\d+(?:\.\d+)?)|(["'])((?:(?!\2)[^\\]|\\.)*?)\2)\]|(?=(?:\.|\[\])(?:\.|\[\]|$))/g
const reEscapeChar = /\\(\\)?/g
const reIsUint = /^(?:0|[1-9]\d*)$/
const MAX_SAFE_INTEGER = 9007199254740991

type PathKey = string | symbol | number | boolean | null | undefined | object

function isObjectLike(value: unknown): value is object {
  return value != null && typeof value === 'object'
}

function isSymbol(value: unknown): value is symbol {
  return typeof value === 'symbol' || (isObjectLike(value) && Object.prototype.toString.call(value) === '[object Symbol]')
}

function baseToString(value: unknown): string {
  if (typeof value === 'string') return value
  if (Array.isArray(value)) return value.map(baseToString) + ''
  if (isSymbol(value)) return Symbol.prototype.toString.call(value)
  const result = (value as any) + ''
  return result === '0' && 1 / (value as number) === -Infinity ? '-0' : result
}

function lodashToString(value: unknown): string {
  return value == null ? '' : baseToString(value)
}

function isKey(value: unknown, object: unknown): boolean {
  if (Array.isArray(value)) return false
  const type = typeof value
  if (type === 'number' || type === 'symbol' || type === 'boolean' || value == null || isSymbol(value)) return true
  const text = String(value)
  return reIsPlainProp.test(text) || !reIsDeepProp.test(text) || (object != null && (value as PropertyKey) in Object(object))
}

function stringToPath(string: string): string[] {
  const result: string[] = []
  if (string.charCodeAt(0) === 46 /* . */) result.push('')
  string.replace(rePropName, (match: string, number: string | undefined, quote: string | undefined, subString: string) => {
    result.push(quote ? subString.replace(reEscapeChar, '$1') : number || match)
    return match
  })
  return result
}

function castPath(value: unknown, object: unknown): readonly PathKey[] {
  if (Array.isArray(value)) return value as PathKey[]
  return isKey(value, object) ? [value as PathKey] : stringToPath(lodashToString(value))
}

function toKey(value: PathKey): string | symbol {
  if (typeof value === 'string' || isSymbol(value)) return value as string | symbol
  const result = (value as any) + ''
  return result === '0' && 1 / (value as number) === -Infinity ? '-0' : result
}

function isLength(value: unknown): boolean {
  return typeof value === 'number' && value > -1 && value % 1 === 0 && value <= MAX_SAFE_INTEGER
}

function isIndex(value: unknown, length: number | null | undefined): boolean {
  const type = typeof value
  const max = length == null ? MAX_SAFE_INTEGER : length
  return (
    !!max &&
    (type === 'number' || (type !== 'symbol' && reIsUint.test(String(value)))) &&
    (value as number) > -1 &&
    (value as number) % 1 === 0 &&
    (value as number) < max
  )
}

function isArguments(value: unknown): boolean {
  return isObjectLike(value) && Object.prototype.toString.call(value) === '[object Arguments]'
}

/** lodash `_.hasIn(object, path)`: own or inherited property at a (deep) path. */
export function hasIn(object: unknown, path: unknown): boolean {
  if (object == null) return false
  const keys = castPath(path, object)
  let current: any = object
  let index = -1
  let length = keys.length
  let result = false
  let key: string | symbol | undefined

  while (++index < length) {
    key = toKey(keys[index])
    if (!(result = current != null && key in Object(current))) break
    current = current[key]
  }
  if (result || ++index !== length) return result
  length = current == null ? 0 : current.length
  return !!length && isLength(length) && isIndex(key, length) && (Array.isArray(current) || isArguments(current))
}

/** lodash `_.get(object, path)` without a default value. */
export function get(object: unknown, path: unknown): unknown {
  if (object == null) return undefined
  const keys = castPath(path, object)
  let current: any = object
  let index = 0
  const length = keys.length
  while (current != null && index < length) {
    current = current[toKey(keys[index++])]
  }
  return index && index === length ? current : undefined
}
