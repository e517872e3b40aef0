/**
 * Seed a dev Vault from a plain object (what `examples/demo/vault-seed.yaml` parses to). The in-process demo and
 * the standalone `dev-vault` command use the same seed, so the dry run reads what the demo reads.
 *
 *   auth:            # auth mounts by path; type kubernetes (default), approle or jwt
 *     kubernetes:
 *       roles: { app: { policies: [app], token_ttl: 20s, token_max_ttl: 60s, bound_service_account_names: [...] } }
 *   policies:        # a list of path prefixes the policy may read, or HCL text
 *     app: [secret/data/app/]
 *   token_roles:     # auth/token/roles/:name, for auth/token/create/:name
 *     fixed: { allowed_policies: [app], renewable: false }
 *   secrets:         # KV v2 at secret/, by path below the mount
 *     app/database: { username: app, password: ... }
 */
import type { DevVault } from './dev-vault.js'
import type { AuthMountType, RoleInput, TokenRoleInput } from './store.js'

export interface DevVaultSeed {
  auth?: Record<string, { type?: AuthMountType; bound_issuer?: string; roles?: Record<string, RoleInput> } | null>
  policies?: Record<string, string[] | string>
  token_roles?: Record<string, TokenRoleInput>
  secrets?: Record<string, Record<string, unknown>>
}

const AUTH_TYPES: readonly AuthMountType[] = ['kubernetes', 'approle', 'jwt']

/** Apply a seed; throws an Error naming the entry that is wrong. */
export function seedFromYamlObject(dev: DevVault, seed: DevVaultSeed | null | undefined): void {
  if (!seed) return
  for (const [mount, spec] of Object.entries(seed.auth ?? {})) {
    const type = spec?.type ?? 'kubernetes'
    if (!AUTH_TYPES.includes(type)) throw new Error(`seed: auth/${mount}: unknown type "${type}" (expected ${AUTH_TYPES.join(', ')})`)
    dev.enableAuth(mount, type, { bound_issuer: spec?.bound_issuer })
    for (const [name, role] of Object.entries(spec?.roles ?? {})) {
      try {
        dev.writeRole(mount, name, role ?? {})
      } catch (e) {
        throw new Error(`seed: auth/${mount}/role/${name}: ${(e as Error).message.replace(/^dev vault: /, '')}`)
      }
    }
  }
  for (const [name, policy] of Object.entries(seed.policies ?? {})) dev.writePolicy(name, policy ?? [])
  for (const [name, role] of Object.entries(seed.token_roles ?? {})) dev.writeTokenRole(name, role ?? {})
  for (const [p, data] of Object.entries(seed.secrets ?? {})) dev.putSecret('secret', p, data ?? {})
}

/** One line per kind of thing a seed made, for the operator. */
export function describeSeed(seed: DevVaultSeed | null | undefined): string[] {
  if (!seed) return ['nothing']
  const lines: string[] = []
  for (const [mount, spec] of Object.entries(seed.auth ?? {})) {
    lines.push(`auth/${mount} (${spec?.type ?? 'kubernetes'}): roles ${Object.keys(spec?.roles ?? {}).join(', ') || '(none)'}`)
  }
  if (seed.policies) lines.push(`policies: ${Object.keys(seed.policies).join(', ')} (and default)`)
  if (seed.token_roles) lines.push(`token roles: ${Object.keys(seed.token_roles).join(', ')}`)
  if (seed.secrets) lines.push(`KV v2 at secret/: ${Object.keys(seed.secrets).map((p) => `secret/${p}`).join(', ')}`)
  return lines
}
