/**
 * Loopback stand-ins for the transport tests: small node:http servers on 127.0.0.1 that record every request they
 * receive (method, path, headers, body) and either answer themselves or forward to the dev Vault; and the backend
 * built the ways users build it: KES's `vaultFactory: () => vault({ endpoint, requestOptions: { followAllRedirects:
 * true } })` with node-vault 0.12 (axios) or 0.9.22 (request, the version KES 8.x pins), and `createVaultBackend(env)`.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import vault from 'node-vault'
import vault09 from 'node-vault-0.9'
import { Registry } from 'prom-client'
import { createVaultBackend } from '../../lib/backend/create.js'
import { VaultBackend, type VaultBackendOptions } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { type DevVault, type InNamespace, makeServiceAccountJwt, startDevVault } from '../../lib/devserver/index.js'
import { classify, type Operation } from '../../lib/devserver/vault.js'
import { createLogger } from '../../lib/log.js'
import { SETTING_VARIABLES } from '../../lib/settings.js'
import type { NodeVaultClient } from '../../lib/vault/node-vault.js'

export interface Received {
  method: string
  /** Path after /v1/. */
  path: string
  operation: Operation
  headers: http.IncomingHttpHeaders
  body: string
}

/** What a handler does with a request: answered it itself (true), or leaves it to the forward target (false). */
export type Handler = (rec: Received, req: http.IncomingMessage, res: http.ServerResponse) => boolean | void | Promise<boolean | void>

export interface Listener {
  url: string
  origin: string
  received: Received[]
  /** TCP connections accepted, whether or not a request came over them. */
  readonly connections: number
  /** Requests by operation. */
  count(op: Operation): number
  /** Responses whose connection closed before the whole answer was written. */
  cutShort: number
  close(): Promise<void>
}

const open = new Set<Listener>()

/**
 * A server on 127.0.0.1 (any free port). Each request is recorded, then offered to `handle`; what it does not answer
 * is forwarded to `forward` (a dev Vault address), or answered 404.
 */
export async function listen(handle: Handler = () => false, forward?: string): Promise<Listener> {
  const sockets = new Set<Socket>()
  const received: Received[] = []
  const agent = new http.Agent({ keepAlive: false })
  const state = { cutShort: 0, connections: 0 }
  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const url = new URL(req.url ?? '/', 'http://x')
      const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, ''))
      const rec: Received = { method: req.method ?? 'GET', path, operation: classify(req.method ?? 'GET', path), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      received.push(rec)
      res.on('close', () => {
        if (!res.writableFinished) state.cutShort++
      })
      if (await handle(rec, req, res)) return
      if (!forward) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[]}')
        return
      }
      const target = new URL(req.url ?? '/', forward)
      const headers = { ...req.headers, host: target.host }
      const out = http.request(target, { method: req.method, headers, agent }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      out.on('error', () => res.destroy())
      out.end(rec.body)
    })().catch(() => res.destroy())
  })
  server.on('connection', (s) => {
    state.connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const listener: Listener = {
    url,
    origin: url,
    received,
    count: (op) => received.filter((r) => r.operation === op).length,
    get cutShort() {
      return state.cutShort
    },
    get connections() {
      return state.connections
    },
    async close() {
      open.delete(listener)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of sockets) s.destroy()
      server.closeAllConnections()
      agent.destroy()
      await closed
    },
  }
  open.add(listener)
  return listener
}

const built = new Set<VaultBackend>()
const devs = new Set<DevVault>()

/**
 * afterEach of every transport test: close the backends `build` made (without revoking), every listener still open
 * and the dev Vaults `devVault` started, so one test's sockets and timers never reach the next and mocha exits.
 */
export async function tearDown(): Promise<void> {
  await Promise.all([...built].map((b) => b.close({ revoke: false })))
  built.clear()
  await Promise.all([...open].map((l) => l.close()))
  await Promise.all([...devs].map((d) => d.close()))
  devs.clear()
}

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text)
  return true
}

/** A service-account JWT-shaped credential; its text is what must never reach another origin. */
export const JWT = makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', issuedAt: Date.UTC(2020, 0, 1), expiresAt: Date.UTC(2100, 0, 1) })

export interface Built {
  backend: VaultBackend
  clock: ManualClock
  lines: string[]
}

export type Builder = 'kes' | 'kes-0.9' | 'env'
/**
 * The ways the transport tests run under. 'kes-0.9' is not among them: the client handed in is read once, then never
 * used (test/transport/node-vault-client.test.ts and namespace.test.ts cover what is read from a 0.9 client).
 */
export const BUILDERS: readonly Builder[] = ['kes', 'env']

/** The node-vault versions a vaultFactory may return: 0.9.22 (request), which KES 8.x pins, and 0.12 (axios). */
export const NODE_VAULTS = [
  { version: '0.9.22', make: (o: Record<string, unknown>) => vault09(o) as unknown as NodeVaultClient },
  { version: '0.12', make: (o: Record<string, unknown>) => vault({ debug: () => {}, ...o } as never) as unknown as NodeVaultClient },
] as const

