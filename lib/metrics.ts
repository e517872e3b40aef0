import http from 'node:http'
import { collectDefaultMetrics, Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client'
import type { VaultOperation } from './vault/errors.js'

/** Closed label sets: a value outside them is dropped, never a new series (certctl's rule). */
export const LOOKUP_RESULTS = ['success', 'failure', 'invalid', 'denied'] as const
export const RENEWAL_RESULTS = ['success', 'capped', 'failure', 'not_renewable', 'denied'] as const
export const LOGIN_RESULTS = ['success', 'failure'] as const
export const LOGIN_REASONS = ['first', 'expired', 'revoked', 'max_ttl', 'not_renewable', 'self_denied'] as const
export const WARNING_CODES = ['threshold_above_ttl', 'skew_above_ttl', 'static_token_expiring', 'self_denied', 'limited_uses'] as const
export const OPERATIONS = ['login', 'lookup', 'renew', 'revoke', 'read'] as const
export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx', 'error'] as const
export const READ_RESULTS = ['success', 'not_found', 'denied', 'failure'] as const

export type ReadResult = (typeof READ_RESULTS)[number]

const allowed = (set: readonly string[], v: string) => set.includes(v)

export function statusClass(status: number | 'error'): (typeof STATUS_CLASSES)[number] {
  if (status === 'error') return 'error'
  const c = `${Math.floor(status / 100)}xx`
  return (STATUS_CLASSES as readonly string[]).includes(c) ? (c as (typeof STATUS_CLASSES)[number]) : 'error'
}

export interface TtlSample {
  mount: string
  role: string
  remainingSeconds: number
}

/** The label values every identity gets before its first login, and every identity past the cap. */
export const OVERFLOW_LABEL = '_other'
export const DEFAULT_IDENTITY_MAX = 100

interface IdentityLabelValues {
  mount: string
  role: string
}

/** What a backend on this registry tells the metrics: its TTLs, its cache size, and the identities it caches now. */
export interface MetricsSource {
  ttl(): Iterable<TtlSample>
  size(): number
  /** Every cached identity (logged in or not); series of label pairs no source caches any more are removed. */
  identities(): Iterable<IdentityLabelValues>
}

/**
 * Mount and role come from ExternalSecret specs, so they are not a closed set: a pair gets its own series only once an
 * identity with it has logged in (Vault accepted the role), and only up to `max` pairs; everything else is counted
 * under OVERFLOW_LABEL. A pair no backend caches any more loses its series (and its slot) at the next scrape.
 */
class IdentityLabels {
  private readonly admitted = new Map<string, IdentityLabelValues>()

  constructor(
    public max: number,
    private readonly live: () => Set<string>,
    private readonly removeSeries: (labels: IdentityLabelValues) => void,
  ) {}

  static key(mount: string, role: string): string {
    return JSON.stringify([mount, role])
  }

  /** Proven (a successful login): its own series from now on, if there is room. */
  admit(mount: string, role: string): void {
    const key = IdentityLabels.key(mount, role)
    if (this.admitted.has(key)) return
    if (this.admitted.size >= this.max) this.prune()
    if (this.admitted.size < this.max) this.admitted.set(key, { mount, role })
  }

  of(mount: string, role: string): IdentityLabelValues {
    return this.admitted.has(IdentityLabels.key(mount, role)) ? { mount, role } : { mount: OVERFLOW_LABEL, role: OVERFLOW_LABEL }
  }

  /** Forget pairs no backend caches: their series go, their slots free up. O(cached + admitted). */
  prune(): void {
    if (this.admitted.size === 0) return
    const live = this.live()
    for (const [key, labels] of this.admitted) {
      if (live.has(key)) continue
      this.admitted.delete(key)
      this.removeSeries(labels)
    }
  }

  get size(): number {
    return this.admitted.size
  }
}

/** The backend's collectors on one registry. One instance per registry, shared by every backend on it. */
export class VaultMetrics {
  private static readonly byRegistry = new WeakMap<Registry, VaultMetrics>()

  /** Backends sharing a registry share its collectors; the smallest identity cap asked for holds (bounded wins). */
  static for(registry: Registry = defaultRegistry, options: { identityMax?: number } = {}): VaultMetrics {
    let m = VaultMetrics.byRegistry.get(registry)
    if (!m) VaultMetrics.byRegistry.set(registry, (m = new VaultMetrics(registry)))
    if (options.identityMax !== undefined) m.identities.max = Math.min(m.identities.max, options.identityMax)
    return m
  }

  private readonly sources = new Set<MetricsSource>()
  private readonly identities: IdentityLabels
  private readonly lookups: Counter<'mount' | 'role' | 'result'>
  private readonly lookupsSkipped: Counter<'mount' | 'role'>
  private readonly renewals: Counter<'mount' | 'role' | 'result'>
  private readonly logins: Counter<'mount' | 'role' | 'result' | 'reason'>
  private readonly requests: Histogram<'operation' | 'status'>
  private readonly reads: Counter<'result'>
  private readonly warnings: Counter<'mount' | 'role' | 'code'>

  private constructor(registry: Registry) {
    const registers = [registry]
    const sources = this.sources
    this.identities = new IdentityLabels(
      DEFAULT_IDENTITY_MAX,
      () => {
        const live = new Set<string>()
        for (const source of sources) for (const id of source.identities()) live.add(IdentityLabels.key(id.mount, id.role))
        return live
      },
      (labels) => this.removeSeries(labels),
    )
    const identities = this.identities
    // Every series labelled by identity is pruned at scrape time, before it is read.
    const collect = () => identities.prune()
    this.lookups = new Counter({ name: 'kes_vault_token_lookups_total', help: 'lookup-self calls by result', labelNames: ['mount', 'role', 'result'], registers, collect })
    this.lookupsSkipped = new Counter({
      name: 'kes_vault_token_lookups_skipped_total',
      help: 'Token checks answered from the cached lease instead of a lookup-self (saved by the lookup interval or a shared in-flight call)',
      labelNames: ['mount', 'role'],
      registers,
      collect,
    })
    this.renewals = new Counter({ name: 'kes_vault_token_renewals_total', help: 'renew-self calls by result', labelNames: ['mount', 'role', 'result'], registers, collect })
    this.logins = new Counter({ name: 'kes_vault_logins_total', help: 'Vault logins by result and reason', labelNames: ['mount', 'role', 'result', 'reason'], registers, collect })
    new Gauge({
      name: 'kes_vault_token_ttl_seconds',
      help: 'Remaining TTL of each cached Vault token, computed at scrape time from its lease and the clock (the shortest for "_other")',
      labelNames: ['mount', 'role'],
      registers,
      collect() {
        this.reset()
        const shortest = new Map<string, { labels: IdentityLabelValues; value: number }>()
        for (const source of sources) {
          for (const s of source.ttl()) {
            if (!Number.isFinite(s.remainingSeconds)) continue
            const labels = identities.of(s.mount, s.role)
            const key = IdentityLabels.key(labels.mount, labels.role)
            const value = Math.max(0, Math.round(s.remainingSeconds))
            const seen = shortest.get(key)
            if (!seen || value < seen.value) shortest.set(key, { labels, value })
          }
        }
        for (const { labels, value } of shortest.values()) this.set(labels, value)
      },
    })
    new Gauge({
      name: 'kes_vault_token_cache_entries',
      help: 'Identities (auth mount, role, ...) with a cached token session',
      registers,
      collect() {
        let n = 0
        for (const s of sources) n += s.size()
        this.set(n)
      },
    })
    this.requests = new Histogram({
      name: 'kes_vault_requests_duration_seconds',
      help: 'Duration of every Vault request by operation and HTTP status class',
      labelNames: ['operation', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })
    this.reads = new Counter({ name: 'kes_vault_secret_reads_total', help: 'Secret reads by result', labelNames: ['result'], registers })
    this.warnings = new Counter({
      name: 'kes_vault_token_warnings_total',
      help: 'Conditions an operator should know, once per identity: threshold_above_ttl, skew_above_ttl, static_token_expiring, self_denied (no default policy: one login per TTL), limited_uses (token_num_uses)',
      labelNames: ['mount', 'role', 'code'],
      registers,
      collect,
    })
    this.secretLeases = new SecretLeaseCollectors(registers)
  }

  /** A backend's TTLs, cache size and cached identities, read at scrape time. Returns the detach function. */
  addSource(source: MetricsSource): () => void {
    this.sources.add(source)
    return () => {
      this.sources.delete(source)
    }
  }

  /** An identity proved real (a successful login, or the operator's static token): its own series, within the cap. */
  admit(mount: string, role: string): void {
    this.identities.admit(mount, role)
  }

  /** Label pairs with their own series right now (at most the cap). */
  get identitiesWithSeries(): number {
    return this.identities.size
  }

  lookup(mount: string, role: string, result: string): void {
    if (allowed(LOOKUP_RESULTS, result)) this.lookups.inc({ ...this.identities.of(mount, role), result })
  }

  lookupSkipped(mount: string, role: string): void {
    this.lookupsSkipped.inc(this.identities.of(mount, role))
  }

  renewal(mount: string, role: string, result: string): void {
    if (allowed(RENEWAL_RESULTS, result)) this.renewals.inc({ ...this.identities.of(mount, role), result })
  }

  login(mount: string, role: string, result: string, reason: string): void {
    if (allowed(LOGIN_RESULTS, result) && allowed(LOGIN_REASONS, reason)) this.logins.inc({ ...this.identities.of(mount, role), result, reason })
  }

  /** Every series of one label pair, over the closed sets of the other labels. */
  private removeSeries(id: IdentityLabelValues): void {
    this.lookupsSkipped.remove(id)
    for (const result of LOOKUP_RESULTS) this.lookups.remove({ ...id, result })
    for (const result of RENEWAL_RESULTS) this.renewals.remove({ ...id, result })
    for (const result of LOGIN_RESULTS) for (const reason of LOGIN_REASONS) this.logins.remove({ ...id, result, reason })
    for (const code of WARNING_CODES) this.warnings.remove({ ...id, code })
  }

  request(operation: VaultOperation, status: number | 'error', seconds: number): void {
    if (allowed(OPERATIONS, operation)) this.requests.observe({ operation, status: statusClass(status) }, seconds)
  }

  warning(mount: string, role: string, code: string): void {
    if (allowed(WARNING_CODES, code)) this.warnings.inc({ ...this.identities.of(mount, role), code })
  }

  read(result: ReadResult): void {
    if (allowed(READ_RESULTS, result)) this.reads.inc({ result })
  }

  // ---- dynamic secrets: mints, lease renewals, lease revocations (labels are closed enums only: no path, no role) ----

  private readonly secretLeases: SecretLeaseCollectors

  mint(result: string, reason: string): void {
    if (allowed(MINT_RESULTS, result) && allowed(MINT_REASONS, reason)) this.secretLeases.mints.inc({ result, reason })
  }

  leaseRenewal(result: string): void {
    if (allowed(RENEWAL_RESULTS, result)) this.secretLeases.renewals.inc({ result })
  }

  leaseRevocation(result: string, reason: string): void {
    if (allowed(REVOCATION_RESULTS, result) && allowed(REVOCATION_REASONS, reason)) this.secretLeases.revocations.inc({ result, reason })
  }

  /** A source of the number of kept leases (read at scrape time); returns its detach. */
  addLeaseCount(count: () => number): () => void {
    this.secretLeases.counts.add(count)
    return () => this.secretLeases.counts.delete(count)
  }
}

export const MINT_RESULTS = ['success', 'failure'] as const
export const MINT_REASONS = ['first', 'expired', 'revoked', 'max_ttl', 'not_renewable', 'renew_denied', 'parent_token'] as const
export const REVOCATION_RESULTS = ['success', 'denied', 'failure'] as const
export const REVOCATION_REASONS = ['superseded', 'idle', 'shutdown', 'evicted'] as const

class SecretLeaseCollectors {
  readonly mints: Counter<'result' | 'reason'>
  readonly renewals: Counter<'result'>
  readonly revocations: Counter<'result' | 'reason'>
  readonly counts = new Set<() => number>()

  constructor(registers: Registry[]) {
    this.mints = new Counter({
      name: 'kes_vault_secret_mints_total',
      help: 'Dynamic secrets read from Vault, each a new credential under a new lease, by result and reason (first, expired, revoked, max_ttl, not_renewable, renew_denied, parent_token)',
      labelNames: ['result', 'reason'],
      registers,
    })
    this.renewals = new Counter({ name: 'kes_vault_secret_lease_renewals_total', help: 'sys/leases/renew calls for kept dynamic secrets, by result', labelNames: ['result'], registers })
    this.revocations = new Counter({
      name: 'kes_vault_secret_lease_revocations_total',
      help: 'sys/leases/revoke calls by result (denied: the policy does not grant it; asked once per identity) and reason (superseded, idle, shutdown, evicted)',
      labelNames: ['result', 'reason'],
      registers,
    })
    const counts = this.counts
    new Gauge({
      name: 'kes_vault_secret_leases',
      help: 'Dynamic secrets kept with their lease (one per identity and path), at scrape time',
      registers,
      collect() {
        let n = 0
        for (const c of counts) n += c()
        this.set(n)
      },
    })
  }
}

/** Node process metrics, as KES exposed them. Once per registry. */
const withDefaults = new WeakSet<Registry>()
export function collectProcessMetrics(registry: Registry = defaultRegistry): void {
  if (withDefaults.has(registry)) return
  withDefaults.add(registry)
  collectDefaultMetrics({ register: registry })
}

/** A request handler serving `/metrics`, to mount in a host's own server. */
export function metricsHandler(registry: Registry = defaultRegistry): http.RequestListener {
  return (req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      () => res.writeHead(500).end('metrics collection failed\n'),
    )
  }
}

/** `/metrics` on METRICS_PORT (KES's default 3001). */
export function startMetricsServer(port: number, registry: Registry = defaultRegistry, host = '0.0.0.0'): Promise<http.Server> {
  const server = http.createServer(metricsHandler(registry))
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
