// What a KES user does: require() the library and the dev Vault, then read a seeded secret. Prints one JSON line.
const { createVaultBackend, ConfigError } = require('kes-vault-backend')
const { startDevVault } = require('kes-vault-backend/devserver')
const { PollerHost } = require('kes-vault-backend/poller')

async function main() {
  const dev = await startDevVault()
  dev.putSecret('secret', 'app/db', { password: 'from-cjs' })
  const backend = createVaultBackend({ VAULT_ADDR: dev.address, VAULT_TOKEN: dev.rootToken, LOG_LEVEL: 'silent' })
  const spec = { backendType: 'vault', data: [{ key: 'secret/data/app/db', name: 'password', property: 'password' }] }
  const data = await backend.getSecretManifestData({ spec })
  await backend.close()
  await dev.close()
  console.log(JSON.stringify({ password: Buffer.from(data.password, 'base64').toString(), PollerHost: typeof PollerHost, ConfigError: typeof ConfigError }))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
