/**
 * Every request the backend sends to Vault goes through this module: the URL, the headers (token, namespace),
 * one deadline from send to last byte (redirect hops included), redirects only within the Vault cluster the operator
 * configured, a bound on the answer's size, Vault's Retry-After, parsing, and the classification of every failure.
 *
 * The bytes themselves move through an `HttpExchange`: node:http(s) in production, the dev Vault's in-process
 * exchange in benchmarks and soaks. An exchange does one hop and nothing else.
 */
import http from 'node:http'
import https from 'node:https'
import { classifyResponse, MAX_RETRY_AFTER_SECONDS, networkError, type VaultOperation, VaultRequestError } from './errors.js'

export interface HttpExchangeRequest {
  method: string
  url: string
  headers: Record<string, string>
  body?: string
}

export interface HttpExchangeResponse {
  status: number
  /** Lower-case header names. */
  headers: Record<string, string | undefined>
  body: string
}

export interface ExchangeLimits {
  /** Aborted when the request's deadline passes. */
  signal: AbortSignal
  /** An answer larger than this is refused with `ResponseTooLargeError`, without reading the rest. */
  maxBytes: number
  /** Milliseconds left before the deadline (for in-process exchanges that simulate latency). */
  timeoutMs: number
}

/** One HTTP request and its whole answer; never follows a redirect. Rejects with a Node-style error (code). */
export type HttpExchange = ((req: HttpExchangeRequest, limits: ExchangeLimits) => Promise<HttpExchangeResponse>) & {
  /** Release pooled connections (called by `close()`). */
  close?(): void
}

/** Code of the error an exchange rejects with when an answer exceeds `maxBytes` (in-process exchanges use it too). */
export const RESPONSE_TOO_LARGE = 'ERR_VAULT_RESPONSE_TOO_LARGE'

export class ResponseTooLargeError extends Error {
  readonly code = RESPONSE_TOO_LARGE
  constructor(readonly bytes: number) {
    super(`answer larger than allowed (${bytes} bytes read)`)
  }
}

export interface TlsOptions {
  /** PEM CA bundle (VAULT_CACERT): replaces the system roots, as in Vault's CLI. */
  ca?: string
  /** VAULT_SKIP_VERIFY: development only. */
  rejectUnauthorized?: boolean
}

/** node:http(s) with keep-alive: one pooled connection set per backend, reused by every identity. */
export function nodeHttpExchange(tls: TlsOptions = {}): HttpExchange {
  const agents: Record<string, http.Agent> = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true, ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized !== false }),
  }
  const exchange: HttpExchange = (req, limits) =>
    new Promise<HttpExchangeResponse>((resolve, reject) => {
      const url = new URL(req.url)
      const headers: Record<string, string> = { ...req.headers }
      if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body))
      const client = url.protocol === 'https:' ? https : http
      const request = client.request(url, { method: req.method, headers, agent: agents[url.protocol], signal: limits.signal }, (res) => {
        const declared = Number(res.headers['content-length'])
        if (declared > limits.maxBytes) {
          request.destroy()
          reject(new ResponseTooLargeError(declared))
          return
        }
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > limits.maxBytes) {
            request.destroy()
            reject(new ResponseTooLargeError(size))
          } else chunks.push(chunk)
        })
        res.on('end', () => {
          const flat: Record<string, string | undefined> = {}
          for (const [k, v] of Object.entries(res.headers)) flat[k] = Array.isArray(v) ? v.join(', ') : v
          resolve({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks).toString('utf8') })
        })
        res.on('error', reject)
      })
      request.on('error', reject)
      request.end(req.body)
    })
  exchange.close = () => {
    for (const agent of Object.values(agents)) agent.destroy()
  }
  return exchange
}

export interface TransportOptions {
  /** Vault's address: scheme, host, port (and a path prefix if Vault is served under one), no trailing slash. */
  address: string
  /** Put between the address and the Vault path: "/v1", plus node-vault's pathPrefix when one is set. */
  apiPrefix?: string
  /** Vault Enterprise namespace: sent as X-Vault-Namespace on every request. */
  namespace?: string
  /** Further headers for every request (e.g. from the node-vault client KES hands in). */
  headers?: Readonly<Record<string, string>>
  /** Deadline of one request from send to last byte, redirect hops included. */
  timeoutMs: number
  maxResponseBytes: number
  /** Origins besides the address's own that a redirect may lead to (the other nodes of the cluster). */
  redirectOrigins?: readonly string[]
  exchange: HttpExchange
  /** The clock Retry-After is measured on. */
  now: () => number
  observe?: (operation: VaultOperation, status: number | 'error', seconds: number) => void
}

/** A standby answers one 307 to its active node; a load balancer in front may add one more. */
export const MAX_REDIRECTS = 3

