/** One ExternalSecret's poller: KES `lib/poller.js`, with status-based scheduling, backoff and no way to crash the process. */

import type { Timers } from '../clock.js'
import type { Clock, Logger } from '../types.js'
import type { PollerConfig } from './config.js'
import { kubeErrorKind, type KubeClient } from './kube.js'
import { isPermitted, permittedServiceAccountsOf } from './role-guard.js'
import { errorBackoffDelay, firstPollDelay } from './schedule.js'
import { buildSecretManifest, secretNeedsUpdate } from './secret-manifest.js'
import type { SyncMetrics } from './sync-metrics.js'
import { generationOf, specOf, type Backends, type ExternalSecret } from './types.js'

export interface PollerDeps {
  kube: KubeClient
  backends: Backends
  clock: Clock
  timers: Timers
  random: () => number
  logger: Logger
  metrics: SyncMetrics
  config: PollerConfig
  /** A poll taking longer than this is an error; its late writes are skipped (KES #407, #583: hung Vault calls). */
  pollTimeoutMilliseconds: number
}

/** Status text as KES wrote it: newlines and runs of spaces removed, tabs to spaces; bounded. */
export function statusText(text: string): string {
  return text.replace(/(\r\n|\n|\r| (?= ))/gm, '').replace(/\t/g, ' ').slice(0, 1024)
}

export function errorMessageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name
  return typeof err === 'string' ? err : 'unknown error'
}

class PollAbandoned extends Error {}

export class Poller {
  private es: ExternalSecret
  private timer: unknown = undefined
  private chain: Promise<void> = Promise.resolve()
  private failures = 0
  private stopped = false
  private abandoned = false
  /** Polls completed (success or error), for tests and introspection. */
  polls = 0

  constructor(
    es: ExternalSecret,
    private readonly deps: PollerDeps,
  ) {
    this.es = es
  }

  get externalSecret(): ExternalSecret {
    return this.es
  }

  get consecutiveFailures(): number {
    return this.failures
  }

  get scheduled(): boolean {
    return this.timer !== undefined
  }

  start(): this {
    const { config, clock, random } = this.deps
    const delay = firstPollDelay(this.es, {
      interval: config.pollerIntervalMilliseconds,
      now: clock.now(),
      random: random(),
      pollingDisabled: config.pollingDisabled,
    })
    if (delay !== undefined) this.schedule(delay)
    this.deps.logger.debug({ namespace: this.es.metadata.namespace, name: this.es.metadata.name, delay }, 'starting poller')
    return this
  }

  /** A newer object from the watch: a new generation polls at once, anything else (our own status writes) only refreshes it. */
  update(es: ExternalSecret): void {
    const newGeneration = generationOf(es) !== generationOf(this.es)
    this.es = es
    if (newGeneration && !this.stopped) this.schedule(0)
  }

  /** Stops scheduling; resolves when the in-flight poll (if any) is done. `abandon` skips its remaining writes (deleted ExternalSecret). */
  stop({ abandon = false } = {}): Promise<void> {
    this.stopped = true
    if (abandon) this.abandoned = true
    this.clearTimer()
    return this.chain
  }

  /** Polls now (after any in-flight poll). Never rejects. */
  pollNow(): Promise<void> {
    this.chain = this.chain.then(() => this.pollOnce())
    return this.chain
  }

