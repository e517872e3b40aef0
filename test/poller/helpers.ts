import { settle } from '../../lib/clock.js'
import type { ExternalSecretSpec, SecretsBackend } from '../../lib/poller/types.js'
import type { Logger } from '../../lib/types.js'

export const b64 = (s: string) => Buffer.from(s).toString('base64')

/** A KES-style backend: `values[namespace/name]` is the decoded data; failures can be injected per ExternalSecret. */
export class FakeBackend implements SecretsBackend {
  readonly calls: Array<{ namespace?: string; name?: string; spec: ExternalSecretSpec }> = []
  values = new Map<string, Record<string, string>>()
  failing = new Map<string, string>()
  closed = 0
  /** When set, calls wait for release() — to hold a poll in flight. */
  private gate: Promise<void> | undefined
  private openGate: (() => void) | undefined

  async getSecretManifestData(args: { spec: ExternalSecretSpec; namespace?: string; name?: string }): Promise<Record<string, string>> {
    this.calls.push({ namespace: args.namespace, name: args.name, spec: args.spec })
    if (this.gate) await this.gate
    const key = `${args.namespace}/${args.name}`
    const failure = this.failing.get(key)
    if (failure) throw new Error(failure)
    const v = this.values.get(key) ?? {}
    return Object.fromEntries(Object.entries(v).map(([k, s]) => [k, b64(s)]))
  }

  hold(): void {
    this.gate = new Promise((r) => (this.openGate = r))
  }

  release(): void {
    this.openGate?.()
    this.gate = undefined
  }

  callsFor(namespace: string, name: string): number {
    return this.calls.filter((c) => c.namespace === namespace && c.name === name).length
  }

  async close(): Promise<void> {
    this.closed++
  }
}

/** Waits (without sleeping) until `cond` holds, letting loopback I/O run. */
export async function waitFor(cond: () => boolean, what = 'condition', rounds = 2000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (cond()) return
    await settle(5)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** A logger that keeps every line, to assert secret values never appear. */
export class MemoryLogger implements Logger {
  lines: string[] = []
  private log(level: string, obj: object | string, msg?: string) {
    this.lines.push(`${level} ${typeof obj === 'string' ? obj : JSON.stringify(obj)} ${msg ?? ''}`)
  }
  debug(o: object | string, m?: string) {
    this.log('debug', o, m)
  }
  info(o: object | string, m?: string) {
    this.log('info', o, m)
  }
  warn(o: object | string, m?: string) {
    this.log('warn', o, m)
  }
  error(o: object | string, m?: string) {
    this.log('error', o, m)
  }
}

export const vaultSpec = (extra: Record<string, unknown> = {}) => ({
  backendType: 'vault',
  vaultMountPoint: 'kubernetes',
  vaultRole: 'demo',
  kvVersion: 2,
  data: [{ key: 'secret/data/app', name: 'password', property: 'password' }],
  ...extra,
})
