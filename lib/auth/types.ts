import type { VaultAuthResponse, VaultClient } from '../vault/client.js'

/** One auth method: credentials in, a Vault login out. One file per method, as in ESO's vault provider. */
export interface AuthMethod {
  readonly method: 'kubernetes' | 'jwt' | 'approle'
  /** Auth mount path, e.g. "kubernetes" (the `auth/<mount>/login` part). */
  readonly mount: string
  readonly role: string
  /** The raw auth answer and the time the request was sent (`now` read just before sending): the lease's anchor. */
  login(vault: VaultClient, now: () => number): Promise<{ answer: VaultAuthResponse; sentAt: number }>
}

/** A credential could not be had (the JWT file is missing, TokenRequest failed): nothing was sent to Vault. */
export class CredentialError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CredentialError'
  }
}

/** Where a login gets a service-account JWT. Read at login time: projected tokens rotate. */
export interface JwtProvider {
  getJwt(): Promise<string>
}
