/**
 * Issue 11, point 7: templates are rendered in one linear pass with a size bound, and reserved key names are kept or
 * refused with their field, never dropped. Times are printed, never asserted.
 */
import assert from 'node:assert/strict'
import { SpecError } from '../../lib/backend/errors.js'
import { buildSecretManifest, renderTemplate, substitutePlaceholders, TEMPLATE_MAX_CHARACTERS, TEMPLATE_MAX_DEPTH } from '../../lib/poller/secret-manifest.js'
import type { ExternalSecret } from '../../lib/poller/types.js'
import { b64 } from './world.js'
import { prng } from '../support/prng.js'

/** The substitution as it was (a global regex with a lazy bracketed key): the oracle for equivalence. */
const OLD = /<%=\s*data(?:\.([A-Za-z_$][\w$]*)|\[\s*(['"])(.*?)\2\s*\])\s*%>/g
const oldSubstitute = (v: string, data: Record<string, string>) =>
  v.replace(OLD, (whole, dotKey: string | undefined, _q, bracketKey: string | undefined) => {
    const key = dotKey ?? bracketKey ?? ''
    return Object.prototype.hasOwnProperty.call(data, key) ? data[key]! : whole
  })

const es = (template: unknown, data: unknown[] = []): ExternalSecret => ({
  apiVersion: 'kubernetes-client.io/v1',
  kind: 'ExternalSecret',
  metadata: { name: 'app', namespace: 'a', uid: 'u1' },
  spec: { backendType: 'vault', template: template as Record<string, unknown>, data: data as never },
})

function ms(f: () => void): number {
  const t = performance.now()
  f()
  return performance.now() - t
}

describe('tenant: templates in linear time, bounded, no key dropped (issue 11, point 7)', function () {
  this.timeout(60_000)

  it('renders what the regex did, on 20 000 generated strings, except where the regex swallowed a placeholder', () => {
    const rnd = prng(11)
    const pieces = ['<%=', '%>', ' ', '\t', 'data', '.', '[', ']', "'", '"', 'db', 'user-name', 'a.b', 'x', '$y', '_', '<', '%', '=', 'é', 'data.db', "data['a.b']", 'data["user-name"]']
    const data = { db: 'D', 'user-name': 'U', 'a.b': 'AB', x: 'X', $y: 'Y', _: 'Z' }
    // The regex's lazy bracketed key could run over quotes and whole placeholders to find a closing `'] %>`: such a key
    // is never a Secret key (so never in data), and the placeholders it ran over were left unsubstituted.
    const swallows = (s: string) => [...s.matchAll(OLD)].some((m) => m[3] !== undefined && !/^[-._a-zA-Z0-9]*$/.test(m[3]))
    let compared = 0
    for (let n = 0; n < 20_000; n++) {
      let s = ''
      const len = Math.floor(rnd() * 24)
      for (let i = 0; i < len; i++) s += pieces[Math.floor(rnd() * pieces.length)]
      if (swallows(s)) continue
      compared++
      assert.equal(substitutePlaceholders(s, data), oldSubstitute(s, data), JSON.stringify(s))
    }
    assert.ok(compared > 19_000, `${compared} compared`)
    const swallowed = `<%= data["user-name"]"<%=data["user-name"]%>a.b"] %>`
    assert.equal(oldSubstitute(swallowed, data), swallowed)
    assert.equal(substitutePlaceholders(swallowed, data), `<%= data["user-name"]"Ua.b"] %>`)
  })

  it('1 MB templates of every adversarial shape: time printed (linear; the old regex was quadratic)', () => {
    const data = { password: 'pw', user: 'u' }
    const shapes: Record<string, (n: number) => string> = {
      'open brackets, never closed': (n) => "<%= data['".repeat(Math.ceil(n / 11)).slice(0, n),
      'whitespace after every opener': (n) => '<%=          '.repeat(Math.ceil(n / 13)).slice(0, n),
      'placeholders, all substituted': (n) => '<%= data.password %>'.repeat(Math.ceil(n / 20)).slice(0, n),
      'plain text': (n) => 'x'.repeat(n),
    }
    const MB = 1_000_000
    const lines: string[] = []
    for (const [shape, make] of Object.entries(shapes)) {
      const times = [MB / 4, MB / 2, MB].map((n) => {
        const template = { stringData: { blob: make(n) } }
        return ms(() => renderTemplate(template, data)).toFixed(1)
      })
      lines.push(`      ${shape}: 250 KB ${times[0]} ms, 500 KB ${times[1]} ms, 1 MB ${times[2]} ms`)
    }
    const old = "<%= data['".repeat(2000)
    lines.push(`      the old regex on 22 KB of open brackets: ${ms(() => oldSubstitute(old, data)).toFixed(1)} ms (this code: ${ms(() => substitutePlaceholders(old, data)).toFixed(2)} ms)`)
    console.log(lines.join('\n'))
    // A whole Secret manifest from a 1 MB template, through buildSecretManifest.
    const big = es({ stringData: { a: '<%= data.password %>'.repeat(25_000), b: 'y'.repeat(499_000) } })
    const t = ms(() => buildSecretManifest(big, { password: b64('pw') }))
    console.log(`      buildSecretManifest with a 1 MB template (25 000 placeholders + 499 000 characters of text): ${t.toFixed(1)} ms`)
  })

  it('1 MiB template of 127 "eyJ-eyJ-…" keys (the redaction worst case): time printed; a refusal still names such a key, bounded and redacted', () => {
    const annotations: Record<string, string> = {}
    for (let i = 0; i < 127; i++) annotations[(String(i).padStart(4, '0') + '-' + 'eyJ-'.repeat(2048)).slice(0, 8190)] = ''
    const template = { metadata: { annotations } }
    let m: ReturnType<typeof buildSecretManifest> | undefined
    const t = ms(() => (m = buildSecretManifest(es(template), {})))
    console.log(`      buildSecretManifest with 127 keys of 8 190 characters of "eyJ-": ${t.toFixed(1)} ms (2.5–3 s before: every key was quoted, and the quote's JWT regex was quadratic)`)
    assert.deepEqual(Object.keys(m!.metadata.annotations!), Object.keys(annotations))
    // Only a refusal quotes the key: bounded, and a real JWT in it redacted.
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
    const huge = { v: 'v'.repeat(TEMPLATE_MAX_CHARACTERS) }
    const key = Object.keys(annotations)[5]!
    assert.throws(
      () => renderTemplate({ metadata: { annotations: { [key]: '<%= data.v %>', b: '<%= data.v %>' } } }, huge),
      (e: unknown) => e instanceof SpecError && e.field === 'spec.template.metadata.annotations.b',
    )
    assert.throws(
      () => renderTemplate({ metadata: { annotations: { a: '<%= data.v %>', [key]: '<%= data.v %>' } } }, huge),
      (e: unknown) => e instanceof SpecError && /^spec\.template\.metadata\.annotations\["0005-eyJ-eyJ-.*… \(8190 characters\)"\]$/.test(e.field) && e.field.length < 200,
    )
    assert.throws(
      () => renderTemplate({ metadata: { annotations: { a: '<%= data.v %>', [`id-${jwt}`]: '<%= data.v %>' } } }, huge),
      (e: unknown) => e instanceof SpecError && e.field === 'spec.template.metadata.annotations["id-[REDACTED]"]',
    )
  })

  it('a template over the bound, a rendering over the bound, or nesting too deep: refused with the field', () => {
    const refuses = (f: () => unknown, field: string, says: RegExp) =>
      assert.throws(f, (e: unknown) => e instanceof SpecError && e.field === field && says.test(e.message) && e.message.length < 400)
    refuses(() => renderTemplate({ stringData: { a: 'x'.repeat(TEMPLATE_MAX_CHARACTERS + 1) } }, {}), 'spec.template', /is larger than 1048576 characters/)
    refuses(() => renderTemplate({ data: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`.padEnd(600, 'k'), 'v'])) }, {}), 'spec.template', /is larger than/)
    // 600 KB value, substituted twice: the template is small, what it renders is not.
    refuses(() => renderTemplate({ stringData: { a: '<%= data.v %>', b: '<%= data.v %>' } }, { v: 'v'.repeat(600_000) }), 'spec.template.stringData.b', /renders to more than 1048576 characters/)
    let deep: Record<string, unknown> = { leaf: 'x' }
    for (let i = 0; i < TEMPLATE_MAX_DEPTH + 2; i++) deep = { n: deep }
    refuses(() => renderTemplate(deep, {}), `spec.template${'.n'.repeat(TEMPLATE_MAX_DEPTH + 1)}`, /nested deeper than 32 levels/)
  })

  it('__proto__ is refused where it is (template key or Secret key); constructor, prototype, toString and hasOwnProperty are kept', () => {
    const proto = JSON.parse('{"metadata": {"annotations": {"a/b": "1", "__proto__": {"polluted": "yes"}}}}') as Record<string, unknown>
    assert.throws(() => buildSecretManifest(es(proto), {}), (e: unknown) => e instanceof SpecError && e.field === 'spec.template.metadata.annotations.__proto__')
    assert.throws(
      () => buildSecretManifest(es({}, [{ key: 'secret/data/a', name: 'ok' }, { key: 'secret/data/b', name: '__proto__' }]), JSON.parse(`{"ok": "${b64('1')}", "__proto__": "${b64('2')}"}`) as Record<string, string>),
      (e: unknown) => e instanceof SpecError && e.field === 'spec.data[1].name',
    )
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    const names = ['constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']
    const data = Object.fromEntries(names.map((n) => [n, b64(`v-${n}`)]))
    const template = { metadata: { labels: Object.fromEntries(names.map((n) => [n, `<%= data.${n} %>`])) }, data: { constructor: b64('from-template') } }
    const m = buildSecretManifest(es(template), data)
    assert.deepEqual(Object.keys(m.data!), names)
    assert.equal(m.data!.constructor, b64('v-constructor'), 'backend data wins over the template, as in KES')
    assert.deepEqual(m.metadata.labels, Object.fromEntries(names.map((n) => [n, `v-${n}`])))
    assert.deepEqual(JSON.parse(JSON.stringify(m.metadata.labels)), m.metadata.labels, 'own, enumerable, serialisable')
  })
})
