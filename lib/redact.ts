/**
 * Credentials must never reach a log line, a metric, an error or a Secret they do not belong in. Two layers:
 * the exact credentials the process holds right now (tokens, JWTs, secret IDs) and shapes that look like credentials.
 *
 * The registry holds only live credentials: a token is forgotten when its session drops it, a JWT when it rotates.
 * Lookups are indexed by a window of each credential that no other shares, so scanning a text costs O(text length)
 * however many are held, whatever the text repeats.
 */

/** Linear as they stand: a match starts only at "hv?." or "?.", and the run after it cannot hold a '.'. */
const CREDENTIAL_SHAPES: RegExp[] = [
  /\bhv[sbr]\.[A-Za-z0-9_-]{20,}/g, // Vault 1.10+ service/batch/recovery tokens
  /\b[sbr]\.[A-Za-z0-9]{24,}/g, // legacy Vault tokens
]

/** A JWT's three segments, tried at one position only (sticky); see redactJwts. */
const JWT_AFTER_EYJ = /[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/y
const isWordChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95
const isSegmentChar = (c: number) => isWordChar(c) || c === 45 /* - */

/**
 * What `s.replace(/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\/g, REDACTED)` returns, in linear time.
 * That regex restarts at every "eyJ" after a '-' (a \b inside its own first segment), each start rescanning the rest of
 * the segment: quadratic on "eyJ-eyJ-…". A later start in the same segment sees the same text after the segment and a
 * shorter first segment, so once one start fails, the rest of that segment is skipped.
 */
function redactJwts(s: string): string {
  let out = ''
  let from = 0
  let i = s.indexOf('eyJ')
  while (i !== -1) {
    if (i > 0 && isWordChar(s.charCodeAt(i - 1))) {
      i = s.indexOf('eyJ', i + 1)
      continue
    }
    JWT_AFTER_EYJ.lastIndex = i + 3
    if (JWT_AFTER_EYJ.test(s)) {
      out += s.slice(from, i) + REDACTED
      from = JWT_AFTER_EYJ.lastIndex
      i = s.indexOf('eyJ', from)
      continue
    }
    let end = i + 3
    while (end < s.length && isSegmentChar(s.charCodeAt(end))) end++
    i = s.indexOf('eyJ', end)
  }
  return from === 0 ? s : out + s.slice(from)
}

const SENSITIVE_KEYS = /^(x-vault-token|authorization|token|client_token|id|jwt|secret_id|secretid|password|headers|data|json|body|config|request)$/i

export const REDACTED = '[REDACTED]'

/** Shorter strings are not registered: they would match ordinary words. */
const MIN_LENGTH = 8
const KEY = MIN_LENGTH

/**
 * Credentials indexed by one window of KEY characters each, chosen where it is rarest among those held: their heads
 * are shared (every Vault token starts `hvs.CAES`, every service-account JWT of a cluster has the same header), and so
 * may their tails be. Indexed by the head, a text repeating `hvs.CAES` made each of its positions check every token
 * held; with distinct windows a position checks the one credential (if any) whose window is there, and a tenant
 * cannot aim at a window it does not know.
 */
class Index {
  /** window -> credential -> where the window starts in it */
  private readonly byWindow = new Map<string, Map<string, number>>()
  private readonly held = new Map<string, { window: string; offset: number; count: number }>()

  get size(): number {
    return this.held.size
  }

  has(s: string): boolean {
    return this.held.has(s)
  }

  add(s: string, n: number): void {
    let entry = this.held.get(s)
    if (!entry) {
      if (n <= 0) return
      entry = { ...this.rarestWindow(s), count: 0 }
      this.held.set(s, entry)
      let bucket = this.byWindow.get(entry.window)
      if (!bucket) this.byWindow.set(entry.window, (bucket = new Map()))
      bucket.set(s, entry.offset)
    }
    entry.count += n
    if (entry.count > 0) return
    this.held.delete(s)
    const bucket = this.byWindow.get(entry.window)!
    bucket.delete(s)
    if (bucket.size === 0) this.byWindow.delete(entry.window)
  }

  /** Calls `found` for each held string in `text`; stops when `found` returns true. */
  scan(text: string, found: (at: number, match: string) => boolean | void): void {
    if (this.byWindow.size === 0) return
    for (let i = 0; i + KEY <= text.length; i++) {
      const bucket = this.byWindow.get(text.slice(i, i + KEY))
      if (!bucket) continue
      for (const [s, offset] of bucket) {
        const at = i - offset
        if (at >= 0 && text.startsWith(s, at) && found(at, s)) return
      }
    }
  }

  /** From the tail (random in tokens, JWT signatures and secret IDs, unlike their heads) towards the head. */
  private rarestWindow(s: string): { window: string; offset: number } {
    let best = { window: s.slice(-KEY), offset: s.length - KEY, shared: Infinity }
    for (let offset = s.length - KEY; offset >= 0 && best.shared > 0; offset--) {
      const window = s.slice(offset, offset + KEY)
      const shared = this.byWindow.get(window)?.size ?? 0
      if (shared < best.shared) best = { window, offset, shared }
    }
    return best
  }
}

/** Every held string that occurs in `text`, leftmost first, the longest where several start together; no overlaps. */
function occurrences(index: Index, text: string): { at: number; match: string }[] {
  const all: { at: number; match: string }[] = []
  index.scan(text, (at, match) => void all.push({ at, match }))
  all.sort((a, b) => a.at - b.at || b.match.length - a.match.length)
  const kept: { at: number; match: string }[] = []
  let next = 0
  for (const o of all) {
    if (o.at < next) continue
    kept.push(o)
    next = o.at + o.match.length
  }
  return kept
}

function occursIn(index: Index, text: string): boolean {
  let hit = false
  index.scan(text, () => (hit = true))
  return hit
}

function replaceIndexed(index: Index, s: string): string {
  let out = ''
  let from = 0
  for (const { at, match } of occurrences(index, s)) {
    out += s.slice(from, at) + REDACTED
    from = at + match.length
  }
  return from === 0 ? s : out + s.slice(from)
}

/**
 * The parts of base64(credential) that do not depend on what surrounds it, at each of the three byte alignments:
 * a credential inside a larger base64 blob is found by one of them.
 */
function encodedForms(secret: string): string[] {
  const raw = Buffer.from(secret, 'utf8')
  const forms = new Set<string>()
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), raw]).toString('base64')
    const head = Math.ceil((shift * 4) / 3)
    const whole = Math.floor((shift + raw.length) / 3) * 4
    for (const alphabet of [encoded, encoded.replace(/\+/g, '-').replace(/\//g, '_')]) {
      const core = alphabet.slice(head, whole)
      if (core.length >= MIN_LENGTH) forms.add(core)
    }
  }
  return [...forms]
}

