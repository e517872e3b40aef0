/**
 * The embedded dev Vault: Vault's token semantics over real loopback HTTP on an injected clock.
 *
 *   const clock = new ManualClock()
 *   const vault = await startDevVault({ clock })
 *   vault.enableKubernetesAuth()                       // auth/kubernetes
 *   vault.writePolicy('app', ['secret/data/app/'])     // path prefixes the policy may read
 *   vault.writeRole('kubernetes', 'app', { policies: ['app'], token_ttl: '1h', token_max_ttl: '4h',
 *     bound_service_account_names: ['app'], bound_service_account_namespaces: ['default'] })
 *   vault.putSecret('secret', 'app/db', { password: 's3cr3t' }) // KV v2 at secret/ by default
 *   const jwt = vault.makeServiceAccountJwt({ namespace: 'default', serviceAccount: 'app', expiresAt: clock.now() + 3600_000 })
 *   // node-vault: kubernetesLogin({ role: 'app', jwt, mount_point: 'kubernetes' }) against vault.address
 *   await clock.advance(...); vault.counters(); vault.injectFault({ kind: 'sealed', operation: 'renew', times: 3 })
 */
export { DevVault, startDevVault } from './dev-vault.js'
export type { DevVaultOptions, InNamespace } from './dev-vault.js'
export type { CounterSnapshot, DeadTokenRequest, ResultKey } from './counters.js'
export type { FaultHandle, FaultKind, FaultSpec } from './faults.js'
export { makeServiceAccountJwt, decodeServiceAccountClaims } from './jwt.js'
export type { ServiceAccountJwtOptions, ServiceAccountClaims } from './jwt.js'
export type { Role, RoleInput, TokenType, DeadReason, MountTuning } from './store.js'
export { calculateTtl, goDuration, humanDuration, parseDurationSeconds, PAST_MAX_TTL, SYSTEM_MAX_LEASE_TTL_SECONDS } from './ttl.js'
export type { TtlInput, TtlResult } from './ttl.js'
export { INVALID_TOKEN_NEW, PERMISSION_DENIED, OPERATIONS } from './vault.js'
export type { ErrorWording, Operation } from './vault.js'
export { inProcessExchange } from './in-process.js'
