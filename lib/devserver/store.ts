/**
 * The dev Vault's state: namespaces, each with its mounts, roles, policies, tokens and KV data.
 * Plain data and small mutations; Vault's behaviour on top of it lives in `vault.ts`.
 */
import { LeaseTable } from './leases.js'
import { DEFAULT_POLICY_HCL, type Policy, parsePolicy } from './policy.js'

export type TokenType = 'service' | 'batch'

/**
 * A role as Vault's kubernetes, approle and jwt auth methods store it (durations in seconds). Its tokens are
 * always renewable unless batch (tokenutil.PopulateTokenAuth): there is no `renewable` on an auth-method role.
 */
export interface Role {
  name: string
  policies: string[]
  token_ttl: number
  token_max_ttl: number
  token_period: number
  token_explicit_max_ttl: number
  token_type: TokenType
  token_num_uses: number
  /** The token gets only the role's policies, not `default` (then lookup-self and renew-self are 403). */
  token_no_default_policy: boolean
  /** kubernetes: ["*"] or names. */
  bound_service_account_names: string[]
  bound_service_account_namespaces: string[]
  /** kubernetes: the `aud` the service-account JWT must carry ("" = not checked). */
  audience: string
  /** approle */
  role_id: string
  secret_ids: string[]
  /** jwt: the `aud` values (one must match), `sub`, other exact claims, and the claim that names the user. */
  bound_audiences: string[]
  bound_subject: string
  bound_claims: Record<string, string | number | boolean | Array<string | number | boolean>>
  user_claim: string
}

/** What callers pass to seed a role: durations as seconds or Go strings ("1h"). */
export interface RoleInput {
  policies?: string[]
  token_policies?: string[]
  token_ttl?: number | string
  token_max_ttl?: number | string
  token_period?: number | string
  token_explicit_max_ttl?: number | string
  token_type?: TokenType | 'default'
  token_num_uses?: number
  token_no_default_policy?: boolean
  /**
   * Refused: auth-method roles have no such field; their service tokens are always renewable. For a token that
   * cannot be renewed use `token_type: 'batch'`, or a token role (`writeTokenRole`) with `renewable: false`.
   */
  renewable?: boolean
  bound_service_account_names?: string[]
  bound_service_account_namespaces?: string[]
  audience?: string
  role_id?: string
  secret_ids?: string[]
  secret_id?: string
  bound_audiences?: string[]
  bound_subject?: string
  bound_claims?: Record<string, string | number | boolean | Array<string | number | boolean>>
  user_claim?: string
}

/** A token role (`auth/token/roles/:name`), used by `auth/token/create/:name`. */
export interface TokenRole {
  name: string
  allowed_policies: string[]
  disallowed_policies: string[]
  orphan: boolean
  /** Default true; false gives non-renewable service tokens, the only way Vault issues those. */
  renewable: boolean
  path_suffix: string
  /** 'default-service' (default), 'default-batch', 'service' or 'batch'. */
  token_type: 'default-service' | 'default-batch' | 'service' | 'batch'
  token_period: number
  token_explicit_max_ttl: number
  token_num_uses: number
  token_no_default_policy: boolean
}

export interface TokenRoleInput {
  allowed_policies?: string[]
  disallowed_policies?: string[]
  orphan?: boolean
  renewable?: boolean
  path_suffix?: string
  token_type?: TokenRole['token_type'] | 'default'
  token_period?: number | string
  token_explicit_max_ttl?: number | string
  token_num_uses?: number
  token_no_default_policy?: boolean
}

export type AuthMountType = 'kubernetes' | 'approle' | 'jwt'
export type SecretMountType = 'kv-v1' | 'kv-v2' | 'database'

/** A role of the database secrets engine: the TTLs of the credentials `creds/<role>` mints (seconds; 0 = the mount's). */
export interface DatabaseRole {
  name: string
  default_ttl: number
  max_ttl: number
}

/** The dynamic engine of a `database` mount: its roles, and whether its leases can be renewed. */
export interface DatabaseEngine {
  roles: Map<string, DatabaseRole>
  /**
   * The database plugin's leases are always renewable (`framework.Secret` with a Renew callback); false models an
   * engine whose credentials cannot be extended (AWS STS credentials, for example).
   */
  renewable: boolean
}

export interface MountTuning {
  /** Seconds; default = the server's default lease TTL (768h). */
  default_lease_ttl?: number
  max_lease_ttl?: number
}

export interface AuthMount extends MountTuning {
  type: AuthMountType
  roles: Map<string, Role>
  accessor: string
  /** jwt: the `iss` every JWT must carry ("" = not checked). */
  bound_issuer?: string
}

export interface SecretVersion {
  version: number
  data: Record<string, unknown> | null
  created_time: number
  deletion_time: number | null
  destroyed: boolean
}

export interface SecretMount extends MountTuning {
  type: SecretMountType
  accessor: string
  uuid: string
  /** kv-v1: one entry per path, versions = [the only one]. kv-v2: every version kept. database: unused. */
  secrets: Map<string, SecretVersion[]>
  /** Set on a `database` mount. */
  database?: DatabaseEngine
}

