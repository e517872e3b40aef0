/**
 * RE-IMPLEMENTATION (not KES's code) of Kubernetes External Secrets' final Vault backend (PR #457, 8.x): before every
 * read a lookup-self, a renew-self when ttl <= VAULT_TOKEN_RENEW_THRESHOLD (default 3 poll intervals), one token per
 * (mount, role) in a Map. No single-flight: every data item of every poller looks up / renews / logs in on its own.
 * Any error clears the token; the next caller logs in.
 */
import { MOUNT, type World, kvValue, peerClient } from '../lib/world.js'
import { earliest, type PeerToken } from './token-table.js'
import type { Strategy, StrategyOptions } from './types.js'

export function kes457(world: World, o: StrategyOptions): Strategy {
  const vault = peerClient(world)
  const tokens = new Map<string, PeerToken>()
  const thresholdS = (3 * o.pollMs) / 1000
  const now = () => world.clock.now()

  async function get(path: string, role: string): Promise<unknown> {
    const key = `${MOUNT}/${role}`
    let t = tokens.get(key)
    if (t) {
      try {
        const sentAt = now()
        const look = await vault.lookupSelf(t.token)
        if (look.ttl <= thresholdS) {
          const res = await vault.renewSelf(t.token)
          t.expireAt = sentAt + res.auth.lease_duration * 1000
        }
      } catch {
        if (tokens.get(key) === t) tokens.delete(key)
        t = undefined
      }
    }
    if (!t) {
      const sentAt = now()
      const res = await vault.login(MOUNT, { role, jwt: world.jwt })
      t = { token: res.auth.client_token, expireAt: sentAt + res.auth.lease_duration * 1000 }
      tokens.set(key, t)
    }
    try {
      const res = await vault.read(path, t.token)
      return kvValue(res)
    } catch (err) {
      if (tokens.get(key) === t) tokens.delete(key)
      throw err
    }
  }

  return {
    name: 'kes-457',
    description: 're-implementation of KES after PR #457: lookup-self before every read, renew when ttl <= 3 polls, token per (mount, role), no single-flight, any error clears the token',
    concurrency: 'all',
    async sync(es) {
      const values = await Promise.all(es.keys.map((k) => get(k, es.role)))
      if (values[0] !== `a${es.index}` || values[1] !== `b${es.index}`) throw new Error('wrong value')
    },
    nextEventAt: () => earliest(tokens.values(), thresholdS * 1000),
    async close() {},
  }
}
