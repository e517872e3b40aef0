/**
 * What a node-vault client handed in through KES's `vaultFactory` contributes: where Vault is, the namespace, any
 * header its `requestOptions` carry (KES puts the namespace there as `X-VAULT-NAMESPACE`), and a token already set
 * on it (node-vault picks up VAULT_TOKEN). Requests themselves go through our transport (transport.ts), because
 * node-vault 0.12's own (axios) cannot give a deadline, a size bound, or redirects kept inside the Vault cluster.
 *
 * The headers in `requestOptions` are not readable on the client object, so we ask the client to build one request
 * and capture it before it leaves: `read()` accepts an `httpAgent`/`httpsAgent` per call (node-vault forwards them to
 * axios), and an agent's `createConnection` may return any duplex stream (Node's documented contract). The stream
 * records the request head and then fails; nothing reaches the network.
 */
import http from 'node:http'
import https from 'node:https'
import { Duplex } from 'node:stream'

/** The public surface of a node-vault 0.12 client that we read. */
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
}

/**
 * Headers our transport sets itself (or Node does), and axios's proxy headers (HTTP_PROXY with credentials adds
 * Proxy-Authorization: for the proxy, never for Vault); never copied from the captured request.
 */
const OWN_HEADERS = new Set(['host', 'connection', 'content-length', 'content-type', 'transfer-encoding', 'accept', 'accept-encoding', 'user-agent', 'x-vault-token', 'x-vault-request', 'x-vault-namespace', 'authorization', 'proxy-authorization', 'proxy-connection'])

class CaptureError extends Error {}

function captureSocket(onHead: (head: string) => void): Duplex {
  let raw = ''
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      raw += chunk.toString('latin1')
      const end = raw.indexOf('\r\n\r\n')
      if (end >= 0) {
        onHead(raw.slice(0, end))
        setImmediate(() => socket.destroy(new CaptureError('captured, not sent')))
      }
      done()
    },
  })
  // What http.ClientRequest may call on a net.Socket.
  Object.assign(socket, { setTimeout() {}, setNoDelay() {}, setKeepAlive() {}, ref() {}, unref() {} })
  return socket
}

/** The request head the client would send for a read, or undefined when it is not a node-vault client. */
async function captureHead(client: NodeVaultClient, timeoutMs: number): Promise<string | undefined> {
  if (typeof client.read !== 'function') return undefined
  return new Promise((resolve) => {
    const done = (head: string | undefined) => {
      clearTimeout(timer)
      resolve(head)
    }
    const timer = setTimeout(() => done(undefined), timeoutMs)
    const httpAgent = new http.Agent()
    const httpsAgent = new https.Agent()
    for (const agent of [httpAgent, httpsAgent]) {
      ;(agent as unknown as { createConnection: () => Duplex }).createConnection = () => captureSocket((head) => done(head))
    }
    try {
      void Promise.resolve(client.read!('sys/health', { httpAgent, httpsAgent })).catch(() => done(undefined))
    } catch {
      done(undefined)
    }
  })
}

function headersOf(head: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return out
}

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
  }
}
