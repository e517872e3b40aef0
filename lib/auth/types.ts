import type { TokenLease } from '../token/lease.js'
import type { VaultClient } from '../vault/client.js'

/** One auth method: credentials in, a Vault login out. One file per method, as in ESO's vault provider. */
export interface AuthMethod {
  readonly method: 'kubernetes' | 'approle' | 'jwt' | 'token'
  /** Auth mount path, e.g. "kubernetes" (the `auth/<mount>/login` part). */
  readonly mount: string
  readonly role: string
  /** False for a static token: when it can no longer be renewed, there is nothing to log in with. */
  readonly reauthenticates: boolean
  /** `now` is read just before the request is sent; the lease is anchored to it. */
  login(vault: VaultClient, now: () => number): Promise<TokenLease>
}
