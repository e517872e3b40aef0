/**
 * What a node-vault client handed in through `vaultFactory` contributes (endpoint, path prefix, namespace, the headers
 * of its requestOptions, a preset token) and what it does not (proxy settings and their credentials), for node-vault
 * 0.9.22 (request: the version KES 8.x pins) and 0.12 (axios). Reading it sends nothing: the `endpoint` of each client
 * is a listening server that counts every TCP connection, and no client socket is opened at all, not even on loopback.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import type { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { type NodeVaultClient, readNodeVaultClient } from '../../lib/vault/node-vault.js'
import { build, type Builder, tearDown, json, listen, NODE_VAULTS, spec, timed } from './support.js'

/** Sets `env` (undefined deletes) around `fn`, and puts the environment back after it settles. */
async function withEnv<T>(env: Record<string, string | undefined>, fn: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  const set = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  set(env)
  try {
    return await fn()
  } finally {
    set(saved)
  }
}

/** What node-vault picks up from the environment, unset, so only what a test sets is there. */
const NO_VAULT_ENV = { VAULT_ADDR: undefined, VAULT_TOKEN: undefined, VAULT_NAMESPACE: undefined, VAULT_PREFIX: undefined }

/** `work`'s value, and how many client sockets (TCP or pipe, from node:http or fetch alike) this process opened meanwhile. */
async function socketsOpened<T>(work: () => Promise<T>): Promise<{ value: T; sockets: number }> {
  let sockets = 0
  const opened = () => sockets++
  diagnostics.subscribe('net.client.socket', opened)
  try {
    const value = await work()
    return { value, sockets }
  } finally {
    diagnostics.unsubscribe('net.client.socket', opened)
  }
}

const WARNING = 'could not read the request options of the node-vault client handed in through vaultFactory'
const warnings = (lines: string[]) => lines.map((l) => JSON.parse(l) as { level: number; msg?: string }).filter((l) => l.level === 40)

