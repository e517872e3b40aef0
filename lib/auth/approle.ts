import { redactor } from '../redact.js'
import { leaseFromAuth } from '../token/lease.js'
import type { VaultClient } from '../vault/client.js'
import type { AuthMethod } from './types.js'

/** `auth/<mount>/login` with `{ role_id, secret_id }`. The role label is the role_id's role name as configured. */
export class AppRoleAuth implements AuthMethod {
  readonly method = 'approle' as const
  readonly reauthenticates = true

  constructor(
    readonly mount: string,
    readonly role: string,
    private readonly roleId: string,
    private readonly secretId: () => Promise<string>,
  ) {}

  async login(vault: VaultClient, now: () => number) {
    const secretId = await this.secretId()
    redactor.add(secretId)
    const sentAt = now()
    const res = await vault.login(this.mount, { role_id: this.roleId, secret_id: secretId })
    redactor.add(res.auth.client_token)
    return leaseFromAuth(res, sentAt)
  }
}
