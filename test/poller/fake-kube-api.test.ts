import assert from 'node:assert/strict'
import { CoreV1Api } from '@kubernetes/client-node'
import { ManualClock } from '../../lib/clock.js'
import { FakeKubeApi } from '../support/fake-kube-api.js'

describe('fake-kube-api', () => {
  let api: FakeKubeApi
  const clock = new ManualClock(Date.UTC(2026, 0, 1))
  beforeEach(async () => {
    api = await FakeKubeApi.start({ clock })
  })
  afterEach(() => api.close())

  it('answers TokenRequests as the API server does, with a decodable JWT, and counts them', async () => {
    const core = api.kubeConfig().makeApiClient(CoreV1Api)
    const res = await core.createNamespacedServiceAccountToken({
      namespace: 'team-a',
      name: 'vault-reader',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['vault'], expirationSeconds: 600 } },
    })
    assert.equal(res.spec.expirationSeconds, 600)
    assert.deepEqual(res.spec.audiences, ['vault'])
    assert.equal(res.status!.expirationTimestamp!.toISOString(), new Date(clock.now() + 600_000).toISOString())
    const payload = JSON.parse(Buffer.from(res.status!.token.split('.')[1]!, 'base64url').toString())
    assert.equal(payload.sub, 'system:serviceaccount:team-a:vault-reader')
    assert.equal(payload.exp, clock.now() / 1000 + 600)
    assert.equal(api.count('create token'), 1)
    assert.equal(api.count('create token', 'team-a'), 1)
    assert.deepEqual(api.counts(), { 'create token': 1 })
  })

  it('404s unknown service accounts when strict, and injects faults', async () => {
    const core = api.kubeConfig().makeApiClient(CoreV1Api)
    const body = { spec: { audiences: ['vault'], expirationSeconds: 600 } }
    api.requireServiceAccounts = true
    await assert.rejects(core.createNamespacedServiceAccountToken({ namespace: 'a', name: 'nope', body }), (e: { code?: number }) => e.code === 404)
    api.addServiceAccount('a', 'ok')
    api.failNext('create token', 403)
    await assert.rejects(core.createNamespacedServiceAccountToken({ namespace: 'a', name: 'ok', body }), (e: { code?: number }) => e.code === 403)
    await core.createNamespacedServiceAccountToken({ namespace: 'a', name: 'ok', body })
    assert.equal(api.tokenRequests.length, 1)
  })
})
