import assert from 'node:assert/strict'
import nock from 'nock'
import { nockOff, nockOn } from '../support/hooks.js'
import { KubeConfig } from '@kubernetes/client-node'
import { Registry } from 'prom-client'
import { ManualClock } from '../../lib/clock.js'
import { DEFAULT_POLLER_CONFIG } from '../../lib/poller/config.js'
import { createKubeClient } from '../../lib/poller/kube.js'
import { Poller } from '../../lib/poller/poller.js'
import { SyncMetrics } from '../../lib/poller/sync-metrics.js'
import type { ExternalSecret } from '../../lib/poller/types.js'
import { silentLogger } from '../../lib/types.js'
import { b64, FakeBackend, vaultSpec } from './helpers.js'

const SERVER = 'http://kube.test'
const ES_PATH = '/apis/kubernetes-client.io/v1/namespaces/ns/externalsecrets/app'

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: SERVER, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  })
  return kc
}

const es = (): ExternalSecret => ({
  apiVersion: 'kubernetes-client.io/v1',
  kind: 'ExternalSecret',
  metadata: { name: 'app', namespace: 'ns', uid: 'uid-1', generation: 3, resourceVersion: '10' },
  spec: vaultSpec(),
  status: { lastSync: '2025-12-31T23:00:00.000Z', observedGeneration: 3, status: 'SUCCESS' },
})

const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } }
const sameJson = (a: unknown, b: unknown): boolean => {
  try {
    assert.deepEqual(a, b)
    return true
  } catch {
    return false
  }
}
const ownerReferences = [{ apiVersion: 'kubernetes-client.io/v1', kind: 'ExternalSecret', name: 'app', uid: 'uid-1', controller: true }]

describe('Poller against nock on the Kubernetes API', () => {
  let clock: ManualClock
  let backend: FakeBackend

  before(nockOn)
  after(nockOff)
  beforeEach(() => {
    nock.disableNetConnect()
    clock = new ManualClock(Date.UTC(2026, 0, 1))
    backend = new FakeBackend()
    backend.values.set('ns/app', { password: 'pw' })
  })

  afterEach(() => {
    nock.cleanAll()
    nock.enableNetConnect()
  })

  function poller(object = es()): Poller {
    return new Poller(object, {
      kube: createKubeClient(kubeConfig()),
      backends: { vault: backend },
      clock,
      timers: clock,
      random: () => 0,
      logger: silentLogger,
      metrics: new SyncMetrics(new Registry()),
      config: DEFAULT_POLLER_CONFIG,
      pollTimeoutMilliseconds: 60_000,
    })
  }

  const statusBody = (status: string, rv = '10') => (body: ExternalSecret) =>
    body.metadata.resourceVersion === rv &&
    JSON.stringify(body.status) === JSON.stringify({ lastSync: '2026-01-01T00:00:00.000Z', observedGeneration: 3, status })

  it('creates a missing Secret: namespace, get 404, POST, status', async () => {
    const scope = nock(SERVER)
      .get('/api/v1/namespaces/ns').reply(200, namespace)
      .get('/api/v1/namespaces/ns/secrets/app').reply(404, { kind: 'Status', code: 404, reason: 'NotFound' })
      .post('/api/v1/namespaces/ns/secrets', (b) => b.metadata.name === 'app' && b.data.password === b64('pw') && b.type === 'Opaque' && sameJson(b.metadata.ownerReferences, ownerReferences))
      .reply(201, {})
      .put(`${ES_PATH}/status`, statusBody('SUCCESS')).reply(200, { ...es(), metadata: { ...es().metadata, resourceVersion: '11' } })
    await poller().pollNow()
    assert.ok(scope.isDone(), scope.pendingMocks().join())
  })

  it('replaces a Secret whose data changed, and writes nothing when it did not', async () => {
    const live = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app', namespace: 'ns', resourceVersion: '5' }, type: 'Opaque', data: { password: b64('old') } }
    const scope = nock(SERVER)
      .get('/api/v1/namespaces/ns').reply(200, namespace)
      .get('/api/v1/namespaces/ns/secrets/app').reply(200, live)
      .put('/api/v1/namespaces/ns/secrets/app', (b) => b.data.password === b64('pw')).reply(200, {})
      .put(`${ES_PATH}/status`).reply(200, es())
      .get('/api/v1/namespaces/ns').reply(200, namespace)
      .get('/api/v1/namespaces/ns/secrets/app').reply(200, { ...live, data: { password: b64('pw') } })
      .put(`${ES_PATH}/status`).reply(200, es())
    const p = poller()
    await p.pollNow()
    await p.pollNow()
    assert.ok(scope.isDone(), scope.pendingMocks().join())
  })

  it('a 409 on status re-reads the ExternalSecret and retries with its resourceVersion', async () => {
    const scope = nock(SERVER)
      .get('/api/v1/namespaces/ns').reply(200, namespace)
      .get('/api/v1/namespaces/ns/secrets/app').reply(200, { metadata: { name: 'app' }, data: { password: b64('pw') } })
      .put(`${ES_PATH}/status`, statusBody('SUCCESS', '10')).reply(409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' })
      .get(ES_PATH).reply(200, { ...es(), metadata: { ...es().metadata, resourceVersion: '12' } })
      .put(`${ES_PATH}/status`, statusBody('SUCCESS', '12')).reply(200, es())
    const p = poller()
    await p.pollNow()
    assert.ok(scope.isDone(), scope.pendingMocks().join())
    assert.equal(p.consecutiveFailures, 0)
  })

  it('a backend error touches no Secret and writes an ERROR status', async () => {
    backend.failing.set('ns/app', 'Vault request timed out')
    const scope = nock(SERVER)
      .get('/api/v1/namespaces/ns').reply(200, namespace)
      .put(`${ES_PATH}/status`, statusBody('ERROR, Vault request timed out')).reply(200, es())
    const p = poller()
    await p.pollNow()
    assert.ok(scope.isDone(), scope.pendingMocks().join())
    assert.equal(p.consecutiveFailures, 1)
  })

  it('an unreachable API server is an error for this poll, never a rejection', async () => {
    const scope = nock(SERVER)
      .get('/api/v1/namespaces/ns').replyWithError('connect ECONNREFUSED')
      .put(`${ES_PATH}/status`).replyWithError('connect ECONNREFUSED')
    const p = poller()
    await p.pollNow()
    assert.ok(scope.isDone())
    assert.equal(p.consecutiveFailures, 1)
  })

  it('a hung backend times out as an ERROR and its late result writes nothing', async () => {
    backend.hold()
    const scope = nock(SERVER)
      .get('/api/v1/namespaces/ns').reply(200, namespace)
      .put(`${ES_PATH}/status`, (b: ExternalSecret) => /^ERROR, poll timed out after 60000 ms$/.test(b.status!.status!)).reply(200, es())
    const p = poller()
    const polling = p.pollNow()
    for (let i = 0; i < 50 && backend.calls.length === 0; i++) await new Promise((r) => setImmediate(r))
    await clock.advance(60_000)
    await polling
    backend.release()
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    assert.ok(scope.isDone(), scope.pendingMocks().join())
    assert.equal(nock.pendingMocks().length, 0)
  })
})