export interface BuildOptions {
  /** Backend options (KES way) or their environment variables (createVaultBackend way). */
  settings?: Partial<VaultBackendOptions>
  /** node-vault options besides endpoint, replacing KES's (KES way only). */
  nodeVault?: Record<string, unknown>
  clock?: ManualClock
  jwt?: () => Promise<string>
}


/**
 * The backend pointed at `endpoint`, built as KES builds it (`kes` with node-vault 0.12, `kes-0.9` with the 0.9.22 KES
 * 8.x pins; `settings.vaultFactory` hands in another client) or as `createVaultBackend` does (`env`), on a
 * ManualClock, with role "app" on the kubernetes mount and short real request deadlines.
 */
export function build(how: Builder, endpoint: string, o: BuildOptions = {}): Built {
  const clock = o.clock ?? new ManualClock()
  const lines: string[] = []
  const settings: Partial<VaultBackendOptions> = { defaultVaultRole: 'app', requestTimeoutMilliseconds: 400, ...o.settings }
  const common: VaultBackendOptions = {
    clock,
    random: () => 1,
    registry: new Registry(),
    jwtProvider: { getJwt: o.jwt ?? (async () => JWT) },
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l), clock }),
  }
  if (how === 'kes' || how === 'kes-0.9') {
    const backend = new VaultBackend({
      // KES's own construction (kubernetes-external-secrets/config/index.js), plus what a test adds.
      vaultFactory:
        how === 'kes'
          ? () => vault({ endpoint, requestOptions: { followAllRedirects: true }, debug: () => {}, ...o.nodeVault } as never)
          : () => vault09({ apiVersion: 'v1', endpoint, requestOptions: { followAllRedirects: true }, ...o.nodeVault }) as unknown as NodeVaultClient,
      ...common,
      ...settings,
    })
    built.add(backend)
    return { backend, clock, lines }
  }
  const env: Record<string, string> = { VAULT_ADDR: endpoint, LOG_LEVEL: 'silent' }
  for (const [k, v] of Object.entries(settings)) {
    const name = SETTING_VARIABLES[k as keyof typeof SETTING_VARIABLES]
    if (!name) throw new Error(`test support: no environment variable mapped for ${k}`)
    env[name] = Array.isArray(v) ? v.join(',') : String(v)
  }
  const backend = createVaultBackend(env, common)
  built.add(backend)
  return { backend, clock, lines }
}

export const spec = (key: string, role = 'app') => ({ spec: { vaultRole: role, data: [{ key, name: 'password', property: 'password' }] } })
export const b64 = (s: string) => Buffer.from(s).toString('base64')

/** Real milliseconds `work` took to settle, and how. */
export async function timed<T>(work: Promise<T>): Promise<{ ms: number; value?: T; error?: Error }> {
  const t0 = performance.now()
  try {
    const value = await work
    return { ms: performance.now() - t0, value }
  } catch (error) {
    return { ms: performance.now() - t0, error: error as Error }
  }
}

/** A dev Vault on `clock` with a kubernetes mount, and for each role a policy reading `secret/data/<role>/` and a secret. */
export async function devVault(clock: ManualClock, roles: Record<string, { token_ttl?: string | number; token_max_ttl?: string | number }> = { app: { token_ttl: '1h' } }, where: InNamespace = {}): Promise<DevVault> {
  const dev = await startDevVault({ clock })
  devs.add(dev)
  if (where.namespace) dev.enableKv('secret', 2, where)
  dev.enableKubernetesAuth('kubernetes', where)
  for (const [role, input] of Object.entries(roles)) {
    dev.writePolicy(role, [`secret/data/${role}/`], where)
    dev.writeRole('kubernetes', role, { policies: [role], ...input }, where)
    dev.putSecret('secret', `${role}/db`, { password: `pw-${role}` }, where)
  }
  dev.acceptJwt(JWT)
  return dev
}

/** A poll of one ExternalSecret per role, its rejections in order. */
export async function pollRoles(backend: VaultBackend, roles: readonly string[], sequential = false): Promise<Error[]> {
  const read = (role: string) => backend.getSecretManifestData(spec(`secret/data/${role}/db`, role))
  if (sequential) {
    const failures: Error[] = []
    for (const role of roles) await read(role).catch((e: Error) => failures.push(e))
    return failures
  }
  const results = await Promise.allSettled(roles.map(read))
  return results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []))
}

/** Wait (real time, at most `ms`) for a condition another socket's events make true; fails with `what`. */
export async function until(cond: () => boolean, what: string, ms = 1_000): Promise<void> {
  const end = performance.now() + ms
  while (!cond()) {
    if (performance.now() > end) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
