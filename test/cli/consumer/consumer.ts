/**
 * A TypeScript user of all three entry points. test/cli/consumer.test.ts type-checks it against the packed tarball with
 * skipLibCheck: false; it is never run.
 */
import { ConfigError, VaultBackend, createVaultBackend, loadConfig, type BackendConfig, type ExternalSecretSpec } from 'kes-vault-backend'
import { PollerHost, createKubeConfig, loadPollerConfig, type PollerConfig } from 'kes-vault-backend/poller'
import { startDevVault, type DevVault } from 'kes-vault-backend/devserver'

export async function readSeeded(): Promise<string> {
  const dev: DevVault = await startDevVault()
  dev.putSecret('secret', 'app/db', { password: 's3cr3t' })
  const backend: VaultBackend = createVaultBackend({ VAULT_ADDR: dev.address, VAULT_TOKEN: dev.rootToken })
  const spec: ExternalSecretSpec = { backendType: 'vault', data: [{ key: 'secret/data/app/db', name: 'password', property: 'password' }] }
  const data: Record<string, string> = await backend.getSecretManifestData({ spec })
  await backend.close()
  await dev.close()
  return data.password ?? ''
}

export function hostFromEnvironment(backend: VaultBackend): PollerHost {
  const config: BackendConfig = loadConfig(process.env)
  const pollerConfig: PollerConfig = loadPollerConfig(process.env)
  if (config.pollerIntervalMilliseconds !== pollerConfig.pollerIntervalMilliseconds) throw new ConfigError('POLLER_INTERVAL_MILLISECONDS', 'disagree')
  return new PollerHost({ kubeConfig: createKubeConfig(), backends: { vault: backend }, config: pollerConfig })
}

/** KES's daemon passes unset defaults as null and its threshold as 3 x interval / 1000 (a fraction). */
export function asKesBuildsIt(): VaultBackend {
  return new VaultBackend({
    tokenRenewThreshold: (3 * 2500) / 1000,
    defaultVaultMountPoint: process.env.DEFAULT_VAULT_MOUNT_POINT || null,
    defaultVaultRole: process.env.DEFAULT_VAULT_ROLE || null,
  })
}
