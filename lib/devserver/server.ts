/**
 * The HTTP edge: parse a request, apply standby/faults/seal, ask the Vault semantics, count,
 * and write Vault's JSON back. Listening can be stopped and resumed on the same port.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Clock } from '../types.js'
import type { Counters } from './counters.js'
import { type Faults, faultReply } from './faults.js'
import { type Operation, type VaultReply, type VaultRequest, type VaultSemantics, classify, errorReply } from './vault.js'

export interface FrontState {
  clock: Clock
  semantics: VaultSemantics
  counters: Counters
  faults: Faults
  sealed: () => boolean
  /** Set on a standby: where every request (except sys/health) is redirected. */
  activeAddress?: () => string
}

export class HttpFront {
  private readonly server: http.Server
  private readonly sockets = new Set<Socket>()
  /** Pending latency faults: released at stop() so no request hangs forever. */
  private readonly delays = new Map<NodeJS.Timeout, () => void>()
  private port = 0
  listening = false

  constructor(private readonly st: FrontState) {
    this.server = http.createServer((req, res) => {
      this.serve(req, res).catch(() => {
        if (!res.headersSent) writeReply(res, errorReply(500, 'internal error'))
        else res.destroy()
      })
    })
    this.server.on('connection', (s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
  }

  get address(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e)
      this.server.once('error', onError)
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', onError)
        resolve()
      })
    })
    this.port = (this.server.address() as AddressInfo).port
    this.listening = true
  }

  /** Stop accepting and drop every open connection (keep-alive included): clients see ECONNREFUSED. */
  async stop(): Promise<void> {
    if (!this.listening) return
    this.listening = false
    for (const [t, release] of this.delays) {
      clearTimeout(t)
      release()
    }
    this.delays.clear()
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    this.server.closeAllConnections()
    await closed
  }

  /** Listen again on the same port as before. */
  async resume(): Promise<void> {
    if (!this.listening) await this.listen(this.port)
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = (req.method ?? 'GET').toUpperCase()
    const raw = await readBody(req)
    if (!url.pathname.startsWith('/v1/')) {
      this.st.counters.record('other', 404)
      writeReply(res, errorReply(404))
      return
    }
    const path = decodeURIComponent(url.pathname.slice(4)).replace(/^\/+|\/+$/g, '')
    const operation = classify(method, path)

    const active = this.st.activeAddress
    if (active && path !== 'sys/health') {
      // A standby answers with the active node's address and the same path and query.
      this.st.counters.record(operation, 307, { redirect: true })
      res.writeHead(307, { Location: `${active()}${url.pathname}${url.search}`, 'Content-Length': '0' })
      res.end()
      return
    }

    let body: unknown
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw)
      } catch (e) {
        const reply = errorReply(400, `failed to parse JSON input: ${(e as Error).message}`)
        this.finish(res, operation, reply)
        return
      }
    }

    const hit = this.st.faults.take(operation, path, method)
    if (hit.latencyMs > 0) await this.delay(hit.latencyMs)
    if (!this.listening) {
      res.destroy()
      return
    }
    if (hit.fault) {
      const answer = faultReply(hit.fault, path)
      if (answer === 'reset') return this.reset(res, operation)
      if (answer !== 'latency') return this.finish(res, operation, answer)
    }

    const vreq: VaultRequest = {
      method,
      path,
      query: url.searchParams,
      namespace: header(req, 'x-vault-namespace') ?? '',
      token: tokenOf(req),
      body,
    }
    let reply: VaultReply
    if (path === 'sys/health') {
      reply = this.st.semantics.health(vreq, { sealed: this.st.sealed(), standby: active !== undefined })
    } else if (this.st.sealed()) {
      reply = errorReply(503, 'Vault is sealed')
    } else {
      reply = this.st.semantics.handle(vreq)
    }
    if (reply.deadToken) {
      this.st.counters.deadToken({ operation, path, reason: reply.deadToken, at: this.st.clock.now() })
    }
    this.finish(res, operation, reply)
  }

  private finish(res: http.ServerResponse, operation: Operation, reply: VaultReply): void {
    this.st.counters.record(operation, reply.status, { storageWrites: reply.storageWrites })
    writeReply(res, reply)
  }

  private reset(res: http.ServerResponse, operation: Operation): void {
    this.st.counters.record(operation, 'reset')
    // Headers and half a body, then the connection dies: the client sees ECONNRESET / "aborted".
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '4096' })
    res.write('{"request_id":"')
    setImmediate(() => res.socket?.destroy())
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.delays.delete(t)
        resolve()
      }, ms)
      this.delays.set(t, resolve)
    })
  }

  async close(): Promise<void> {
    await this.stop()
  }
}

function writeReply(res: http.ServerResponse, reply: VaultReply): void {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store', ...reply.headers }
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers)
    res.end()
    return
  }
  const text = JSON.stringify(reply.body)
  res.writeHead(reply.status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  })
  res.end(text)
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function tokenOf(req: http.IncomingMessage): string | undefined {
  const direct = header(req, 'x-vault-token')
  if (direct) return direct
  const m = /^Bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '')
  return m?.[1]?.trim()
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8').trim()
}
