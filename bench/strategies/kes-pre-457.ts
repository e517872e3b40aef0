/**
 * RE-IMPLEMENTATION (not KES's code) of Kubernetes External Secrets' Vault backend before PR #457: a renew-self before
 * every read (KES #468: renewals overloaded Vault's storage). Token per (mount, role) rather than KES's single shared
 * token (#487), so reads stay comparable across roles. No single-flight: concurrent callers each log in when no token is
 * cached; any error clears the token.
 */
import { MOUNT, type World, kvValue, peerClient } from '../lib/world.js'
import { earliest, type PeerToken } from './token-table.js'
import type { Strategy, StrategyOptions } from './types.js'

export function kesPre457(world: World, o: StrategyOptions): Strategy {
  const vault = peerClient(world)
  const tokens = new Map<string, PeerToken>()
  const now = () => world.clock.now()

  async function get(path: string, role: string): Promise<unknown> {
    const key = `${MOUNT}/${role}`
    let t = tokens.get(key)
    try {
      if (!t) {
        const sentAt = now()
        const res = await vault.login(MOUNT, { role, jwt: world.jwt })
        t = { token: res.auth.client_token, expireAt: sentAt + res.auth.lease_duration * 1000 }
        tokens.set(key, t)
      } else {
        const sentAt = now()
        const res = await vault.renewSelf(t.token)
        t.expireAt = sentAt + res.auth.lease_duration * 1000
      }
      const res = await vault.read(path, t.token)
      return kvValue(res)
    } catch (err) {
      if (tokens.get(key) === t) tokens.delete(key)
      throw err
    }
  }

  return {
    name: 'kes-pre-457',
    description: 're-implementation of KES before PR #457: renew-self before every read, token per (mount, role), no single-flight, any error clears the token',
    concurrency: 'all',
    async sync(es) {
      const values = await Promise.all(es.keys.map((k) => get(k, es.role)))
      if (values[0] !== `a${es.index}` || values[1] !== `b${es.index}`) throw new Error('wrong value')
    },
    // Renewing on every read keeps the token one TTL ahead; the only event is the max TTL.
    nextEventAt: () => earliest(tokens.values(), 3 * o.pollMs),
    async close() {},
  }
}
