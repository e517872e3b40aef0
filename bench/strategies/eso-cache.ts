/**
 * RE-IMPLEMENTATION (not ESO's code) of External Secrets Operator's Vault provider with its client cache
 * (--experimental-enable-vault-token-cache): one token per store (here: per role), a lookup-self on every sync,
 * a new login when the lookup fails or ttl < 60 s, never a renewal, no revocation of the replaced token.
 * Syncs run one at a time (ESO's default --concurrent=1), so no cache race here.
 */
import { MOUNT, type World, kvValue, peerClient } from '../lib/world.js'
import { earliest, type PeerToken } from './token-table.js'
import type { Strategy } from './types.js'

const RELOGIN_BELOW_S = 60

export function esoCache(world: World): Strategy {
  const vault = peerClient(world)
  const tokens = new Map<string, PeerToken>()
  const now = () => world.clock.now()
  return {
    name: 'eso-cache',
    description: 're-implementation of ESO with token cache: lookup-self per sync, re-login when ttl < 60 s, never renews; syncs serial',
    concurrency: 'serial',
    async sync(es) {
      let t = tokens.get(es.role)
      if (t) {
        try {
          const look = await vault.lookupSelf(t.token)
          if (look.ttl < RELOGIN_BELOW_S) t = undefined
        } catch {
          t = undefined
        }
      }
      if (!t) {
        const sentAt = now()
        const res = await vault.login(MOUNT, { role: es.role, jwt: world.jwt })
        t = { token: res.auth.client_token, expireAt: sentAt + res.auth.lease_duration * 1000 }
        tokens.set(es.role, t)
      }
      const values: unknown[] = []
      for (const k of es.keys) values.push(kvValue(await vault.read(k, t.token)))
      if (values[0] !== `a${es.index}` || values[1] !== `b${es.index}`) throw new Error('wrong value')
    },
    nextEventAt: () => earliest(tokens.values(), RELOGIN_BELOW_S * 1000),
    async close() {},
  }
}
