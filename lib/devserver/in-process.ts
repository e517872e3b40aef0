/**
 * The dev Vault without the socket: the same faults, seal, semantics and counters as the HTTP front, behind an
 * object shaped like a node-vault client. Benchmarks and the soak run millions of simulated requests through it;
 * errors have the shapes node-vault/axios give (ApiResponseError with response.statusCode/body, ECONNRESET,
 * ECONNABORTED), so the backend's error classification is exercised unchanged.
 */
import type { NodeVaultClient } from '../vault/client.js'
import type { Counters } from './counters.js'
import { type Faults, faultReply } from './faults.js'
import { classify, errorReply, type VaultReply, type VaultSemantics } from './vault.js'
import type { Clock } from '../types.js'

export interface InProcessState {
  clock: Clock
  semantics: VaultSemantics
  counters: Counters
  faults: Faults
  sealed: () => boolean
  /** False while the dev Vault is "down" (stopListening): calls fail with ECONNREFUSED. */
  reachable: () => boolean
}

class TransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

class ApiResponseError extends Error {
  constructor(
    message: string,
    readonly response: { statusCode: number; body: unknown; headers?: Record<string, string> },
  ) {
    super(message)
  }
}

export class InProcessVaultClient implements NodeVaultClient {
  token = ''

  constructor(
    private readonly st: InProcessState,
    private readonly namespace = '',
    private readonly timeoutMs = 0,
  ) {}

  read(path: string, options: Record<string, unknown> = {}): Promise<any> {
    return this.request('GET', path, undefined, options)
  }

  write(path: string, data: unknown, options: Record<string, unknown> = {}): Promise<any> {
    return this.request('POST', path, data, options)
  }

  private async request(method: string, fullPath: string, body: unknown, options: Record<string, unknown>): Promise<any> {
    // Stay asynchronous like a real request, so concurrency behaves as it does over HTTP.
    await Promise.resolve()
    if (!this.st.reachable()) throw new TransportError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1')
    const [rawPath, search = ''] = fullPath.split('?')
    const path = rawPath!.replace(/^\/+|\/+$/g, '')
    const operation = classify(method, path)
    const headers = (options.headers ?? {}) as Record<string, string>
    const token = headers['X-Vault-Token'] || this.token || undefined
    const timeout = Number(options.timeout ?? this.timeoutMs) || 0

    const hit = this.st.faults.take(operation, path, method)
    if (hit.latencyMs > 0 && timeout > 0 && hit.latencyMs >= timeout) {
      this.st.counters.record(operation, 'reset')
      throw new TransportError('ECONNABORTED', `timeout of ${timeout}ms exceeded`)
    }
    let reply: VaultReply
    if (hit.fault) {
      const answer = faultReply(hit.fault, path)
      if (answer === 'reset') {
        this.st.counters.record(operation, 'reset')
        throw new TransportError('ECONNRESET', 'socket hang up')
      }
      if (answer !== 'latency') return this.finish(operation, answer)
    }
    if (path === 'sys/health') reply = this.st.semantics.health(this.req(method, path, search, token, body), { sealed: this.st.sealed(), standby: false })
    else if (this.st.sealed()) reply = errorReply(503, 'Vault is sealed')
    else reply = this.st.semantics.handle(this.req(method, path, search, token, body))
    if (reply.deadToken) this.st.counters.deadToken({ operation, path, reason: reply.deadToken, at: this.st.clock.now() })
    return this.finish(operation, reply)
  }

  private req(method: string, path: string, search: string, token: string | undefined, body: unknown) {
    // A JSON round trip, as over the wire: callers must not share objects with the store.
    return { method, path, query: new URLSearchParams(search), namespace: this.namespace, token, body: body === undefined ? undefined : JSON.parse(JSON.stringify(body)) }
  }

  private finish(operation: ReturnType<typeof classify>, reply: VaultReply): any {
    this.st.counters.record(operation, reply.status, { storageWrites: reply.storageWrites })
    const body = reply.body === undefined ? undefined : JSON.parse(JSON.stringify(reply.body))
    if (reply.status === 200 || reply.status === 204) return body
    const errors = (body as { errors?: string[] } | undefined)?.errors
    throw new ApiResponseError(errors?.[0] ?? `Status ${reply.status}`, { statusCode: reply.status, body, headers: reply.headers })
  }
}
