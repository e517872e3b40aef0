import https from 'node:https'
import { createRequire } from 'node:module'
import nodeVault from 'node-vault'
import { toVaultRequestError, type VaultOperation, VaultRequestError } from './errors.js'

/** The subset of a node-vault client we call. Any node-vault 0.12 client (KES's `vaultFactory()`) fits. */
export interface NodeVaultClient {
  token?: string
  read(path: string, requestOptions?: Record<string, unknown>): Promise<any>
  write(path: string, data: unknown, requestOptions?: Record<string, unknown>): Promise<any>
}

/** Shape of `auth` in login and renew-self responses. */
export interface VaultAuth {
  client_token: string
  accessor?: string
  policies?: string[] | null
  token_policies?: string[] | null
  metadata?: Record<string, string> | null
  lease_duration: number
  renewable: boolean
  token_type?: string
  orphan?: boolean
  num_uses?: number
}

export interface VaultAuthResponse {
  auth: VaultAuth
  warnings?: string[] | null
}

/** `data` of lookup-self. */
export interface TokenLookupData {
  accessor?: string
  creation_time?: number
  creation_ttl?: number
  expire_time?: string | null
  explicit_max_ttl?: number
  issue_time?: string
  period?: number
  policies?: string[] | null
  renewable?: boolean
  ttl: number
  type?: string
  num_uses?: number
  path?: string
  meta?: Record<string, string> | null
}

export interface VaultRequestObserver {
  (operation: VaultOperation, status: number | 'error', seconds: number): void
}

export interface VaultClientOptions {
  endpoint: string
  namespace?: string
  timeoutMs?: number
  caCert?: string
  skipVerify?: boolean
}

interface RpOptions {
  method: string
  uri: string
  headers?: Record<string, string>
  json?: unknown
  timeout?: number
}

interface RpResponse {
  statusCode: number
  body: unknown
  request: { path: string }
  headers: Record<string, unknown>
}

/**
 * node-vault's own transport (axios) drops response headers, so a 429's Retry-After never reaches us. This is the
 * same axios (node-vault's dependency), redirects followed for every method as before, with the headers kept.
 */
function headerKeepingTransport(o: VaultClientOptions) {
  const axios = createRequire(createRequire(import.meta.url).resolve('node-vault'))('axios') as {
    request(config: Record<string, unknown>): Promise<{ status: number; data: unknown; headers: Record<string, unknown> }>
  }
  const httpsAgent = o.caCert || o.skipVerify ? new https.Agent({ ca: o.caCert, rejectUnauthorized: !o.skipVerify }) : undefined
  const send = async (options: RpOptions): Promise<RpResponse> => {
    const res = await axios.request({
      method: options.method,
      url: options.uri,
      headers: { ...options.headers },
      data: options.json && typeof options.json === 'object' ? options.json : undefined,
      timeout: options.timeout ?? o.timeoutMs,
      validateStatus: () => true,
      ...(httpsAgent ? { httpsAgent } : {}),
    })
    return { statusCode: res.status, body: res.data, request: { path: new URL(options.uri).pathname }, headers: { ...res.headers } }
  }
  return { defaults: () => send }
}

/** Default factory: a node-vault client configured from our options, with node-vault's debug output silenced (it prints request bodies). */
export function createNodeVaultClient(o: VaultClientOptions): NodeVaultClient {
  const requestOptions: Record<string, unknown> = {}
  if (o.timeoutMs) requestOptions.timeout = o.timeoutMs
  const client = nodeVault({
    apiVersion: 'v1',
    endpoint: o.endpoint,
    namespace: o.namespace,
    requestOptions,
    debug: () => {},
    'request-promise': headerKeepingTransport(o),
  } as never) as unknown as NodeVaultClient & { handleVaultResponse(r: RpResponse): Promise<unknown> }
  // node-vault's error keeps status and body only; put the headers back for Retry-After.
  const handle = client.handleVaultResponse
  client.handleVaultResponse = (r: RpResponse) =>
    handle(r).catch((e: { response?: Record<string, unknown> }) => {
      if (e?.response && r?.headers) e.response.headers = r.headers
      throw e
    })
  // node-vault picks up process.env.VAULT_TOKEN; tokens are passed per request instead.
  client.token = ''
  return client
}

/**
 * Typed Vault calls over one node-vault client. The token travels per request in `X-Vault-Token`, so one
 * client serves every identity; every failure comes out as a sanitised VaultRequestError.
 */
export class VaultClient {
  /** Vault asked us (429 + Retry-After) to send nothing before this time (ms on the clock). */
  private quietUntil = 0

  constructor(
    private readonly client: NodeVaultClient,
    private readonly observe: VaultRequestObserver = () => {},
    private readonly timeoutMs?: number,
    private readonly now: () => number = Date.now,
  ) {
    // We own the token header: a token left on the client (or picked up from VAULT_TOKEN) must not ride along on logins.
    client.token = ''
  }

  login(mount: string, body: Record<string, unknown>): Promise<VaultAuthResponse> {
    return this.call('login', `auth/${mount}/login`, undefined, (p, o) => this.client.write(p, body, o))
  }

  async lookupSelf(token: string): Promise<TokenLookupData> {
    const res = await this.call('lookup', 'auth/token/lookup-self', token, (p, o) => this.client.read(p, o))
    return (res as { data: TokenLookupData }).data
  }

  renewSelf(token: string, increment?: number): Promise<VaultAuthResponse> {
    const body = increment ? { increment } : {}
    return this.call('renew', 'auth/token/renew-self', token, (p, o) => this.client.write(p, body, o))
  }

  async revokeSelf(token: string): Promise<void> {
    await this.call('revoke', 'auth/token/revoke-self', token, (p, o) => this.client.write(p, {}, o))
  }

  read(path: string, token: string): Promise<{ data?: any }> {
    return this.call('read', path, token, (p, o) => this.client.read(p, o))
  }

  private async call<T>(
    operation: VaultOperation,
    path: string,
    token: string | undefined,
    send: (path: string, options: Record<string, unknown>) => Promise<T>,
  ): Promise<T> {
    const wait = this.quietUntil - this.now()
    if (wait > 0) {
      // Honour Retry-After: fail locally, send nothing, until the time Vault asked for has passed.
      const left = Math.ceil(wait / 1000)
      throw new VaultRequestError(operation, 'rate_limited', 429, path, `rate limited by Vault; not sending for another ${left} s (Retry-After)`, left)
    }
    const options: Record<string, unknown> = token ? { headers: { 'X-Vault-Token': token } } : {}
    if (this.timeoutMs) options.timeout = this.timeoutMs
    const started = performance.now()
    try {
      const res = await send(path, options)
      this.observe(operation, 200, (performance.now() - started) / 1000)
      return res
    } catch (err) {
      const e = toVaultRequestError(err, operation, path)
      if (e.retryAfterSeconds) this.quietUntil = Math.max(this.quietUntil, this.now() + e.retryAfterSeconds * 1000)
      this.observe(operation, e.status ?? 'error', (performance.now() - started) / 1000)
      throw e
    }
  }
}

export { VaultRequestError }
