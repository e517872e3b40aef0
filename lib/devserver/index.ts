/**
 * The embedded dev Vault: OpenBao's rules (docs/dev-vault-conformance.md) over real loopback HTTP, on an injected clock.
 *
 *   const clock = new ManualClock()
 *   const vault = await startDevVault({ clock })       // KV v2 at secret/, the root token in vault.rootToken
 *   vault.enableKubernetesAuth()                       // auth/kubernetes (also enableApproleAuth, enableJwtAuth)
 *   vault.writePolicy('app', ['secret/data/app/'])     // read on these prefixes (+ the built-in `default` policy)
 *   vault.writeRole('kubernetes', 'app', { policies: ['app'], token_ttl: '1h', token_max_ttl: '4h',
 *     bound_service_account_names: ['app'], bound_service_account_namespaces: ['default'] })
 *   vault.putSecret('secret', 'app/db', { password: 's3cr3t' })
 *   const jwt = vault.makeServiceAccountJwt({ namespace: 'default', serviceAccount: 'app', expiresAt: clock.now() + 3600_000 })
 *   // node-vault: kubernetesLogin({ role: 'app', jwt, mount_point: 'kubernetes' }) against vault.address
 *   await clock.advance(...); vault.counters(); vault.injectFault({ kind: 'sealed', operation: 'renew', times: 3 })
 *
 * More seeding calls:
 *   vault.writePolicy('ci', [{ path: 'secret/data/+/ci', capabilities: ['read', 'list'] }, 'kv/shared/'])   // rules
 *   vault.writePolicy('ops', 'path "sys/policies/acl/*" { capabilities = ["read", "update"] }')          // HCL
 *   vault.writePolicy('default', [])                  // edit `default`: tokens lose lookup-self/renew-self (403)
 *   vault.writeRole('kubernetes', 'x', { ..., token_no_default_policy: true })                         // same, per role
 *   vault.writeRole('kubernetes', 'b', { token_type: 'batch' })   // a token that cannot be renewed (no `renewable`
 *                                                                 // on login roles: Vault refuses it, so do we)
 *   vault.writeTokenRole('fixed', { allowed_policies: ['app'], renewable: false })  // auth/token/create/fixed
 *   vault.enableJwtAuth('jwt', { bound_issuer: 'https://ci' })
 *   vault.writeRole('jwt', 'ci', { policies: ['app'], user_claim: 'sub', bound_audiences: ['vault'], bound_claims: { repo: 'x' } })
 *   vault.makeJwt({ iss: 'https://ci', sub: 'job', aud: 'vault', repo: 'x', exp: Math.floor(clock.now() / 1000) + 300 })
 *   const standby = await startDevVault({ clock, standbyOf: vault })        // forwards (Vault's default)
 *   await vault.startStandby({ standbyMode: 'redirect' })                   // answers 307 (startStandby()'s default)
 *   standby.setActiveNode(undefined)                                        // "no active node" errors
 *   seedFromYamlObject(vault, loadYaml(text))                               // the examples/demo/vault-seed.yaml format
 *   vault.enableDatabase('database', { default_ttl: '1h', max_ttl: '24h' })  // dynamic secrets: each read of
 *   vault.writeDatabaseRole('database', 'app', { default_ttl: '1h' })        // database/creds/app mints a user
 *   vault.writePolicy('app', ['database/creds/app'])                        //   under a new lease
 *   vault.liveCredentials({ role: 'app' }); vault.leaseCounts()             // users a database would hold; mints,
 *                                                                           //   renewals, revocations
 */
export { DevVault, RENEWABLE_REFUSED, startDevVault } from './dev-vault.js'
export type { DevVaultOptions, InNamespace } from './dev-vault.js'
export type { CounterSnapshot, DeadTokenRequest, ResultKey } from './counters.js'
export type { FaultHandle, FaultKind, FaultSpec } from './faults.js'
export { decodeJwtPayload, decodeServiceAccountClaims, makeJwt, makeServiceAccountJwt, validateTimeClaims, JWT_ROLE_LEEWAY, KUBERNETES_LEEWAY } from './jwt.js'
export type { JwtLeeway, ServiceAccountJwtOptions, ServiceAccountClaims } from './jwt.js'
export { Acl, DEFAULT_POLICY_HCL, PolicyError, parsePolicy } from './policy.js'
export type { AclOperation, Capability, Policy, PolicyRule } from './policy.js'
export { describeSeed, seedFromYamlObject } from './seed.js'
export type { DevVaultSeed } from './seed.js'
export type { StandbyMode } from './server.js'
export type { AuthMountType, DatabaseRole, Role, RoleInput, TokenRole, TokenRoleInput, TokenType, DeadReason, MountTuning } from './store.js'
export type { LeaseCounts, RevokeReason, SecretLease } from './leases.js'
export { calculateTtl, goDuration, humanDuration, parseDurationSeconds, PAST_MAX_TTL, SYSTEM_MAX_LEASE_TTL_SECONDS } from './ttl.js'
export type { TtlInput, TtlResult } from './ttl.js'
export { ACL_DENIED, INVALID_TOKEN_NEW, PERMISSION_DENIED, OPERATIONS, multiError } from './vault.js'
export type { ErrorWording, Operation } from './vault.js'
export { inProcessExchange } from './in-process.js'
