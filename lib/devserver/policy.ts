/**
 * ACL policies as Vault evaluates them: HCL `path "…" { capabilities = […] }` rules, exact, prefix (`*`) and
 * segment-wildcard (`+`) paths, most specific rule wins, `deny` beats everything on its path. Pure: no clock, no I/O.
 */

export type Capability = 'create' | 'read' | 'update' | 'delete' | 'list' | 'sudo' | 'deny' | 'patch' | 'scan'

/** What a request asks for, after Vault's HTTP-method mapping and existence check. */
export type AclOperation = 'create' | 'read' | 'update' | 'delete' | 'list' | 'patch'

export interface PolicyRule {
  /** After /v1/, e.g. "secret/data/app/*", "secret/data/+/config", "auth/token/lookup-self". */
  path: string
  capabilities: Capability[]
}

export interface Policy {
  name: string
  /** The HCL text as written (what GET sys/policies/acl/:name returns). */
  raw: string
  rules: PolicyRule[]
}

// OpenBao: internal/vault/policy/policy_store.go, DefaultPolicy (the text, verbatim).
export const DEFAULT_POLICY_HCL = `
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own entity by id or name
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}


# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Allow a token to make requests to the Authorization Endpoint for OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
`

const CAPABILITIES: readonly Capability[] = ['create', 'read', 'update', 'delete', 'list', 'sudo', 'deny', 'patch', 'scan']

// OpenBao: policy.Capabilities bitmap (DenyCapabilityInt, CreateCapabilityInt, ...).
const BIT: Record<Capability, number> = {
  deny: 1,
  create: 2,
  read: 4,
  update: 8,
  delete: 16,
  list: 32,
  sudo: 64,
  patch: 128,
  scan: 256,
}

export class PolicyError extends Error {}

// ---- HCL (the subset policies use) --------------------------------------------------------------------------

type HclValue = string | number | boolean | HclValue[] | HclObject
interface HclObject {
  [key: string]: HclValue
}
interface HclBlock {
  key: string
  labels: string[]
  body: HclEntry[]
  line: number
}
type HclEntry = { kind: 'attr'; key: string; value: HclValue; line: number } | ({ kind: 'block' } & HclBlock)

class HclReader {
  private pos = 0
  private line = 1
  constructor(private readonly s: string) {}

  private skip(): void {
    for (;;) {
      const c = this.s[this.pos]
      if (c === undefined) return
      if (c === '\n') {
        this.line++
        this.pos++
      } else if (c === ' ' || c === '\t' || c === '\r' || c === ',') this.pos++
      else if (c === '#' || (c === '/' && this.s[this.pos + 1] === '/')) {
        while (this.pos < this.s.length && this.s[this.pos] !== '\n') this.pos++
      } else if (c === '/' && this.s[this.pos + 1] === '*') {
        const end = this.s.indexOf('*/', this.pos + 2)
        if (end < 0) this.fail('unterminated comment')
        for (let i = this.pos; i < end; i++) if (this.s[i] === '\n') this.line++
        this.pos = end + 2
      } else return
    }
  }

  fail(msg: string): never {
    throw new PolicyError(`failed to parse policy: At ${this.line}: ${msg}`)
  }

