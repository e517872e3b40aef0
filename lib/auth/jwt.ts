import { KubernetesAuth } from './kubernetes.js'

/**
 * Vault's jwt auth method with the service account's JWT: the same `{ role, jwt }` login as the kubernetes method;
 * Vault checks the JWT against the issuer's keys instead of a TokenReview.
 */
export class JwtAuth extends KubernetesAuth {
  override readonly method = 'jwt' as const
}
