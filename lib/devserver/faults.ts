/** Injected faults: what a sick, busy or sealed Vault answers, per path/operation or globally. */
import { type Operation, type VaultReply, errorReply } from './vault.js'

export type FaultKind =
  /** 503 `Vault is sealed` */
  | 'sealed'
  /** 503 `no active Vault instance found` */
  | 'no-active'
  /** 429 `request path "...": rate limit quota exceeded`, optional Retry-After */
  | 'rate-limit'
  /** any status (default 500) with a message */
  | 'error'
  /** real milliseconds of delay, then the normal answer (for client request-timeout tests) */
  | 'latency'
  /** the socket is destroyed after the headers and part of the body */
  | 'reset'

export interface FaultSpec {
  kind: FaultKind
  /** Path after /v1/: exact, a prefix when it ends in "*", or a RegExp. Omitted: every path. */
  path?: string | RegExp
  operation?: Operation | Operation[]
  method?: string
  /** Only the next N matching requests; omitted: until removed. */
  times?: number
  /** rate-limit: send `Retry-After: <seconds>`. */
  retryAfterSeconds?: number
  /** latency: delay in real ms (default 100). */
  latencyMs?: number
  /** error: status (default 500) and message (default "internal error"). */
  status?: number
  message?: string
}

export interface FaultHandle {
  readonly spec: FaultSpec
  /** Matching requests still to be hit; Infinity when unlimited. */
  readonly remaining: number
  /** How many requests this fault has hit so far. */
  readonly hits: number
  remove(): void
}

interface ActiveFault extends FaultHandle {
  remaining: number
  hits: number
}

export function faultMatches(spec: FaultSpec, operation: Operation, path: string, method: string): boolean {
  if (spec.method && spec.method.toUpperCase() !== method) return false
  if (spec.operation) {
    const ops = Array.isArray(spec.operation) ? spec.operation : [spec.operation]
    if (!ops.includes(operation)) return false
  }
  if (spec.path !== undefined) {
    if (spec.path instanceof RegExp) return spec.path.test(path)
    const p = spec.path.replace(/^\/+/, '').replace(/^v1\//, '')
    return p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : path === p
  }
  return true
}

/** The answer a fault gives, or 'reset' / 'latency' for the socket-level kinds. */
export function faultReply(spec: FaultSpec, path: string): VaultReply | 'reset' | 'latency' {
  switch (spec.kind) {
    case 'sealed':
      return errorReply(503, 'Vault is sealed')
    case 'no-active':
      // OpenBao: http/handler.go respondStandby, a redirecting standby that knows no active node.
      return errorReply(503, 'no active Vault instance found')
    case 'rate-limit': {
      // OpenBao: http/util.go rateLimitQuotaWrapping ("request path %q: %w", quotas.ErrRateLimitQuotaExceeded).
      const r = errorReply(429, `request path "${path}": rate limit quota exceeded`)
      if (spec.retryAfterSeconds !== undefined) r.headers = { 'Retry-After': String(spec.retryAfterSeconds) }
      return r
    }
    case 'error':
      return errorReply(spec.status ?? 500, spec.message ?? 'internal error')
    case 'reset':
      return 'reset'
    case 'latency':
      return 'latency'
  }
}

export class Faults {
  private active: ActiveFault[] = []

  add(spec: FaultSpec): FaultHandle {
    const fault: ActiveFault = {
      spec,
      remaining: spec.times ?? Number.POSITIVE_INFINITY,
      hits: 0,
      remove: () => {
        this.active = this.active.filter((f) => f !== fault)
      },
    }
    this.active.push(fault)
    return fault
  }

  clear(): void {
    this.active = []
  }

  get size(): number {
    return this.active.length
  }

  /**
   * Consume the faults that hit this request: the total latency of every matching latency
   * fault, and the first matching fault of another kind (oldest first).
   */
  take(operation: Operation, path: string, method: string): { latencyMs: number; fault?: FaultSpec } {
    let latencyMs = 0
    let fault: FaultSpec | undefined
    for (const f of [...this.active]) {
      if (f.remaining <= 0 || !faultMatches(f.spec, operation, path, method)) continue
      if (f.spec.kind === 'latency') latencyMs += f.spec.latencyMs ?? 100
      else if (fault) continue
      else fault = f.spec
      f.remaining -= 1
      f.hits += 1
      if (f.remaining <= 0) f.remove()
    }
    return { latencyMs, fault }
  }
}
