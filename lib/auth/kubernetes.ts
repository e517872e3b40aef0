import { redactor } from '../redact.js'
import { leaseFromAuth } from '../token/lease.js'
import type { VaultClient } from '../vault/client.js'
import type { AuthMethod } from './types.js'

/** Where a login gets its service-account JWT. Read at login time: projected tokens rotate. */
export interface JwtProvider {
  getJwt(): Promise<string>
}

/** `auth/<mount>/login` with `{ role, jwt }`: Vault's kubernetes auth method (and the jwt method, which takes the same body). */
export class KubernetesAuth implements AuthMethod {
  readonly reauthenticates = true

  constructor(
    readonly mount: string,
    readonly role: string,
    private readonly jwt: JwtProvider,
    readonly method: 'kubernetes' | 'jwt' = 'kubernetes',
  ) {}

  async login(vault: VaultClient, now: () => number) {
    const jwt = await this.jwt.getJwt()
    redactor.add(jwt)
    const sentAt = now()
    const res = await vault.login(this.mount, { role: this.role, jwt })
    redactor.add(res.auth.client_token)
    return leaseFromAuth(res, sentAt)
  }
}
