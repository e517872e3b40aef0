/**
 * RE-IMPLEMENTATION (not ESO's code) of External Secrets Operator's Vault provider without its client cache: every
 * ExternalSecret sync logs in, reads its keys one after another, then Close() checks the token (lookup-self) and
 * revokes it (revoke-self). Syncs run one at a time (ESO's default --concurrent=1).
 */
import { MOUNT, type World, kvValue, peerClient } from '../lib/world.js'
import type { Strategy } from './types.js'

export function esoNoCache(world: World): Strategy {
  const vault = peerClient(world)
  return {
    name: 'eso-nocache',
    description: 're-implementation of ESO without cache: login, reads, lookup-self and revoke-self per ExternalSecret sync; syncs serial',
    concurrency: 'serial',
    async sync(es) {
      const res = await vault.login(MOUNT, { role: es.role, jwt: world.jwt })
      const token = res.auth.client_token
      try {
        const values: unknown[] = []
        for (const k of es.keys) values.push(kvValue(await vault.read(k, token)))
        if (values[0] !== `a${es.index}` || values[1] !== `b${es.index}`) throw new Error('wrong value')
      } finally {
        try {
          await vault.lookupSelf(token)
          await vault.revokeSelf(token)
        } catch {
          // ESO logs and moves on; the token expires at its TTL.
        }
      }
    },
    nextEventAt: () => undefined,
    async close() {},
  }
}
