/**
 * The dev Vault's state: namespaces, each with its mounts, roles, policies, tokens and KV data.
 * Plain data and small mutations; Vault's behaviour on top of it lives in `vault.ts`.
 */

export type TokenType = 'service' | 'batch'

/** A role as Vault's kubernetes and approle auth methods store it (durations in seconds). */
export interface Role {
  name: string
  policies: string[]
  token_ttl: number
  token_max_ttl: number
  token_period: number
  token_explicit_max_ttl: number
  token_type: TokenType
  token_num_uses: number
  /** Not a Vault role field: lets tests issue non-renewable service tokens from a login. */
  renewable: boolean
  /** kubernetes: ["*"] or names. */
  bound_service_account_names: string[]
  bound_service_account_namespaces: string[]
  /** approle */
  role_id: string
  secret_ids: string[]
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
  renewable?: boolean
  bound_service_account_names?: string[]
  bound_service_account_namespaces?: string[]
  role_id?: string
  secret_ids?: string[]
  secret_id?: string
}

export type AuthMountType = 'kubernetes' | 'approle'
export type SecretMountType = 'kv-v1' | 'kv-v2'

export interface MountTuning {
  /** Seconds; default = the server's default lease TTL (768h). */
  default_lease_ttl?: number
  max_lease_ttl?: number
}

export interface AuthMount extends MountTuning {
  type: AuthMountType
  roles: Map<string, Role>
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
  /** kv-v1: one entry per path, versions = [the only one]. kv-v2: every version kept. */
  secrets: Map<string, SecretVersion[]>
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
  /** The role the token came from; its TTLs are re-read at renewal. */
  role?: { mount: string; name: string }
  /** For auth/token/create tokens: the requested ttl, used again at renewal. */
  tokenTtl: number
  /** Accessor of the parent (auth/token/create children die with their parent). */
  parent?: string
}

export interface Namespace {
  auth: Map<string, AuthMount>
  secrets: Map<string, SecretMount>
  /** policy name -> path prefixes it may read. */
  policies: Map<string, string[]>
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

export class DevStore {
  private readonly namespaces = new Map<string, Namespace>()
  /** Tokens revoked (by any path), remembered so a later use is recorded as 'revoked'. */
  readonly revoked = new Set<string>()

  ns(name: string | undefined): Namespace {
    const key = normalizeNamespace(name)
    let ns = this.namespaces.get(key)
    if (!ns) {
      ns = { auth: new Map(), secrets: new Map(), policies: new Map(), tokens: new Map() }
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

  /** Revoke a token and, like Vault, its non-orphan children. Returns how many were revoked. */
  revoke(token: TokenEntry): number {
    const ns = this.ns(token.namespace)
    if (!ns.tokens.delete(token.id)) return 0
    this.revoked.add(token.id)
    let n = 1
    if (token.accessor) {
      for (const child of this.allTokens().filter((t) => t.parent === token.accessor)) n += this.revoke(child)
    }
    return n
  }
}
