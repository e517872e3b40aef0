/** Ours: lib/backend/vault-backend.ts as shipped, with defaults, or with lookups elided (a lookup-self at most every 5 min). */
import { Registry } from 'prom-client'
import { VaultBackend } from '../../lib/backend/vault-backend.js'
import { dueActions, earliest } from '../../lib/token/policy.js'
import { MOUNT, type World } from '../lib/world.js'
import type { Strategy, StrategyOptions } from './types.js'

export const ELIDED_LOOKUP_INTERVAL_MS = 5 * 60_000

export function makeBackend(world: World, o: StrategyOptions, elided: boolean): VaultBackend {
  return new VaultBackend({
    vaultExchange: world.dev.inProcessExchange(),
    defaultVaultMountPoint: MOUNT,
    pollerIntervalMilliseconds: o.pollMs,
    ...(elided ? { tokenLookupIntervalMilliseconds: ELIDED_LOOKUP_INTERVAL_MS } : {}),
    clock: world.clock,
    random: () => 0.5,
    registry: new Registry(),
    jwtProvider: { getJwt: async () => world.jwt },
  })
}

function ours(world: World, o: StrategyOptions, elided: boolean): Strategy & { backend: VaultBackend } {
  const backend = makeBackend(world, o, elided)
  return {
    name: elided ? 'ours-elided' : 'ours',
    description: elided
      ? `ours with VAULT_TOKEN_LOOKUP_INTERVAL_MILLISECONDS=${ELIDED_LOOKUP_INTERVAL_MS} (lookups elided): lookup-self at most every 5 min per identity`
      : 'ours with defaults: one token per identity, single-flight, lookup-self at most once per poll interval, renew at ttl <= 3 polls',
    concurrency: 'all',
    backend,
    async sync(es) {
      const data = await backend.getSecretManifestData({ spec: es.spec })
      // Checked on the fly: a table of expected values would grow with N and pollute the heap figure.
      if (data.a !== Buffer.from(`a${es.index}`).toString('base64') || data.b !== Buffer.from(`b${es.index}`).toString('base64')) throw new Error('wrong value')
    },
    nextEventAt() {
      // The policy's own "when": the next renewal or login of any identity (lookups are steady-state polls).
      const now = world.clock.now()
      const due = backend.tokenSessions.flatMap((s) => dueActions(s.state, now, backend.policy, s.abilities).filter((d) => d.action !== 'lookup'))
      return earliest(due)?.at
    },
    async close() {
      await backend.close({ revoke: false })
    },
  }
}

export const oursDefault = (world: World, o: StrategyOptions) => ours(world, o, false)
export const oursElided = (world: World, o: StrategyOptions) => ours(world, o, true)
