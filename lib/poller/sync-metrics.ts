/** KES's sync metrics (lib/metrics.js), same names, labels and values, on an injected registry. */

import { Counter, Gauge, type Registry } from 'prom-client'

export type SyncStatus = 'success' | 'error'

export interface SyncLabels {
  name: string
  namespace: string
  backend: string
}

export const SYNC_CALLS_COUNT = 'kubernetes_external_secrets_sync_calls_count'
export const LAST_SYNC_CALL_STATE = 'kubernetes_external_secrets_last_sync_call_state'

/**
 * Backend labels remembered per ExternalSecret. KES has eight backendTypes; a spec edited through more keeps series of
 * its latest ones only (the older series are removed), so one ExternalSecret cannot grow the registry without bound.
 */
export const MAX_BACKENDS_PER_EXTERNAL_SECRET = 8

export class SyncMetrics {
  private readonly syncCalls: Counter<'name' | 'namespace' | 'backend' | 'status'>
  private readonly lastState: Gauge<'name' | 'namespace' | 'backend'>
  /**
   * The backend labels each ExternalSecret's series were emitted with, oldest first: `backendType` can change before
   * the ExternalSecret is deleted, and `forget` must remove the series of every one (entries go with `forget`).
   */
  private readonly backends = new Map<string, string[]>()

  constructor(registry: Registry) {
    // Reuse collectors already on the registry so two hosts (or a restart in tests) can share it.
    this.syncCalls =
      (registry.getSingleMetric(SYNC_CALLS_COUNT) as Counter<'name' | 'namespace' | 'backend' | 'status'> | undefined) ??
      new Counter({
        name: SYNC_CALLS_COUNT,
        help: 'Number of sync operations',
        labelNames: ['name', 'namespace', 'backend', 'status'],
        registers: [registry],
      })
    this.lastState =
      (registry.getSingleMetric(LAST_SYNC_CALL_STATE) as Gauge<'name' | 'namespace' | 'backend'> | undefined) ??
      new Gauge({
        name: LAST_SYNC_CALL_STATE,
        help: 'State of last sync call of external secret. Value -1 if the last sync was a failure, 1 otherwise',
        labelNames: ['name', 'namespace', 'backend'],
        registers: [registry],
      })
  }

  observeSync(labels: SyncLabels, status: SyncStatus): void {
    const backend = labels.backend || 'unknown'
    const l = { name: labels.name, namespace: labels.namespace, backend }
    const id = JSON.stringify([labels.namespace, labels.name])
    const seen = this.backends.get(id) ?? []
    if (!seen.includes(backend)) {
      seen.push(backend)
      if (seen.length > MAX_BACKENDS_PER_EXTERNAL_SECRET) this.removeSeries(labels, seen.shift()!)
      this.backends.set(id, seen)
    }
    this.syncCalls.inc({ ...l, status })
    this.lastState.set(l, status === 'success' ? 1 : -1)
  }

  /**
   * A deleted ExternalSecret's series go too, under every backend label they had, so label sets do not grow with churn
   * (KES kept them).
   */
  forget(labels: SyncLabels): void {
    const id = JSON.stringify([labels.namespace, labels.name])
    const seen = new Set(this.backends.get(id))
    seen.add(labels.backend || 'unknown')
    this.backends.delete(id)
    for (const backend of seen) this.removeSeries(labels, backend)
  }

  private removeSeries(labels: SyncLabels, backend: string): void {
    const l = { name: labels.name, namespace: labels.namespace, backend }
    this.lastState.remove(l)
    this.syncCalls.remove({ ...l, status: 'success' })
    this.syncCalls.remove({ ...l, status: 'error' })
  }
}