export class CredentialRegistry {
  private readonly plain = new Index()
  private readonly encoded = new Index()
  private held = 0

  /**
   * Hold a credential while it is in use. Counted: the same JWT or preset token may serve several identities, and
   * stays registered until the last of them forgets it.
   */
  add(secret: string | undefined | null): void {
    if (!secret || secret.length < MIN_LENGTH) return
    this.plain.add(secret, 1)
    for (const form of encodedForms(secret)) this.encoded.add(form, 1)
    this.held++
  }

  forget(secret: string | undefined | null): void {
    if (!secret || secret.length < MIN_LENGTH || !this.plain.has(secret)) return
    this.plain.add(secret, -1)
    for (const form of encodedForms(secret)) this.encoded.add(form, -1)
    this.held--
  }

  /** Registrations held (a credential added twice counts twice). */
  get size(): number {
    return this.held
  }

  /**
   * True when `text` holds a live credential, as it is or base64-encoded (standard or URL-safe), the base64 forms
   * looked for with whitespace removed: base64 is often wrapped (76 columns from `base64`, 64 in PEM) or has CRLFs,
   * and decoders skip them.
   */
  contains(text: string): boolean {
    return occursIn(this.plain, text) || occursIn(this.encoded, text.replace(/\s+/g, ''))
  }

  /** `text` with every live credential (as it is or base64-encoded) and every credential-shaped string replaced. */
  text(s: string): string {
    let out = replaceIndexed(this.encoded, replaceIndexed(this.plain, s))
    for (const shape of CREDENTIAL_SHAPES) out = out.replace(shape, REDACTED)
    return redactJwts(out)
  }

  /** Deep copy of a log object with sensitive keys dropped and strings scrubbed. */
  value(v: unknown, depth = 0): unknown {
    if (typeof v === 'string') return this.text(v)
    if (v === null || typeof v !== 'object') return v
    if (depth > 6) return '[…]'
    if (v instanceof Error) return { name: v.name, message: this.text(v.message) }
    if (Array.isArray(v)) return v.map((x) => this.value(x, depth + 1))
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      out[k] = SENSITIVE_KEYS.test(k) && typeof x !== 'number' && typeof x !== 'boolean' ? REDACTED : this.value(x, depth + 1)
    }
    return out
  }
}

/** One process-wide registry: every credential any backend holds is registered here while it is live. */
export const credentials = new CredentialRegistry()

/** Room past the quoted part, so a credential that starts inside it is still seen whole by the redactor. */
const LONGEST_CREDENTIAL = 8192

/** At most `max` characters of untrusted text (a Vault message, a tenant's key), redacted, for an error or a log line. */
export function quote(text: string, max = 200): string {
  const s = credentials.text(text.length > max + LONGEST_CREDENTIAL ? text.slice(0, max + LONGEST_CREDENTIAL) : text)
  return s.length > max ? `${s.slice(0, max)}… (${text.length} characters)` : s
}
