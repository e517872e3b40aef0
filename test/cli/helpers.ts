/** Running commands as a user would, with bounded waits: for the README, CLI and package tests. */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** What `npm test` (or the developer's shell) sets that a user's fresh shell would not; npm's own config stays. */
const DROP = /^(npm_(lifecycle|package)_|npm_command$|npm_execpath$|npm_node_execpath$|INIT_CWD$|VAULT_|KUBECONFIG$|KUBERNETES_SERVICE_HOST$|LOG_LEVEL$|POLLER_INTERVAL_MILLISECONDS$|METRICS_PORT$|DEFAULT_VAULT_|NODE_OPTIONS$)/

export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !DROP.test(k))), ...extra }
}

export interface Proc {
  child: ChildProcess
  output(): string
  /** Resolves with the exit code (128 + n when killed by signal n), or rejects after `ms`. */
  exited(ms: number): Promise<number>
  /** Waits until the output matches, the process exits, or `ms` pass; fails with the output so far. */
  waitFor(re: RegExp, ms: number): Promise<void>
  /** Ctrl-C: SIGINT to the whole process group, as a terminal sends it. */
  interrupt(): void
  kill(): void
}

const SIGNALS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }

/** Starts argv in its own process group, stdin closed, stdout and stderr collected together. */
export function start(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Proc {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd ?? ROOT, env: opts.env ?? userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exit = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 1))))
  const group = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig)
    } catch {
      /* already gone */
    }
  }
  return {
    child,
    output: () => out,
    exited: (ms) =>
      Promise.race([exit, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`${argv.join(' ')} still running after ${ms} ms; output:\n${out}`)), ms).unref())]),
    async waitFor(re, ms) {
      const deadline = Date.now() + ms
      while (!re.test(out)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${argv.join(' ')} exited (${child.exitCode ?? child.signalCode}) before printing ${re}; output:\n${out}`)
        if (Date.now() > deadline) throw new Error(`${argv.join(' ')} did not print ${re} within ${ms} ms; output:\n${out}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    interrupt: () => group('SIGINT'),
    kill: () => group('SIGKILL'),
  }
}

/** True while any process of the group is alive. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}
