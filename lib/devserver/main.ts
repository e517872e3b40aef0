/**
 * `kes-vault-backend dev-vault`: the dev Vault standalone on a fixed port, seeded with a demo
 * role, policy and secret. Prints the address and root token for its own operator.
 */
import { type DevVault, startDevVault } from './dev-vault.js'

export interface DevVaultOutput {
  write(chunk: string): unknown
}

const USAGE = `usage: kes-vault-backend dev-vault [--port N] [--old-errors]
  --port N       listen on 127.0.0.1:N (default 8200; 0 = any free port)
  --old-errors   403 body "permission denied" like older Vault / OpenBao
`

export function parseDevVaultArgs(argv: string[]): { port: number; oldErrors: boolean } | { help: true } | { error: string } {
  let port = 8200
  let oldErrors = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--help' || a === '-h') return { help: true }
    if (a === '--old-errors') oldErrors = true
    else if (a === '--port' || a.startsWith('--port=')) {
      const raw = a.includes('=') ? a.slice('--port='.length) : argv[++i]
      const n = Number(raw)
      if (raw === undefined || !/^\d+$/.test(raw) || n > 65535) return { error: `--port ${raw ?? ''} is not a port number (0-65535)` }
      port = n
    } else return { error: `unknown argument ${a}` }
  }
  return { port, oldErrors }
}

/** The demo identity `npm start` and the README use. */
export function seedDemo(vault: DevVault): void {
  vault.enableKubernetesAuth('kubernetes')
  vault.writePolicy('demo', ['secret/data/demo/', 'secret/metadata/demo/'])
  vault.writeRole('kubernetes', 'demo', {
    policies: ['demo'],
    token_ttl: '1h',
    token_max_ttl: '4h',
    bound_service_account_names: ['demo'],
    bound_service_account_namespaces: ['default'],
  })
  vault.putSecret('secret', 'demo/database', { username: 'demo', password: 'dev-only-password' })
}

/**
 * Start the dev Vault and print how to reach it. Resolves with the running server (the caller
 * owns its life: close it on SIGINT); rejects on bad arguments or a port in use.
 */
export async function runDevVault(argv: string[], out: DevVaultOutput): Promise<DevVault | undefined> {
  const args = parseDevVaultArgs(argv)
  if ('help' in args) {
    out.write(USAGE)
    return undefined
  }
  if ('error' in args) throw new Error(`${args.error}\n${USAGE}`)
  const vault = await startDevVault({ port: args.port, errorWording: args.oldErrors ? 'old' : 'new' })
  seedDemo(vault)
  out.write(
    [
      'Dev Vault is running in memory (data is lost on exit; never use it for real secrets).',
      '',
      `    export VAULT_ADDR='${vault.address}'`,
      `    export VAULT_TOKEN='${vault.rootToken}'`,
      '',
      'Seeded: auth/kubernetes role "demo" (service account default/demo, ttl 1h, max 4h),',
      '        policy "demo" (reads secret/data/demo/), secret secret/demo/database (KV v2).',
      `Try:    curl -s -H "X-Vault-Token: $VAULT_TOKEN" $VAULT_ADDR/v1/secret/data/demo/database`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  )
  return vault
}
