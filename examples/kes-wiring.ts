/**
 * Wiring example: replace KES's VaultBackend in a KES-style poller with ours.
 *
 * KES's daemon built `new VaultBackend({ vaultFactory, tokenRenewThreshold, logger, defaultVaultMountPoint, defaultVaultRole })`;
 * the same call works here, and the extra options make it lease-aware. Run it against the standalone dev Vault, whose
 * seed (examples/demo/vault-seed.yaml) holds secret/app/database:
 *   npm start -- dev-vault        # in one terminal: prints the VAULT_ADDR and VAULT_TOKEN exports
 *   export VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=<the root token it printed>
 *   node --import tsx examples/kes-wiring.ts
 * It reads as that static token (no role: a workstation has no service-account JWT), polls three times a second apart,
 * prints the Secret keys it got (never the values) and closes the backend.
 * In your project 'kes-vault-backend' is the installed package; in this repository tsconfig.json maps it to lib/ (tsx
 * honours that mapping, so this runs the sources, no build needed).
 */
import vault from 'node-vault'
import { createLogger, VaultBackend } from 'kes-vault-backend'

const pollerIntervalMilliseconds = Number(process.env.POLLER_INTERVAL_MILLISECONDS ?? 10_000)

const backend = new VaultBackend({
  // KES's options, unchanged:
  vaultFactory: () => vault({ apiVersion: 'v1', endpoint: process.env.VAULT_ADDR ?? 'http://127.0.0.1:8200' }),
  tokenRenewThreshold: process.env.VAULT_TOKEN_RENEW_THRESHOLD, // seconds; default 3 poll intervals
  logger: createLogger({ level: 'info' }),
  defaultVaultMountPoint: process.env.DEFAULT_VAULT_MOUNT_POINT || null, // null: unset (default "kubernetes")
  defaultVaultRole: process.env.DEFAULT_VAULT_ROLE || null,
  // Ours: the poll interval sets the lookup cadence and the default threshold.
  pollerIntervalMilliseconds,
  // With no role configured, a static VAULT_TOKEN is used (looked up and renewed on the same rules).
  vaultToken: process.env.VAULT_TOKEN,
})

// What a KES poller does for each ExternalSecret on each poll (secret/app/database is in the dev Vault's seed):
const spec = {
  backendType: 'vault',
  kvVersion: 2,
  data: [
    { key: 'secret/data/app/database', name: 'username', property: 'username' },
    { key: 'secret/data/app/database', name: 'password', property: 'password' },
  ],
}
try {
  for (let poll = 0; poll < 3; poll++) {
    if (poll > 0) await new Promise((r) => setTimeout(r, 1000))
    const data = await backend.getSecretManifestData({ spec }) // { username: '<base64>', password: '<base64>' }
    console.log(`poll ${poll}: Secret keys ${Object.keys(data).join(', ')}`)
  }
} catch (e) {
  console.error(`kes-wiring: ${(e as Error).message}`)
  process.exitCode = 1
} finally {
  // On shutdown, whatever happened: revoke the tokens this backend created (none for a static token).
  await backend.close()
}
