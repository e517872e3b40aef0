/**
 * The @kubernetes/client-node side of the TokenRequest cache. Kept apart from token-request.ts so the library's
 * published types (and its load time) do not depend on client-node; the poller entry exports these.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'

/** Loads the default kubeconfig: KUBECONFIG, then ~/.kube/config, then the in-cluster service account. */
export function createKubeConfig(): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromDefault()
  return kc
}

export function createCoreV1Api(kubeConfig: KubeConfig = createKubeConfig()): CoreV1Api {
  return kubeConfig.makeApiClient(CoreV1Api)
}
