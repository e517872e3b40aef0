/**
 * Credentials must never reach a log line, a metric or an error message. Two layers:
 * the exact strings we handled (tokens, JWTs, secret IDs) and shapes that look like credentials.
 */

const CREDENTIAL_SHAPES: RegExp[] = [
  /\bhv[sbr]\.[A-Za-z0-9_-]{20,}/g, // Vault 1.10+ service/batch/recovery tokens
  /\b[sbr]\.[A-Za-z0-9]{24,}/g, // legacy Vault tokens
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, // JWTs
]

const SENSITIVE_KEYS = /^(x-vault-token|authorization|token|client_token|id|jwt|secret_id|secretid|password|headers|data|json|body|config|request)$/i

export const REDACTED = '[REDACTED]'

export class Redactor {
  private readonly secrets = new Set<string>()

  /** Bounded so a long-running controller does not grow without limit; the oldest credentials have long expired. */
  constructor(private readonly max = 20_000) {}

  /** Remember a credential so any later text containing it is scrubbed. Short strings are ignored (false positives). */
  add(secret: string | undefined | null): void {
    if (!secret || secret.length < 8 || this.secrets.has(secret)) return
    this.secrets.add(secret)
    if (this.secrets.size > this.max) this.secrets.delete(this.secrets.values().next().value!)
  }

  forget(secret: string | undefined | null): void {
    if (secret) this.secrets.delete(secret)
  }

  text(s: string): string {
    let out = s
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
    for (const shape of CREDENTIAL_SHAPES) out = out.replace(shape, REDACTED)
    return out
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

/** One process-wide redactor: every credential any backend handles is registered here. */
export const redactor = new Redactor()
