import type { World, ExternalSecret } from '../lib/world.js'

export type StrategyName = 'kes-pre-457' | 'kes-457' | 'eso-nocache' | 'eso-cache' | 'ours' | 'ours-elided'

export interface StrategyOptions {
  pollMs: number
}

/**
 * One way of serving ExternalSecret polls from Vault. `sync` is one poll of one ExternalSecret: it resolves when both
 * of its keys were delivered and rejects otherwise (an ExternalSecret fails as a whole, as in KES and ESO).
 */
export interface Strategy {
  readonly name: StrategyName
  /** One line: what it does and whose behaviour it re-implements. */
  readonly description: string
  /** 'all': every ExternalSecret of a poll runs concurrently (KES pollers); 'serial': one at a time (ESO's default --concurrent=1). */
  readonly concurrency: 'all' | 'serial'
  sync(es: ExternalSecret): Promise<void>
  /**
   * Bench instrumentation, not behaviour: ms on the clock at which a cached token next needs something other than a
   * steady-state poll (a renewal, a re-login, an expiry), or undefined when nothing is cached. The sampler polls every
   * ExternalSecret from one poll before that moment; a miss is caught by the sampler's self-check.
   */
  nextEventAt(): number | undefined
  close(): Promise<void>
}

export type StrategyFactory = (world: World, o: StrategyOptions) => Strategy
