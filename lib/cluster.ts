import type { KubeConfig } from '@kubernetes/client-node'
import type { BackendConfig } from './config.js'
import { TokenRequestJwtCache } from './kubernetes/token-request.js'
import type { Logger } from './types.js'

/** Per-namespace identities need TokenRequest; build the cache only when the controller is configured for them. */
export function createTokenRequestCacheIfCluster(config: BackendConfig, kubeConfig: KubeConfig, logger: Logger): TokenRequestJwtCache | undefined {
  return new TokenRequestJwtCache({ kubeConfig, logger, maxEntries: config.tokenCacheMax })
}