const REDIRECTS = new Set([301, 302, 303, 307, 308])

export interface SendOptions {
  token?: string
  body?: unknown
}

/** Lanes with a quiet period at once: a tenant names mounts, so the map is bounded. */
const MAX_QUIET_LANES = 1_000

/**
 * Vault's rate-limit quotas apply to a namespace, a mount or a path: a 429 with Retry-After quiets the mount it came
 * from (`secret`, `auth/kubernetes`), not every identity and every tenant.
 */
export function laneOf(path: string): string {
  const [first = '', second = ''] = path.replace(/^\/+/, '').split('/', 2)
  return first === 'auth' ? `auth/${second}` : first
}

export class VaultTransport {
  readonly origin: string
  private readonly allowedOrigins: ReadonlySet<string>
  private readonly base: string
  /** Per lane (laneOf): Vault asked us (429 + Retry-After) at `from` to send nothing there before `until` (ms). */
  private readonly quietUntil = new Map<string, { from: number; until: number }>()
  private closed = false

  constructor(private readonly o: TransportOptions) {
    const address = new URL(o.address)
    this.origin = address.origin
    this.allowedOrigins = new Set([this.origin, ...(o.redirectOrigins ?? []).map((u) => new URL(u).origin)])
    this.base = `${o.address.replace(/\/+$/, '')}${o.apiPrefix ?? '/v1'}`
  }

  get namespace(): string | undefined {
    return this.o.namespace
  }

  /** Release pooled connections; from now on nothing is sent (a login whose credential arrives late stays unsent). */
  close(): void {
    this.closed = true
    this.o.exchange.close?.()
  }

