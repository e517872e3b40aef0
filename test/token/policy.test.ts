import assert from 'node:assert/strict'
import type { VaultAuthResponse } from '../../lib/vault/client.js'
import { VaultRequestError, type VaultErrorKind } from '../../lib/vault/errors.js'
import { seedLease, type TokenLease } from '../../lib/token/lease.js'
import {
  afterDeadRead,
  afterLogin,
  afterMint,
  afterLookup,
  afterRenewal,
  backoffDelay,
  carriedOver,
  boundedByParent,
  decide,
  decideLease,
  type Done,
  dueActions,
  effectiveThreshold,
  effectiveSkew,
  initialState,
  judgeDeniedRead,
  nextDueAt,
  rebaseGates,
  renewalCapped,
  renewalIncrement,
  type SessionState,
  tokenEndsAt,
  type TokenPolicy,
} from '../../lib/token/policy.js'
import type { VaultReadResponse } from '../../lib/vault/client.js'

const T0 = 1_000_000
const policy: TokenPolicy = { renewThresholdSeconds: 30, lookupIntervalMs: 10_000, expirySkewSeconds: 2 }
const canLogin = { canLogin: true }
const staticToken = { canLogin: false }

function lease(over: Partial<TokenLease> = {}): TokenLease {
  return {
    token: 't', origin: 'login', accessor: 'a', policies: [], renewable: true, type: 'service', expireTime: T0 + 3600_000, issueTime: T0,
    creationTtl: 3600, explicitMaxTtl: 0, period: 0, verifiedAt: T0, lookedUp: true, maxTtlReached: false, numUses: 0, ...over,
  }
}
const state = (l?: TokenLease, over: Partial<SessionState> = {}): SessionState => ({ ...initialState(), lease: l, ...over })
const err = (kind: VaultErrorKind, status?: number) => new VaultRequestError('renew', kind, status, 'auth/token/renew-self', kind)
const auth = (leaseDuration: number, warnings: string[] = []): VaultAuthResponse => ({
  auth: { client_token: 'new', accessor: 'b', policies: ['default'], lease_duration: leaseDuration, renewable: true, token_type: 'service', metadata: {}, num_uses: 0 },
  warnings,
})
const never = () => 1

