/**
 * Issue 12, point 5: a token already on the node-vault client handed in by `vaultFactory` (its `token` option, or
 * VAULT_TOKEN in the environment when the client is built, which node-vault picks up) is used first, the way KES used
 * `client.token`: looked up, renewed on the same rules, replaced by a role login when it dies, never revoked by us.
 */
import assert from 'node:assert/strict'
import type { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { b64, build, tearDown, devVault, listen, spec } from './support.js'

describe('transport: a token preset on the node-vault client', function () {
  this.timeout(10_000)
  let backend: VaultBackend | undefined
  let dev: DevVault | undefined
  let clock: ManualClock
  let preset: string
  beforeEach(async () => {
    clock = new ManualClock()
    dev = await devVault(clock, { app: { token_ttl: '1h' } })
    // An operator's token (auth/token/create), renewable, 60 s.
    const res = await fetch(`${dev.address}/v1/auth/token/create`, {
      method: 'POST',
      headers: { 'x-vault-token': dev.rootToken },
      body: JSON.stringify({ policies: ['app'], ttl: '60s' }),
    })
    preset = ((await res.json()) as { auth: { client_token: string } }).auth.client_token
    dev.resetCounters()
  })
  afterEach(tearDown)

  const read = () => backend!.getSecretManifestData(spec('secret/data/app/db'))

  it("node-vault's token option: looked up, renewed at the threshold, replaced by a role login when revoked; close() revokes only the login's token", async () => {
    const front = await listen(() => false, dev!.address)
    ;({ backend } = build('kes', front.url, { clock, nodeVault: { token: preset } }))
    assert.deepEqual(await read(), { password: b64('pw-app') })
    await clock.advance(10_000)
    await read()
    await clock.advance(20_000)
    await read() // ttl 30 s <= 3 polls: renewed
    const withPreset = front.received.map((r) => `${r.operation}${r.headers['x-vault-token'] === preset ? '' : ' (other token)'}`)
    assert.deepEqual(withPreset, ['lookup', 'read', 'lookup', 'read', 'lookup', 'renew', 'read'])
    assert.equal(dev!.counters().requests.login, 0, 'no login while the preset token serves')

    dev!.revokeToken(preset)
    await clock.advance(10_000)
    assert.deepEqual(await read(), { password: b64('pw-app') })
    const after = front.received.slice(7).map((r) => `${r.operation}${r.headers['x-vault-token'] === preset ? ' (preset)' : ''}`)
    assert.deepEqual(after, ['lookup (preset)', 'login', 'read'])
    assert.equal(dev!.liveTokens({ role: 'app' }), 1)

    assert.deepEqual(await backend.close(), { revoked: 1 })
    const revokes = front.received.filter((r) => r.operation === 'revoke')
    assert.equal(revokes.length, 1)
    assert.notEqual(revokes[0]!.headers['x-vault-token'], preset)
    assert.equal(dev!.liveTokens({ role: 'app' }), 0)
  })

  it('VAULT_TOKEN in the environment when the client is built: used first, never revoked by close()', async () => {
    const front = await listen(() => false, dev!.address)
    const saved = process.env.VAULT_TOKEN
    process.env.VAULT_TOKEN = preset
    try {
      ;({ backend } = build('kes', front.url, { clock }))
    } finally {
      if (saved === undefined) delete process.env.VAULT_TOKEN
      else process.env.VAULT_TOKEN = saved
    }
    await read()
    await clock.advance(10_000)
    await read()
    assert.deepEqual(front.received.map((r) => r.operation), ['lookup', 'read', 'lookup', 'read'])
    assert.ok(front.received.every((r) => r.headers['x-vault-token'] === preset))
    assert.deepEqual(await backend.close(), { revoked: 0 })
    assert.equal(front.count('revoke'), 0)
    assert.ok(dev!.lookupToken(preset), 'the operator token is alive after close()')
  })

  it('a preset token that is already dead costs one lookup, then the role logs in', async () => {
    dev!.revokeToken(preset)
    const front = await listen(() => false, dev!.address)
    ;({ backend } = build('kes', front.url, { clock, nodeVault: { token: preset } }))
    assert.deepEqual(await read(), { password: b64('pw-app') })
    assert.deepEqual(front.received.map((r) => r.operation), ['lookup', 'login', 'read'])
  })

  it('once the preset token is found dead, identities created later log in without trying it again', async () => {
    dev!.writePolicy('other', ['secret/data/other/'])
    dev!.writeRole('kubernetes', 'other', { policies: ['other'], token_ttl: '1h' })
    dev!.putSecret('secret', 'other/db', { password: 'pw-other' })
    const front = await listen(() => false, dev!.address)
    ;({ backend } = build('kes', front.url, { clock, nodeVault: { token: preset } }))
    await read()
    dev!.revokeToken(preset)
    await clock.advance(10_000)
    await read()
    assert.deepEqual(front.received.map((r) => r.operation), ['lookup', 'read', 'lookup', 'login', 'read'])
    assert.deepEqual(await backend.getSecretManifestData(spec('secret/data/other/db', 'other')), { password: b64('pw-other') })
    assert.deepEqual(front.received.slice(5).map((r) => r.operation), ['login', 'read'], 'no lookup with the dead preset token')
    assert.equal(dev!.counters().deadTokenRequests.length, 1)
  })
})
