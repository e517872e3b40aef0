import { credentials } from '../redact.js'
import type { VaultClient } from '../vault/client.js'
import type { AuthMethod, JwtProvider } from './types.js'

/** Vault's kubernetes auth method: `auth/<mount>/login` with `{ role, jwt }`, the JWT of a service account. */
export class KubernetesAuth implements AuthMethod {
  readonly method: 'kubernetes' | 'jwt' = 'kubernetes'

  constructor(
    readonly mount: string,
    readonly role: string,
    private readonly jwt: JwtProvider,
  ) {}

  login(vault: VaultClient, now: () => number) {
    return loginWithJwt(vault, now, this.mount, this.role, this.jwt)
  }
}

/** `{ role, jwt }` to `auth/<mount>/login`, the JWT held as a live credential only while it is on the wire. */
export async function loginWithJwt(vault: VaultClient, now: () => number, mount: string, role: string, source: JwtProvider) {
  const jwt = await source.getJwt()
  credentials.add(jwt)
  try {
    const sentAt = now()
    return { answer: await vault.login(mount, { role, jwt }), sentAt }
  } finally {
    credentials.forget(jwt)
  }
}
