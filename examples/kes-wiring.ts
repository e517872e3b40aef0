/**
 * Wiring example: replace KES's VaultBackend in a KES-style poller with ours.
 *
 * KES's daemon built `new VaultBackend({ vaultFactory, tokenRenewThreshold, logger, defaultVaultMountPoint, defaultVaultRole })`;
 * the same call works here, and the extra options make it lease-aware. Run it against the dev Vault:
 *   npm start -- dev-vault        # in one terminal: prints VAULT_ADDR and VAULT_TOKEN
 *   VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=<root token> node --import tsx examples/kes-wiring.ts
 * In your project 'kes-vault-backend' is the installed package; in this repository tsconfig.json maps it to lib/.
 */
import vault from 'node-vault'
import { createLogger, VaultBackend } from 'kes-vault-backend'

const pollerIntervalMilliseconds = Number(process.env.POLLER_INTERVAL_MILLISECONDS ?? 10_000)

const backend = new VaultBackend({
  // KES's options, unchanged:
  vaultFactory: () => vault({ apiVersion: 'v1', endpoint: process.env.VAULT_ADDR ?? 'http://127.0.0.1:8200' }),
  tokenRenewThreshold: process.env.VAULT_TOKEN_RENEW_THRESHOLD, // seconds; default 3 poll intervals
  logger: createLogger({ level: 'info' }),
  defaultVaultMountPoint: process.env.DEFAULT_VAULT_MOUNT_POINT ?? 'kubernetes',
  defaultVaultRole: process.env.DEFAULT_VAULT_ROLE,
  // Ours: the poll interval sets the lookup cadence and the default threshold.
  pollerIntervalMilliseconds,
  // With no role configured, a static VAULT_TOKEN is used (looked up and renewed on the same rules).
  vaultToken: process.env.VAULT_TOKEN,
})

// What a KES poller does for each ExternalSecret on each poll:
const spec = { backendType: 'vault', kvVersion: 2, data: [{ key: 'secret/data/demo/database', name: 'password', property: 'password' }] }
for (let poll = 0; poll < 3; poll++) {
  const data = await backend.getSecretManifestData({ spec }) // { password: '<base64>' }
  console.log(`poll ${poll}: keys ${Object.keys(data).join(', ')}`)
  await new Promise((r) => setTimeout(r, 1000))
}
// On shutdown: revoke the tokens this backend created (none for a static token).
await backend.close()