  private schedule(delay: number): void {
    this.clearTimer()
    const handle = this.deps.timers.setTimeout(() => {
      if (this.timer === handle) this.timer = undefined
      if (this.stopped) return undefined
      // Returned so a ManualClock awaits the whole poll: hours of polling run deterministically on virtual time.
      return this.pollNow()
    }, delay)
    this.timer = handle
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer)
    this.timer = undefined
  }

  private async pollOnce(): Promise<void> {
    if (this.stopped && this.abandoned) return
    const es = this.es
    const { namespace, name } = es.metadata
    const spec = specOf(es)
    const generation = generationOf(es)
    const { logger, metrics, config } = this.deps
    let ok: boolean
    let text: string
    try {
      await this.withTimeout(this.sync(es))
      ok = true
      text = 'SUCCESS'
      this.failures = 0
    } catch (err) {
      if (err instanceof PollAbandoned) return
      ok = false
      this.failures++
      text = `ERROR, ${errorMessageOf(err)}`
      logger.error({ namespace, name, failures: this.failures, error: errorMessageOf(err) }, 'failure while polling the secret')
    }
    if (this.abandoned) return
    this.polls++
    await this.writeStatus(generation, statusText(text))
    metrics.observeSync({ name, namespace, backend: spec.backendType }, ok ? 'success' : 'error')
    // A timer set while polling (a new generation arrived) stands; otherwise schedule the next poll.
    if (this.stopped || this.timer !== undefined) return
    const interval = config.pollerIntervalMilliseconds
    if (!ok) this.schedule(errorBackoffDelay(this.failures, interval, this.deps.random()))
    else if (!config.pollingDisabled) this.schedule(interval)
  }

  private async withTimeout(work: Promise<void>): Promise<void> {
    const { timers, pollTimeoutMilliseconds } = this.deps
    let handle: unknown
    const timeout = new Promise<never>((_, reject) => {
      handle = timers.setTimeout(() => {
        this.timedOut = true
        reject(new Error(`poll timed out after ${pollTimeoutMilliseconds} ms`))
      }, pollTimeoutMilliseconds)
    })
    this.timedOut = false
    try {
      await Promise.race([work, timeout])
    } finally {
      timers.clearTimeout(handle)
      work.catch(() => {}) // a timed-out poll may still fail later; that is not an unhandled rejection
    }
  }

  private timedOut = false

  /** Before each write: a deleted ExternalSecret or a timed-out poll writes nothing more. */
  private checkStillWanted(): void {
    if (this.abandoned) throw new PollAbandoned()
    if (this.timedOut) throw new Error('poll timed out')
  }

  /** KES `_upsertKubernetesSecret`: role guard, backend, then create / replace / nothing. */
  private async sync(es: ExternalSecret): Promise<void> {
    const { kube, backends, config, logger } = this.deps
    const { namespace, name } = es.metadata
    const spec = specOf(es)

    const ns = await kube.readNamespace(namespace)
    const verdict = isPermitted(ns, spec, config)
    if (!verdict.allowed) throw new Error(`not allowed to fetch secret: ${namespace}/${name}: ${verdict.reason}`)

    const backend = Object.prototype.hasOwnProperty.call(backends, spec.backendType) ? backends[spec.backendType] : undefined
    if (!backend) throw new Error(`no backend for backendType ${JSON.stringify(spec.backendType ?? null)}`)

    // What the namespace (not the spec) permits; the backend checks spec.vaultServiceAccount against it.
    const permittedServiceAccounts = permittedServiceAccountsOf(ns, config.serviceAccountPermittedAnnotation)
    const data = await backend.getSecretManifestData({ spec, namespace, name, ...(permittedServiceAccounts ? { permittedServiceAccounts } : {}) })
    if (!data || typeof data !== 'object' || Object.values(data).some((v) => typeof v !== 'string')) {
      throw new Error(`backend ${spec.backendType} returned data that is not a map of base64 strings`)
    }
    const desired = buildSecretManifest(es, data)

    this.checkStillWanted()
    const existing = await kube.readSecret(namespace, name)
    this.checkStillWanted()
    if (!existing) {
      logger.info({ namespace, name }, 'creating secret')
      try {
        await kube.createSecret(namespace, desired)
      } catch (err) {
        // Created meanwhile (another writer, or a watch we have not seen yet): replace it like KES did.
        if (kubeErrorKind(err) !== 'conflict') throw err
        await kube.replaceSecret(namespace, name, desired)
      }
    } else if (secretNeedsUpdate(existing, desired)) {
      logger.info({ namespace, name }, 'updating secret')
      await kube.replaceSecret(namespace, name, desired)
    } else {
      logger.debug({ namespace, name }, 'skipping secret upsert, objects are the same')
    }
  }

  /** KES `_updateStatus`: replace the status subresource; a 409 re-reads once and retries, then is tolerated. */
  private async writeStatus(observedGeneration: number, status: string): Promise<void> {
    const { kube, clock, logger } = this.deps
    const { namespace, name } = this.es.metadata
    const body = (base: ExternalSecret): ExternalSecret => ({
      ...base,
      status: { lastSync: new Date(clock.now()).toISOString(), observedGeneration, status },
    })
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const written = await kube.replaceExternalSecretStatus(body(this.es))
        if (written?.metadata && generationOf(written) === generationOf(this.es)) this.es = written
        return
      } catch (err) {
        if (kubeErrorKind(err) !== 'conflict') {
          logger.error({ namespace, name, error: errorMessageOf(err) }, 'failure while updating status for externalsecret')
          return
        }
        if (attempt === 1) {
          logger.info({ namespace, name }, 'status update conflicted twice; the watch brings the newer object')
          return
        }
        try {
          const fresh = await kube.readExternalSecret(namespace, name)
          if (fresh.metadata.uid !== this.es.metadata.uid) return
          // A newer generation also schedules its own poll, as a watch event would.
          if (generationOf(fresh) >= generationOf(this.es)) this.update(fresh)
        } catch (readErr) {
          logger.info({ namespace, name, error: errorMessageOf(readErr) }, 'status update conflicted and re-read failed')
          return
        }
      }
    }
  }
}
