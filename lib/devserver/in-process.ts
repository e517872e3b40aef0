/**
 * The dev Vault without the socket: the same faults, seal, semantics and counters as the HTTP front, as an
 * `HttpExchange` the backend's transport sends through. Benchmarks and the soak run millions of simulated requests
 * through it; failures have the shapes a socket gives (ECONNREFUSED, ECONNRESET, ETIMEDOUT), so the transport's
 * classification is exercised unchanged.
 */
import type { ExchangeLimits, HttpExchange, HttpExchangeRequest, HttpExchangeResponse } from '../vault/transport.js'
import type { Clock } from '../types.js'
import type { Counters } from './counters.js'
import { type Faults, faultReply } from './faults.js'
import { classify, errorReply, type Operation, type VaultReply, type VaultSemantics } from './vault.js'

export interface InProcessState {
  clock: Clock
  semantics: VaultSemantics
  counters: Counters
  faults: Faults
  sealed: () => boolean
  /** False while the dev Vault is "down" (stopListening): calls fail with ECONNREFUSED. */
  reachable: () => boolean
}

/** The code the transport recognises for an answer over its size bound (vault/transport.ts RESPONSE_TOO_LARGE). */
const RESPONSE_TOO_LARGE = 'ERR_VAULT_RESPONSE_TOO_LARGE'

const socketError = (code: string, message: string) => Object.assign(new Error(message), { code })

export function inProcessExchange(st: InProcessState): HttpExchange {
  const finish = (operation: Operation, reply: VaultReply, limits: ExchangeLimits): HttpExchangeResponse => {
    st.counters.record(operation, reply.status, { storageWrites: reply.storageWrites })
    const body = reply.body === undefined ? '' : JSON.stringify(reply.body)
    if (Buffer.byteLength(body) > limits.maxBytes) throw socketError(RESPONSE_TOO_LARGE, 'answer over the size bound')
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(reply.headers ?? {})) headers[k.toLowerCase()] = v
    return { status: reply.status, headers, body }
  }

  return async (req: HttpExchangeRequest, limits: ExchangeLimits): Promise<HttpExchangeResponse> => {
    // Stay asynchronous like a real request, so concurrency behaves as it does over HTTP.
    await Promise.resolve()
    if (!st.reachable()) throw socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1')
    const url = new URL(req.url)
    const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, '')).replace(/^\/+|\/+$/g, '')
    const method = req.method.toUpperCase()
    const operation = classify(method, path)
    const hit = st.faults.take(operation, path, method)
    if (hit.latencyMs > 0 && hit.latencyMs >= limits.timeoutMs) {
      st.counters.record(operation, 'reset')
      throw socketError('ETIMEDOUT', `no answer within ${limits.timeoutMs} ms`)
    }
    if (hit.fault) {
      const answer = faultReply(hit.fault, path)
      if (answer === 'reset') {
        st.counters.record(operation, 'reset')
        throw socketError('ECONNRESET', 'socket hang up')
      }
      if (answer !== 'latency') return finish(operation, answer, limits)
    }
    const vreq = {
      method,
      path,
      query: url.searchParams,
      namespace: req.headers['x-vault-namespace'] ?? '',
      token: req.headers['x-vault-token'] || undefined,
      // Parsed from the wire text, as over HTTP: callers never share objects with the store.
      body: req.body === undefined || req.body === '' ? undefined : (JSON.parse(req.body) as unknown),
    }
    let reply: VaultReply
    if (path === 'sys/health') reply = st.semantics.health(vreq, { sealed: st.sealed(), standby: false })
    else if (st.sealed()) reply = errorReply(503, 'Vault is sealed')
    else reply = st.semantics.handle(vreq)
    if (reply.deadToken) st.counters.deadToken({ operation, path, reason: reply.deadToken, at: st.clock.now() })
    return finish(operation, reply, limits)
  }
}
