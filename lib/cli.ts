#!/usr/bin/env node
/** kes-vault-backend start | demo | dev-vault */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig } from './config.js'
import { ConfigError } from './env.js'
import { runDemo } from './demo.js'
import { runDevVault } from './devserver/main.js'
import { createVaultBackend } from './backend/create.js'

const USAGE = `usage: kes-vault-backend <command>
  start        with a cluster and VAULT_ADDR: run the ExternalSecrets poller host;
               with VAULT_ADDR only: render examples/demo against it (dry run);
               with neither: the demo on the embedded dev Vault (same as 'demo')
  demo [--polls N] [--fast] [--out DIR]
               the embedded dev Vault, the example ExternalSecrets, a line per poll per identity
  dev-vault [--port N]   the dev Vault alone, for local development
`

function clusterConfigured(env: NodeJS.ProcessEnv): boolean {
  return !!env.KUBERNETES_SERVICE_HOST || !!env.KUBECONFIG || fs.existsSync(path.join(os.homedir(), '.kube', 'config'))
}

function demoArgs(argv: string[]) {
  const o: { polls?: number; fast?: boolean; outDir?: string } = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--fast') o.fast = true
    else if (a === '--polls') {
      const n = Number(argv[++i])
      if (!Number.isInteger(n) || n < 1) throw new ConfigError('--polls', `--polls ${argv[i] ?? ''} is not a positive whole number`)
      o.polls = n
    } else if (a === '--out') o.outDir = argv[++i]
    else throw new ConfigError(a, `unknown argument ${a}\n${USAGE}`)
  }
  return o
}

async function runHost(): Promise<void> {
  const { PollerHost, loadPollerConfig, installShutdownHandlers } = await import('./poller/index.js')
  const { createKubeConfig, TokenRequestJwtCache } = await import('./kubernetes/index.js')
  const { collectProcessMetrics, startMetricsServer } = await import('./metrics.js')
  const { createLogger } = await import('./log.js')
  const { register } = await import('prom-client')
  const config = loadConfig(process.env)
  const pollerConfig = loadPollerConfig(process.env)
  const logger = createLogger({ level: config.logLevel })
  const kubeConfig = createKubeConfig()
  // TokenRequest for per-namespace identities: any ExternalSecret may name spec.vaultServiceAccount.
  const tokenRequests = new TokenRequestJwtCache({ kubeConfig, logger, maxEntries: config.tokenCacheMax })
  const backend = createVaultBackend(process.env, { logger, tokenRequests })
  collectProcessMetrics(register)
  const server = await startMetricsServer(config.metricsPort, register)
  const host = new PollerHost({ kubeConfig, backends: { vault: backend }, logger, registry: register, config: pollerConfig })
  installShutdownHandlers({ stop: async () => { await host.stop(); server.close() } }, logger)
  await host.start()
  logger.info({ metricsPort: config.metricsPort }, 'kes-vault-backend poller host started')
}

async function main(argv: string[]): Promise<number> {
  const [command = 'start', ...rest] = argv
  switch (command) {
    case 'start':
    case 'demo': {
      if (command === 'start' && process.env.VAULT_ADDR && clusterConfigured(process.env)) {
        await runHost()
        return -1
      }
      const opts = demoArgs(rest)
      let onStop!: () => void
      const stopSignal = new Promise<void>((r) => (onStop = r))
      process.once('SIGINT', onStop)
      process.once('SIGTERM', onStop)
      const { failedPolls } = await runDemo({ env: process.env, ...opts, stopSignal })
      return process.env.VAULT_ADDR && failedPolls > 0 ? 1 : 0
    }
    case 'dev-vault': {
      const dev = await runDevVault(rest, process.stdout)
      if (!dev) return 2
      await new Promise<void>((r) => process.once('SIGINT', () => r()))
      await dev.close()
      return 0
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE)
      return 0
    default:
      process.stderr.write(`unknown command ${command}\n${USAGE}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code)
  },
  (err: unknown) => {
    const e = err as Error
    process.stderr.write(`kes-vault-backend: ${e instanceof ConfigError ? 'configuration error: ' : ''}${e.message}\n`)
    process.exit(e instanceof ConfigError ? 78 : 1)
  },
)
