/**
 * What a node-vault client handed in through KES's `vaultFactory` contributes: where Vault is, the namespace, any
 * header its `requestOptions` carry (KES puts the namespace there as `X-VAULT-NAMESPACE`), and a token already set
 * on it (node-vault picks up VAULT_TOKEN). Requests themselves go through our transport (transport.ts), because
 * node-vault's own (request in 0.9, which KES 8.x pins; axios in 0.12) cannot give a deadline, a size bound, or
 * redirects kept inside the Vault cluster.
 *
 * The headers in `requestOptions` are not readable on the client object, so we ask the client to build one request
 * and capture it before it leaves. `read()` merges its per-call options over `requestOptions` and hands them on:
 * 0.9 gives them all to `request` (which connects through `agent` and, unless `proxy` is false, through a proxy from
 * the environment or a tunnel agent of its own); 0.12 forwards `httpAgent`/`httpsAgent` to axios. An agent's
 * `createConnection` may return any duplex stream (Node's documented contract): ours records the request head and
 * then fails, so nothing reaches the network. Should a client's HTTP library take none of these options, the client
 * is pointed, for that one call, at a loopback listener of ours (captureHead), so its read still never reaches Vault.
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { Duplex } from 'node:stream'

/** The public surface of a node-vault client (0.9 or 0.12) that we read. */
export interface NodeVaultClient {
  endpoint?: string
  apiVersion?: string
  pathPrefix?: string
  token?: string | null
  namespace?: string
  read?(path: string, requestOptions?: Record<string, unknown>): Promise<unknown>
}

export interface NodeVaultSetup {
  address: string
  apiPrefix: string
  namespace?: string
  /** Headers from the client's requestOptions, other than the token, the namespace and transport headers. */
  headers: Record<string, string>
  /** A token already on the client: used first, the way KES used it. */
  token?: string
  /** False when the client's request could not be captured: its requestOptions headers (and namespace there) are unknown. */
  headersCaptured: boolean
}

/**
 * Headers our transport sets itself (or Node does), and axios's proxy headers (HTTP_PROXY with credentials adds
 * Proxy-Authorization: for the proxy, never for Vault); never copied from the captured request.
 */
const OWN_HEADERS = new Set(['host', 'connection', 'content-length', 'content-type', 'transfer-encoding', 'accept', 'accept-encoding', 'user-agent', 'x-vault-token', 'x-vault-request', 'x-vault-namespace', 'authorization', 'proxy-authorization', 'proxy-connection'])

/** A request head larger than this is not a node-vault read: dropped uncaptured. */
const MAX_HEAD_BYTES = 64 * 1024

class CaptureError extends Error {}

/** Feeds bytes of an outgoing request; calls `onHead` once with the head (request line and headers). */
function headRecorder(onHead: (head: string) => void): (chunk: Buffer) => 'head' | 'more' | 'too-large' {
  let raw = ''
  return (chunk) => {
    raw += chunk.toString('latin1')
    const end = raw.indexOf('\r\n\r\n')
    if (end >= 0) {
      onHead(raw.slice(0, end))
      return 'head'
    }
    return raw.length > MAX_HEAD_BYTES ? 'too-large' : 'more'
  }
}

function captureSocket(onHead: (head: string) => void): Duplex {
  const record = headRecorder(onHead)
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      if (record(chunk) !== 'more') setImmediate(() => socket.destroy(new CaptureError('captured, not sent')))
      done()
    },
  })
  // What http.ClientRequest may call on a net.Socket.
  Object.assign(socket, { setTimeout() {}, setNoDelay() {}, setKeepAlive() {}, ref() {}, unref() {} })
  return socket
}

function captureAgent<A extends http.Agent>(agent: A, onHead: (head: string) => void): A {
  ;(agent as unknown as { createConnection: () => Duplex }).createConnection = () => captureSocket(onHead)
  return agent
}

