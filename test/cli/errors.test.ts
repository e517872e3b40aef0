import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { type DevVault, startDevVault } from '../../lib/devserver/index.js'
import { FakeKubeApi } from '../support/fake-kube-api.js'
import { start, userEnv } from './helpers.js'

/** Start-up errors a user meets: each names the argument, variable or file, and exits 78 (EX_CONFIG). */
const cli = (args: string[], env: Record<string, string> = {}) => start([process.execPath, '--import', 'tsx', 'lib/cli.ts', ...args], { env: userEnv(env) })

async function fails78(args: string[], env: Record<string, string>, names: RegExp): Promise<void> {
  const p = cli(args, env)
  const code = await p.exited(20_000)
  assert.equal(code, 78, `exit code; output:\n${p.output()}`)
  assert.match(p.output(), /^kes-vault-backend: configuration error: /m)
  assert.match(p.output(), names)
  assert.doesNotMatch(p.output(), /\n\s+at /, 'no stack trace')
}

describe('cli: start-up errors name what to fix and exit 78', function () {
  this.timeout(30_000)
  let dir: string
  let kube: FakeKubeApi
  let dev: DevVault
  let kubeconfig: string

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kes-cli-'))
    kube = await FakeKubeApi.start()
    dev = await startDevVault()
    kubeconfig = path.join(dir, 'kubeconfig')
    await fs.writeFile(kubeconfig, kube.kubeConfig().exportConfig())
    await fs.writeFile(path.join(dir, 'token'), 'not-a-jwt')
  })

  after(async () => {
    await kube.close()
    await dev.close()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('a bad dev-vault argument (--port abc), like every other bad argument', async () => {
    await fails78(['dev-vault', '--port', 'abc'], {}, /--port abc/)
  })

  it("the dev Vault's port in use", async () => {
    const blocker = net.createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      await fails78(['dev-vault', '--port', String(port)], {}, new RegExp(`port ${port} is in use`))
    } finally {
      blocker.close()
    }
  })

  it('a bad demo argument and an unknown command', async () => {
    await fails78(['demo', '--polls', '0'], {}, /--polls 0 is not a positive whole number/)
    await fails78(['deploy'], {}, /unknown command deploy/)
  })

  it('a bad variable, in the demo too', async () => {
    await fails78(['demo', '--fast', '--polls', '1'], { LOG_LEVEL: 'loud' }, /LOG_LEVEL="loud"/)
  })

  it('KUBECONFIG naming a missing file: the variable and the file, not a bare ENOENT', async () => {
    await fails78(['start'], { VAULT_ADDR: dev.address, KUBECONFIG: path.join(dir, 'nonexistent') }, /KUBECONFIG=.*nonexistent: no such file/)
  })

  it('a kubeconfig that does not parse: the variable and the file', async () => {
    const bad = path.join(dir, 'bad-kubeconfig')
    await fs.writeFile(bad, 'clusters: [')
    await fails78(['start'], { VAULT_ADDR: dev.address, KUBECONFIG: bad }, /cannot load the Kubernetes configuration from KUBECONFIG=.*bad-kubeconfig/)
  })

  it('a kubeconfig with clusters but no current-context: the variable and the reason, exit 78 (was a bare "No active cluster!", exit 1)', async () => {
    const none = path.join(dir, 'no-context-kubeconfig')
    await fs.writeFile(none, [
      'apiVersion: v1', 'kind: Config',
      'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]',
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
    ].join('\n'))
    await fails78(['start'], { VAULT_ADDR: dev.address, KUBECONFIG: none }, /cannot load the Kubernetes configuration from KUBECONFIG=.*no-context-kubeconfig: No active cluster/)
  })

  it('METRICS_PORT already in use', async () => {
    const blocker = net.createServer()
    await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', () => r()))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      await fails78(['start'], { VAULT_ADDR: dev.address, KUBECONFIG: kubeconfig, METRICS_PORT: String(port), VAULT_SERVICE_ACCOUNT_TOKEN_PATH: path.join(dir, 'token') }, new RegExp(`METRICS_PORT=${port}: cannot listen \\(EADDRINUSE\\)`))
    } finally {
      blocker.close()
    }
  })

  it('METRICS_PORT=0: the host logs the port it bound, and serves /metrics there', async () => {
    const p = cli(['start'], { VAULT_ADDR: dev.address, KUBECONFIG: kubeconfig, METRICS_PORT: '0', VAULT_SERVICE_ACCOUNT_TOKEN_PATH: path.join(dir, 'token') })
    try {
      await p.waitFor(/"metricsPort":\d+[^\n]*poller host started/, 20_000)
      const port = Number(/"metricsPort":(\d+)/.exec(p.output())![1])
      assert.notEqual(port, 0)
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })
      assert.equal(res.status, 200)
      assert.match(await res.text(), /process_cpu/)
      p.child.kill('SIGTERM')
      assert.equal(await p.exited(15_000), 0)
    } finally {
      p.kill()
    }
  })
})
