// An ESM user: which modules the library entry loads (never the poller host, the dev Vault or client-node), then the
// dev Vault and a read of a seeded secret. Prints one JSON line.
import { createRequire, register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'

const { port1, port2 } = new MessageChannel()
const resolved = []
port1.on('message', (url) => resolved.push(url))
port1.unref()
const hooks = 'let port; export function initialize(d) { port = d.port }' +
  ' export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r }'
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { port: port2 }, transferList: [port2] })

const library = await import('kes-vault-backend')
await new Promise((r) => setTimeout(r, 100)) // let the hook thread's messages arrive
const libraryModules = resolved.length
const libraryLoaded = resolved.filter((u) => /\/(poller|devserver)\/|@kubernetes\/client-node|\/cli\.js$|\/demo\.js$/.test(u))

// require() of the package gives the very same classes (one module instance, one set of metrics).
const sameInstance = createRequire(import.meta.url)('kes-vault-backend').VaultBackend === library.VaultBackend

const { startDevVault } = await import('kes-vault-backend/devserver')
const { PollerHost } = await import('kes-vault-backend/poller')
const dev = await startDevVault()
dev.putSecret('secret', 'app/db', { password: 'from-esm' })
const backend = library.createVaultBackend({ VAULT_ADDR: dev.address, VAULT_TOKEN: dev.rootToken, LOG_LEVEL: 'silent' })
const data = await backend.getSecretManifestData({ spec: { backendType: 'vault', data: [{ key: 'secret/data/app/db', name: 'password', property: 'password' }] } })
await backend.close()
await dev.close()
console.log(JSON.stringify({ password: Buffer.from(data.password, 'base64').toString(), PollerHost: typeof PollerHost, sameInstance, libraryModules, libraryLoaded }))
