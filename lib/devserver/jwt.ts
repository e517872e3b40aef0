/**
 * Service-account JWTs for the dev server: JWT-shaped (header.payload.signature) and never
 * signature-checked. The dev server stands in for the TokenReview API by keeping a set of
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
   * 'legacy': the flat `kubernetes.io/serviceaccount/...` claims of secret-based tokens.
   */
  style?: 'projected' | 'legacy'
}

export interface ServiceAccountClaims {
  namespace?: string
  name?: string
  uid?: string
  /** Seconds since the epoch, when present. */
  exp?: number
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
          exp,
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

/** Decode the payload without verifying anything; undefined when it is not JWT-shaped. */
export function decodeServiceAccountClaims(jwt: string): ServiceAccountClaims | undefined {
  const parts = jwt.split('.')
  if (parts.length !== 3) return undefined
  let payload: Record<string, unknown>
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
  if (typeof payload !== 'object' || payload === null) return undefined
  const nested = payload['kubernetes.io'] as
    | { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown } }
    | undefined
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
  return {
    namespace: str(nested?.namespace) ?? str(payload['kubernetes.io/serviceaccount/namespace']),
    name: str(nested?.serviceaccount?.name) ?? str(payload['kubernetes.io/serviceaccount/service-account.name']),
    uid: str(nested?.serviceaccount?.uid) ?? str(payload['kubernetes.io/serviceaccount/service-account.uid']),
    exp: typeof payload.exp === 'number' ? payload.exp : undefined,
  }
}