  /** Send one request; resolves with Vault's parsed JSON answer (undefined for 204), rejects with a VaultRequestError. */
  async send(operation: VaultOperation, method: 'GET' | 'POST' | 'PUT', path: string, options: SendOptions = {}): Promise<unknown> {
    if (this.closed) throw new VaultRequestError(operation, 'closed', undefined, path, 'the Vault backend is closed; nothing was sent')
    const lane = laneOf(path)
    const quiet = this.quietUntil.get(lane)
    // A revocation is the last request for its token or lease, sent at shutdown or when it is dropped: skipping it for
    // a quiet period would leave a live credential until its TTL. It is tried once, quota or not.
    if (quiet !== undefined && operation !== 'revoke') {
      const now = this.o.now()
      // A clock that stepped back since the 429 still waits only what Vault asked for, counted from now.
      if (now < quiet.from) this.quietUntil.set(lane, { from: now, until: now + (quiet.until - quiet.from) })
      const wait = this.quietUntil.get(lane)!.until - now
      if (wait > 0) {
        // Honour Retry-After: fail locally, send nothing there, until the time Vault asked for has passed.
        const left = Math.ceil(wait / 1000)
        throw new VaultRequestError(operation, 'rate_limited', 429, path, `rate limited by Vault; not sending to ${lane || 'this path'} for another ${left} s (Retry-After)`, left)
      }
      this.quietUntil.delete(lane)
    }
    const url = this.url(operation, path)
    const headers = this.headers(options)
    const body = options.body === undefined ? undefined : JSON.stringify(options.body)
    const started = performance.now()
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(), this.o.timeoutMs)
    timer.unref?.()
    try {
      const res = await this.follow(operation, path, { method, url, headers, body }, deadline.signal, started)
      const parsed = this.parse(operation, path, res)
      this.o.observe?.(operation, res.status, (performance.now() - started) / 1000)
      return parsed
    } catch (err) {
      const e = err instanceof VaultRequestError ? err : this.failure(err, operation, path, deadline.signal)
      if (e.retryAfterSeconds) this.quiet(lane, this.o.now() + e.retryAfterSeconds * 1000)
      this.o.observe?.(operation, e.status ?? 'error', (performance.now() - started) / 1000)
      throw e
    } finally {
      clearTimeout(timer)
    }
  }

  private quiet(lane: string, until: number): void {
    const before = this.quietUntil.get(lane)?.until ?? 0
    this.quietUntil.delete(lane)
    this.quietUntil.set(lane, { from: this.o.now(), until: Math.max(until, before) })
    if (this.quietUntil.size > MAX_QUIET_LANES) this.quietUntil.delete(this.quietUntil.keys().next().value!)
  }

  /** Each segment percent-encoded, so a key can never become a query, a fragment or another path. */
  private url(operation: VaultOperation, path: string): string {
    const segments = path.replace(/^\/+/, '').split('/')
    if (segments.some((s) => s === '.' || s === '..')) {
      throw new VaultRequestError(operation, 'bad_request', undefined, path, 'a Vault path may not contain "." or ".." segments; nothing was sent')
    }
    return `${this.base}/${segments.map(encodeURIComponent).join('/')}`
  }

  private headers(options: SendOptions): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', 'x-vault-request': 'true', ...this.o.headers }
    if (this.o.namespace) h['x-vault-namespace'] = this.o.namespace
    if (options.token) h['x-vault-token'] = options.token
    if (options.body !== undefined) h['content-type'] = 'application/json'
    return h
  }

  /** Redirects within the allowed origins only, method and body kept (Vault's standby 307); a bounded number of hops. */
  private async follow(operation: VaultOperation, path: string, req: HttpExchangeRequest, signal: AbortSignal, started: number): Promise<HttpExchangeResponse> {
    for (let hop = 0; ; hop++) {
      const left = Math.max(1, this.o.timeoutMs - (performance.now() - started))
      const res = await this.o.exchange(req, { signal, maxBytes: this.o.maxResponseBytes, timeoutMs: left })
      if (!REDIRECTS.has(res.status)) return res
      const location = res.headers.location
      if (!location) return res
      let next: URL
      try {
        next = new URL(location, req.url)
      } catch {
        throw new VaultRequestError(operation, 'bad_response', res.status, path, `redirect to an unreadable location`)
      }
      if (!this.allowedOrigins.has(next.origin)) {
        throw new VaultRequestError(operation, 'redirect_refused', res.status, path,
          `Vault redirected to ${next.origin}, which is not the configured Vault (${this.origin}) nor in VAULT_REDIRECT_ORIGINS; ` +
          'nothing was sent there. Add that origin to VAULT_REDIRECT_ORIGINS if it is a node of your Vault cluster')
      }
      if (hop + 1 > MAX_REDIRECTS) {
        throw new VaultRequestError(operation, 'redirect_refused', res.status, path, `more than ${MAX_REDIRECTS} redirects; stopped following`)
      }
      if (res.status !== 307 && res.status !== 308 && req.method !== 'GET') {
        throw new VaultRequestError(operation, 'redirect_refused', res.status, path, `a ${res.status} redirect would turn this ${req.method} into a GET; not followed`)
      }
      req = { ...req, url: next.href }
    }
  }

  private parse(operation: VaultOperation, path: string, res: HttpExchangeResponse): unknown {
    const status = res.status
    if (status === 204) return undefined
    let json: unknown
    let readable = true
    try {
      json = res.body === '' ? undefined : JSON.parse(res.body)
    } catch {
      readable = false
    }
    if (status >= 200 && status < 300) {
      if (!readable || json === null || typeof json !== 'object') {
        throw new VaultRequestError(operation, 'bad_response', status, path, 'the answer is not a JSON object (is VAULT_ADDR a Vault server?)')
      }
      return json
    }
    if (status >= 400) {
      const errors = readable ? (json as { errors?: unknown } | undefined)?.errors : undefined
      const first = Array.isArray(errors) && errors.length > 0 ? String(errors[0]) : ''
      const retryAfter = retryAfterSeconds(res.headers['retry-after'], res.headers.date, this.o.now())
      throw new VaultRequestError(operation, classifyResponse(status, first), status, path, first || `status ${status}`, retryAfter)
    }
    throw new VaultRequestError(operation, 'bad_response', status, path, `unexpected status ${status}`)
  }

  private failure(err: unknown, operation: VaultOperation, path: string, deadline: AbortSignal): VaultRequestError {
    if ((err as { code?: unknown } | null)?.code === RESPONSE_TOO_LARGE) {
      return new VaultRequestError(operation, 'too_large', undefined, path,
        `the answer exceeds ${this.o.maxResponseBytes} bytes (VAULT_MAX_RESPONSE_BYTES); it was not read`)
    }
    if (deadline.aborted) {
      return new VaultRequestError(operation, 'timeout', undefined, path,
        `no answer in time: nothing complete within ${this.o.timeoutMs} ms (VAULT_REQUEST_TIMEOUT_MILLISECONDS)`)
    }
    return networkError(err, operation, path)
  }
}

/**
 * Retry-After in whole seconds, capped at MAX_RETRY_AFTER_SECONDS; undefined when absent, unreadable or not in the
 * future. Both forms of RFC 9110 §10.2.3: delay-seconds, or an HTTP-date (what many proxies send), counted from the
 * answer's own Date header when it has one, so a skew between that host's clock and ours does not matter.
 */
export function retryAfterSeconds(value: string | undefined, date: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  let seconds = text === '' ? NaN : Number(text)
  if (Number.isNaN(seconds)) {
    const at = Date.parse(text)
    if (Number.isNaN(at)) return undefined
    const sent = date === undefined ? NaN : Date.parse(date)
    seconds = (at - (Number.isNaN(sent) ? now : sent)) / 1000
  }
  return seconds > 0 ? Math.min(Math.ceil(seconds), MAX_RETRY_AFTER_SECONDS) : undefined
}
