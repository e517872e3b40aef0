/**
 * An in-process fake of the few Kubernetes API endpoints the poller host and the TokenRequest JWT
 * source use, on node:http at 127.0.0.1. Counts every call, lets tests add / modify / delete
 * ExternalSecrets (watch streams get the events as JSON lines), end watch streams, and inject errors.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import type { Clock } from '../../lib/types.js'
import { systemClock } from '../../lib/types.js'

export type Route =
  | 'list externalsecrets'
  | 'watch externalsecrets'
  | 'get externalsecret'
  | 'get externalsecret status'
  | 'replace externalsecret status'
  | 'patch externalsecret status'
  | 'get namespace'
  | 'get secret'
  | 'create secret'
  | 'replace secret'
  | 'delete secret'
  | 'create token'

const ROUTES = new Set<string>([
  'list externalsecrets',
  'watch externalsecrets',
  'get externalsecret',
  'get externalsecret status',
  'replace externalsecret status',
  'patch externalsecret status',
  'get namespace',
  'get secret',
  'create secret',
  'replace secret',
  'delete secret',
  'create token',
])

export interface FakeObject {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    uid: string
    resourceVersion: string
    generation?: number
    creationTimestamp?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    [k: string]: unknown
  }
  status?: { lastSync?: string; observedGeneration?: number; status?: string; [k: string]: unknown }
  [k: string]: unknown
}

interface WatchEvent {
  rv: number
  type: 'ADDED' | 'MODIFIED' | 'DELETED'
  object: FakeObject
}

interface OpenWatch {
  namespace: string | undefined
  res: ServerResponse
}

interface Fault {
  status: number
  times: number
  message: string
}

const ES_BASE = '/apis/kubernetes-client.io/v1'

const clone = <T>(v: T): T => structuredClone(v)

export class FakeKubeApi {
  private server!: Server
  url = ''
  private rv = 1
  private uidCounter = 0
  private readonly calls = new Map<string, number>()
  private readonly faults = new Map<Route, Fault[]>()
  private readonly events: WatchEvent[] = []
  private readonly watches = new Set<OpenWatch>()
  /** Oldest resourceVersion a watch may resume from; older ones get 410 Gone (set by compact()). */
  private compactedRv = 0
  readonly externalSecrets = new Map<string, FakeObject>()
  readonly secrets = new Map<string, FakeObject>()
  readonly namespaces = new Map<string, FakeObject>()
  readonly serviceAccounts = new Set<string>()
  /** Bodies of TokenRequests, in order. */
  readonly tokenRequests: Array<{ namespace: string; name: string; body: unknown }> = []
  /** Bodies written to Secrets (create/replace), in order. */
  readonly secretWrites: Array<{ route: 'create secret' | 'replace secret'; namespace: string; name: string }> = []
  /** When true, TokenRequests for service accounts not added with addServiceAccount get a 404. */
  requireServiceAccounts = false

  constructor(private readonly clock: Clock = systemClock) {}

  static async start(opts: { clock?: Clock } = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(opts.clock)
    await api.listen()
    return api
  }

  private listen(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) this.status(res, 500, 'InternalError', String(err))
        else res.end()
      })
    })
    return new Promise((resolve) => {
      this.server.listen(0, '127.0.0.1', () => {
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
        resolve()
      })
    })
  }

  async close(): Promise<void> {
    this.closeWatches()
    this.server.closeAllConnections()
    await new Promise<void>((r) => this.server.close(() => r()))
  }

  /** A KubeConfig for client-node pointing at this fake. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig()
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    })
    return kc
  }

  // ---- counters and faults ----

  count(route: Route, namespace?: string): number {
    return this.calls.get(namespace === undefined ? route : `${route} ${namespace}`) ?? 0
  }

  /** Calls per route (all namespaces). */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.calls].filter(([k]) => ROUTES.has(k)))
  }

  resetCounts(): void {
    this.calls.clear()
  }

  /** The next `times` calls of `route` answer `status` (e.g. 409, 500) without side effects. */
  failNext(route: Route, status: number, times = 1, message = `injected ${status}`): void {
    const list = this.faults.get(route) ?? []
    list.push({ status, times, message })
    this.faults.set(route, list)
  }

  get openWatches(): number {
    return this.watches.size
  }

  // ---- test-side mutations ----

  addNamespace(name: string, annotations?: Record<string, string>): FakeObject {
    const ns: FakeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, uid: this.uid(), resourceVersion: this.nextRv(), ...(annotations ? { annotations } : {}) },
    }
    this.namespaces.set(name, ns)
    return clone(ns)
  }

  addServiceAccount(namespace: string, name: string): void {
    this.serviceAccounts.add(`${namespace}/${name}`)
  }

  addExternalSecret(
    namespace: string,
    name: string,
    spec: Record<string, unknown>,
    opts: { status?: Record<string, unknown>; generation?: number; labels?: Record<string, string> } = {},
  ): FakeObject {
    if (!this.namespaces.has(namespace)) this.addNamespace(namespace)
    const es: FakeObject = {
      apiVersion: 'kubernetes-client.io/v1',
      kind: 'ExternalSecret',
      metadata: {
        name,
        namespace,
        uid: this.uid(),
        resourceVersion: this.nextRv(),
        generation: opts.generation ?? 1,
        creationTimestamp: new Date(this.clock.now()).toISOString(),
        ...(opts.labels ? { labels: opts.labels } : {}),
      },
      spec: clone(spec),
      ...(opts.status ? { status: clone(opts.status) } : {}),
    }
    this.externalSecrets.set(`${namespace}/${name}`, es)
    this.emit('ADDED', es)
    return clone(es)
  }

  /** Replaces the spec: generation + 1, as the API server does for spec changes. */
  modifyExternalSecret(namespace: string, name: string, spec: Record<string, unknown>): FakeObject {
    const es = this.mustGetEs(namespace, name)
    es.spec = clone(spec)
    es.metadata.generation = (es.metadata.generation ?? 1) + 1
    es.metadata.resourceVersion = this.nextRv()
    this.emit('MODIFIED', es)
    return clone(es)
  }

  /** A metadata-only change (labels): no new generation. */
  touchExternalSecret(namespace: string, name: string, labels: Record<string, string>): FakeObject {
    const es = this.mustGetEs(namespace, name)
    es.metadata.labels = { ...(es.metadata.labels ?? {}), ...labels }
    es.metadata.resourceVersion = this.nextRv()
    this.emit('MODIFIED', es)
    return clone(es)
  }

  deleteExternalSecret(namespace: string, name: string): void {
    const es = this.mustGetEs(namespace, name)
    this.externalSecrets.delete(`${namespace}/${name}`)
    es.metadata.resourceVersion = this.nextRv()
    this.emit('DELETED', es)
  }

  getExternalSecret(namespace: string, name: string): FakeObject | undefined {
    const es = this.externalSecrets.get(`${namespace}/${name}`)
    return es && clone(es)
  }

  putSecret(namespace: string, name: string, body: { type?: string; data?: Record<string, string>; metadata?: Record<string, unknown> }): FakeObject {
    const secret: FakeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: body.type ?? 'Opaque',
      data: clone(body.data ?? {}),
      metadata: { ...(clone(body.metadata ?? {}) as object), name, namespace, uid: this.uid(), resourceVersion: this.nextRv() },
    }
    this.secrets.set(`${namespace}/${name}`, secret)
    return clone(secret)
  }

  getSecret(namespace: string, name: string): FakeObject | undefined {
    const s = this.secrets.get(`${namespace}/${name}`)
    return s && clone(s)
  }

  /** Decoded data of a Secret, for assertions. */
  secretData(namespace: string, name: string): Record<string, string> | undefined {
    const s = this.secrets.get(`${namespace}/${name}`)
    if (!s) return undefined
    return Object.fromEntries(Object.entries((s.data as Record<string, string>) ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))
  }

  /** Ends every open watch stream cleanly (as an API server's timeout does). */
  closeWatches(): void {
    for (const w of this.watches) w.res.end()
    this.watches.clear()
  }

  /** Forget history: watches resuming from an older resourceVersion get a 410 Gone ERROR event. */
  compact(): void {
    this.compactedRv = this.rv
    this.events.length = 0
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake')
    const method = req.method ?? 'GET'
    const body = method === 'GET' ? undefined : await readBody(req)
    const p = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1'

    // /apis/kubernetes-client.io/v1/externalsecrets
    if (url.pathname === `${ES_BASE}/externalsecrets` && method === 'GET') {
      return watch ? this.watchEs(req, res, undefined, url) : this.listEs(res, undefined)
    }
    // /apis/kubernetes-client.io/v1/namespaces/{ns}/externalsecrets[/{name}[/status]]
    if (p[0] === 'apis' && p[1] === 'kubernetes-client.io' && p[2] === 'v1' && p[3] === 'namespaces' && p[5] === 'externalsecrets') {
      const ns = p[4]!
      if (p.length === 6 && method === 'GET') return watch ? this.watchEs(req, res, ns, url) : this.listEs(res, ns)
      const name = p[6]!
      if (p.length === 7 && method === 'GET') {
        if (this.fault(res, 'get externalsecret', ns)) return
        const es = this.externalSecrets.get(`${ns}/${name}`)
        return es ? this.json(res, 200, es) : this.status(res, 404, 'NotFound', `externalsecrets "${name}" not found`)
      }
      if (p.length === 8 && p[7] === 'status') return this.esStatus(res, method, ns, name, body)
    }
    // /api/v1/namespaces/{ns}
    if (p[0] === 'api' && p[1] === 'v1' && p[2] === 'namespaces' && p.length === 4 && method === 'GET') {
      if (this.fault(res, 'get namespace', p[3])) return
      const ns = this.namespaces.get(p[3]!)
      return ns ? this.json(res, 200, ns) : this.status(res, 404, 'NotFound', `namespaces "${p[3]}" not found`)
    }
    // /api/v1/namespaces/{ns}/secrets[/{name}]
    if (p[0] === 'api' && p[1] === 'v1' && p[2] === 'namespaces' && p[4] === 'secrets') {
      return this.secretRoute(res, method, p[3]!, p[5], body)
    }
    // /api/v1/namespaces/{ns}/serviceaccounts/{name}/token
    if (p[0] === 'api' && p[1] === 'v1' && p[2] === 'namespaces' && p[4] === 'serviceaccounts' && p[6] === 'token' && method === 'POST') {
      return this.tokenRequest(res, p[3]!, p[5]!, body)
    }
    this.status(res, 404, 'NotFound', `fake-kube-api: no route for ${method} ${url.pathname}`)
  }

  private listEs(res: ServerResponse, ns: string | undefined): void {
    if (this.fault(res, 'list externalsecrets', ns)) return
    const items = [...this.externalSecrets.values()].filter((es) => ns === undefined || es.metadata.namespace === ns)
    // Real lists omit apiVersion/kind on items; so do we, so the host must not depend on them.
    const bare = items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest)
    this.json(res, 200, { apiVersion: 'kubernetes-client.io/v1', kind: 'ExternalSecretList', metadata: { resourceVersion: String(this.rv) }, items: bare })
  }

  private watchEs(req: IncomingMessage, res: ServerResponse, ns: string | undefined, url: URL): void {
    if (this.fault(res, 'watch externalsecrets', ns)) return
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    res.flushHeaders()
    const from = Number(url.searchParams.get('resourceVersion') ?? '0')
    const w: OpenWatch = { namespace: ns, res }
    if (from && from < this.compactedRv) {
      res.write(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' } }) + '\n')
      res.end()
      return
    }
    for (const e of this.events) {
      if (e.rv > from && (ns === undefined || e.object.metadata.namespace === ns)) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n')
    }
    this.watches.add(w)
    const drop = () => this.watches.delete(w)
    req.on('close', drop)
    res.on('close', drop)
  }

  private esStatus(res: ServerResponse, method: string, ns: string, name: string, body: unknown): void {
    const route: Route = method === 'GET' ? 'get externalsecret status' : method === 'PUT' ? 'replace externalsecret status' : 'patch externalsecret status'
    if (this.fault(res, route, ns)) return
    const es = this.externalSecrets.get(`${ns}/${name}`)
    if (!es) return this.status(res, 404, 'NotFound', `externalsecrets "${name}" not found`)
    if (method === 'GET') return this.json(res, 200, es)
    const b = (body ?? {}) as { metadata?: { resourceVersion?: string }; status?: Record<string, unknown> }
    if (method === 'PUT') {
      const rv = b.metadata?.resourceVersion
      if (rv && rv !== es.metadata.resourceVersion) {
        return this.status(res, 409, 'Conflict', `Operation cannot be fulfilled on externalsecrets.kubernetes-client.io "${name}": the object has been modified; please apply your changes to the latest version and try again`)
      }
      es.status = clone(b.status ?? {}) as FakeObject['status']
    } else if (method === 'PATCH') {
      es.status = { ...((es.status as object) ?? {}), ...clone(b.status ?? {}) }
    } else {
      return this.status(res, 405, 'MethodNotAllowed', method)
    }
    es.metadata.resourceVersion = this.nextRv()
    this.emit('MODIFIED', es)
    this.json(res, 200, es)
  }

  private secretRoute(res: ServerResponse, method: string, ns: string, name: string | undefined, body: unknown): void {
    const b = (body ?? {}) as FakeObject
    if (method === 'POST' && name === undefined) {
      if (this.fault(res, 'create secret', ns)) return
      const n = b.metadata?.name
      if (!n) return this.status(res, 422, 'Invalid', 'metadata.name is required')
      if (this.secrets.has(`${ns}/${n}`)) return this.status(res, 409, 'AlreadyExists', `secrets "${n}" already exists`)
      const s = this.storeSecret(ns, n, b, this.uid())
      this.secretWrites.push({ route: 'create secret', namespace: ns, name: n })
      return this.json(res, 201, s)
    }
    if (name === undefined) return this.status(res, 405, 'MethodNotAllowed', method)
    const key = `${ns}/${name}`
    if (method === 'GET') {
      if (this.fault(res, 'get secret', ns)) return
      const s = this.secrets.get(key)
      return s ? this.json(res, 200, s) : this.status(res, 404, 'NotFound', `secrets "${name}" not found`)
    }
    if (method === 'PUT') {
      if (this.fault(res, 'replace secret', ns)) return
      const cur = this.secrets.get(key)
      if (!cur) return this.status(res, 404, 'NotFound', `secrets "${name}" not found`)
      const rv = b.metadata?.resourceVersion
      if (rv && rv !== cur.metadata.resourceVersion) return this.status(res, 409, 'Conflict', `secrets "${name}": the object has been modified`)
      const s = this.storeSecret(ns, name, b, cur.metadata.uid)
      this.secretWrites.push({ route: 'replace secret', namespace: ns, name })
      return this.json(res, 200, s)
    }
    if (method === 'DELETE') {
      if (this.fault(res, 'delete secret', ns)) return
      const had = this.secrets.delete(key)
      return had ? this.json(res, 200, { kind: 'Status', status: 'Success' }) : this.status(res, 404, 'NotFound', `secrets "${name}" not found`)
    }
    this.status(res, 405, 'MethodNotAllowed', method)
  }

  private storeSecret(ns: string, name: string, b: FakeObject, uid: string): FakeObject {
    const s: FakeObject = {
      ...clone(b),
      apiVersion: 'v1',
      kind: 'Secret',
      type: (b.type as string) ?? 'Opaque',
      metadata: {
        ...clone(b.metadata ?? {}),
        name,
        namespace: ns,
        uid,
        resourceVersion: this.nextRv(),
        creationTimestamp: new Date(this.clock.now()).toISOString(),
      },
    }
    this.secrets.set(`${ns}/${name}`, s)
    return clone(s)
  }

  private tokenRequest(res: ServerResponse, ns: string, name: string, body: unknown): void {
    if (this.fault(res, 'create token', ns)) return
    if (this.requireServiceAccounts && !this.serviceAccounts.has(`${ns}/${name}`)) {
      return this.status(res, 404, 'NotFound', `serviceaccounts "${name}" not found`)
    }
    this.tokenRequests.push({ namespace: ns, name, body: clone(body) })
    const spec = ((body as { spec?: Record<string, unknown> })?.spec ?? {}) as { audiences?: string[]; expirationSeconds?: number }
    const expirationSeconds = Math.max(spec.expirationSeconds ?? 3600, 600)
    const iat = Math.floor(this.clock.now() / 1000)
    const exp = iat + expirationSeconds
    const audiences = spec.audiences?.length ? spec.audiences : ['https://kubernetes.default.svc']
    const payload = {
      aud: audiences,
      exp,
      iat,
      nbf: iat,
      iss: 'https://kubernetes.default.svc',
      sub: `system:serviceaccount:${ns}:${name}`,
      'kubernetes.io': { namespace: ns, serviceaccount: { name, uid: `sa-${ns}-${name}` } },
      jti: `fake-${this.tokenRequests.length}`,
    }
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const token = `${b64({ alg: 'RS256', kid: 'fake' })}.${b64(payload)}.${Buffer.from(`sig-${this.tokenRequests.length}`).toString('base64url')}`
    this.json(res, 201, {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace: ns, creationTimestamp: null },
      spec: { audiences, expirationSeconds, boundObjectRef: (spec as { boundObjectRef?: unknown }).boundObjectRef ?? null },
      status: { token, expirationTimestamp: new Date(exp * 1000).toISOString() },
    })
  }

  // ---- helpers ----

  private fault(res: ServerResponse, route: Route, ns: string | undefined): boolean {
    this.calls.set(route, (this.calls.get(route) ?? 0) + 1)
    if (ns !== undefined) this.calls.set(`${route} ${ns}`, (this.calls.get(`${route} ${ns}`) ?? 0) + 1)
    const list = this.faults.get(route)
    const f = list?.[0]
    if (!f) return false
    if (--f.times <= 0) list!.shift()
    const reason = f.status === 409 ? 'Conflict' : f.status === 404 ? 'NotFound' : f.status === 403 ? 'Forbidden' : 'InternalError'
    this.status(res, f.status, reason, f.message)
    return true
  }

  private emit(type: WatchEvent['type'], object: FakeObject): void {
    const e: WatchEvent = { rv: Number(object.metadata.resourceVersion), type, object: clone(object) }
    this.events.push(e)
    for (const w of this.watches) {
      if (w.namespace === undefined || w.namespace === object.metadata.namespace) w.res.write(JSON.stringify({ type, object: e.object }) + '\n')
    }
  }

  private mustGetEs(namespace: string, name: string): FakeObject {
    const es = this.externalSecrets.get(`${namespace}/${name}`)
    if (!es) throw new Error(`fake-kube-api: no ExternalSecret ${namespace}/${name}`)
    return es
  }

  private nextRv(): string {
    return String(++this.rv)
  }

  private uid(): string {
    return `00000000-0000-4000-8000-${String(++this.uidCounter).padStart(12, '0')}`
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code })
  }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      if (!text) return resolve(undefined)
      try {
        resolve(JSON.parse(text))
      } catch {
        resolve(text)
      }
    })
    req.on('error', reject)
  })
}
