/**
 * The KV secrets engines, version 1 (passthrough) and version 2 (versioned), as routes: what each path does for
 * each operation, and whether the resource exists (which decides between the `create` and `update` capability).
 */
import { type VaultReply, envelope, errorReply, noContent, notFound } from './reply.js'
import type { SecretMount, SecretVersion } from './store.js'

export interface RouteContext {
  now: number
  requestId: () => string
  defaultLeaseTtlSeconds: number
  body: Record<string, unknown> | undefined
  query: URLSearchParams
}

type Handler = () => VaultReply

/** A path of a backend: its existence check and handlers by operation (absent = unsupported operation). */
export interface Route {
  exists?: () => boolean
  read?: Handler
  list?: Handler
  write?: Handler
  delete?: Handler
}

const iso = (ms: number) => new Date(ms).toISOString()

export function versionMetadata(v: SecretVersion): Record<string, unknown> {
  return {
    created_time: iso(v.created_time),
    custom_metadata: null,
    deletion_time: v.deletion_time === null ? '' : iso(v.deletion_time),
    destroyed: v.destroyed,
    version: v.version,
  }
}

/** Keys directly below `prefix` ("dir/" for deeper ones), sorted; 404 when there are none. */
// vault-plugin-secrets-kv: PassthroughBackend.handleList / metadata list (logical.ListResponse; empty = 404).
function listKeys(paths: Iterable<string>, prefix: string, ctx: RouteContext): VaultReply {
  const p = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`
  const keys = new Set<string>()
  for (const path of paths) {
    if (!path.startsWith(p)) continue
    const rest = path.slice(p.length)
    const slash = rest.indexOf('/')
    keys.add(slash < 0 ? rest : rest.slice(0, slash + 1))
  }
  if (keys.size === 0) return notFound()
  return { status: 200, body: envelope({ requestId: ctx.requestId(), data: { keys: [...keys].sort() } }), storageWrites: 0 }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

// ---- KV v1 ----------------------------------------------------------------------------------------------------

// vault-plugin-secrets-kv: passthrough.go (handleRead, handleWrite, handleDelete, handleList, handleExistenceCheck).
function kv1Live(mount: SecretMount, key: string): Record<string, unknown> | undefined {
  return mount.secrets.get(key)?.[0]?.data ?? undefined
}

// Hot path (every poll's read): helpers are module functions, handlers object properties, so no closure per request
// needs a name (tsx's keepNames would pay for each).
export function kv1Route(mount: SecretMount, key: string, ctx: RouteContext): Route {
  return {
    exists: () => kv1Live(mount, key) !== undefined,
    read: () => {
      const data = kv1Live(mount, key)
      if (!data) return notFound()
      // A `ttl` (or `lease`) key in the data sets the advisory lease_duration.
      const ttlRaw = data.ttl ?? data.lease
      const ttl = typeof ttlRaw === 'number' ? ttlRaw : typeof ttlRaw === 'string' && /^\d+$/.test(ttlRaw) ? Number(ttlRaw) : undefined
      const lease = ttl ?? mount.default_lease_ttl ?? ctx.defaultLeaseTtlSeconds
      return { status: 200, body: envelope({ requestId: ctx.requestId(), data, lease_duration: lease }), storageWrites: 0 }
    },
    list: () => listKeys(mount.secrets.keys(), key, ctx),
    write: () => {
      if (key === '') return errorReply(400, 'missing path')
      if (!ctx.body || Object.keys(ctx.body).length === 0) return errorReply(400, 'missing data fields')
      mount.secrets.set(key, [{ version: 1, data: { ...ctx.body }, created_time: ctx.now, deletion_time: null, destroyed: false }])
      return noContent(1)
    },
    delete: () => {
      const had = mount.secrets.delete(key)
      return noContent(had ? 1 : 0)
    },
  }
}

// ---- KV v2 ----------------------------------------------------------------------------------------------------

/** Append a version (the seeding API and the HTTP write share it). */
export function addKv2Version(mount: SecretMount, key: string, data: Record<string, unknown>, now: number): SecretVersion {
  const versions = mount.secrets.get(key) ?? []
  const v: SecretVersion = { version: (versions[versions.length - 1]?.version ?? 0) + 1, data: { ...data }, created_time: now, deletion_time: null, destroyed: false }
  versions.push(v)
  mount.secrets.set(key, versions)
  return v
}

function versionsParam(body: Record<string, unknown> | undefined): number[] | string {
  const raw = body?.versions
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : typeof raw === 'number' ? [raw] : []
  const nums = list.map((x) => Number(x)).filter((n) => Number.isInteger(n) && n > 0)
  return nums.length === 0 ? 'no version number provided' : nums
}

const INVALID_V2_PATH = (subCommand: string) =>
  `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${subCommand}' for this operation.`

/** 404 with a full response body and a warning, as RespondWithStatusCode writes it. */
function notFoundWithWarning(warning: string, ctx: RouteContext): VaultReply {
  return { status: 404, body: envelope({ requestId: ctx.requestId(), warnings: [warning] }), storageWrites: 0 }
}

// vault-plugin-secrets-kv: pathInvalid (backend.go): any path that is not data/, metadata/, delete/, undelete/, destroy/.
function invalidRoute(rest: string, ctx: RouteContext): Route {
  if (['metadata', 'data', 'delete', 'undelete', 'destroy'].includes(rest)) {
    const root = () => notFoundWithWarning('Non-listing operations on the root of a K/V v2 mount are not supported.', ctx)
    return { read: root, write: root, delete: root, list: root }
  }
  return {
    read: () => notFoundWithWarning(INVALID_V2_PATH('get'), ctx),
    write: () => notFoundWithWarning(INVALID_V2_PATH('put'), ctx),
    delete: () => notFoundWithWarning(INVALID_V2_PATH('delete'), ctx),
    list: () => notFoundWithWarning(INVALID_V2_PATH('list'), ctx),
  }
}

function kv2Versions(mount: SecretMount, key: string): SecretVersion[] {
  return mount.secrets.get(key) ?? []
}

function kv2Current(mount: SecretMount, key: string): SecretVersion | undefined {
  const all = kv2Versions(mount, key)
  return all[all.length - 1]
}

function isGone(v: SecretVersion, now: number): boolean {
  return v.destroyed || (v.deletion_time !== null && v.deletion_time <= now)
}

export function kv2Route(mount: SecretMount, rest: string, ctx: RouteContext): Route {
  const m = /^(data|metadata|delete|undelete|destroy)\/(.+)$/.exec(rest)
  const metadataList = /^metadata\/?$/.test(rest) || (m?.[1] === 'metadata' && rest.endsWith('/'))
  if (metadataList) {
    const prefix = rest.replace(/^metadata\/?/, '')
    return { list: () => listKeys([...mount.secrets.entries()].filter(([, v]) => v.length > 0).map(([k]) => k), prefix, ctx) }
  }
  if (!m || m[2]!.endsWith('/')) return invalidRoute(rest, ctx)
  const [, kind, key] = m as unknown as [string, string, string]
  const exists = () => kv2Versions(mount, key).length > 0

  switch (kind) {
    case 'data':
      return {
        exists,
        // vault-plugin-secrets-kv: pathDataRead (a deleted or destroyed version: 404 with its metadata).
        read: () => {
          const all = kv2Versions(mount, key)
          if (all.length === 0) return notFound()
          const wanted = Number(ctx.query.get('version') ?? '0')
          const v = Number.isInteger(wanted) && wanted > 0 ? all.find((x) => x.version === wanted) : all[all.length - 1]
          if (!v) return notFound()
          const gone = isGone(v, ctx.now)
          return {
            status: gone ? 404 : 200,
            body: envelope({ requestId: ctx.requestId(), data: { data: gone ? null : v.data, metadata: versionMetadata(v) } }),
            storageWrites: 0,
          }
        },
        // vault-plugin-secrets-kv: pathDataWrite + validateCheckAndSetOption.
        write: () => {
          const data = ctx.body?.data
          if (!isObject(data)) return errorReply(400, 'no data provided')
          const options = ctx.body?.options
          if (isObject(options) && options.cas !== undefined) {
            const cas = Number(options.cas)
            if (!Number.isInteger(cas)) return errorReply(400, 'error parsing check-and-set parameter')
            if (cas !== (kv2Current(mount, key)?.version ?? 0)) return errorReply(400, 'check-and-set parameter did not match the current version')
          }
          const v = addKv2Version(mount, key, data, ctx.now)
          return { status: 200, body: envelope({ requestId: ctx.requestId(), data: versionMetadata(v) }), storageWrites: 1 }
        },
        // vault-plugin-secrets-kv: pathDataDelete (soft-deletes the current version).
        delete: () => {
          const v = kv2Current(mount, key)
          if (!v || v.deletion_time !== null || v.destroyed) return noContent()
          v.deletion_time = ctx.now
          return noContent(1)
        },
      }
    case 'metadata':
      return {
        exists,
        // vault-plugin-secrets-kv: pathMetadataRead.
        read: () => {
          const all = kv2Versions(mount, key)
          if (all.length === 0) return notFound()
          const last = all[all.length - 1]!
          const versionMap: Record<string, unknown> = {}
          for (const v of all) {
            versionMap[String(v.version)] = { created_time: iso(v.created_time), deletion_time: v.deletion_time === null ? '' : iso(v.deletion_time), destroyed: v.destroyed }
          }
          return {
            status: 200,
            body: envelope({
              requestId: ctx.requestId(),
              data: {
                cas_required: false,
                created_time: iso(all[0]!.created_time),
                current_version: last.version,
                custom_metadata: null,
                delete_version_after: '0s',
                max_versions: 0,
                oldest_version: all.find((v) => !v.destroyed)?.version ?? 0,
                updated_time: iso(last.created_time),
                versions: versionMap,
              },
            }),
            storageWrites: 0,
          }
        },
        // vault-plugin-secrets-kv: pathMetadataDelete (every version and the key's metadata).
        delete: () => noContent(mount.secrets.delete(key) ? 1 : 0),
      }
    default: {
      // delete/, undelete/, destroy/ with {"versions": [...]}: vault-plugin-secrets-kv pathsDelete / pathDestroy.
      const write = (): VaultReply => {
        const wanted = versionsParam(ctx.body)
        if (typeof wanted === 'string') return errorReply(400, wanted)
        let writes = 0
        for (const v of kv2Versions(mount, key)) {
          if (!wanted.includes(v.version)) continue
          if (kind === 'delete' && v.deletion_time === null && !v.destroyed) v.deletion_time = ctx.now
          else if (kind === 'undelete' && !v.destroyed) v.deletion_time = null
          else if (kind === 'destroy') {
            v.destroyed = true
            v.data = null
          } else continue
          writes = 1
        }
        return noContent(writes)
      }
      return { exists, write }
    }
  }
}
