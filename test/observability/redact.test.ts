import assert from 'node:assert/strict'
import { createLogger } from '../../lib/log.js'
import { CredentialRegistry, credentials, quote, REDACTED } from '../../lib/redact.js'
import { VaultRequestError } from '../../lib/vault/errors.js'
import { prng } from '../support/prng.js'

/** The credential shapes as they were (three global regexes): the oracle for equivalence. */
const OLD_SHAPES = [/\bhv[sbr]\.[A-Za-z0-9_-]{20,}/g, /\b[sbr]\.[A-Za-z0-9]{24,}/g, /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g]
const oldText = (s: string) => OLD_SHAPES.reduce((out, shape) => out.replace(shape, REDACTED), s)

function ms(f: () => void): number {
  const t = performance.now()
  f()
  return performance.now() - t
}

describe('redaction', () => {
  it('scrubs registered credentials and credential-shaped strings from text and log objects', () => {
    const r = new CredentialRegistry()
    r.add('my-approle-secret-id-123')
    const text = r.text('login with my-approle-secret-id-123 and hvs.CAESIJ0123456789abcdefghijklmnop and eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig')
    assert.equal(text, `login with ${REDACTED} and ${REDACTED} and ${REDACTED}`)
    assert.deepEqual(r.value({ headers: { 'X-Vault-Token': 'abc' }, jwt: 'x', ttl: 30, role: 'app' }), { headers: REDACTED, jwt: REDACTED, ttl: 30, role: 'app' })
  })

  it('holds only live credentials: a forgotten one is no longer scrubbed by value, a shared one stays until its last user forgets it', () => {
    const r = new CredentialRegistry()
    r.add('first-credential')
    r.add('second-credential')
    r.add('second-credential')
    r.forget('first-credential')
    r.forget('second-credential')
    assert.equal(r.text('first-credential second-credential'), `first-credential ${REDACTED}`)
    assert.equal(r.size, 1)
    r.forget('second-credential')
    assert.equal(r.size, 0)
  })

  it('finds a credential inside a value, plain or base64 (standard or URL-safe, any alignment)', () => {
    const r = new CredentialRegistry()
    const token = 'custom-token-0123456789'
    r.add(token)
    assert.equal(r.contains(`prefix ${token} suffix`), true)
    for (const pad of ['', 'x', 'xy']) {
      const b64 = Buffer.from(`${pad}${token}!`).toString('base64')
      assert.equal(r.contains(b64), true, `base64 with ${pad.length} bytes before`)
      assert.equal(r.contains(b64.replace(/\+/g, '-').replace(/\//g, '_')), true)
    }
    assert.equal(r.contains('nothing here at all, just text'), false)
  })

  it('costs one pass over the text however many credentials are held', () => {
    const r = new CredentialRegistry()
    for (let i = 0; i < 20_000; i++) r.add(`credential-${i}-${'x'.repeat(16)}`)
    // 20 000 held: still found exactly, and a miss is a miss.
    assert.equal(r.text(`a credential-19999-${'x'.repeat(16)} b`), `a ${REDACTED} b`)
    assert.equal(r.text('credential-20000-short'), 'credential-20000-short')
  })

  it('credentials sharing their head (hvs.CAES, a JWT header) or their tail: a text repeating it costs one pass; time printed', () => {
    // A reviewer measured 3 s to scan 1 MB of "hvs.CAESI" with 1 000 tokens held: the index was keyed by the head.
    const rand = prng(7)
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const random = (n: number) => Array.from({ length: n }, () => chars[Math.floor(rand() * chars.length)]).join('')
    const r = new CredentialRegistry()
    const tokens = Array.from({ length: 1000 }, () => `hvs.CAESI${random(80)}`)
    const sameTail = Array.from({ length: 1000 }, (_, i) => `secret-${i}-${'z'.repeat(24)}`)
    // Service-account JWTs of one cluster share a long header (alg, kid): 280 characters here.
    const header = `eyJhbGciOiJSUzI1NiIsImtpZCI6${'A'.repeat(252)}`
    const jwts = Array.from({ length: 1000 }, () => `${header}.${random(200)}.${random(256)}`)
    for (const t of [...tokens, ...sameTail, ...jwts]) r.add(t)
    for (const [what, unit] of [['head', 'hvs.CAESI'], ['tail', 'zzzzzzzz'], ['JWT header', header]] as const) {
      const text = unit.repeat(Math.ceil(1_000_000 / unit.length))
      let found = true
      let scrubbed = ''
      const took = ms(() => {
        found = r.contains(text)
        scrubbed = r.text(text)
      })
      console.log(`      1 MB repeating the shared ${what} "${unit.slice(0, 12)}", 3 000 credentials held: contains() + text() ${took.toFixed(1)} ms`)
      assert.equal(found, false)
      assert.equal(scrubbed.length, text.length, 'nothing replaced')
    }
    // Still found, each of them, among their look-alikes.
    assert.equal(r.text(`a ${tokens[999]} b ${sameTail[0]} c ${tokens[0]} d ${jwts[500]}`), `a ${REDACTED} b ${REDACTED} c ${REDACTED} d ${REDACTED}`)
    assert.equal(r.contains(Buffer.from(`x${tokens[500]}`).toString('base64')), true)
  })

  it('credential shapes: the same output as the old regexes on 20 000 generated strings; 1 MB of each adversarial shape: time printed', () => {
    const r = new CredentialRegistry()
    const rnd = prng(29)
    const pieces = ['eyJ', '-', '.', '_', ' ', 'a', 'abcde', 'x.', 'eyJhbGciOi', 'hvs.', 's.', 'A'.repeat(24), '0123456789', '=', 'é']
    for (let n = 0; n < 20_000; n++) {
      let s = ''
      const len = Math.floor(rnd() * 30)
      for (let i = 0; i < len; i++) s += pieces[Math.floor(rnd() * pieces.length)]
      assert.equal(r.text(s), oldText(s), JSON.stringify(s))
    }
    // Real JWTs, wherever they stand (after '-' too, where the old regex started over inside its own first segment).
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
    assert.equal(r.text(`Bearer ${jwt}, id-${jwt}; eyJ-eyJ-${jwt}`), `Bearer ${REDACTED}, id-${REDACTED}; ${REDACTED}`)
    assert.equal(r.text(`x${jwt}`), `x${jwt}`, 'no word boundary before it: not a JWT shape, as before')

    const MB = 1_000_000
    const rep = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB)
    const shapes: Record<string, string> = {
      '"eyJ-" (one segment of JWT starts)': rep('eyJ-'),
      '"eyJ-" run, ".", "eyJ-" run (no third segment)': rep('eyJ-').slice(0, MB / 2) + '.' + rep('eyJ-').slice(0, MB / 2),
      '"eyJaaaaa." (two-segment starts)': rep('eyJaaaaa.'),
      '"hvs." + 19 characters (one short of a token)': rep(`hvs.${'a'.repeat(19)}.`),
      '"s." + 23 characters': rep(`s.${'A'.repeat(23)}.`),
      '"hvs-s." (starts inside runs)': rep('hvs-s.'),
    }
    const lines = Object.entries(shapes).map(([shape, s]) => `      ${shape}: ${ms(() => r.text(s)).toFixed(1)} ms`)
    const old = 'eyJ-'.repeat(4000)
    lines.push(`      the old JWT regex on 16 KB of "eyJ-": ${ms(() => oldText(old)).toFixed(1)} ms (this code: ${ms(() => r.text(old)).toFixed(2)} ms)`)
    lines.push(`      quote() of 8 KB of "eyJ-" (a template key): ${ms(() => quote('eyJ-'.repeat(2100), 80)).toFixed(2)} ms`)
    console.log(lines.join('\n'))
    assert.equal(r.text(shapes['"eyJ-" (one segment of JWT starts)']!), shapes['"eyJ-" (one segment of JWT starts)'])
  })

  it('quote() bounds untrusted text and redacts a credential that starts inside the quoted part', () => {
    credentials.add('quoted-credential-0123456789')
    try {
      const long = `key/${'a'.repeat(1_000_000)}`
      assert.ok(quote(long).length < 260)
      assert.match(quote(long), /1000004 characters/)
      assert.equal(quote(`${'b'.repeat(190)}quoted-credential-0123456789`).includes('quoted-credential'), false)
    } finally {
      credentials.forget('quoted-credential-0123456789')
    }
  })

  it('a VaultRequestError carries neither the token nor an unbounded quote of Vault\'s text', () => {
    const token = 'hvs.SHOULDNEVERAPPEAR000000000000'
    const e = new VaultRequestError('read', 'bad_request', 400, `secret/data/${'k'.repeat(5000)}`, `no handler for ${token} ${'z'.repeat(10_000)}`)
    const lines: string[] = []
    createLogger({ level: 'debug', write: (l) => lines.push(l) }).error({ error: e }, e.message)
    const all = JSON.stringify(e) + e.message + e.stack + e.vaultMessage + lines.join('')
    assert.equal(all.includes('hvs.SHOULD'), false)
    assert.ok(e.message.length < 700, `message of ${e.message.length} characters`)
  })
})
