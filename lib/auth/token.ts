import { redactor } from '../redact.js'
import { leaseFromLookup } from '../token/lease.js'
import type { VaultClient } from '../vault/client.js'
import { VaultRequestError } from '../vault/errors.js'
import type { AuthMethod } from './types.js'

/**
 * A static token (VAULT_TOKEN). "Logging in" is a lookup-self, a read: it learns the lease so the same
 * lookup/renew rules apply. When the token dies there is nothing to log in with, and the error says what to do.
 */
export class StaticTokenAuth implements AuthMethod {
  readonly method = 'token' as const
  readonly mount = 'token'
  readonly reauthenticates = false

  constructor(
    private readonly token: string,
    readonly role = 'static',
  ) {
    redactor.add(token)
  }

  async login(vault: VaultClient, now: () => number) {
    const sentAt = now()
    try {
      return leaseFromLookup(this.token, await vault.lookupSelf(this.token), sentAt)
    } catch (err) {
      if (err instanceof VaultRequestError && err.status === 403) {
        throw new Error('VAULT_TOKEN is invalid, expired or revoked and no role is configured to log in with; ' +
          'set a new VAULT_TOKEN or configure DEFAULT_VAULT_ROLE (kubernetes auth)')
      }
      throw err
    }
  }
}
