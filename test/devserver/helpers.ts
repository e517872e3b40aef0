import { ManualClock } from '../../lib/clock.js'
import { type DevVault, type DevVaultOptions, startDevVault } from '../../lib/devserver/index.js'

export const HOUR = 3600_000
export const MINUTE = 60_000

export interface Answer {
  status: number
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any
  text: string
  headers: Headers
}

/** One raw HTTP call to the dev Vault, as a Vault client would make it. */
export async function call(
  vault: { address: string },
  method: string,
  path: string,
  opts: { token?: string; bearer?: string; body?: unknown; namespace?: string; rawBody?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (opts.token) headers['X-Vault-Token'] = opts.token
  if (opts.bearer) headers.Authorization = `Bearer ${opts.bearer}`
  if (opts.namespace) headers['X-Vault-Namespace'] = opts.namespace
  const res = await fetch(`${vault.address}/v1/${path}`, {
    method,
    headers,
    body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    redirect: 'manual',
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text, headers: res.headers }
}

export const ENVELOPE_KEYS = ['auth', 'data', 'lease_duration', 'lease_id', 'renewable', 'request_id', 'warnings', 'wrap_info']

/** A dev Vault on a ManualClock with a kubernetes mount, role "app" (ttl 1h, max 4h) and policy "app". */
export async function appVault(options: DevVaultOptions = {}): Promise<{ vault: DevVault; clock: ManualClock }> {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock()
  const vault = await startDevVault({ ...options, clock })
  vault.enableKubernetesAuth()
  vault.writePolicy('app', ['secret/data/app/', 'secret/metadata/app/'])
  vault.writeRole('kubernetes', 'app', {
    policies: ['app'],
    token_ttl: '1h',
    token_max_ttl: '4h',
    bound_service_account_names: ['app'],
    bound_service_account_namespaces: ['default'],
  })
  return { vault, clock }
}

/** Log in as default/app and return the client token. */
export async function loginApp(vault: DevVault, clock: ManualClock, role = 'app', namespace?: string): Promise<string> {
  const jwt = vault.makeServiceAccountJwt({ namespace: 'default', serviceAccount: 'app', expiresAt: clock.now() + HOUR })
  const r = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role, jwt }, namespace })
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`)
  return r.body.auth.client_token as string
}
