import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { type DevVault, startDevVault } from '../../lib/devserver/index.js'
import { FakeKubeApi } from '../support/fake-kube-api.js'

/** A port nothing listens on right now: the OS picks it, we release it for the child. */
async function freePort(): Promise<number> {
  const net = await import('node:net')
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as import('node:net').AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

/**
 * `npm start` with a cluster and VAULT_ADDR, as a real process: it must watch ExternalSecrets, log in with the projected
 * service-account JWT, write the Secret, serve /metrics, and on SIGTERM stop and revoke its token. Real time here (a
 * separate process cannot share a virtual clock), so it waits for events with a deadline, never for a TTL.
 */
describe('npm start: the poller host as a process (fake Kubernetes API, dev Vault)', function () {
  this.timeout(60_000)
  let kube: FakeKubeApi
  let dev: DevVault
  let dir: string
  let child: ChildProcess | undefined
  let output = ''

  before(async () => {
    kube = await FakeKubeApi.start()
    dev = await startDevVault()
    dev.enableKubernetesAuth('kubernetes')
    dev.writePolicy('app', ['secret/data/app/'])
    dev.writeRole('kubernetes', 'app', { policies: ['app'], token_ttl: '1h', bound_service_account_names: ['kes'], bound_service_account_namespaces: ['kes'] })
    dev.putSecret('secret', 'app/db', { password: 'e2e-password' })
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kes-e2e-'))
    await fs.writeFile(path.join(dir, 'kubeconfig'), kube.kubeConfig().exportConfig())
    await fs.writeFile(path.join(dir, 'token'), dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: Date.now() + 3600_000 }))
    kube.addNamespace('team')
    kube.addExternalSecret('team', 'db', { backendType: 'vault', vaultMountPoint: 'kubernetes', vaultRole: 'app', data: [{ key: 'secret/data/app/db', name: 'password', property: 'password' }] })
  })

  after(async () => {
    child?.kill('SIGKILL')
    await kube.close()
    await dev.close()
    await fs.rm(dir, { recursive: true, force: true })
  })

  async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!(await ok())) {
      if (Date.now() > deadline || child?.exitCode != null) assert.fail(`${what} did not happen; process output:\n${output}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  it('syncs the ExternalSecret into a Secret, serves /metrics, and revokes its token on SIGTERM', async () => {
    const port = await freePort()
    child = spawn(process.execPath, ['--import', 'tsx', 'lib/cli.ts', 'start'], {
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: path.join(dir, 'kubeconfig'),
        VAULT_ADDR: dev.address,
        VAULT_SERVICE_ACCOUNT_TOKEN_PATH: path.join(dir, 'token'),
        POLLER_INTERVAL_MILLISECONDS: '1000',
        METRICS_PORT: String(port),
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout!.on('data', (d) => (output += d))
    child.stderr!.on('data', (d) => (output += d))

    await until('the Secret team/db', () => kube.secretData('team', 'db')?.password === 'e2e-password')
    await until('/metrics', async () => {
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '')
      return /kubernetes_external_secrets_sync_calls_count\{[^}]*status="success"/.test(text) && /kes_vault_logins_total\{[^}]*result="success"/.test(text) && /process_cpu/.test(text)
    })
    assert.equal(dev.liveTokens({ role: 'app' }), 1)
    child.kill('SIGTERM')
    await until('a clean exit', () => child!.exitCode === 0, 15_000)
    assert.equal(dev.liveTokens({ role: 'app' }), 0, 'the token was revoked at shutdown')
    assert.equal(dev.counters().requests.login, 1)
    const jwt = await fs.readFile(path.join(dir, 'token'), 'utf8')
    assert.equal(output.includes(jwt), false, 'the JWT never appears in the output')
    assert.equal(output.includes('e2e-password'), false)
  })
})
