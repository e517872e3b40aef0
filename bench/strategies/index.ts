import { esoCache } from './eso-cache.js'
import { esoNoCache } from './eso-nocache.js'
import { kes457 } from './kes-457.js'
import { kesPre457 } from './kes-pre-457.js'
import { oursDefault, oursElided } from './ours.js'
import type { StrategyFactory, StrategyName } from './types.js'

export const STRATEGIES: Record<StrategyName, StrategyFactory> = {
  'kes-pre-457': kesPre457,
  'kes-457': kes457,
  'eso-nocache': esoNoCache,
  'eso-cache': esoCache,
  ours: oursDefault,
  'ours-elided': oursElided,
}
export const STRATEGY_NAMES = Object.keys(STRATEGIES) as StrategyName[]