export interface TokenEntry {
  id: string
  accessor: string
  namespace: string
  policies: string[]
  meta: Record<string, string> | null
  display_name: string
  /** Login path, e.g. "auth/kubernetes/login". */
  path: string
  issueTime: number
  /** ms; null = never expires (root). */
  expireAt: number | null
  creation_ttl: number
  explicit_max_ttl: number
  period: number
  renewable: boolean
  type: TokenType
  num_uses: number
  orphan: boolean
  lastRenewal: number | null
  entity_id: string
  /** The auth-method role the token came from; its TTLs are re-read at renewal. */
  role?: { mount: string; name: string }
  /** The token role (auth/token/create/:role) it came from; its period and explicit max TTL are re-read at renewal. */
  tokenRole?: string
  /**
   * TTL of the auth stored with the token's lease: set at creation, replaced by each renewal's result. A
   * token-store token renews to it again when no increment is given (sticky); auth-method tokens use their role's.
   */
  leaseTtl: number
  /** Accessor of the parent (auth/token/create children die with their parent). */
  parent?: string
  /** The token's private cubbyhole/ storage; it dies with the token. */
  cubbyhole: Map<string, Record<string, unknown>>
}

export interface Namespace {
  auth: Map<string, AuthMount>
  secrets: Map<string, SecretMount>
  /** ACL policies by name; `default` exists from the start, as in Vault. */
  policies: Map<string, Policy>
  tokenRoles: Map<string, TokenRole>
  tokens: Map<string, TokenEntry>
}

export type DeadReason = 'expired' | 'revoked' | 'unknown'

/** "" is the root namespace; Vault accepts "ns1", "ns1/" and "/ns1". */
export function normalizeNamespace(ns: string | undefined): string {
  const n = (ns ?? '').trim().replace(/^\/+|\/+$/g, '')
  return n === 'root' ? '' : n
}

export function normalizeMount(mount: string): string {
  return mount.replace(/^\/+|\/+$/g, '')
}

function newNamespace(): Namespace {
  // OpenBao: policy.Store.LoadDefaultPolicies: every namespace starts with the default policy.
  return { auth: new Map(), secrets: new Map(), policies: new Map([['default', parsePolicy('default', DEFAULT_POLICY_HCL)]]), tokenRoles: new Map(), tokens: new Map() }
}

export class DevStore {
  private readonly namespaces = new Map<string, Namespace>()
  /** Tokens revoked (by any path), remembered so a later use is recorded as 'revoked'. */
  readonly revoked = new Set<string>()
  /** Tokens removed at their expiry, remembered (ids only) so a later use is recorded as 'expired'. */
  readonly expired = new Set<string>()
  private tidiedAt = -Infinity
  /** Bumped by every policy change, so cached ACLs are rebuilt. */
  policyEpoch = 0
  /** Secret leases (dynamic credentials); a lease dies with the token that read it. */
  readonly leases = new LeaseTable((id, now) => {
    const t = this.findToken(id)
    return t !== undefined && (t.expireAt === null || t.expireAt > now)
  })

  setPolicy(ns: Namespace, policy: Policy): void {
    ns.policies.set(policy.name, policy)
    this.policyEpoch++
  }

  deletePolicy(ns: Namespace, name: string): boolean {
    this.policyEpoch++
    return ns.policies.delete(name)
  }

  /** A namespace nobody created: what a read sees there (only the default policy). */
  blankNs(): Namespace {
    return newNamespace()
  }

  ns(name: string | undefined): Namespace {
    const key = normalizeNamespace(name)
    let ns = this.namespaces.get(key)
    if (!ns) {
      ns = newNamespace()
      this.namespaces.set(key, ns)
    }
    return ns
  }

  /** Read-only lookup: an unknown namespace is empty, and is not created by a request. */
  peekNs(name: string | undefined): Namespace | undefined {
    return this.namespaces.get(normalizeNamespace(name))
  }

  allTokens(): TokenEntry[] {
    return [...this.namespaces.values()].flatMap((ns) => [...ns.tokens.values()])
  }

  findToken(id: string): TokenEntry | undefined {
    for (const ns of this.namespaces.values()) {
      const t = ns.tokens.get(id)
      if (t) return t
    }
    return undefined
  }

  findByAccessor(accessor: string): TokenEntry | undefined {
    if (!accessor) return undefined
    return this.allTokens().find((t) => t.accessor === accessor)
  }

  /**
   * Remove tokens past their expire time, with their children and leases, at most once a minute of clock time.
   * OpenBao: ExpirationManager revokes a token when its lease expires (expireID -> revokeEntry). Without it a fake
   * that runs for simulated days would keep every token it ever issued (and what hangs off each one).
   */
  tidyExpired(now: number): void {
    if (now - this.tidiedAt < 60_000) return
    this.tidiedAt = now
    for (const ns of this.namespaces.values()) {
      for (const t of [...ns.tokens.values()]) {
        if (t.expireAt === null || t.expireAt > now || !ns.tokens.has(t.id)) continue
        this.revoke(t)
        this.revoked.delete(t.id)
        this.expired.add(t.id)
      }
    }
  }

  /** Revoke a token and, like Vault, its non-orphan children. Returns how many were revoked. */
  revoke(token: TokenEntry): number {
    const ns = this.ns(token.namespace)
    if (!ns.tokens.delete(token.id)) return 0
    this.revoked.add(token.id)
    this.leases.revokeByToken(token.id)
    let n = 1
    if (token.accessor) {
      for (const child of this.allTokens().filter((t) => t.parent === token.accessor)) n += this.revoke(child)
    }
    return n
  }
}