  private peek(): string | undefined {
    this.skip()
    return this.s[this.pos]
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}', got ${this.s[this.pos] === undefined ? 'end of input' : `'${this.s[this.pos]}'`}`)
    this.pos++
  }

  private string(): string {
    this.expect('"')
    let out = ''
    for (;;) {
      const c = this.s[this.pos++]
      if (c === undefined || c === '\n') this.fail('unterminated string')
      if (c === '"') return out
      if (c === '\\') {
        const n = this.s[this.pos++]
        out += n === 'n' ? '\n' : n === 't' ? '\t' : (n ?? '')
      } else out += c
    }
  }

  private ident(): string {
    this.skip()
    const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(this.s.slice(this.pos))
    if (!m) this.fail(`unexpected ${this.s[this.pos] === undefined ? 'end of input' : `'${this.s[this.pos]}'`}`)
    this.pos += m[0].length
    return m[0]
  }

  private value(): HclValue {
    const c = this.peek()
    if (c === '"') return this.string()
    if (c === '[') {
      this.pos++
      const list: HclValue[] = []
      while (this.peek() !== ']') {
        if (this.peek() === undefined) this.fail('unterminated list')
        list.push(this.value())
      }
      this.pos++
      return list
    }
    if (c === '{') {
      this.pos++
      const obj: HclObject = {}
      while (this.peek() !== '}') {
        if (this.peek() === undefined) this.fail('unterminated object')
        const key = this.peek() === '"' ? this.string() : this.ident()
        const sep = this.peek()
        if (sep === '=' || sep === ':') this.pos++
        obj[key] = this.value()
      }
      this.pos++
      return obj
    }
    const m = /^-?\d+(\.\d+)?/.exec(this.s.slice(this.pos))
    if (m) {
      this.pos += m[0].length
      return Number(m[0])
    }
    const word = this.ident()
    if (word === 'true' || word === 'false') return word === 'true'
    return this.fail(`unexpected token '${word}'`)
  }

  /** A body: attributes `key = value` and blocks `key "label" { ... }`, until `}` or the end. */
  body(top: boolean): HclEntry[] {
    const entries: HclEntry[] = []
    for (;;) {
      const c = this.peek()
      if (c === undefined) {
        if (!top) this.fail("expected '}', got end of input")
        return entries
      }
      if (c === '}') {
        if (top) this.fail("unexpected '}'")
        this.pos++
        return entries
      }
      const line = this.line
      const key = c === '"' ? this.string() : this.ident()
      const next = this.peek()
      if (next === '=') {
        this.pos++
        entries.push({ kind: 'attr', key, value: this.value(), line })
        continue
      }
      const labels: string[] = []
      while (this.peek() === '"') labels.push(this.string())
      this.expect('{')
      entries.push({ kind: 'block', key, labels, body: this.body(false), line })
    }
  }
}

// OpenBao: policy.parsePaths, the keys a path stanza may carry.
const PATH_KEYS = new Set([
  'comment',
  'policy',
  'capabilities',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'mfa_methods',
  'pagination_limit',
  'expiration',
  'list_scan_response_keys_filter_path',
])

/** Parse a policy's HCL (the subset real policies use). Errors read like Vault's: "failed to parse policy: ...". */
// OpenBao: policy.ParseACLPolicy -> parsePaths (old-style `policy = "read"` mapped as Vault maps it).
export function parsePolicy(name: string, hcl: string): Policy {
  const entries = new HclReader(hcl).body(true)
  const rules: PolicyRule[] = []
  for (const e of entries) {
    if (e.key === 'name' && e.kind === 'attr') continue
    if (e.key !== 'path' || e.kind !== 'block') throw new PolicyError(`failed to parse policy: invalid key "${e.key}" on line ${e.line}`)
    const path = e.labels[0]
    if (path === undefined || e.labels.length !== 1) throw new PolicyError(`failed to parse policy: path on line ${e.line} needs exactly one quoted path`)
    const caps = new Set<Capability>()
    for (const a of e.body) {
      if (a.kind !== 'attr' || !PATH_KEYS.has(a.key)) throw new PolicyError(`failed to parse policy: path "${path}": invalid key "${a.key}" on line ${a.line}`)
      if (a.key === 'capabilities') {
        if (!Array.isArray(a.value)) throw new PolicyError(`failed to parse policy: path "${path}": capabilities must be a list`)
        for (const c of a.value) {
          if (typeof c !== 'string' || !CAPABILITIES.includes(c as Capability)) {
            throw new PolicyError(`failed to parse policy: path "${path}": invalid capability "${String(c)}"`)
          }
          caps.add(c as Capability)
        }
      } else if (a.key === 'policy') {
        const old = { deny: ['deny'], read: ['read', 'list'], write: ['create', 'read', 'update', 'delete', 'list'], sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'] }[String(a.value)]
        if (!old) throw new PolicyError(`failed to parse policy: path "${path}": invalid policy "${String(a.value)}"`)
        for (const c of old) caps.add(c as Capability)
      }
    }
    if (path.replace(/^\/+/, '').includes('+*')) throw new PolicyError(`failed to parse policy: path "${path}": invalid use of wildcards ('+*' is forbidden)`)
    rules.push({ path: path.replace(/^\/+/, ''), capabilities: [...caps] })
  }
  return { name, raw: hcl, rules }
}

/** HCL for rules given as data, so a policy written by the seeding API reads back like one written over HTTP. */
export function policyHcl(rules: PolicyRule[]): string {
  if (rules.length === 0) return '# no paths: this policy grants nothing\n'
  return rules.map((r) => `path "${r.path}" {\n    capabilities = [${r.capabilities.map((c) => `"${c}"`).join(', ')}]\n}\n`).join('\n')
}

/**
 * The seeding shorthand: a string is a path prefix the policy may read (`"secret/data/app/"` means
 * `path "secret/data/app/*" { capabilities = ["read"] }`); an object is a rule with its capabilities.
 */
export function policyFromInput(name: string, input: string | ReadonlyArray<string | PolicyRule>): Policy {
  if (typeof input === 'string') return parsePolicy(name, input)
  const rules: PolicyRule[] = input.map((r) =>
    typeof r === 'string' ? { path: (r.endsWith('*') ? r : `${r}*`).replace(/^\/+/, ''), capabilities: ['read'] } : { path: r.path.replace(/^\/+/, ''), capabilities: [...r.capabilities] },
  )
  for (const r of rules) {
    for (const c of r.capabilities) if (!CAPABILITIES.includes(c)) throw new PolicyError(`failed to parse policy: path "${r.path}": invalid capability "${c}"`)
  }
  return { name, raw: policyHcl(rules), rules }
}

// ---- the ACL ------------------------------------------------------------------------------------------------

/** What the ACL's policy templates may refer to. */
export interface AclIdentity {
  entityId?: string
  entityName?: string
}

/**
 * Fill `{{identity.entity.id}}` / `{{identity.entity.name}}`; undefined when the token has no entity or the
 * template is one this dev Vault does not model: Vault then leaves that path out of the ACL.
 */
// OpenBao: policy.parsePaths with performTemplating (identitytpl.PopulateString; a failed template skips the path).
function templatePath(path: string, who: AclIdentity): string | undefined {
  if (!path.includes('{{')) return path
  let ok = true
  const out = path.replace(/\{\{\s*([^}]+?)\s*\}\}/g, (_m, key: string) => {
    const v = key === 'identity.entity.id' ? who.entityId : key === 'identity.entity.name' ? who.entityName : undefined
    if (!v) ok = false
    return v ?? ''
  })
  return ok ? out : undefined
}

