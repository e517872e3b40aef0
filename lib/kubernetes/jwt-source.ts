/**
 * What a Vault kubernetes-auth login needs from Kubernetes: a service-account JWT. Two sources implement it
 * (the projected token file and the TokenRequest API); callers hold one source per identity and ask it for a
 * JWT each time they log in, so rotation is the source's business, not theirs.
 */
export interface ServiceAccountJwtSource {
  /** A JWT valid now. Rejects with a ServiceAccountJwtError that never contains a JWT. */
  getJwt(): Promise<string>
  /** For logs and errors: "projected file /var/run/...", "TokenRequest ns/sa". Never a secret. */
  readonly description: string
}

export type ServiceAccountJwtErrorReason =
  | 'InvalidArgument' // bad namespace / name / expirationSeconds
  | 'NotFound' // 404: the service account (or its namespace) does not exist
  | 'Forbidden' // 403: RBAC denies create serviceaccounts/token
  | 'Unauthorized' // 401: the controller's own credentials were rejected
  | 'ApiError' // any other HTTP status from the API server
  | 'Network' // no HTTP response at all
  | 'InvalidResponse' // 2xx without a usable token / expiration
  | 'Expired' // the cached JWT expired and no fresh one could be obtained
  | 'FileMissing' // ENOENT
  | 'FileUnreadable' // EACCES, EPERM, EISDIR, ...
  | 'FileEmpty'
  | 'NotAJwt'

/** Every failure of a JWT source. The message names the path or namespace/account and never holds a JWT. */
export class ServiceAccountJwtError extends Error {
  override readonly name = 'ServiceAccountJwtError'
  constructor(
    readonly reason: ServiceAccountJwtErrorReason,
    message: string,
    /** HTTP status from the API server when there was one. */
    readonly status?: number,
  ) {
    super(scrubJwts(message))
  }
}

/** Claims a login cares about; everything else in the payload is ignored. Times are seconds since the epoch. */
export interface ServiceAccountJwtClaims {
  exp?: number
  iat?: number
  nbf?: number
  iss?: string
  sub?: string
  aud?: string[]
  namespace?: string
  serviceAccountName?: string
}

export class JwtDecodeError extends Error {
  override readonly name = 'JwtDecodeError'
}

const SEGMENT = /^[A-Za-z0-9_-]*$/

/**
 * Decodes a JWT's payload without verifying it (Vault verifies; we only need `exp` to know when to re-read).
 * Errors say what is wrong with the shape, never echo the input.
 */
export function decodeJwtClaims(jwt: string): ServiceAccountJwtClaims {
  const parts = jwt.trim().split('.')
  if (parts.length !== 3) throw new JwtDecodeError(`not a JWT: expected 3 dot-separated segments, found ${parts.length}`)
  const [header, payload] = parts as [string, string, string]
  if (!header || !payload || !parts.every((p) => SEGMENT.test(p))) {
    throw new JwtDecodeError('not a JWT: segments are not base64url')
  }
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    throw new JwtDecodeError('not a JWT: payload is not base64url-encoded JSON')
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new JwtDecodeError('not a JWT: payload is not a JSON object')
  }
  const c = raw as Record<string, unknown>
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)
  // Bound tokens carry "kubernetes.io": {namespace, serviceaccount: {name}}; legacy secret tokens use flat keys.
  const k8s = (c['kubernetes.io'] ?? {}) as Record<string, unknown>
  const sa = (k8s['serviceaccount'] ?? {}) as Record<string, unknown>
  const claims: ServiceAccountJwtClaims = {
    exp: num(c['exp']),
    iat: num(c['iat']),
    nbf: num(c['nbf']),
    iss: str(c['iss']),
    sub: str(c['sub']),
    aud: typeof c['aud'] === 'string' ? [c['aud']] : Array.isArray(c['aud']) ? c['aud'].filter((a) => typeof a === 'string') : undefined,
    namespace: str(k8s['namespace']) ?? str(c['kubernetes.io/serviceaccount/namespace']),
    serviceAccountName: str(sa['name']) ?? str(c['kubernetes.io/serviceaccount/service-account.name']),
  }
  const sub = claims.sub?.match(/^system:serviceaccount:([^:]+):([^:]+)$/)
  if (sub) {
    claims.namespace ??= sub[1]
    claims.serviceAccountName ??= sub[2]
  }
  for (const k of Object.keys(claims) as (keyof ServiceAccountJwtClaims)[]) if (claims[k] === undefined) delete claims[k]
  return claims
}

const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g

/** Last line of defence: text that reaches an error or a log line loses anything shaped like a JWT. */
export function scrubJwts(text: string): string {
  return text.replace(JWT_SHAPE, '[REDACTED JWT]')
}
