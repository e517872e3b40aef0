/** The reference ExternalSecrets poller host: KES's daemon, watcher and pollers over @kubernetes/client-node. */

import type { KubeConfig } from '@kubernetes/client-node'
import { Registry } from 'prom-client'
import { systemTimers, type Timers } from '../clock.js'
import { silentLogger, systemClock, type Clock, type Logger } from '../types.js'
import { DEFAULT_POLLER_CONFIG, type PollerConfig } from './config.js'
import { createKubeClient, type KubeClient, type WatchEventType } from './kube.js'
import { errorMessageOf, Poller, type PollerDeps } from './poller.js'
import { SyncMetrics } from './sync-metrics.js'
import { specOf, type Backends, type ExternalSecret } from './types.js'
import { ExternalSecretWatcher } from './watcher.js'

export interface PollerHostOptions {
  /** Where the API server is; ignored when `kube` is given. */
  kubeConfig?: KubeConfig
  /** The Kubernetes calls, for tests that fake them below HTTP. */
  kube?: KubeClient
  /** Backends by `spec.backendType`, e.g. `{ vault: backend }`. */
  backends: Backends
  clock?: Clock
  timers?: Timers
  /** In [0, 1); jitter of first polls and error backoff. */
  random?: () => number
  logger?: Logger
  registry?: Registry
  config?: Partial<PollerConfig>
  /** Upper bound on one poll (namespace, backend, Secret writes); default 60 s. */
  pollTimeoutMilliseconds?: number
}

/**
 * KES `spec.controllerId` / `INSTANCE_ID`: an instance handles the ExternalSecrets whose
 * controllerId equals its id; an instance without an id handles those without a controllerId.
 */
export function isManagedByInstance(es: ExternalSecret, instanceId: string | undefined): boolean {
  return (specOf(es).controllerId || undefined) === (instanceId || undefined)
}

function isExternalSecret(o: unknown): o is ExternalSecret {
  const m = (o as { metadata?: { uid?: unknown; name?: unknown; namespace?: unknown } } | null)?.metadata
  return !!m && typeof m.uid === 'string' && typeof m.name === 'string' && typeof m.namespace === 'string'
}

export class PollerHost {
  readonly config: PollerConfig
  readonly metrics: SyncMetrics
  readonly registry: Registry
  private readonly kube: KubeClient
  private readonly deps: PollerDeps
  private readonly logger: Logger
  private readonly backends: Backends
  private readonly pollerMap = new Map<string, Poller>()
  private watchers: ExternalSecretWatcher[] = []
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new'
  private stopping: Promise<void> | undefined
  /** In-flight polls of pollers already removed (deleted ExternalSecrets), awaited by stop(). */
  private draining = new Set<Promise<void>>()

  constructor(opts: PollerHostOptions) {
    this.config = { ...DEFAULT_POLLER_CONFIG, ...(opts.config ?? {}) }
    if (!opts.kube && !opts.kubeConfig) throw new Error('PollerHost needs a kubeConfig (or a kube client)')
    this.kube = opts.kube ?? createKubeClient(opts.kubeConfig!)
    this.logger = opts.logger ?? silentLogger
    this.backends = opts.backends
    this.registry = opts.registry ?? new Registry()
    this.metrics = new SyncMetrics(this.registry)
    this.deps = {
      kube: this.kube,
      backends: opts.backends,
      clock: opts.clock ?? systemClock,
      timers: opts.timers ?? systemTimers,
      random: opts.random ?? Math.random,
      logger: this.logger,
      metrics: this.metrics,
      config: this.config,
      pollTimeoutMilliseconds: opts.pollTimeoutMilliseconds ?? 60000,
    }
  }

  /** True once start() was called and until stop() is. */
  get running(): boolean {
    return this.state === 'running'
  }

  /** Pollers by ExternalSecret uid (read-only view). */
  get pollers(): ReadonlyMap<string, Poller> {
    return this.pollerMap
  }

  /** Lists completed over all watchers; each watch restart re-lists. */
  get lists(): number {
    return this.watchers.reduce((n, w) => n + w.lists, 0)
  }

