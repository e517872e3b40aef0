/**
 * JWTs for the dev server: JWT-shaped (header.payload.signature) and never signature-checked. The dev server
 * stands in for the TokenReview API (kubernetes) and for the issuer's signing keys (jwt) by keeping a set of
 * accepted JWTs; only the claims matter.
 */
import { randomBytes } from 'node:crypto'

export interface ServiceAccountJwtOptions {
  namespace: string
  serviceAccount: string
  /** Expiry in ms on the dev server's clock (written to `exp` in whole seconds). */
  expiresAt: number
  /** Issued-at in ms; defaults to one hour before expiry. */
  issuedAt?: number
  audiences?: string[]
  uid?: string
  /**
   * 'projected' (default): bound token with the nested `kubernetes.io` claim (Kubernetes >= 1.21).
   * 'legacy': the flat `kubernetes.io/serviceaccount/...` claims of secret-based tokens, which carry no
   * exp, iat or nbf (they never expire; `expiresAt` is ignored).
   */
  style?: 'projected' | 'legacy'
}

export interface ServiceAccountClaims {
  namespace?: string
  name?: string
  uid?: string
  /** Seconds since the epoch, when present. */
  exp?: number
  iat?: number
  nbf?: number
  aud?: string[]
}

function b64url(value: object | Buffer): string {
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))
  return buf.toString('base64url')
}

export function makeServiceAccountJwt(options: ServiceAccountJwtOptions): string {
  const exp = Math.floor(options.expiresAt / 1000)
  const iat = Math.floor((options.issuedAt ?? options.expiresAt - 3600_000) / 1000)
  const uid = options.uid ?? uidFor(options.namespace, options.serviceAccount)
  const header = { alg: 'RS256', kid: 'dev-vault' }
  const payload: Record<string, unknown> =
    options.style === 'legacy'
      ? {
          iss: 'kubernetes/serviceaccount',
          'kubernetes.io/serviceaccount/namespace': options.namespace,
          'kubernetes.io/serviceaccount/secret.name': `${options.serviceAccount}-token`,
          'kubernetes.io/serviceaccount/service-account.name': options.serviceAccount,
          'kubernetes.io/serviceaccount/service-account.uid': uid,
          sub: `system:serviceaccount:${options.namespace}:${options.serviceAccount}`,
        }
      : {
          aud: options.audiences ?? ['https://kubernetes.default.svc.cluster.local'],
          exp,
          iat,
          nbf: iat,
          iss: 'https://kubernetes.default.svc.cluster.local',
          'kubernetes.io': {
            namespace: options.namespace,
            serviceaccount: { name: options.serviceAccount, uid },
          },
          sub: `system:serviceaccount:${options.namespace}:${options.serviceAccount}`,
        }
  // Random signature so two JWTs with the same claims are still different credentials.
  return `${b64url(header)}.${b64url(payload)}.${b64url(randomBytes(32))}`
}