describe('transport: the node-vault client KES hands in', function () {
  this.timeout(10_000)
  let backend: VaultBackend | undefined
  afterEach(tearDown)

  for (const { version, make } of NODE_VAULTS) {
    describe(`node-vault ${version}`, () => {
      it('endpoint, apiVersion, pathPrefix, requestOptions headers and token are read at once; no socket is opened, to the endpoint or anywhere', async () => {
        const vault = await listen()
        const client = make({ endpoint: `${vault.url}/`, apiVersion: 'v1', pathPrefix: '/vault', token: 'hvs.preset', requestOptions: { followAllRedirects: true, headers: { 'X-VAULT-NAMESPACE': 'ns1', 'X-Team': 'blue' } } })
        const read = await timed(socketsOpened(() => withEnv(NO_VAULT_ENV, () => readNodeVaultClient(client))))
        assert.deepEqual(read.value?.value, { address: vault.url, apiPrefix: '/v1/vault', namespace: 'ns1', headers: { 'x-team': 'blue' }, token: 'hvs.preset', headersCaptured: true })
        assert.ok(read.ms < 250, `read in ${read.ms} ms`)
        assert.deepEqual([read.value?.sockets, vault.connections], [0, 0])
      })

      const SOURCES: { name: string; options: Record<string, unknown>; env?: Record<string, string>; want: { namespace?: string; token?: string } }[] = [
        {
          name: "KES's requestOptions.headers['X-VAULT-NAMESPACE']",
          options: { apiVersion: 'v1', requestOptions: { followAllRedirects: true, headers: { 'X-VAULT-NAMESPACE': 'team-a' } } },
          want: { namespace: 'team-a' },
        },
        { name: 'the token and namespace options', options: { token: 'hvs.option', namespace: 'team-b' }, want: { namespace: 'team-b', token: 'hvs.option' } },
        { name: 'VAULT_TOKEN and VAULT_NAMESPACE in the environment when the client is built', options: {}, env: { VAULT_TOKEN: 'hvs.env', VAULT_NAMESPACE: 'team-c' }, want: { namespace: 'team-c', token: 'hvs.env' } },
      ]
      for (const source of SOURCES) {
        it(`${source.name}: read, and nothing sent`, async () => {
          const vault = await listen()
          const client = await withEnv({ ...NO_VAULT_ENV, ...source.env }, () => make({ endpoint: vault.url, ...source.options }))
          const setup = await withEnv(NO_VAULT_ENV, () => readNodeVaultClient(client))
          assert.deepEqual({ namespace: setup.namespace, token: setup.token, headersCaptured: setup.headersCaptured }, { token: undefined, ...source.want, headersCaptured: true })
          assert.equal(vault.connections, 0)
        })
      }

      for (const scheme of ['http', 'https'] as const) {
        it(`HTTP_PROXY, HTTPS_PROXY and requestOptions.proxy (tunnel) are not used to read an ${scheme} endpoint: no connection reaches the proxy or Vault`, async () => {
          const vault = await listen()
          const proxy = await listen()
          const endpoint = `${scheme}://127.0.0.1:${new URL(vault.url).port}`
          const proxies = { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, http_proxy: proxy.url, https_proxy: proxy.url, NO_PROXY: undefined, no_proxy: undefined }
          const client = make({ endpoint, token: 'hvs.preset', requestOptions: { proxy: proxy.url, tunnel: true, headers: { 'X-VAULT-NAMESPACE': 'team-a' } } })
          const { value: setup, sockets } = await socketsOpened(() => withEnv({ ...NO_VAULT_ENV, ...proxies }, () => readNodeVaultClient(client)))
          assert.deepEqual([setup.namespace, setup.token, setup.headers, setup.headersCaptured], ['team-a', 'hvs.preset', {}, true])
          assert.deepEqual([sockets, proxy.connections, vault.connections], [0, 0, 0])
        })
      }
    })
  }

  it('node-vault 0.9 with requestOptions.pool false (request then ignores any agent): nothing reaches Vault, the headers are read all the same', async () => {
    const vault = await listen()
    const setup = await readNodeVaultClient(NODE_VAULTS[0].make({ endpoint: vault.url, token: 'hvs.preset', requestOptions: { pool: false, headers: { 'X-VAULT-NAMESPACE': 'team-a' } } }))
    assert.deepEqual([setup.namespace, setup.token, setup.headersCaptured], ['team-a', 'hvs.preset', true])
    assert.equal(vault.connections, 0)
  })

  it('a client whose HTTP library takes none of our options (fetch, say): its read never reaches Vault, nor carries the token; the headers are read', async () => {
    const vault = await listen()
    const tokensSent: (string | null | undefined)[] = []
    const client: NodeVaultClient = {
      endpoint: vault.url,
      token: 'hvs.preset',
      read(path) {
        tokensSent.push(this.token)
        const headers: Record<string, string> = { 'X-VAULT-NAMESPACE': 'team-a' }
        if (this.token) headers['X-Vault-Token'] = this.token
        return fetch(`${this.endpoint}/v1/${path}`, { headers })
      },
    }
    const setup = await readNodeVaultClient(client)
    assert.deepEqual([setup.namespace, setup.token, setup.headersCaptured], ['team-a', 'hvs.preset', true])
    assert.deepEqual(tokensSent, [undefined])
    assert.deepEqual([vault.connections, client.endpoint, client.token], [0, vault.url, 'hvs.preset'])
  })

  it('a client that never answers: given up after the capture timeout, headers unknown', async () => {
    const vault = await listen()
    const read = await timed(readNodeVaultClient({ endpoint: vault.url, namespace: 'team-b', read: () => new Promise(() => {}) }, 50))
    assert.equal(read.value?.headersCaptured, false)
    assert.equal(read.value?.namespace, 'team-b')
    assert.ok(read.ms < 500, `gave up after ${read.ms} ms`)
    assert.equal(vault.connections, 0)
  })

  const UNSEEN: { name: string; client: (endpoint: string, sent: () => void) => NodeVaultClient }[] = [
    { name: 'no read()', client: (endpoint) => ({ endpoint }) },
    {
      name: 'a read() that throws',
      client: (endpoint) => ({
        endpoint,
        read() {
          throw new Error('not supported')
        },
      }),
    },
    {
      name: 'a frozen client (its endpoint cannot be changed)',
      client: (endpoint, sent) =>
        Object.freeze({
          endpoint,
          read(path: string) {
            sent()
            return fetch(`${endpoint}/v1/${path}`)
          },
        }),
    },
    {
      name: 'an endpoint getter that ignores assignment',
      client: (endpoint, sent) => ({
        get endpoint() {
          return endpoint
        },
        set endpoint(_ignored: string) {},
        read(path: string) {
          sent()
          return fetch(`${endpoint}/v1/${path}`)
        },
      }),
    },
  ]
  for (const unseen of UNSEEN) {
    it(`a client whose request cannot be seen (${unseen.name}): nothing is sent, and the backend warns once to set VAULT_NAMESPACE`, async () => {
      const vault = await listen()
      let reads = 0
      const client = unseen.client(vault.url, () => reads++)
      let lines: string[]
      ;({ backend, lines } = build('kes', vault.url, { settings: { vaultFactory: () => client } }))
      const ready = await timed(backend.ready())
      assert.equal(ready.error, undefined)
      assert.ok(ready.ms < 250, `ready in ${ready.ms} ms`)
      assert.deepEqual([reads, vault.connections], [0, 0])
      assert.deepEqual(
        warnings(lines).map((w) => w.msg),
        [`${WARNING}: its headers (e.g. X-VAULT-NAMESPACE) are not used; set VAULT_NAMESPACE / vaultNamespace`],
      )
    })
  }

  for (const how of ['kes', 'kes-0.9'] as Builder[]) {
    it(`HTTP_PROXY credentials in the environment are the proxy's: Proxy-Authorization is never copied to requests to Vault (${how})`, async () => {
      const clock = new ManualClock()
      const vaultStandIn = await listen((rec, _req, res) =>
        rec.operation === 'login'
          ? json(res, 200, { auth: { client_token: 'hvs.t', accessor: 'a', policies: ['app'], lease_duration: 3600, renewable: true } })
          : json(res, 200, { data: { data: { password: 'x' } } }),
      )
      let lines: string[] = []
      await withEnv({ HTTP_PROXY: 'http://user:proxy-secret@127.0.0.1:9', http_proxy: 'http://user:proxy-secret@127.0.0.1:9' }, async () => {
        ;({ backend, lines } = build(how, vaultStandIn.url, { clock, nodeVault: { requestOptions: { followAllRedirects: true, headers: { 'X-Team': 'blue' } } } }))
        await backend.ready()
      })
      await backend!.getSecretManifestData(spec('secret/data/app/db'))
      assert.deepEqual(vaultStandIn.received.map((r) => r.operation), ['login', 'read'])
      for (const r of vaultStandIn.received) {
        assert.equal(r.headers['proxy-authorization'], undefined)
        assert.equal(r.headers['x-team'], 'blue')
      }
      assert.deepEqual(warnings(lines), [])
    })
  }
})