  /** Starts watching; resolves once every watched scope has been listed once (or the host stops). */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`PollerHost cannot start: it is ${this.state}`)
    this.state = 'running'
    const scopes: Array<string | undefined> = this.config.watchedNamespaces.length ? this.config.watchedNamespaces : [undefined]
    this.watchers = scopes.map(
      (namespace) =>
        new ExternalSecretWatcher({
          kube: this.kube,
          namespace,
          watchTimeoutMilliseconds: this.config.watchTimeoutMilliseconds,
          timers: this.deps.timers,
          logger: this.logger,
          onList: (items) => this.reconcile(namespace, items),
          onEvent: (type, object) => this.handleEvent(type, object),
        }),
    )
    this.logger.info(
      { namespaces: this.config.watchedNamespaces.length ? this.config.watchedNamespaces : 'all', instanceId: this.config.instanceId },
      'starting ExternalSecrets poller host',
    )
    for (const w of this.watchers) w.start()
    await Promise.all(this.watchers.map((w) => w.ready))
  }

  /** Graceful: stop watching and scheduling, let in-flight polls finish their writes, then close the backends. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop()
    return this.stopping
  }

  private async doStop(): Promise<void> {
    this.state = 'stopping'
    this.logger.info({ pollers: this.pollerMap.size }, 'stopping ExternalSecrets poller host')
    await Promise.all(this.watchers.map((w) => w.stop()))
    const inFlight = [...this.pollerMap.values()].map((p) => p.stop())
    this.pollerMap.clear()
    await Promise.all([...inFlight, ...this.draining])
    const closed = new Set<unknown>()
    for (const [type, backend] of Object.entries(this.backends)) {
      if (closed.has(backend) || typeof backend.close !== 'function') continue
      closed.add(backend)
      try {
        await backend.close()
      } catch (err) {
        this.logger.error({ backend: type, error: errorMessageOf(err) }, 'closing backend failed')
      }
    }
    this.state = 'stopped'
  }

  /** After a (re-)list: add or refresh what is there, drop pollers of ExternalSecrets gone while we were not watching. */
  private reconcile(namespace: string | undefined, items: ExternalSecret[]): void {
    if (this.state !== 'running') return
    const seen = new Set<string>()
    for (const item of items) {
      if (!isExternalSecret(item)) continue
      // Lists carry no apiVersion/kind per item; the ownerReference needs them.
      const es: ExternalSecret = { ...item, apiVersion: item.apiVersion ?? 'kubernetes-client.io/v1', kind: item.kind ?? 'ExternalSecret' }
      if (!isManagedByInstance(es, this.config.instanceId)) continue
      seen.add(es.metadata.uid)
      this.upsert(es)
    }
    for (const [uid, poller] of this.pollerMap) {
      if (seen.has(uid)) continue
      if (namespace !== undefined && poller.externalSecret.metadata.namespace !== namespace) continue
      this.remove(uid)
    }
  }

  private handleEvent(type: WatchEventType, object: unknown): void {
    if (this.state !== 'running' || !isExternalSecret(object)) return
    const es = object
    if (type === 'DELETED' || !isManagedByInstance(es, this.config.instanceId)) {
      this.remove(es.metadata.uid)
      return
    }
    if (type === 'ADDED' || type === 'MODIFIED') this.upsert(es)
  }

  private upsert(es: ExternalSecret): void {
    const existing = this.pollerMap.get(es.metadata.uid)
    if (existing) {
      existing.update(es)
      return
    }
    const poller = new Poller(es, this.deps)
    this.pollerMap.set(es.metadata.uid, poller)
    poller.start()
  }

  private remove(uid: string): void {
    const poller = this.pollerMap.get(uid)
    if (!poller) return
    this.pollerMap.delete(uid)
    const { name, namespace } = poller.externalSecret.metadata
    this.logger.info({ namespace, name }, 'stopping and removing poller')
    this.metrics.forget({ name, namespace, backend: specOf(poller.externalSecret).backendType })
    const done = poller.stop({ abandon: true })
    this.draining.add(done)
    void done.finally(() => this.draining.delete(done))
  }
}
