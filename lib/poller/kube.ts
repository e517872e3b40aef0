/** The few Kubernetes calls the host makes, over @kubernetes/client-node 1.x, with errors reduced to code + reason. */

import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node'
import {
  EXTERNAL_SECRET_GROUP,
  EXTERNAL_SECRET_PLURAL,
  EXTERNAL_SECRET_VERSION,
  type ExternalSecret,
  type SecretManifest,
} from './types.js'
import type { NamespaceLike } from './role-guard.js'

/** A failed Kubernetes call: the HTTP status and the API server's Status message, never request bodies. */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly operation: string,
    reason: string,
  ) {
    super(`kubernetes ${operation} failed: HTTP ${statusCode}${reason ? ` ${reason}` : ''}`)
    this.name = 'KubeApiError'
  }
}

/** What a failed Kubernetes call means to the host; decided here once, from the HTTP status. */
export type KubeErrorKind = 'not_found' | 'conflict' | 'other'

export function kubeErrorKind(err: unknown): KubeErrorKind {
  const code = statusCodeOf(err)
  return code === 404 ? 'not_found' : code === 409 ? 'conflict' : 'other'
}

function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.statusCode
  const e = err as { code?: unknown; statusCode?: unknown } | null
  if (e && typeof e.code === 'number') return e.code
  if (e && typeof e.statusCode === 'number') return e.statusCode
  return undefined
}

function toKubeError(err: unknown, operation: string): Error {
  const code = statusCodeOf(err)
  if (code === undefined) {
    const msg = err instanceof Error ? err.message : String(err)
    return new KubeApiError(0, operation, msg.split('\n')[0] ?? '')
  }
  const body = (err as { body?: unknown }).body
  let reason = ''
  const parsed = typeof body === 'string' ? safeJson(body) : body
  if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') {
    reason = (parsed as { message: string }).message
  }
  return new KubeApiError(code, operation, reason.slice(0, 300))
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s)
  } catch {
    return undefined
  }
}

export interface ExternalSecretList {
  items: ExternalSecret[]
  resourceVersion: string | undefined
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'

export interface WatchHandle {
  abort(): void
}

/** Everything the host needs from the API server; the host is tested through this against a fake server or nock. */
export interface KubeClient {
  /** `namespace` undefined lists across all namespaces. Follows `continue` pages. */
  listExternalSecrets(namespace: string | undefined): Promise<ExternalSecretList>
  /** Resolves once the stream is open; `done` is called exactly once, when it ends for any reason. */
  watchExternalSecrets(
    namespace: string | undefined,
    resourceVersion: string | undefined,
    onEvent: (type: WatchEventType, object: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<WatchHandle>
  readExternalSecret(namespace: string, name: string): Promise<ExternalSecret>
  replaceExternalSecretStatus(es: ExternalSecret): Promise<ExternalSecret>
  readNamespace(name: string): Promise<NamespaceLike>
  /** undefined when the Secret does not exist. */
  readSecret(namespace: string, name: string): Promise<SecretManifest | undefined>
  createSecret(namespace: string, secret: SecretManifest): Promise<void>
  replaceSecret(namespace: string, name: string, secret: SecretManifest): Promise<void>
}

const LIST_PAGE_SIZE = 500

export function createKubeClient(kubeConfig: KubeConfig): KubeClient {
  const core = kubeConfig.makeApiClient(CoreV1Api)
  const custom = kubeConfig.makeApiClient(CustomObjectsApi)
  const watch = new Watch(kubeConfig)
  const crd = { group: EXTERNAL_SECRET_GROUP, version: EXTERNAL_SECRET_VERSION, plural: EXTERNAL_SECRET_PLURAL }

  async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw toKubeError(err, operation)
    }
  }

  return {
    async listExternalSecrets(namespace) {
      const items: ExternalSecret[] = []
      let cont: string | undefined
      let resourceVersion: string | undefined
      do {
        const page = (await call('list externalsecrets', () =>
          namespace
            ? custom.listNamespacedCustomObject({ ...crd, namespace, limit: LIST_PAGE_SIZE, _continue: cont })
            : custom.listClusterCustomObject({ ...crd, limit: LIST_PAGE_SIZE, _continue: cont }),
        )) as { items?: ExternalSecret[]; metadata?: { resourceVersion?: string; continue?: string } }
        items.push(...(page.items ?? []))
        resourceVersion = page.metadata?.resourceVersion
        cont = page.metadata?.continue || undefined
      } while (cont)
      return { items, resourceVersion }
    },

    async watchExternalSecrets(namespace, resourceVersion, onEvent, done) {
      const path = namespace
        ? `/apis/${crd.group}/${crd.version}/namespaces/${encodeURIComponent(namespace)}/${crd.plural}`
        : `/apis/${crd.group}/${crd.version}/${crd.plural}`
      const params: Record<string, string | boolean> = { allowWatchBookmarks: true }
      if (resourceVersion) params.resourceVersion = resourceVersion
      const controller = await watch.watch(path, params, (type: string, object: unknown) => onEvent(type as WatchEventType, object), done)
      return { abort: () => controller.abort() }
    },

    readExternalSecret: (namespace, name) =>
      call('get externalsecret', () => custom.getNamespacedCustomObject({ ...crd, namespace, name }) as Promise<ExternalSecret>),

    replaceExternalSecretStatus: (es) =>
      call(
        'replace externalsecret status',
        () =>
          custom.replaceNamespacedCustomObjectStatus({
            ...crd,
            namespace: es.metadata.namespace,
            name: es.metadata.name,
            body: es,
          }) as Promise<ExternalSecret>,
      ),

    readNamespace: (name) => call('get namespace', () => core.readNamespace({ name }) as Promise<NamespaceLike>),

    async readSecret(namespace, name) {
      try {
        return (await core.readNamespacedSecret({ namespace, name })) as unknown as SecretManifest
      } catch (err) {
        if (kubeErrorKind(err) === 'not_found') return undefined
        throw toKubeError(err, 'get secret')
      }
    },

    async createSecret(namespace, secret) {
      await call('create secret', () => core.createNamespacedSecret({ namespace, body: secret as never }))
    },

    async replaceSecret(namespace, name, secret) {
      await call('replace secret', () => core.replaceNamespacedSecret({ namespace, name, body: secret as never }))
    },
  }
}