interface WildcardRule {
  /** Without the trailing "*" when it is a prefix. */
  path: string
  isPrefix: boolean
  firstWildcard: number
  wildcards: number
  bits: number
}

export class Acl {
  readonly root: boolean
  private readonly exact = new Map<string, number>()
  private readonly prefix = new Map<string, number>()
  private readonly segment = new Map<string, number>()

  // OpenBao: policy.NewACL (capabilities of the same path OR-ed across policies; deny wins and sticks).
  constructor(policies: Policy[], who: AclIdentity = {}) {
    this.root = policies.some((p) => p.name === 'root')
    if (this.root) return
    for (const p of policies) {
      for (const rule of p.rules) {
        const path = templatePath(rule.path, who)
        if (path === undefined) continue
        const bits = rule.capabilities.includes('deny') ? BIT.deny : rule.capabilities.reduce((b, c) => b | BIT[c], 0)
        const hasSegment = path === '+' || path.includes('/+') || path.startsWith('+/')
        let table = this.exact
        let key = path
        if (hasSegment) table = this.segment
        else if (path.endsWith('*')) {
          table = this.prefix
          key = path.slice(0, -1)
        }
        const old = table.get(key)
        table.set(key, old === undefined ? bits : old & BIT.deny || bits & BIT.deny ? BIT.deny : old | bits)
      }
    }
  }

  /** The capability bits that govern `path`, or undefined when no rule matches. */
  // OpenBao: ACL.AllowOperation (exact rule, then CheckAllowedFromNonExactPaths; list retries without the trailing slash).
  private bitsFor(path: string, op: AclOperation | 'capabilities'): number | undefined {
    const listing = op === 'list' || op === 'capabilities'
    // Memoized per path: a token reads the same few paths on every poll (the soak and the benchmark send millions).
    const key = listing ? `L${path}` : `R${path}`
    if (this.memo.has(key)) return this.memo.get(key)
    if (this.memo.size >= 1024) this.memo.clear()
    const bits = this.lookup(path, listing)
    this.memo.set(key, bits)
    return bits
  }

