import { ManualClock } from '/work/main/lib/clock.js'
import { startDevVault } from '/work/main/lib/devserver/index.js'
import { VaultClient } from '/work/main/lib/vault/client.js'
import { VaultBackend } from '/work/main/lib/backend/vault-backend.js'
import { Registry } from 'prom-client'
const clock = new ManualClock()
const dev = await startDevVault({ clock })
dev.enableKubernetesAuth('kubernetes')
dev.writePolicy('r0', ['secret/data/r0/'])
dev.writeRole('kubernetes', 'r0', { policies: ['r0'], token_ttl: '1h', token_max_ttl: '24h', bound_service_account_names: ['kes'], bound_service_account_namespaces: ['kes'] })
for (let i = 0; i < 1000; i++) dev.putSecret('secret', `r0/es${i}/a`, { a: 'x' })
const jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: clock.now() + 365 * 86400_000 })
const vc = new VaultClient(dev.inProcessClient())
const tok = (await vc.login('kubernetes', { role: 'r0', jwt })).auth.client_token
let t = performance.now()
for (let k = 0; k < 100; k++) await Promise.all(Array.from({ length: 1000 }, (_, i) => vc.read(`secret/data/r0/es${i}/a`, tok)))
console.log('raw reads/s', 100000 / ((performance.now() - t) / 1000))
t = performance.now()
for (let k = 0; k < 100; k++) await Promise.all(Array.from({ length: 1000 }, (_, i) => vc.lookupSelf(tok)))
console.log('lookups/s', 100000 / ((performance.now() - t) / 1000))
const b = new VaultBackend({ vaultFactory: () => dev.inProcessClient(), defaultVaultMountPoint: 'kubernetes', pollerIntervalMilliseconds: 10000, clock, registry: new Registry(), jwtProvider: { getJwt: async () => jwt } })
t = performance.now()
for (let k = 0; k < 100; k++) { await Promise.all(Array.from({ length: 500 }, (_, i) => b.getSecretManifestData({ spec: { vaultRole: 'r0', data: [{ key: `secret/data/r0/es${2*i}/a`, name: 'a', property: 'a' }, { key: `secret/data/r0/es${2*i+1}/a`, name: 'b', property: 'a' }] } }))); await clock.advance(10000) }
console.log('ours reads/s', 100000 / ((performance.now() - t) / 1000), dev.counters().requests)
