import assert from 'node:assert/strict'
import { parseDevVaultArgs, runDevVault } from '../../lib/devserver/main.js'
import { call } from './helpers.js'

describe('devserver: dev-vault command', () => {
  it('starts on the given port, seeds the demo identity and prints address and root token', async () => {
    let printed = ''
    const vault = await runDevVault(['--port', '0'], { write: (s: string) => (printed += s) })
    assert.ok(vault)
    try {
      assert.ok(printed.includes(`VAULT_ADDR='${vault.address}'`))
      assert.ok(printed.includes(`VAULT_TOKEN='${vault.rootToken}'`))
      const secret = await call(vault, 'GET', 'secret/data/demo/database', { token: vault.rootToken })
      assert.equal(secret.status, 200)
      const jwt = vault.makeServiceAccountJwt({ namespace: 'default', serviceAccount: 'demo', expiresAt: Date.now() + 3600_000 })
      const login = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'demo', jwt } })
      assert.equal(login.status, 200)
      assert.equal(login.body.auth.lease_duration, 3600)
      const token = login.body.auth.client_token
      assert.equal((await call(vault, 'GET', 'secret/data/demo/database', { token })).status, 200)
    } finally {
      await vault.close()
    }
  })

  it('parses --port (default 8200) and rejects what it does not know', async () => {
    assert.deepEqual(parseDevVaultArgs([]), { port: 8200, oldErrors: false })
    assert.deepEqual(parseDevVaultArgs(['--port=9000', '--old-errors']), { port: 9000, oldErrors: true })
    assert.ok('error' in parseDevVaultArgs(['--port', 'x']))
    assert.ok('error' in parseDevVaultArgs(['--bogus']))
    let help = ''
    assert.equal(await runDevVault(['--help'], { write: (s: string) => (help += s) }), undefined)
    assert.match(help, /--port/)
    await assert.rejects(runDevVault(['--bogus'], { write: () => undefined }), /unknown argument --bogus/)
  })
})
