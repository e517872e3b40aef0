#!/usr/bin/env node
/**
 * kes-vault-backend start | demo | dev-vault. Each mode imports what it needs when it runs, so `--help` and the dev Vault
 * do not load the poller host or @kubernetes/client-node. Exit codes: 0 done (or stopped with Ctrl-C/SIGTERM),
 * 1 failed, 78 configuration error (EX_CONFIG: a bad argument, variable or file, named in the message).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ConfigError } from './env.js'

const EX_CONFIG = 78

const USAGE = `usage: kes-vault-backend [start|demo|dev-vault] [options]   (npm start -- <command> [options])
  start       the default: picks a mode from the environment (start --help)
  demo        the embedded dev Vault and the example ExternalSecrets, a line per poll per identity (demo --help)
  dev-vault   the dev Vault alone on 127.0.0.1:8200, for local development (dev-vault --help)
Exit codes: 0 done or stopped (Ctrl-C), 1 failed, 78 configuration error (names the argument, variable or file).
`

const START_USAGE = `usage: kes-vault-backend start [demo options]
  VAULT_ADDR and a cluster   run the ExternalSecrets poller host: watch ExternalSecrets, write Secrets, serve
                             /metrics on METRICS_PORT (a cluster: in-cluster, KUBECONFIG or ~/.kube/config)
  VAULT_ADDR, no cluster     render examples/demo/externalsecrets.yaml against that Vault once (dry run: the
                             manifests go to out/secrets/, nothing is written to a cluster)
  neither                    the demo on the embedded dev Vault (see demo --help), until Ctrl-C
For a dry run on a machine with a kubeconfig, use \`demo\` (VAULT_ADDR set): it never talks to a cluster.
Configuration comes from the environment (README: Configuration); a bad value exits 78 naming the variable.
`

const DEMO_USAGE = `usage: kes-vault-backend demo [--polls N] [--fast] [--out DIR]
  --polls N   stop after N polls (default: until Ctrl-C; 40 with --fast; 1 against a VAULT_ADDR)
  --fast      run on a virtual clock: no waiting between polls
  --out DIR   where to write the rendered Secret manifests (default out/secrets)
Polls every 2 s unless POLLER_INTERVAL_MILLISECONDS is set; LOG_LEVEL (default warn here) logs to stderr.
`

type Outcome = { exit: number } | 'running'

const isHelp = (a: string | undefined) => a === '--help' || a === '-h' || a === 'help'

function clusterConfigured(env: NodeJS.ProcessEnv): boolean {
  return !!env.KUBERNETES_SERVICE_HOST || !!env.KUBECONFIG || fs.existsSync(path.join(os.homedir(), '.kube', 'config'))
}

function demoArgs(argv: string[]): { polls?: number; fast?: boolean; outDir?: string } {
  const o: { polls?: number; fast?: boolean; outDir?: string } = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--fast') o.fast = true
    else if (a === '--polls' || a.startsWith('--polls=')) {
      const raw = a.includes('=') ? a.slice('--polls='.length) : argv[++i]
      const n = Number(raw)
      if (raw === undefined || !/^\d+$/.test(raw) || n < 1) throw new ConfigError('--polls', `--polls ${raw ?? ''} is not a positive whole number`)
      o.polls = n
    } else if (a === '--out' || a.startsWith('--out=')) {
      const raw = a.includes('=') ? a.slice('--out='.length) : argv[++i]
      if (!raw) throw new ConfigError('--out', '--out needs a directory')
      o.outDir = raw
    } else throw new ConfigError(a, `unknown argument ${a} (see --help)`)
  }
  return o
}

/**
 * Resolves on the first SIGINT/SIGTERM; the mode then stops cleanly and exits 0. Repeats are ignored: a Ctrl-C under
 * `npm start` arrives twice (from the terminal and forwarded by npm), and a second must not cut the clean stop short.
 */
function stopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.on('SIGINT', () => resolve())
    process.on('SIGTERM', () => resolve())
  })
}

async function runDemoMode(args: string[]): Promise<Outcome> {
  const opts = demoArgs(args)
  const { runDemo } = await import('./demo.js')
  const { failedPolls } = await runDemo({ env: process.env, ...opts, stopSignal: stopSignal() })
  // Against a real Vault (dry run) a failed read is the answer the user asked for: say so in the exit code.
  return { exit: process.env.VAULT_ADDR && failedPolls > 0 ? 1 : 0 }
}

/** client-node throws a bare ENOENT or a YAML error; name the variable and the file instead. */
function checkKubeConfigFiles(env: NodeJS.ProcessEnv): void {
  if (!env.KUBECONFIG) return
  for (const file of env.KUBECONFIG.split(path.delimiter).filter(Boolean)) {
    try {
      fs.accessSync(file, fs.constants.R_OK)
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not readable (${(e as NodeJS.ErrnoException).code})`
      throw new ConfigError('KUBECONFIG', `KUBECONFIG=${env.KUBECONFIG}: ${file}: ${why}; point it at a kubeconfig file, or run \`npm start -- demo\` for the demo or the dry run, which never talk to a cluster`)
    }
  }
}