  private readonly memo = new Map<string, number | undefined>()

  private lookup(path: string, listing: boolean): number | undefined {
    const exact = this.exact.get(path) ?? (listing ? this.exact.get(path.replace(/\/$/, '')) : undefined)
    if (exact !== undefined) return exact
    const nonExact = this.nonExact(path)
    if (nonExact !== undefined) return nonExact
    if (listing && path.endsWith('/')) return this.nonExact(path.slice(0, -1))
    return undefined
  }

  // OpenBao: ACL.CheckAllowedFromNonExactPaths (longest prefix vs. segment wildcards, by their priority order).
  private nonExact(path: string): number | undefined {
    const candidates: WildcardRule[] = []
    let longest: string | undefined
    for (const p of this.prefix.keys()) if (path.startsWith(p) && (longest === undefined || p.length > longest.length)) longest = p
    if (longest !== undefined) {
      if (this.segment.size === 0) return this.prefix.get(longest)
      candidates.push({ path: longest, isPrefix: true, firstWildcard: longest.length, wildcards: 0, bits: this.prefix.get(longest)! })
    }
    const parts = path.split('/')
    for (const [full, bits] of this.segment) {
      const isPrefix = full.endsWith('*')
      const wc = isPrefix ? full.slice(0, -1) : full
      const aclParts = wc.split('/')
      if (parts.length < aclParts.length) continue
      if (!isPrefix && aclParts.length !== parts.length) continue
      let wildcards = 0
      let match = true
      for (let i = 0; i < aclParts.length; i++) {
        const a = aclParts[i]!
        const seg = parts[i]!
        if (a === '+') wildcards++
        else if (a === seg) continue
        else if (isPrefix && i === aclParts.length - 1 && seg.startsWith(a)) continue
        else {
          match = false
          break
        }
      }
      if (match) candidates.push({ path: wc, isPrefix, firstWildcard: full.indexOf('+'), wildcards, bits })
    }
    if (candidates.length === 0) return undefined
    // Highest priority last, as Vault sorts them.
    candidates.sort((i, j) => {
      if (i.firstWildcard !== j.firstWildcard) return i.firstWildcard - j.firstWildcard
      if (i.isPrefix !== j.isPrefix) return i.isPrefix ? -1 : 1
      if (i.wildcards !== j.wildcards) return j.wildcards - i.wildcards
      if (i.path.length !== j.path.length) return i.path.length - j.path.length
      return i.path < j.path ? -1 : i.path > j.path ? 1 : 0
    })
    return candidates[candidates.length - 1]!.bits
  }

  allows(path: string, op: AclOperation): boolean {
    if (this.root) return true
    const bits = this.bitsFor(path, op)
    if (bits === undefined || bits & BIT.deny) return false
    return (bits & BIT[op]) !== 0
  }

  // OpenBao: ACL.Capabilities (sudo, read, list, update, delete, create, patch, scan; "deny" when none).
  capabilities(path: string): string[] {
    if (this.root) return ['root']
    const bits = this.bitsFor(path, 'capabilities') ?? 0
    if (bits & BIT.deny) return ['deny']
    const out = (['sudo', 'read', 'list', 'update', 'delete', 'create', 'patch', 'scan'] as const).filter((c) => bits & BIT[c])
    return out.length > 0 ? out : ['deny']
  }

  /** Any non-deny capability on the mount path or below it (what sys/internal/ui/mounts requires). */
  // OpenBao: hasMountAccess (logical_system.go).
  hasMountAccess(mountPath: string): boolean {
    if (this.root) return true
    if (!this.capabilities(mountPath).includes('deny')) return true
    const grants = (bits: number) => (bits & BIT.deny) === 0 && bits !== 0
    for (const [p, bits] of this.exact) if (p.startsWith(mountPath) && grants(bits)) return true
    for (const [p, bits] of this.prefix) if (p.startsWith(mountPath) && grants(bits)) return true
    for (const [p, bits] of this.segment) {
      const parts = p.replace(/\*$/, '').split('/')
      const mountParts = mountPath.replace(/\/$/, '').split('/')
      if (grants(bits) && mountParts.every((m, i) => parts[i] === undefined || parts[i] === '+' || parts[i] === m)) return true
    }
    return false
  }
}
