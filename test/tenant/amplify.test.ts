/**
 * One small spec must not make the controller run out of memory or freeze (a reviewer's finding): items that read one
 * large secret share one Vault read, one JSON text and one parse; a Secret larger than Kubernetes allows is refused
 * before it is built; a spec has at most 1 000 items. Times are printed, never asserted.
 */
import assert from 'node:assert/strict'
import { KUBERNETES_SECRET_MAX_BYTES } from '../../lib/backend/vault-backend.js'
import { MAX_SPEC_ITEMS } from '../../lib/spec-names.js'
import { world, type World } from './world.js'

describe('tenant: a spec cannot amplify one large secret into an outage', function () {
  this.timeout(60_000)
  let w: World | undefined
  afterEach(async () => {
    await w?.close()
    w = undefined
  })

  /** Team a's own 1.5 MB secret of 80 000 keys: under VAULT_MAX_RESPONSE_BYTES, so Vault's answer is read. */
  async function withBigSecret(): Promise<World> {
    w = await world()
    w.dev.putSecret('secret', 'team-a/big', Object.fromEntries(Array.from({ length: 80_000 }, (_, i) => [`k${i}`, `v${i}`])))
    return w
  }

  const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now()
    try {
      return await work()
    } finally {
      console.log(`      ${what}: ${Math.round(performance.now() - t0)} ms, heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB`)
    }
  }

  it('300 items of the whole secret: one Vault read, refused as larger than a Kubernetes Secret, quickly', async () => {
    const w = await withBigSecret()
    const spec = { vaultRole: 'team-a', data: Array.from({ length: 300 }, (_, i) => ({ key: 'secret/data/team-a/big', name: `n${i}` })) }
    const reads = w.dev.counters().requests.read
    await timed('300 items x 1.5 MB', () =>
      assert.rejects(w.backend.getSecretManifestData({ spec }), new RegExp(`the Secret would hold more than ${KUBERNETES_SECRET_MAX_BYTES} bytes \\(reached at key 'n0'\\)`)),
    )
    assert.equal(w.dev.counters().requests.read - reads, 1, 'one read shared by every item')
    const good = w.good('a')
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: good.spec }), good.expect, 'the team keeps syncing')
  })

  it('400 items picking one property each: one read, one parse, a small Secret', async () => {
    const w = await withBigSecret()
    const spec = { vaultRole: 'team-a', data: Array.from({ length: 400 }, (_, i) => ({ key: 'secret/data/team-a/big', name: `n${i}`, property: `k${i}` })) }
    const data = await timed('400 properties of 1.5 MB', () => w.backend.getSecretManifestData({ spec }))
    assert.equal(Object.keys(data).length, 400)
    assert.equal(Buffer.from(data.n399!, 'base64').toString(), 'v399')
    assert.equal(w.dev.counters().requests.read, 1)
  })

  it('dataFrom 40 times the same secret: merged in one pass, then refused as too large', async () => {
    const w = await withBigSecret()
    const spec = { vaultRole: 'team-a', dataFrom: Array.from({ length: 40 }, () => 'secret/data/team-a/big') }
    await timed('dataFrom x 40 of 80 000 keys', () => assert.rejects(w.backend.getSecretManifestData({ spec }), /the Secret would hold more than 1048576 bytes/))
    assert.equal(w.dev.counters().requests.read, 1)
    // Two large secrets in turns cannot be merged only once: the merge stops at 200 000 keys, not after 40 x 80 000.
    w.dev.putSecret('secret', 'team-a/big2', Object.fromEntries(Array.from({ length: 80_000 }, (_, i) => [`j${i}`, `w${i}`])))
    const turns = { vaultRole: 'team-a', dataFrom: Array.from({ length: 40 }, (_, i) => `secret/data/team-a/big${i % 2 ? '2' : ''}`) }
    await timed('dataFrom x 40, two secrets in turns', () => assert.rejects(w.backend.getSecretManifestData({ spec: turns }), /hold more than 200000 keys together/))
  })

  it(`more than ${MAX_SPEC_ITEMS} items are refused before any request, naming the spec`, async () => {
    w = await world()
    const spec = { vaultRole: 'team-a', data: Array.from({ length: MAX_SPEC_ITEMS + 1 }, (_, i) => ({ key: 'secret/data/team-a/app0', name: `n${i}` })) }
    await assert.rejects(w.backend.getSecretManifestData({ spec }), /^SpecError: spec: has 1001 items in data, dataFrom and dataFromWithOptions together; at most 1000$/m)
    assert.equal(w.requests(), 0)
  })

  it('a Secret at the bound is written whole (KES semantics below the bound are unchanged)', async () => {
    w = await world()
    const value = 'x'.repeat(700_000)
    w.dev.putSecret('secret', 'team-a/large', { value })
    const data = await w.backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/large', name: 'v', property: 'value' }] } })
    assert.equal(Buffer.from(data.v!, 'base64').toString().length, 700_000)
  })
})