/** Stable fake UID per service account, so logins report the same `service_account_uid`. */
function uidFor(namespace: string, name: string): string {
  let h = 0x811c9dc5
  for (const ch of `${namespace}/${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0
  const hex = h.toString(16).padStart(8, '0')
  return `${hex}-${hex.slice(0, 4)}-4${hex.slice(1, 4)}-8${hex.slice(5, 8)}-${hex}${hex.slice(0, 4)}`
}

/** A JWT with these claims (times in whole seconds, as JWTs carry them), signed with a random signature. */
export function makeJwt(claims: Record<string, unknown>): string {
  return `${b64url({ alg: 'RS256', kid: 'dev-vault', typ: 'JWT' })}.${b64url(claims)}.${b64url(randomBytes(32))}`
}

/** The payload of a compact JWS, unverified; undefined when it is not JWT-shaped. */
export function decodeJwtPayload(jwt: string): Record<string, unknown> | undefined {
  const parts = jwt.split('.')
  if (parts.length !== 3) return undefined
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** `aud` is a string or a list of strings (RFC 7519). */
export function audienceOf(payload: Record<string, unknown>): string[] {
  const aud = payload.aud
  if (typeof aud === 'string') return [aud]
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : []
}

/** Decode the payload without verifying anything; undefined when it is not JWT-shaped. */
export function decodeServiceAccountClaims(jwt: string): ServiceAccountClaims | undefined {
  const payload = decodeJwtPayload(jwt)
  if (!payload) return undefined
  const nested = payload['kubernetes.io'] as
    | { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown } }
    | undefined
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
  return {
    namespace: str(nested?.namespace) ?? str(payload['kubernetes.io/serviceaccount/namespace']),
    name: str(nested?.serviceaccount?.name) ?? str(payload['kubernetes.io/serviceaccount/service-account.name']),
    uid: str(nested?.serviceaccount?.uid) ?? str(payload['kubernetes.io/serviceaccount/service-account.uid']),
    exp: typeof payload.exp === 'number' ? payload.exp : undefined,
    iat: typeof payload.iat === 'number' ? payload.iat : undefined,
    nbf: typeof payload.nbf === 'number' ? payload.nbf : undefined,
    aud: audienceOf(payload),
  }
}

export interface TimeClaims {
  exp?: number
  iat?: number
  nbf?: number
}

export interface JwtLeeway {
  /** Applied to exp, nbf and iat: 60 s unless set (go-jose's jwt.DefaultLeeway). */
  clockSkewSeconds: number
  /** exp = latest of iat/nbf + this, when exp is missing (150 s). */
  expirationSeconds: number
  /** nbf = exp - this, when nbf and iat are missing (150 s). */
  notBeforeSeconds: number
  /** No iat, nbf or exp at all: accepted (kubernetes) or refused (jwt). */
  allowMissing: boolean
}

/** The kubernetes auth method's validator: cap's defaults, and a JWT without time claims passes. */
// vault-plugin-auth-kubernetes: parseAndValidateJWT -> cap jwt.Validator.ValidateAllowMissingIatNbfExp with ClockSkewLeeway 0.
export const KUBERNETES_LEEWAY: JwtLeeway = { clockSkewSeconds: 60, expirationSeconds: 150, notBeforeSeconds: 150, allowMissing: true }
/** The jwt auth method with a role's default leeways (expiration_leeway 150, not_before_leeway 150, clock_skew_leeway 60). */
// OpenBao: builtin/credential/jwt pathLogin -> cap jwt.Validator.Validate.
export const JWT_ROLE_LEEWAY: JwtLeeway = { clockSkewSeconds: 60, expirationSeconds: 150, notBeforeSeconds: 150, allowMissing: false }

/** The time checks of hashicorp/cap's JWT validator, in its order and words; undefined when the JWT is current. */
// hashicorp/cap jwt/jwt.go: Validator.validateAll (time claims).
export function validateTimeClaims(claims: TimeClaims, nowMs: number, leeway: JwtLeeway): string | undefined {
  const iat = claims.iat ?? 0
  let exp = claims.exp ?? 0
  let nbf = claims.nbf ?? 0
  if (iat === 0 && exp === 0 && nbf === 0) {
    return leeway.allowMissing ? undefined : 'no issued at (iat), not before (nbf), or expiration time (exp) claims in token'
  }
  if (exp === 0) exp = Math.max(iat, nbf) + leeway.expirationSeconds
  if (nbf === 0) nbf = iat !== 0 ? iat : exp - leeway.notBeforeSeconds
  const skew = leeway.clockSkewSeconds * 1000
  if (nowMs + skew < nbf * 1000) return 'invalid not before (nbf) claim: token not yet valid'
  if (nowMs - skew > exp * 1000) return 'invalid expiration time (exp) claim: token is expired'
  if (iat !== 0 && nowMs + skew < iat * 1000) return 'invalid issued at (iat) claim: token issued in the future'
  return undefined
}
