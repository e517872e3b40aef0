/**
 * `kes-vault-backend dev-vault` (`npm start -- dev-vault`): the dev Vault standalone on a fixed port, seeded from
 * examples/demo/vault-seed.yaml, the same seed the in-process demo uses, so `npm start` with VAULT_ADDR and
 * VAULT_TOKEN pointing here renders every example ExternalSecret. Prints what to type next.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadYaml } from '@kubernetes/client-node'
import { ConfigError } from '../env.js'
import { type DevVault, startDevVault } from './dev-vault.js'
import { type DevVaultSeed, describeSeed, seedFromYamlObject } from './seed.js'

export interface DevVaultOutput {
  write(chunk: string): unknown
}

/** examples/demo/vault-seed.yaml, from lib/devserver (tsx) and dist/devserver (built) alike. */
export const DEFAULT_SEED_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'demo', 'vault-seed.yaml')

const USAGE = `usage: kes-vault-backend dev-vault [--port N] [--root-token T] [--seed FILE] [--old-errors]
  (npm start -- dev-vault [...])

The embedded dev Vault alone, in memory, on 127.0.0.1: Vault's token rules on the real clock.
  --port N         listen on 127.0.0.1:N (default 8200; 0 = any free port)
  --root-token T   the root token to accept (default: a new random hvs.… token, printed at start)
  --seed FILE      seed from this YAML (default: examples/demo/vault-seed.yaml, what the demo and its dry run read)
  --old-errors     403 body "permission denied" for an invalid token, like older Vault and OpenBao
  --help           this text
`

export interface DevVaultArgs {
  port: number
  oldErrors: boolean
  rootToken?: string
  seedFile: string
}

/** Parse the command's arguments; a bad one is a ConfigError (the CLI exits 78), `--help` asks for the usage. */
export function parseDevVaultArgs(argv: string[]): DevVaultArgs | { help: true } {
  const args: DevVaultArgs = { port: 8200, oldErrors: false, seedFile: DEFAULT_SEED_FILE }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const eq = a.indexOf('=')
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a
    const value = () => {
      const v = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : argv[++i]
      if (v === undefined || v === '') throw new ConfigError(name, `${name} needs a value\n${USAGE}`)
      return v
    }
    if (name === '--help' || name === '-h') return { help: true }
    if (name === '--old-errors') args.oldErrors = true
    else if (name === '--port') {
      const raw = value()
      if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new ConfigError('--port', `--port ${raw} is not a port number; expected 0-65535 (0 = any free port)`)
      args.port = Number(raw)
    } else if (name === '--root-token') args.rootToken = value()
    else if (name === '--seed') args.seedFile = path.resolve(value())
    else throw new ConfigError(name, `unknown argument ${a}\n${USAGE}`)
  }
  return args
}

async function readSeed(file: string): Promise<DevVaultSeed> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (e) {
    throw new ConfigError('--seed', `--seed ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  try {
    return (loadYaml<DevVaultSeed>(text) ?? {}) as DevVaultSeed
  } catch (e) {
    throw new ConfigError('--seed', `--seed ${file} is not valid YAML: ${(e as Error).message}`)
  }
}

/**
 * How the user started us, so the next command printed is one they can type: `npm start -- demo` in this repository,
 * `npx kes-vault-backend demo` where the package is installed. `demo` with VAULT_ADDR is always the dry run; plain
 * `start` would run the poller host against a cluster when ~/.kube/config exists.
 */
function invocation(command: string): string {
  return process.env.npm_lifecycle_event === 'start' || process.env.npm_lifecycle_event === 'dev-vault' ? `npm start -- ${command}` : `npx kes-vault-backend ${command}`
}

/**
 * Start the dev Vault and print how to reach it. Resolves with the running server (the caller owns its life: close
 * it on SIGINT), or undefined after --help; rejects with a ConfigError on bad arguments or seed, or when the port is taken.
 */
export async function runDevVault(argv: string[], out: DevVaultOutput): Promise<DevVault | undefined> {
  const args = parseDevVaultArgs(argv)
  if ('help' in args) {
    out.write(USAGE)
    return undefined
  }
  const seed = await readSeed(args.seedFile)
  let vault: DevVault
  try {
    vault = await startDevVault({ port: args.port, rootToken: args.rootToken, errorWording: args.oldErrors ? 'old' : 'new' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new ConfigError('--port', `port ${args.port} is in use (another Vault?); pass --port N, or --port 0 for any free port`)
    throw e
  }
  try {
    seedFromYamlObject(vault, seed)
  } catch (e) {
    await vault.close()
    throw new ConfigError('--seed', `${args.seedFile}: ${(e as Error).message}`)
  }
  const seedName = path.relative(process.cwd(), args.seedFile) || args.seedFile
  out.write(
    [
      `Dev Vault listening on ${vault.address}: in memory (lost on exit), never for real secrets.`,
      `Seeded from ${seedName}:`,
      ...describeSeed(seed).map((l) => `  ${l}`),
      '',
      'In another terminal, point the backend (or the vault CLI) at it:',
      '',
      `    export VAULT_ADDR='${vault.address}'`,
      `    export VAULT_TOKEN='${vault.rootToken}'`,
      `    ${invocation('demo')}   # dry run: renders examples/demo/externalsecrets.yaml from this Vault into out/secrets/`,
      '',
      'Change a secret and run the dry run again (KV v2 at secret/):',
      '',
      `    curl -s -H "X-Vault-Token: $VAULT_TOKEN" -X POST -d '{"data":{"username":"app","password":"s3cr3t"}}' $VAULT_ADDR/v1/secret/data/app/database`,
      `    curl -s -H "X-Vault-Token: $VAULT_TOKEN" $VAULT_ADDR/v1/secret/data/app/database`,
      '    vault kv put secret/app/database username=app password=s3cr3t     # or with the Vault CLI',
      '    vault kv get secret/app/database',
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  )
  return vault
}
