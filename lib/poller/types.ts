/** KES's ExternalSecret (kubernetes-client.io/v1) and the backend contract the poller host calls. */

export const EXTERNAL_SECRET_GROUP = 'kubernetes-client.io'
export const EXTERNAL_SECRET_VERSION = 'v1'
export const EXTERNAL_SECRET_PLURAL = 'externalsecrets'
export const EXTERNAL_SECRET_KIND = 'ExternalSecret'
export const EXTERNAL_SECRET_API_VERSION = `${EXTERNAL_SECRET_GROUP}/${EXTERNAL_SECRET_VERSION}`

/** One entry of `spec.data` as KES's CRD describes it. */
export interface ExternalSecretDataItem {
  key?: string
  name?: string
  property?: string
  isBinary?: boolean
  path?: string
  recursive?: boolean
  [extra: string]: unknown
}

export interface ExternalSecretSpec {
  backendType: string
  controllerId?: string
  /** Deep-merged under the generated Secret (KES: labels, annotations, type, extra data). */
  template?: Record<string, unknown>
  /** KES's pre-template way to set the Secret type; `template.type` wins. */
  type?: string
  vaultRole?: string
  vaultMountPoint?: string
  vaultServiceAccount?: string
  kvVersion?: number
  roleArn?: string
  data?: ExternalSecretDataItem[]
  /** Deprecated name of `data` (KES). */
  properties?: ExternalSecretDataItem[]
  dataFrom?: string[]
  dataFromWithOptions?: Array<{ key: string; [option: string]: unknown }>
  [extra: string]: unknown
}

export interface ExternalSecretStatus {
  lastSync?: string
  observedGeneration?: number
  status?: string
}

export interface ObjectMeta {
  name: string
  namespace: string
  uid: string
  generation?: number
  resourceVersion?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  [extra: string]: unknown
}

export interface ExternalSecret {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  spec: ExternalSecretSpec
  /** KES < 2.0 used `secretDescriptor` instead of `spec`; KES still read it. */
  secretDescriptor?: ExternalSecretSpec
  status?: ExternalSecretStatus
}

/** The Kubernetes Secret fields the host reads and writes. */
export interface SecretManifest {
  apiVersion: 'v1'
  kind: 'Secret'
  metadata: {
    name: string
    namespace?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    ownerReferences?: OwnerReference[]
    resourceVersion?: string
    [extra: string]: unknown
  }
  type: string
  data?: Record<string, string>
  [extra: string]: unknown
}

export interface OwnerReference {
  apiVersion: string
  kind: string
  name: string
  uid: string
  controller?: boolean
  blockOwnerDeletion?: boolean
}

/** What KES backends implement. Values of the returned record are base64, as KES backends return them. */
export interface SecretsBackend {
  /** `permittedServiceAccounts`: set by the host from the namespace annotation, never from the spec. */
  getSecretManifestData(args: { spec: ExternalSecretSpec; namespace?: string; name?: string; permittedServiceAccounts?: readonly string[] }): Promise<Record<string, string>>
  /** Called once by the host's stop(), after in-flight polls finished. */
  /** Called once at shutdown; what it resolves to (e.g. how many tokens were revoked) is ignored. */
  close?(): Promise<unknown> | void
}

/** Backends by `spec.backendType`, e.g. `{ vault: backend }`. */
export type Backends = Record<string, SecretsBackend>

/** The spec of an ExternalSecret, accepting KES's legacy `secretDescriptor`. */
export function specOf(es: ExternalSecret): ExternalSecretSpec {
  return (es.spec ?? es.secretDescriptor ?? {}) as ExternalSecretSpec
}

export function generationOf(es: ExternalSecret): number {
  return es.metadata.generation ?? 0
}