async function runHostMode(args: string[]): Promise<Outcome> {
  if (args.length) throw new ConfigError(args[0]!, `the poller host takes no arguments (got ${args.join(' ')}); it is configured by environment variables`)
  checkKubeConfigFiles(process.env)
  const { loadConfig } = await import('./config.js')
  const { createVaultBackend } = await import('./backend/create.js')
  const { createLogger } = await import('./log.js')
  const { collectProcessMetrics, startMetricsServer } = await import('./metrics.js')
  const { TokenRequestJwtCache } = await import('./kubernetes/token-request.js')
  const { PollerHost, loadPollerConfig, installShutdownHandlers, createKubeConfig, createCoreV1Api } = await import('./poller/index.js')
  const { register } = await import('prom-client')
  const config = loadConfig(process.env)
  const pollerConfig = loadPollerConfig(process.env)
  const logger = createLogger({ level: config.logLevel })
  let kubeConfig: ReturnType<typeof createKubeConfig>
  let coreApi: ReturnType<typeof createCoreV1Api>
  try {
    kubeConfig = createKubeConfig()
    // Building a client is where a kubeconfig without a current context fails ("No active cluster!").
    coreApi = createCoreV1Api(kubeConfig)
  } catch (e) {
    const source = process.env.KUBECONFIG ? `KUBECONFIG=${process.env.KUBECONFIG}` : process.env.KUBERNETES_SERVICE_HOST ? 'the in-cluster service account' : '~/.kube/config'
    throw new ConfigError('KUBECONFIG', `cannot load the Kubernetes configuration from ${source}: ${(e as Error).message}`)
  }
  // TokenRequest for per-namespace identities: any ExternalSecret may name spec.vaultServiceAccount.
  const tokenRequests = new TokenRequestJwtCache({ api: coreApi, logger, maxEntries: config.tokenCacheMax })
  const backend = createVaultBackend(process.env, { logger, tokenRequests })
  collectProcessMetrics(register)
  const server = await startMetricsServer(config.metricsPort, register).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
      throw new ConfigError('METRICS_PORT', `METRICS_PORT=${config.metricsPort}: cannot listen (${e.code}); choose a free port (0 = any)`)
    }
    throw e
  })
  // The bound port (METRICS_PORT=0 asks for any free one), said as soon as it listens: the first ExternalSecrets list
  // may take long (an API server that is slow, or the CRD missing).
  const address = server.address()
  logger.info({ metricsPort: typeof address === 'object' && address ? address.port : config.metricsPort }, 'kes-vault-backend metrics listening')
  const host = new PollerHost({ kubeConfig, backends: { vault: backend }, logger, registry: register, config: pollerConfig })
  installShutdownHandlers({ stop: async () => { await host.stop(); server.close() } }, logger)
  await host.start()
  // start() also returns when a shutdown cut the first list short: then nothing started.
  if (host.running) logger.info({ metricsPort: typeof address === 'object' && address ? address.port : config.metricsPort }, 'kes-vault-backend poller host started')
  return 'running'
}

async function runDevVaultMode(args: string[]): Promise<Outcome> {
  const { runDevVault } = await import('./devserver/main.js')
  const stopped = stopSignal()
  // Bad arguments, an unreadable seed and a port in use are ConfigErrors (78), as in every other mode.
  const dev = await runDevVault(args, process.stdout)
  if (!dev) return { exit: 0 } // --help
  await stopped
  await dev.close()
  return { exit: 0 }
}

async function main(argv: string[]): Promise<Outcome> {
  const known = ['start', 'demo', 'dev-vault']
  // `npm start -- --polls 3` means `start --polls 3`: options without a command go to start.
  const [command, rest] = argv[0] === undefined || (argv[0].startsWith('-') && !isHelp(argv[0])) ? ['start', argv] : [argv[0], argv.slice(1)]
  if (isHelp(command)) {
    process.stdout.write(USAGE)
    return { exit: 0 }
  }
  if (!known.includes(command)) throw new ConfigError(command, `unknown command ${command}\n${USAGE}`)
  if (command === 'dev-vault') return runDevVaultMode(rest)
  if (rest.some(isHelp)) {
    process.stdout.write(command === 'start' ? START_USAGE + '\n' + DEMO_USAGE : DEMO_USAGE)
    return { exit: 0 }
  }
  if (command === 'start' && process.env.VAULT_ADDR && clusterConfigured(process.env)) return runHostMode(rest)
  return runDemoMode(rest)
}

// `npm start | head`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
  throw e
})

main(process.argv.slice(2)).then(
  (outcome) => {
    if (outcome !== 'running') process.exit(outcome.exit)
  },
  (err: unknown) => {
    const e = err as Error
    // instanceof, and the name in case a second copy of env.js was loaded (a bundler, a linked checkout).
    const config = e instanceof ConfigError || e?.name === 'ConfigError'
    process.stderr.write(`kes-vault-backend: ${config ? 'configuration error: ' : ''}${e?.message ?? String(err)}\n`)
    process.exit(config ? EX_CONFIG : 1)
  },
)
