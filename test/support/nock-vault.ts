import nock from 'nock'
import type { ManualClock } from '../../lib/clock.js'

export const VAULT = 'http://vault.test:8200'

export interface FakeTokenOptions {
  ttl: number
  maxTtl?: number
  renewable?: boolean
  type?: 'service' | 'batch'
  /** Use the old 403 wording ("permission denied" only). */
  oldWording?: boolean
}

interface Tok {
  issued: number
  expire: number
  revoked: boolean
}

/**
 * A small stateful Vault behind nock: TTLs computed from the ManualClock (truncated to seconds as Vault does),
 * renewals capped at max TTL with Vault's warning, 403 for dead tokens, and counters of every operation.
 */
export class NockVault {
  readonly counts = { login: 0, lookup: 0, renew: 0, revoke: 0, read: 0 }
  /** Requests that arrived with a token that was expired or revoked at that moment. */
  readonly deadTokenRequests: { op: string; reason: 'expired' | 'revoked' }[] = []
  readonly loginBodies: Record<string, unknown>[] = []
  readonly tokens = new Map<string, Tok>()
  secrets: Record<string, unknown> = {}
  /** Paths the role's policy allows; everything else is 403 "permission denied" with a valid token. */
  allowed: (path: string) => boolean = () => true
  /** Next responses to force, per operation (status + errors), consumed in order. */
  readonly failNext: Record<string, { status: number; errors: string[]; delayMs?: number }[]> = {}
  private seq = 0

  constructor(
    private readonly clock: ManualClock,
    public opts: FakeTokenOptions,
  ) {
    this.install()
  }

  get lastToken(): string {
    return [...this.tokens.keys()].at(-1) ?? ''
  }

  get writes(): number {
    return this.counts.login + this.counts.renew + this.counts.revoke
  }

  revokeAll(): void {
    for (const t of this.tokens.values()) t.revoked = true
  }

  private nowS(): number {
    return Math.floor(this.clock.now() / 1000)
  }

  private dead(token: string | undefined): 'expired' | 'revoked' | 'unknown' | undefined {
    const t = token ? this.tokens.get(token) : undefined
    if (!t) return 'unknown'
    if (t.revoked) return 'revoked'
    if (this.nowS() >= t.expire) return 'expired'
    return undefined
  }

  private forbidden(op: string, token: string | undefined): [number, unknown] | undefined {
    const d = this.dead(token)
    if (!d) return undefined
    if (d !== 'unknown') this.deadTokenRequests.push({ op, reason: d })
    return [403, { errors: [this.opts.oldWording ? 'permission denied' : '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n'] }]
  }

  private forced(op: string): [number, unknown] | undefined {
    const f = this.failNext[op]?.shift()
    return f ? [f.status, { errors: f.errors }] : undefined
  }

  private install(): void {
    const self = this
    const scope = nock(VAULT).persist()
    scope.post(/\/v1\/auth\/[^/]+\/login$/).reply(function (_uri, body) {
      self.counts.login++
      self.loginBodies.push(body as Record<string, unknown>)
      const forced = self.forced('login')
      if (forced) return forced
      const token = `hvs.FAKE${String(++self.seq).padStart(4, '0')}abcdefghijklmnopqrstuv`
      const issued = self.nowS()
      const ttl = self.opts.maxTtl ? Math.min(self.opts.ttl, self.opts.maxTtl) : self.opts.ttl
      self.tokens.set(token, { issued, expire: issued + ttl, revoked: false })
      return [200, { auth: { client_token: token, accessor: `acc-${self.seq}`, policies: ['default', 'app'], token_policies: ['default', 'app'], lease_duration: ttl, renewable: self.opts.renewable ?? true, token_type: self.opts.type ?? 'service' } }]
    })
    scope.get('/v1/auth/token/lookup-self').reply(function () {
      self.counts.lookup++
      const token = this.req.headers['x-vault-token'] as string | undefined
      const forced = self.forced('lookup')
      if (forced) return forced
      const denied = self.forbidden('lookup', token)
      if (denied) return denied
      const t = self.tokens.get(token!)!
      return [200, { data: { accessor: 'acc', ttl: t.expire - self.nowS(), creation_ttl: self.opts.ttl, renewable: self.opts.renewable ?? true, type: self.opts.type ?? 'service', policies: ['default', 'app'], explicit_max_ttl: 0, issue_time: new Date(t.issued * 1000).toISOString(), expire_time: new Date(t.expire * 1000).toISOString() } }]
    })
    scope.post('/v1/auth/token/renew-self').reply(function () {
      self.counts.renew++
      const token = this.req.headers['x-vault-token'] as string | undefined
      const forced = self.forced('renew')
      if (forced) return forced
      const denied = self.forbidden('renew', token)
      if (denied) return denied
      if (self.opts.type === 'batch') return [400, { errors: ['batch tokens cannot be renewed'] }]
      if (self.opts.renewable === false) return [400, { errors: ['lease is not renewable'] }]
      const t = self.tokens.get(token!)!
      let ttl = self.opts.ttl
      const warnings: string[] = []
      if (self.opts.maxTtl) {
        const rem = t.issued + self.opts.maxTtl - self.nowS()
        if (rem <= 0) return [500, { errors: ['past the max TTL, cannot renew'] }]
        if (ttl > rem) {
          ttl = rem
          warnings.push(`TTL of "${self.opts.ttl}s" exceeded the effective max_ttl of "${rem}s"; TTL value is capped accordingly`)
        }
      }
      t.expire = self.nowS() + ttl
      return [200, { warnings: warnings.length ? warnings : null, auth: { client_token: token, accessor: 'acc', lease_duration: ttl, renewable: true, token_type: 'service', policies: ['default', 'app'] } }]
    })
    scope.post('/v1/auth/token/revoke-self').reply(function () {
      self.counts.revoke++
      const token = this.req.headers['x-vault-token'] as string | undefined
      const denied = self.forbidden('revoke', token)
      if (denied) return denied
      self.tokens.get(token!)!.revoked = true
      return [204, '']
    })
    scope.get(/\/v1\/(?!auth\/).*/).reply(function (uri) {
      self.counts.read++
      const token = this.req.headers['x-vault-token'] as string | undefined
      const forced = self.forced('read')
      if (forced) return forced
      const denied = self.forbidden('read', token)
      if (denied) return denied
      const path = uri.replace(/^\/v1\//, '')
      if (!self.allowed(path)) return [403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] }]
      const secret = self.secrets[path]
      if (secret === undefined) return [404, { errors: [] }]
      return [200, { data: secret, lease_duration: 0, renewable: false }]
    })
  }
}

export function cleanNock(): void {
  nock.cleanAll()
}
