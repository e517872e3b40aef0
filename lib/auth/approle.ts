import { credentials } from '../redact.js'
import type { VaultClient } from '../vault/client.js'
import type { AuthMethod } from './types.js'

/** `auth/<mount>/login` with `{ role_id, secret_id }`. The role label is the name the operator gave the role. */
export class AppRoleAuth implements AuthMethod {
  readonly method = 'approle' as const

  constructor(
    readonly mount: string,
    readonly role: string,
    private readonly roleId: string,
    private readonly secretId: () => Promise<string>,
  ) {}

  async login(vault: VaultClient, now: () => number) {
    const secretId = await this.secretId()
    credentials.add(secretId)
    try {
      const sentAt = now()
      return { answer: await vault.login(this.mount, { role_id: this.roleId, secret_id: secretId }), sentAt }
    } finally {
      credentials.forget(secretId)
    }
  }
}