/**
 * A listener of ours on loopback, where the client is pointed while it builds the request: a client whose HTTP library
 * ignores every agent option sends its read here (recorded, then dropped), never to Vault.
 */
async function loopbackSink(onHead: (head: string) => void): Promise<{ url: string; close(): void } | undefined> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    const record = headRecorder(onHead)
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
    socket.on('data', (chunk: Buffer) => {
      if (record(chunk) !== 'more') socket.destroy()
    })
  })
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(0, '127.0.0.1', () => resolve(true))
  })
  if (!listening) return undefined
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close() {
      server.close()
      for (const s of sockets) s.destroy()
    },
  }
}

function restore<K extends 'endpoint' | 'token'>(client: NodeVaultClient, key: K, value: NodeVaultClient[K]): void {
  try {
    if (client[key] !== value) client[key] = value
  } catch {
    // It could not be set, so it was never changed.
  }
}

/**
 * The request head the client would send for a read, or undefined when it could not be captured (not a node-vault
 * client, or one whose request we cannot see). For the call, and only for that synchronous call (node-vault builds the
 * URL and headers before it returns), the client's endpoint is our loopback sink and its token is unset: whatever its
 * HTTP library does with our options, the read goes nowhere near Vault and carries no token. (A client that built its
 * URL later, from the endpoint put back, and ignored our agents, would still reach Vault: neither version does.)
 */
async function captureHead(client: NodeVaultClient, timeoutMs: number): Promise<string | undefined> {
  if (typeof client.read !== 'function') return undefined
  let done!: (head: string | undefined) => void
  const captured = new Promise<string | undefined>((resolve) => (done = resolve))
  const sink = await loopbackSink((head) => done(head))
  if (!sink) return undefined
  const timer = setTimeout(() => done(undefined), timeoutMs)
  const httpAgent = captureAgent(new http.Agent(), (head) => done(head))
  const httpsAgent = captureAgent(new https.Agent(), (head) => done(head))
  const { endpoint, token } = client
  try {
    client.endpoint = sink.url
    client.token = undefined
    // Read back: a client that kept its endpoint or token (a getter, say) could send them to Vault, so it is not asked.
    if (client.endpoint !== sink.url || client.token) throw new CaptureError('the client kept its endpoint or token')
    // `agent` and `proxy: false` for request (node-vault 0.9), `httpAgent`/`httpsAgent` for axios (0.12).
    const reading = client.read('sys/health', { agent: httpAgent, proxy: false, httpAgent, httpsAgent })
    void Promise.resolve(reading).catch(() => done(undefined))
  } catch {
    done(undefined)
  } finally {
    restore(client, 'endpoint', endpoint)
    restore(client, 'token', token)
  }
  try {
    return await captured
  } finally {
    clearTimeout(timer)
    sink.close()
    httpAgent.destroy()
    httpsAgent.destroy()
  }
}

function headersOf(head: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return out
}

/** What the client contributes; `headersCaptured` is false when its read could not be recorded (the caller warns). */
export async function readNodeVaultClient(client: NodeVaultClient, timeoutMs = 1_000): Promise<NodeVaultSetup> {
  if (!client || typeof client !== 'object' || typeof client.endpoint !== 'string' || client.endpoint === '') {
    throw new TypeError('vaultFactory must return a node-vault client (an object with an "endpoint")')
  }
  const head = await captureHead(client, timeoutMs)
  const captured = head ? headersOf(head) : {}
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(captured)) if (!OWN_HEADERS.has(k)) headers[k] = v
  const namespace = captured['x-vault-namespace'] || (typeof client.namespace === 'string' && client.namespace) || undefined
  const token = typeof client.token === 'string' && client.token !== '' ? client.token : undefined
  return {
    address: client.endpoint.replace(/\/+$/, ''),
    apiPrefix: `/${client.apiVersion || 'v1'}${client.pathPrefix ?? ''}`,
    namespace,
    headers,
    token,
    headersCaptured: head !== undefined,
  }
}