describe('token policy (pure)', () => {
  describe('decide', () => {
    it('logs in when there is no token, and names why', () => {
      assert.deepEqual(decide(state(), T0, policy), { action: 'login', reason: 'first' })
      assert.deepEqual(decide(state(undefined, { lostReason: 'revoked' }), T0, policy), { action: 'login', reason: 'revoked' })
    })

    it('answers from the cache between lookups and looks up once the interval has passed', () => {
      const s = state(lease())
      assert.deepEqual(decide(s, T0 + 9_999, policy), { action: 'use' })
      assert.deepEqual(decide(s, T0 + 10_000, policy), { action: 'lookup', reason: 'interval' })
      assert.deepEqual(decide(s, T0 + 10_000, policy, canLogin, { lookup: true }), { action: 'use' })
    })

    it('looks up when the clock stepped backwards past the last verification', () => {
      assert.deepEqual(decide(state(lease()), T0 - 60_000, policy), { action: 'lookup', reason: 'clock_stepped_back' })
    })

    it('renews at or below the threshold, not above', () => {
      const s = state(lease({ expireTime: T0 + 31_000 }))
      assert.deepEqual(decide(s, T0, policy), { action: 'use' })
      assert.deepEqual(decide(s, T0 + 1_000, policy), { action: 'renew', remainingSeconds: 30, thresholdSeconds: 30 })
    })

    it('never renews a non-renewable token: logs in before it expires, keeps it while a login backs off', () => {
      const l = lease({ renewable: false, expireTime: T0 + 20_000 })
      assert.deepEqual(decide(state(l), T0, policy), { action: 'login', reason: 'not_renewable' })
      assert.deepEqual(decide(state(l, { loginRetryAt: T0 + 5_000 }), T0, policy), { action: 'use' })
    })

    it('after a capped renewal, logs in (max_ttl) instead of renewing again', () => {
      const l = lease({ maxTtlReached: true, expireTime: T0 + 25_000 })
      assert.deepEqual(decide(state(l), T0, policy), { action: 'login', reason: 'max_ttl' })
    })

    it('skips a renewal that the known explicit max TTL makes useless', () => {
      const l = lease({ explicitMaxTtl: 3620, expireTime: T0 + 3620_000 })
      assert.deepEqual(decide(state(l), T0 + 3595_000, policy, canLogin, { lookup: true }), { action: 'login', reason: 'max_ttl' })
    })

    it('never hands out a token the cache knows is expired (or about to be, within the skew)', () => {
      const l = lease({ expireTime: T0 + 1_500 })
      assert.deepEqual(decide(state(l), T0, policy), { action: 'login', reason: 'expired' })
      assert.deepEqual(decide(state(l, { loginRetryAt: T0 + 4_000 }), T0, policy), { action: 'backoff', retryAt: T0 + 4_000 })
    })

    it('a transient renewal failure waits for its retry time, still using the valid token', () => {
      const l = lease({ expireTime: T0 + 20_000 })
      assert.deepEqual(decide(state(l, { renewRetryAt: T0 + 5_000 }), T0, policy), { action: 'use' })
      assert.deepEqual(decide(state(l, { renewRetryAt: T0 + 5_000 }), T0 + 5_000, policy, canLogin, { lookup: true }), {
        action: 'renew',
        remainingSeconds: 15,
        thresholdSeconds: 30,
      })
    })

    it('a static token is an input, not an override: looked up first, served until it ends, never "logged in"', () => {
      const seed = seedLease('s', T0)
      assert.deepEqual(decide(state(seed), T0, policy, staticToken), { action: 'lookup', reason: 'unverified' })
      const ending = lease({ renewable: false, expireTime: T0 + 20_000, origin: 'seed' })
      assert.deepEqual(decide(state(ending), T0, policy, staticToken), { action: 'use', expiring: true })
      assert.deepEqual(decide(state(undefined, { lostReason: 'revoked' }), T0, policy, staticToken), { action: 'unavailable' })
    })

    it('a role whose tokens may not look themselves up: no lookup-self, a login at the threshold instead of a renewal', () => {
      const s = state(lease({ lookedUp: false, expireTime: T0 + 3600_000 }), { lookupDenied: true, renewDenied: true })
      assert.deepEqual(decide(s, T0 + 3000_000, policy), { action: 'use' })
      assert.deepEqual(decide(s, T0 + 3570_000, policy), { action: 'login', reason: 'self_denied' })
    })

    it('a backoff gate set before the host clock stepped back keeps the wait it had left, not the step', () => {
      // A login failed at T0 + 1 h and set a 30 s gate; then the clock stepped back an hour.
      const s = state(undefined, { loginRetryAt: T0 + 3600_000 + 30_000, gatesSetAt: T0 + 3600_000 })
      assert.deepEqual(decide(s, T0, policy), { action: 'backoff', retryAt: T0 + 30_000 })
      assert.deepEqual(nextDueAt(s, T0, policy), { at: T0 + 30_000, action: 'login' })
      // The session re-anchors its state at its first look after the step; later looks measure from there.
      const l = rebaseGates(state(lease({ expireTime: T0 + 20_000, verifiedAt: T0 - 20_000 }), { renewRetryAt: T0 + 3600_000 + 4_000, lookupRetryAt: T0 + 3600_000 + 10_000, gatesSetAt: T0 + 3600_000 }), T0)
      assert.deepEqual(decide(l, T0 + 3_999, policy), { action: 'use' })
      assert.deepEqual(decide(l, T0 + 10_000, policy), { action: 'lookup', reason: 'interval' }, 'the lookup gate: 10 s from the step, not an hour')
      assert.equal(dueActions({ ...l, lookupDenied: true }, T0, policy).find((d) => d.action === 'renew')?.at, T0 + 4_000, 'the renewal gate: 4 s')
      assert.equal(rebaseGates(l, T0 + 5), l, 'no step: the same state')
    })

    it('each action at most once per refresh: a refresh always ends', () => {
      const states = [state(), state(lease({ expireTime: T0 + 20_000 })), state(lease({ renewable: false, expireTime: T0 + 5_000 })), state(seedLease('s', T0))]
      for (const s of states) {
        for (const a of [canLogin, staticToken]) {
          const done: Done = {}
          for (let step = 0; step < 4; step++) {
            const d = decide(s, T0 + 20_000, policy, a, done)
            if (d.action !== 'lookup' && d.action !== 'renew' && d.action !== 'login') break
            assert.equal(done[d.action], undefined, `${d.action} asked for twice`)
            done[d.action] = true
          }
        }
      }
    })
  })

  describe('nextDueAt: when the next action falls due', () => {
    const cases: [string, SessionState, typeof canLogin][] = [
      ['a fresh token', state(lease()), canLogin],
      ['a token near its threshold', state(lease({ expireTime: T0 + 45_000 })), canLogin],
      ['a renewal backing off', state(lease({ expireTime: T0 + 25_000 }), { renewRetryAt: T0 + 8_000 }), canLogin],
      ['a non-renewable token', state(lease({ renewable: false, expireTime: T0 + 100_000 })), canLogin],
      ['a capped token with a login backing off', state(lease({ maxTtlReached: true, expireTime: T0 + 40_000 }), { loginRetryAt: T0 + 20_000 }), canLogin],
      ['an explicit max TTL', state(lease({ explicitMaxTtl: 100, expireTime: T0 + 90_000 })), canLogin],
      ['lookups denied', state(lease({ lookedUp: false, expireTime: T0 + 120_000 }), { lookupDenied: true, renewDenied: true }), canLogin],
      ['no token, login backing off', state(undefined, { loginRetryAt: T0 + 7_000 }), canLogin],
      ['a static token', state(lease({ origin: 'seed', renewable: false, expireTime: T0 + 60_000 })), staticToken],
      ['a lookup retry gate', state(lease(), { lookupRetryAt: T0 + 12_345 }), canLogin],
    ]
    for (const [name, s, a] of cases) {
      it(`agrees with decide, to the millisecond: ${name}`, () => {
        const due = nextDueAt(s, T0, policy, a)
        assert.ok(due, 'something falls due')
        for (const t of [T0, Math.floor((T0 + due.at) / 2), due.at - 1]) {
          if (t < due.at && t >= T0) assert.ok(['use', 'backoff'].includes(decide(s, t, policy, a).action), `${name}: nothing due at ${t - T0} ms`)
        }
        assert.equal(decide(s, due.at, policy, a).action, due.action, `${name}: ${due.action} at ${due.at - T0} ms`)
      })
    }

    it('names the renewal at the threshold and the login at the explicit max TTL', () => {
      const l = lease({ explicitMaxTtl: 7200, expireTime: T0 + 3600_000 })
      const due = dueActions(state(l), T0, policy)
      assert.deepEqual(due.find((d) => d.action === 'renew'), { at: T0 + 3570_000, action: 'renew' })
      assert.deepEqual(due.find((d) => d.action === 'login'), { at: T0 + 7170_000, action: 'login' })
    })
  })

  describe('transitions', () => {
    it('a lookup-self denied to a token fresh from its login marks the identity: its tokens are alive', () => {
      const l = lease({ lookedUp: false })
      const denied = new VaultRequestError('lookup', 'permission_denied', 403, 'auth/token/lookup-self', '1 error occurred: permission denied')
      const { state: s, result } = afterLookup(state(l), l, { ok: false, error: denied }, T0 + 10_000, policy)
      assert.equal(result, 'denied')
      assert.equal(s.lease, l)
      assert.equal(s.lookupDenied, true)
    })

    it('"invalid token" on lookup drops the token, whatever came before; a plain 403 on a token once looked up does too', () => {
      const l = lease()
      const invalid = new VaultRequestError('lookup', 'invalid_token', 403, 'auth/token/lookup-self', 'permission denied, invalid token')
      assert.equal(afterLookup(state(l), l, { ok: false, error: invalid }, T0, policy).state.lease, undefined)
      const plain = new VaultRequestError('lookup', 'permission_denied', 403, 'auth/token/lookup-self', 'permission denied')
      const after = afterLookup(state(l), l, { ok: false, error: plain }, T0, policy)
      assert.equal(after.state.lease, undefined)
      assert.equal(after.state.lostReason, 'revoked')
    })

    it('a lookup that fails for Vault\'s own reasons keeps the token and retries after one interval', () => {
      const l = lease()
      const { state: s, result } = afterLookup(state(l), l, { ok: false, error: err('sealed', 503) }, T0, policy)
      assert.equal(result, 'failure')
      assert.equal(s.lease, l)
      assert.equal(s.lookupRetryAt, T0 + 10_000)
    })

    it('renewal outcomes: capped, not renewable, past max TTL, denied, dead, transient', () => {
      const l = lease({ expireTime: T0 + 20_000 })
      const capped = afterRenewal(state(l), l, { ok: true, value: auth(620, ['TTL of "1h" exceeded the effective max_ttl of "10m20s"; TTL value is capped accordingly']) }, T0, policy, canLogin, never)
      assert.equal(capped.result, 'capped')
      assert.equal(capped.state.lease?.maxTtlReached, true)
      assert.equal(afterRenewal(state(l), l, { ok: false, error: err('not_renewable', 400) }, T0, policy, canLogin, never).state.lease?.renewable, false)
      assert.equal(afterRenewal(state(l), l, { ok: false, error: err('past_max_ttl', 500) }, T0, policy, canLogin, never).state.lease?.maxTtlReached, true)
      assert.equal(afterRenewal(state(l), l, { ok: false, error: err('permission_denied', 403) }, T0, policy, canLogin, never).state.renewDenied, true)
      assert.equal(afterRenewal(state(l), l, { ok: false, error: err('invalid_token', 403) }, T0, policy, canLogin, never).state.lease, undefined)
      const transient = afterRenewal(state(l), l, { ok: false, error: err('unavailable', 503) }, T0, policy, canLogin, never)
      assert.equal(transient.state.lease, l)
      assert.equal(transient.state.renewRetryAt, T0 + 1_000)
    })

    it('recognises a capped renewal by Vault\'s warning, by an expiry that did not move, or by a lease that does not outlast the threshold', () => {
      const l = lease({ expireTime: T0 + 25_000 })
      assert.equal(renewalCapped(l, auth(620, ['TTL of "1h" exceeded the effective max_ttl of "10m20s"; TTL value is capped accordingly']), T0, 30), true)
      assert.equal(renewalCapped(l, auth(25), T0, 30), true)
      assert.equal(renewalCapped(l, auth(3600), T0, 30), false)
      assert.equal(renewalCapped(lease({ expireTime: T0 + 25_000 }), auth(20), T0, 10), true, 'the new expiry is earlier than the old one')
    })

    it('a static token is not given up on a short grant alone, and asks for its creation TTL back', () => {
      const l = lease({ origin: 'seed', expireTime: T0 + 20_000, creationTtl: 3600 })
      assert.equal(renewalCapped(l, auth(25), T0, 30, staticToken), false, 'a sticky small TTL from someone else is not the max TTL')
      assert.equal(renewalIncrement(l, staticToken), 3600)
      assert.equal(renewalIncrement(l, canLogin), undefined, 'auth-method tokens get their role\'s TTL without an increment')
    })

    it('a failed login backs off: 5 min cap when Vault refused, 30 s when Vault was down or no credential could be had', () => {
      const refused = afterLogin(state(), { ok: false, error: new VaultRequestError('login', 'bad_request', 400, 'auth/kubernetes/login', 'invalid role name') }, T0, () => 1)
      assert.equal(refused.state.loginFailures, 1)
      let s = refused.state
      for (let i = 0; i < 12; i++) s = afterLogin(s, { ok: false, error: new VaultRequestError('login', 'bad_request', 400, 'auth/kubernetes/login', 'x') }, T0, () => 1).state
      assert.equal(s.loginRetryAt - T0, 300_000)
      let d = state()
      for (let i = 0; i < 12; i++) d = afterLogin(d, { ok: false, error: new Error('projected token file missing') }, T0, () => 1).state
      assert.equal(d.loginRetryAt - T0, 30_000)
      const quota = afterLogin(state(), { ok: false, error: new VaultRequestError('login', 'rate_limited', 429, 'auth/kubernetes/login', 'quota', 60) }, T0, () => 1)
      assert.equal(quota.state.loginRetryAt - T0, 60_000, 'Retry-After wins over the shorter backoff step')
      // A quota that lifts is met when Vault said, not at the end of a backoff grown while it held.
      let held = state()
      for (let i = 0; i < 8; i++) held = afterLogin(held, { ok: false, error: new Error('connect ECONNREFUSED') }, T0, () => 1).state
      assert.equal(held.loginRetryAt - T0, 30_000)
      const lifted = afterLogin(held, { ok: false, error: new VaultRequestError('login', 'rate_limited', 429, 'auth/kubernetes/login', 'quota', 5) }, T0, () => 1)
      assert.equal(lifted.state.loginRetryAt - T0, 5_000, 'Retry-After replaces the 30 s step, as go-retryablehttp does')
    })

    it('a token refused while young, twice in a row, sends the next login into its backoff (no login every poll)', () => {
      const young = (token: string, at: number) => lease({ token, issueTime: at, verifiedAt: at, expireTime: at + 3600_000 })
      const first = afterDeadRead(state(young('t1', T0)), young('t1', T0), 'invalid_token', T0 + 10, policy, () => 1)
      assert.equal(first.youngDeaths, 1)
      assert.deepEqual(decide(first, T0 + 10, policy), { action: 'login', reason: 'revoked' }, 'one death: replaced at once')
      const second = afterDeadRead({ ...first, lease: young('t2', T0 + 20) }, young('t2', T0 + 20), 'invalid_token', T0 + 30, policy, () => 1)
      assert.equal(second.youngDeaths, 2)
      assert.deepEqual(decide(second, T0 + 30, policy), { action: 'backoff', retryAt: T0 + 1_030 })
      const old = lease({ token: 't3', issueTime: T0 - 3600_000 })
      assert.equal(afterDeadRead({ ...second, lease: old }, old, 'invalid_token', T0, policy).youngDeaths, 0, 'an old token\'s death resets the count')
    })

    it('a denied read: dead on "invalid token"; a policy denial once Vault confirmed the token; at most one login where lookups are denied', () => {
      const l = lease({ verifiedAt: T0 })
      assert.equal(judgeDeniedRead(state(l), l, 'invalid_token', T0 + 5), 'dead')
      assert.equal(judgeDeniedRead(state(l), l, 'permission_denied', T0 - 5), 'policy')
      assert.equal(judgeDeniedRead(state(l), l, 'permission_denied', T0 + 5), 'confirm')
      const denied = state(l, { lookupDenied: true })
      assert.equal(judgeDeniedRead(denied, l, 'permission_denied', T0 + 5), 'dead')
      const after = afterDeadRead(denied, l, 'permission_denied', T0 + 10, policy)
      assert.equal(after.deniedReadLoginAt, T0 + 10)
      assert.equal(after.lookupDenied, false, 'the denial may have been the token dying: the next token is asked again')
      const fresh = lease({ token: 'fresh', issueTime: T0 + 11, verifiedAt: T0 + 11 })
      assert.equal(judgeDeniedRead({ ...after, lease: fresh, lookupDenied: true }, fresh, 'permission_denied', T0 + 20), 'policy')
    })
  })

  it('a threshold at or above the token TTL falls back to half the TTL (no renewal on every poll)', () => {
    assert.equal(effectiveThreshold(lease({ creationTtl: 20 }), 30), 10)
    assert.equal(effectiveThreshold(lease({ creationTtl: 3600 }), 30), 30)
    assert.equal(effectiveThreshold(lease({ period: 40, creationTtl: 40 }), 60), 20)
  })

  it('a skew at or above the lease TTL falls back to a quarter of the TTL (a fresh grant is not dead on arrival)', () => {
    const brief = lease({ creationTtl: 2, expireTime: T0 + 2_000 })
    assert.equal(effectiveSkew(brief, policy), 0.5)
    assert.equal(effectiveSkew(lease(), policy), 2)
    // Fresh from its login: used; 1.5 s later (0.5 s left) it is dead, and a login follows.
    assert.deepEqual(decide(state(brief), T0 + 10, policy, canLogin, { login: true }), { action: 'use' })
    assert.deepEqual(decide(state(brief), T0 + 1_500, policy, canLogin), { action: 'login', reason: 'expired' })
    assert.equal(nextDueAt(state(brief), T0 + 10, policy)?.at, T0 + 1_000, 'the login at the (halved) threshold')
  })

  it('backs off exponentially with jitter in [50 %, 100 %], capped at 5 minutes', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => backoffDelay(n, () => 1)), [1000, 2000, 4000, 8000])
    assert.equal(backoffDelay(2, () => 0), 1000)
    assert.equal(backoffDelay(30, () => 1), 300_000)
  })

  describe('carriedOver: what a dropped session leaves to its identity\'s next one', () => {
    it('nothing after a clean session: the next one starts fresh', () => {
      assert.equal(carriedOver(state(lease())), undefined)
    })

    it('the login backoff, failure count included even once the retry time has passed', () => {
      const failed = afterLogin(state(), { ok: false, error: err('bad_request', 400) }, T0, () => 1).state
      const carried = carriedOver(failed)!
      assert.deepEqual({ at: carried.loginRetryAt, n: carried.loginFailures }, { at: T0 + 1000, n: 1 })
      // The next session, past the retry time, logs in; a second refusal then waits 2 s, not 1 s again.
      const next = { ...initialState(), ...carried }
      assert.deepEqual(decide(next, T0 + 5000, policy), { action: 'login', reason: 'first' })
      assert.equal(afterLogin(next, { ok: false, error: err('bad_request', 400) }, T0 + 5000, () => 1).state.loginRetryAt, T0 + 7000)
    })

    it('self-denial (a role without the default policy), so the next session does not ask lookup-self again', () => {
      assert.deepEqual(carriedOver(state(lease(), { lookupDenied: true })), { loginRetryAt: 0, gatesSetAt: 0, loginFailures: 0, lastLoginError: undefined, lookupDenied: true, renewDenied: false })
      assert.equal(carriedOver(state(lease(), { renewDenied: true }))!.renewDenied, true)
    })
  })
})

