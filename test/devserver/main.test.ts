import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ConfigError } from '../../lib/env.js'
import { DEFAULT_SEED_FILE, parseDevVaultArgs, runDevVault } from '../../lib/devserver/main.js'
import { call } from './helpers.js'

describe('devserver: dev-vault command', () => {
  it('serves exactly what the README dry run reads: every secret of examples/demo/externalsecrets.yaml, with the printed token', async () => {
    let printed = ''
    const vault = await runDevVault(['--port', '0'], { write: (s: string) => (printed += s) })
    assert.ok(vault)
    try {
      assert.ok(printed.includes(`export VAULT_ADDR='${vault.address}'`))
      assert.ok(printed.includes(`export VAULT_TOKEN='${vault.rootToken}'`))
      assert.match(printed, /(npm start -- demo|npx kes-vault-backend demo) +# dry run/)
      assert.match(printed, /vault kv put secret\/app\/database/)
      assert.match(printed, /Press Ctrl-C to stop\./)
      // The keys the example ExternalSecrets name, read as the dry run reads them (VAULT_TOKEN = the root token).
      const examples = await fs.readFile(path.join(path.dirname(DEFAULT_SEED_FILE), 'externalsecrets.yaml'), 'utf8')
      const keys = [...new Set([...examples.matchAll(/secret\/data\/[\w/-]+/g)].map((m) => m[0]))]
      assert.deepEqual(keys.sort(), ['secret/data/app/api', 'secret/data/app/database', 'secret/data/billing/stripe'])
      for (const key of keys) assert.equal((await call(vault, 'GET', key, { token: vault.rootToken })).status, 200, key)
      // And the demo roles log in as the in-process demo's service account.
      const jwt = vault.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kubernetes-external-secrets', expiresAt: Date.now() + 3600_000 })
      const login = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt } })
      assert.equal(login.status, 200)
      assert.equal(login.body.auth.lease_duration, 20)
      const billing = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'billing', jwt } })
      assert.equal(billing.body.auth.token_type, 'batch')
      assert.equal(billing.body.auth.renewable, false)
    } finally {
      await vault.close()
    }
  })

  it('--root-token and --seed: the token given, a seed of its own (policies as HCL, token roles)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dev-vault-'))
    const seed = path.join(dir, 'seed.yaml')
    await fs.writeFile(seed, ['policies:', '  ci: |', '    path "secret/data/ci/*" { capabilities = ["read", "create", "update"] }', 'token_roles:', '  ci: { allowed_policies: [ci], renewable: false }', 'secrets:', '  ci/key: { v: "1" }', ''].join('\n'))
    const vault = await runDevVault(['--port=0', '--root-token', 'hvs.fixed-root-token-for-tests', '--seed', seed], { write: () => undefined })
    assert.ok(vault)
    try {
      assert.equal(vault.rootToken, 'hvs.fixed-root-token-for-tests')
      const created = await call(vault, 'POST', 'auth/token/create/ci', { token: vault.rootToken, body: { ttl: '10m' } })
      assert.equal(created.body.auth.renewable, false)
      const r = await call(vault, 'GET', 'secret/data/ci/key', { token: created.body.auth.client_token })
      assert.deepEqual(r.body.data.data, { v: '1' })
    } finally {
      await vault.close()
      await fs.rm(dir, { recursive: true })
    }
  })

  it('bad arguments are a ConfigError (the CLI exits 78); --help prints the usage', async () => {
    assert.deepEqual(parseDevVaultArgs([]), { port: 8200, oldErrors: false, seedFile: DEFAULT_SEED_FILE })
    assert.deepEqual(parseDevVaultArgs(['--port=9000', '--old-errors']), { port: 9000, oldErrors: true, seedFile: DEFAULT_SEED_FILE })
    for (const bad of [['--port', 'abc'], ['--port', '70000'], ['--port'], ['--bogus'], ['--seed']]) {
      assert.throws(() => parseDevVaultArgs(bad), (e: unknown) => e instanceof ConfigError, bad.join(' '))
    }
    assert.throws(() => parseDevVaultArgs(['--port', 'abc']), /--port abc is not a port number/)
    await assert.rejects(runDevVault(['--seed', '/nonexistent/seed.yaml', '--port', '0'], { write: () => undefined }), (e: unknown) => e instanceof ConfigError && /cannot be read/.test((e as Error).message))
    let help = ''
    assert.equal(await runDevVault(['--help'], { write: (s: string) => (help += s) }), undefined)
    assert.match(help, /--port N/)
    assert.match(help, /--seed FILE/)
  })

  it('a port in use is a ConfigError that says what to do', async () => {
    const first = await runDevVault(['--port', '0'], { write: () => undefined })
    try {
      await assert.rejects(runDevVault(['--port', String(first!.port)], { write: () => undefined }), (e: unknown) => e instanceof ConfigError && /is in use/.test((e as Error).message))
    } finally {
      await first!.close()
    }
  })
})
