/**
 * The HTTP edge: parse a request, apply standby/faults/seal, ask the Vault semantics, count, and write Vault's
 * JSON back. Listening can be stopped and resumed on the same port. A standby forwards to its active node (Vault's
 * default) or answers 307 (redirect mode, or a client that sends X-Vault-No-Request-Forwarding).
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Clock } from '../types.js'
import type { Counters } from './counters.js'
import { type Faults, faultReply } from './faults.js'
import { type Operation, type VaultReply, type VaultRequest, type VaultSemantics, classify, errorReply } from './vault.js'

export type StandbyMode = 'forward' | 'redirect'

export interface FrontState {
  clock: Clock
  semantics: VaultSemantics
  counters: Counters
  faults: Faults
  sealed: () => boolean
  /** Set on a standby: how it answers and who the active node is now (undefined = none). */
  standby?: { mode: StandbyMode; active: () => HttpFront | undefined }
}

/** A request as it arrived, before any Vault logic (what a standby forwards). */
export interface RawRequest {
  method: string
  url: URL
  headers: Record<string, string | undefined>
  body: string
}

/** What goes back on the wire; `reset` = the connection dies mid-response. */
export type Wire = { status: number; headers: Record<string, string>; body?: string }
export type Exchanged = Wire | { reset: true }

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
        if (!res.headersSent) writeReply(res, toWire(errorReply(500, 'internal error')))
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
    const raw: RawRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      url: new URL(req.url ?? '/', 'http://127.0.0.1'),
      headers: { 'x-vault-token': header(req, 'x-vault-token'), authorization: header(req, 'authorization'), 'x-vault-namespace': header(req, 'x-vault-namespace'), 'x-vault-no-request-forwarding': header(req, 'x-vault-no-request-forwarding') },
      body: await readBody(req),
    }
    const out = await this.exchange(raw)
    if (!this.listening) {
      res.destroy()
      return
    }
    if ('reset' in out) {
      // Headers and half a body, then the connection dies: the client sees ECONNRESET / "aborted".
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '4096' })
      res.write('{"request_id":"')
      setImmediate(() => res.socket?.destroy())
      return
    }
    writeReply(res, out)
  }

  /** One request through this node: standby handling, faults, seal, Vault's semantics, counters. */
  async exchange(raw: RawRequest): Promise<Exchanged> {
    const { method, url } = raw
    if (!url.pathname.startsWith('/v1/')) {
      this.st.counters.record('other', 404)
      return toWire(errorReply(404))
    }
    const path = decodeURIComponent(url.pathname.slice(4)).replace(/^\/+|\/+$/g, '')
    const operation = classify(method, path)

    const standby = this.st.standby
    if (standby && path !== 'sys/health') return this.fromStandby(standby, raw, operation)

    let body: unknown
    if (raw.body.length > 0) {
      try {
        body = JSON.parse(raw.body)
      } catch (e) {
        // OpenBao: http/json.go parseJSONRequest (older Vault says "failed to parse JSON input").
        return this.finish(operation, errorReply(400, `failed to decode JSON input: ${(e as Error).message}`))
      }
    }

    const hit = this.st.faults.take(operation, path, method)
    if (hit.latencyMs > 0) await this.delay(hit.latencyMs)
    if (!this.listening) return { reset: true }
    if (hit.fault) {
      const answer = faultReply(hit.fault, path)
      if (answer === 'reset') {
        this.st.counters.record(operation, 'reset')
        return { reset: true }
      }
      if (answer !== 'latency') return this.finish(operation, answer)
    }

    const vreq: VaultRequest = {
      method,
      path,
      query: url.searchParams,
      namespace: raw.headers['x-vault-namespace'] ?? '',
      token: tokenOf(raw.headers),
      body,
    }
    let reply: VaultReply
    if (path === 'sys/health') {
      reply = this.st.semantics.health(vreq, { sealed: this.st.sealed(), standby: standby !== undefined })
    } else if (this.st.sealed()) {
      reply = errorReply(503, 'Vault is sealed')
    } else {
      reply = this.st.semantics.handle(vreq)
    }
    if (reply.deadToken) {
      this.st.counters.deadToken({ operation, path, reason: reply.deadToken, at: this.st.clock.now() })
    }
    return this.finish(operation, reply)
  }

  // OpenBao: http/handler.go forwardRequest (forward to the active node; 307 via respondStandby when asked or when
  // forwarding fails; 500 when no active node is known) and respondStandby (503 when there is no leader to redirect to).
  private async fromStandby(standby: NonNullable<FrontState['standby']>, raw: RawRequest, operation: Operation): Promise<Exchanged> {
    const active = standby.active()
    const redirect = (): Exchanged => {
      if (!active) return this.finish(operation, errorReply(503, 'no active Vault instance found'))
      // The active node's address with the same path and query.
      this.st.counters.record(operation, 307, { redirect: true })
      return { status: 307, headers: { Location: `${active.address}${raw.url.pathname}${raw.url.search}`, 'Content-Length': '0' } }
    }
    if (standby.mode === 'redirect' || raw.headers['x-vault-no-request-forwarding']) return redirect()
    if (!active) return this.finish(operation, errorReply(500, 'local node not active but active cluster node not found'))
    if (!active.listening) return redirect()
    const out = await active.exchange(raw)
    if ('reset' in out) return redirect()
    this.st.counters.record(operation, out.status, { forwarded: true })
    return out
  }

  private finish(operation: Operation, reply: VaultReply): Exchanged {
    this.st.counters.record(operation, reply.status, { storageWrites: reply.storageWrites })
    return toWire(reply)
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

function toWire(reply: VaultReply): Wire {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store', ...reply.headers }
  if (reply.body === undefined) return { status: reply.status, headers }
  const text = JSON.stringify(reply.body)
  return { status: reply.status, headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) }, body: text }
}

function writeReply(res: http.ServerResponse, out: Wire): void {
  res.writeHead(out.status, out.headers)
  res.end(out.body)
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function tokenOf(headers: RawRequest['headers']): string | undefined {
  const direct = headers['x-vault-token']
  if (direct) return direct
  const m = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')
  return m?.[1]?.trim()
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8').trim()
}
