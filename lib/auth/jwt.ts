import type { VaultClient } from '../vault/client.js'
import { loginWithJwt } from './kubernetes.js'
import type { AuthMethod, JwtProvider } from './types.js'

/** Vault's jwt auth method with the service account's JWT: the same `{ role, jwt }` body, validated against the issuer's keys. */
export class JwtAuth implements AuthMethod {
  readonly method = 'jwt' as const

  constructor(
    readonly mount: string,
    readonly role: string,
    private readonly jwt: JwtProvider,
  ) {}

  login(vault: VaultClient, now: () => number) {
    return loginWithJwt(vault, now, this.mount, this.role, this.jwt)
  }
}
