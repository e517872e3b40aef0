/**
 * List, then watch from the list's resourceVersion; on a stream end, an error, a 410 or WATCH_TIMEOUT
 * without events, list again and re-watch (KES `external-secret.js` restarted on the same triggers).
 * Never throws: failures back off and retry until stop().
 */

import type { Timers } from '../clock.js'
import type { Logger } from '../types.js'
import { errorMessageOf } from './poller.js'
import type { KubeClient, WatchEventType, WatchHandle } from './kube.js'
import type { ExternalSecret } from './types.js'

/** Restart backoff after failed lists or broken streams: 1 s doubling to 30 s, reset by a good list. */
export function watchRestartDelay(failures: number): number {
  return Math.min(1000 * 2 ** Math.max(0, Math.min(failures - 1, 10)), 30000)
}

export interface WatcherOptions {
  kube: KubeClient
  /** undefined watches all namespaces. */
  namespace: string | undefined
  watchTimeoutMilliseconds: number
  timers: Timers
  logger: Logger
  /** The full set of ExternalSecrets in this watcher's scope, after every (re-)list. */
  onList(items: ExternalSecret[]): void
  onEvent(type: WatchEventType, object: unknown): void
}

type WatchEnd = 'closed' | 'idle' | 'gone' | 'error' | 'stopped'

export class ExternalSecretWatcher {
  private stopped = false
  private loop: Promise<void> | undefined
  private handle: WatchHandle | undefined
  private sleepTimer: unknown
  private wake: (() => void) | undefined
  private settledWaiters: Array<() => void> = []
  /** Lists completed (for tests: each restart re-lists). */
  lists = 0
  private firstList: Promise<void>
  private resolveFirstList!: () => void

  constructor(private readonly opts: WatcherOptions) {
    this.firstList = new Promise((r) => (this.resolveFirstList = r))
  }

  start(): void {
    this.loop ??= this.run()
  }

  /** Resolves after the first successful list has been handed to onList (or on stop). */
  get ready(): Promise<void> {
    return this.firstList
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.handle?.abort()
    if (this.sleepTimer !== undefined) this.opts.timers.clearTimeout(this.sleepTimer)
    this.wake?.()
    this.resolveFirstList()
    await this.loop
    this.notifySettled()
  }

  private async run(): Promise<void> {
    const { kube, namespace, logger } = this.opts
    let failures = 0
    while (!this.stopped) {
      let end: WatchEnd = 'error'
      try {
        const list = await kube.listExternalSecrets(namespace)
        if (this.stopped) break
        this.lists++
        failures = 0
        this.opts.onList(list.items)
        this.resolveFirstList()
        end = await this.watchOnce(list.resourceVersion)
      } catch (err) {
        logger.warn({ namespace: namespace ?? '*', error: errorMessageOf(err) }, 'listing or watching ExternalSecrets failed')
      }
      if (this.stopped) break
      if (end === 'error') {
        failures++
        const delay = watchRestartDelay(failures)
        logger.info({ namespace: namespace ?? '*', delay }, 'restarting ExternalSecret watch after a failure')
        await this.sleep(delay)
      } else {
        logger.debug({ namespace: namespace ?? '*', reason: end }, 'restarting ExternalSecret watch')
      }
    }
    this.notifySettled()
  }

  private watchOnce(resourceVersion: string | undefined): Promise<WatchEnd> {
    const { kube, namespace, timers, watchTimeoutMilliseconds, logger } = this.opts
    return new Promise<WatchEnd>((resolve) => {
      let reason: WatchEnd | undefined
      let idle: unknown
      let finished = false
      const finish = (end: WatchEnd) => {
        if (finished) return
        finished = true
        if (idle !== undefined) timers.clearTimeout(idle)
        this.handle = undefined
        resolve(end)
      }
      const end = (why: WatchEnd) => {
        reason ??= why
        this.handle?.abort()
      }
      const armIdle = () => {
        if (idle !== undefined) timers.clearTimeout(idle)
        idle = timers.setTimeout(() => {
          idle = undefined
          logger.info({ namespace: namespace ?? '*', ms: watchTimeoutMilliseconds }, 'no watch event within WATCH_TIMEOUT, restarting watcher')
          end('idle')
          // Let a ManualClock wait until the re-list and the new watch are in place.
          return this.untilSettled()
        }, watchTimeoutMilliseconds)
      }
      const onEvent = (type: WatchEventType, object: unknown) => {
        if (finished) return
        armIdle()
        if (type === 'ERROR') {
          // 410 Gone (resourceVersion too old) and other stream errors: list again.
          const code = (object as { code?: number } | null)?.code
          logger.info({ namespace: namespace ?? '*', code }, 'watch error event')
          end(code === 410 ? 'gone' : 'error')
          return
        }
        if (type === 'BOOKMARK') return
        try {
          this.opts.onEvent(type, object)
        } catch (err) {
          logger.error({ error: errorMessageOf(err) }, 'handling a watch event failed')
        }
      }
      const done = (err: unknown) => {
        if (reason === undefined && this.stopped) reason = 'stopped'
        if (reason === undefined && err) logger.warn({ namespace: namespace ?? '*', error: errorMessageOf(err) }, 'watch stream failed')
        finish(reason ?? (err ? 'error' : 'closed'))
      }
      armIdle()
      kube.watchExternalSecrets(namespace, resourceVersion, onEvent, done).then(
        (handle) => {
          if (finished) return
          this.handle = handle
          if (reason !== undefined || this.stopped) handle.abort()
          this.notifySettled()
        },
        (err) => done(err ?? new Error('watch failed')),
      )
    })
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = () => {
        this.wake = undefined
        this.sleepTimer = undefined
        resolve()
      }
      this.sleepTimer = this.opts.timers.setTimeout(() => this.wake?.(), ms)
      this.notifySettled()
    })
  }

  /** Resolves when the watcher is watching again, sleeping before a retry, or stopped. */
  private untilSettled(): Promise<void> {
    return new Promise<void>((resolve) => this.settledWaiters.push(resolve))
  }

  private notifySettled(): void {
    const waiters = this.settledWaiters
    this.settledWaiters = []
    for (const w of waiters) w()
  }
}
