// A CommonJS TypeScript user (the KES way): `require` resolves through the package's require condition.
import library = require('kes-vault-backend')
import devserver = require('kes-vault-backend/devserver')

export async function start(): Promise<devserver.DevVault> {
  const dev = await devserver.startDevVault()
  new library.VaultBackend({ vaultAddr: dev.address, vaultToken: dev.rootToken })
  return dev
}