describe('secret lease policy (pure): the token rule applied to a dynamic secret\'s lease', () => {
  /** A lease read at T0 for 1 h (what leaseFromSecret builds). */
  const secret = (over: Partial<TokenLease> = {}) => lease({ token: 'database/creds/app/x', accessor: 'database/creds/app/x', ...over })
  const leased = (l?: TokenLease, over: Partial<SessionState> = {}) => state(l, { lookupDenied: true, ...over })
  const free = { current: true, endsAt: Infinity }
  const answer = (leaseDuration: number): VaultReadResponse => ({ data: { username: 'u', password: 'p' }, lease_id: 'database/creds/app/y', lease_duration: leaseDuration, renewable: true, warnings: [] })

  describe('tokenEndsAt: when the token that read a lease ends for good', () => {
    it('never, as far as anyone knows, while renewals can extend it', () => {
      assert.equal(tokenEndsAt(state(lease())), Infinity)
      assert.equal(tokenEndsAt(state(lease({ expireTime: null }))), Infinity, 'a token that never expires (root)')
    })

    it('at its expiry once it cannot be extended: not renewable, capped, or renewal denied', () => {
      for (const s of [state(lease({ renewable: false })), state(lease({ maxTtlReached: true })), state(lease(), { renewDenied: true })]) {
        assert.equal(tokenEndsAt(s), T0 + 3600_000)
      }
    })

    it('at its explicit max TTL when one is known, renewable or not', () => {
      assert.equal(tokenEndsAt(state(lease({ explicitMaxTtl: 7200 }))), T0 + 7200_000)
      assert.equal(tokenEndsAt(state(lease({ explicitMaxTtl: 7200, renewable: false }))), T0 + 3600_000)
    })

    it('already, when the session holds no token', () => {
      assert.equal(tokenEndsAt(state()), Number.NEGATIVE_INFINITY)
    })
  })

  describe('decideLease', () => {
    it('serves the kept lease above the threshold and renews it at the threshold, like a token (no lookups)', () => {
      const s = leased(secret())
      assert.deepEqual(decideLease(s, T0 + 3569_000, policy, free), { action: 'use' })
      assert.deepEqual(decideLease(s, T0 + 3570_000, policy, free), { action: 'renew', remainingSeconds: 30, thresholdSeconds: 30 })
      assert.deepEqual(decideLease(s, T0 + 3570_000, policy, free, { renew: true }), { action: 'use' })
    })

    it('mints again at the threshold when the lease cannot be extended: capped, not renewable, renewal denied', () => {
      const at = T0 + 3575_000
      assert.deepEqual(decideLease(leased(secret({ maxTtlReached: true })), at, policy, free), { action: 'mint', reason: 'max_ttl' })
      assert.deepEqual(decideLease(leased(secret({ renewable: false })), at, policy, free), { action: 'mint', reason: 'not_renewable' })
      assert.deepEqual(decideLease(leased(secret(), { renewDenied: true }), at, policy, free), { action: 'mint', reason: 'renew_denied' })
      assert.deepEqual(decideLease(leased(secret({ renewable: false })), T0 + 3569_000, policy, free), { action: 'use' }, 'not before the threshold')
    })

    it('a lease that expired, or that Vault no longer has, is minted again; a failing mint backs off', () => {
      assert.deepEqual(decideLease(leased(secret()), T0 + 3599_000, policy, free), { action: 'mint', reason: 'expired' })
      assert.deepEqual(decideLease(leased(undefined, { lostReason: 'revoked' }), T0, policy, free), { action: 'mint', reason: 'revoked' })
      assert.deepEqual(decideLease(leased(undefined, { loginRetryAt: T0 + 4_000 }), T0, policy, free), { action: 'backoff', retryAt: T0 + 4_000 })
      assert.deepEqual(decideLease(leased(secret({ renewable: false }), { loginRetryAt: T0 + 3590_000 }), T0 + 3580_000, policy, free), { action: 'use' }, 'the valid lease is served while the mint backs off')
    })

    it('a lease whose token the session no longer holds (a new login, or the old token died) is minted again at once', () => {
      const gone = { current: false, endsAt: Number.NEGATIVE_INFINITY }
      assert.deepEqual(decideLease(leased(secret()), T0 + 60_000, policy, gone), { action: 'mint', reason: 'parent_token' })
      assert.deepEqual(decideLease(leased(secret()), T0 + 60_000, policy, gone, { login: true }), { action: 'use' })
    })

    it('bounded by its token\'s end: renewed while the token outlives the threshold, then it waits for the session\'s next token', () => {
      // The token ends at T0 + 2 h 30 min (capped); the lease renews at 59:30 and 1:59:00 as usual.
      const parent = { current: true, endsAt: T0 + 9000_000 }
      assert.deepEqual(decideLease(leased(secret()), T0 + 3570_000, policy, parent).action, 'renew')
      const renewed = leased(secret({ expireTime: T0 + 7140_000 + 3600_000 }))
      assert.deepEqual(decideLease(renewed, T0 + 8969_000, policy, parent), { action: 'use' })
      // 30 s before the token ends: minting with that token would bind the new lease to the same end.
      assert.deepEqual(decideLease(renewed, T0 + 8970_000, policy, parent), { action: 'use' })
      // The session logged in: a new token, so the parent is no longer current and the lease is minted with it.
      assert.deepEqual(decideLease(renewed, T0 + 8970_000, policy, { current: false, endsAt: Number.NEGATIVE_INFINITY }), { action: 'mint', reason: 'parent_token' })
    })

    it('bounded by its token\'s end, but expiring first itself: renewed to bridge the gap to the next token', () => {
      const parent = { current: true, endsAt: T0 + 3580_000 }
      assert.deepEqual(decideLease(leased(secret()), T0 + 3570_000, policy, parent).action, 'renew')
    })

    it('bounded by its token\'s end: no renewal that could not extend it, and the waiting lease is never served past the end', () => {
      const parent = { current: true, endsAt: T0 + 1800_000 }
      const l = secret()
      assert.equal(boundedByParent(l, Infinity), l, 'a token that can still be extended bounds nothing')
      assert.deepEqual([boundedByParent(l, parent.endsAt).expireTime, boundedByParent(l, parent.endsAt).explicitMaxTtl], [T0 + 1800_000, 1800])
      assert.deepEqual(decideLease(leased(l), T0 + 1770_000, policy, parent), { action: 'use' }, 'no renewal: the lease has 30 min of its own')
      assert.deepEqual(decideLease(leased(l), T0 + 1798_500, policy, parent), { action: 'mint', reason: 'expired' })
    })

    it('each action at most once per refresh: a refresh always ends', () => {
      const cases: [SessionState, { current: boolean; endsAt: number }][] = [
        [leased(secret({ expireTime: T0 + 20_000 })), free],
        [leased(secret({ renewable: false, expireTime: T0 + 5_000 })), free],
        [leased(secret()), { current: false, endsAt: Number.NEGATIVE_INFINITY }],
        [leased(secret({ expireTime: T0 + 25_000 })), { current: true, endsAt: T0 + 26_000 }],
        [leased(), free],
      ]
      for (const [s, parent] of cases) {
        const done: Done = {}
        for (let step = 0; step < 3; step++) {
          const d = decideLease(s, T0 + 10_000, policy, parent, done)
          if (d.action !== 'renew' && d.action !== 'mint') break
          const key = d.action === 'mint' ? 'login' : 'renew'
          assert.equal(done[key], undefined, `${d.action} asked for twice`)
          done[key] = true
        }
      }
    })
  })

  describe('transitions', () => {
    it('a mint keeps the answer\'s lease, anchored to the send time; a failed mint backs off as a login does', () => {
      const { state: s } = afterMint(leased(secret(), { loginFailures: 2 }), { ok: true, value: { answer: answer(600), sentAt: T0 + 5 } }, T0 + 50, never)
      assert.deepEqual([s.lease?.token, s.lease?.expireTime, s.lease?.creationTtl, s.loginFailures], ['database/creds/app/y', T0 + 5 + 600_000, 600, 0])
      const failed = afterMint(leased(secret()), { ok: false, error: err('sealed', 503) }, T0, () => 1)
      assert.equal(failed.state.lease?.token, 'database/creds/app/x', 'the kept lease stays while it is valid')
      assert.equal(failed.state.loginRetryAt, T0 + 1_000)
    })

    it('a lease renewal Vault answers "lease not found" drops the lease (revoked): the next poll mints', () => {
      const l = secret()
      const { state: s } = afterRenewal(leased(l), l, { ok: false, error: err('lease_not_found', 400) }, T0, policy, canLogin, never)
      assert.deepEqual([s.lease, s.lostReason], [undefined, 'revoked'])
    })
  })
})
