import { readBoolean, readInteger, readList, readString, type Env } from '../env.js'
import { resolveSettings } from '../settings.js'

/** The poller host's settings, named and defaulted as KES named them. */
export interface PollerConfig {
  /** POLLER_INTERVAL_MILLISECONDS: time between polls of one ExternalSecret (KES: 10000). */
  pollerIntervalMilliseconds: number
  /** WATCHED_NAMESPACES: comma-separated; empty means all namespaces. */
  watchedNamespaces: string[]
  /** INSTANCE_ID: only ExternalSecrets whose spec.controllerId equals it (both unset also match). */
  instanceId: string | undefined
  /** WATCH_TIMEOUT: restart the watch (and re-list) after this long without an event (KES: 60000). */
  watchTimeoutMilliseconds: number
  /** DISABLE_POLLING: only react to ExternalSecret changes (new generations), no periodic polls. */
  pollingDisabled: boolean
  /** ROLE_PERMITTED_ANNOTATION: namespace annotation holding the regex a role must match (the whole role). */
  rolePermittedAnnotation: string
  /** NAMING_PERMITTED_ANNOTATION (KES): namespace annotation holding the regex every key must match (the whole key). */
  namingPermittedAnnotation: string
  /** ENFORCE_NAMESPACE_ANNOTATIONS (KES): set, whatever its value, the annotations above are required. */
  enforceNamespaceAnnotations: boolean
  /** MOUNT_PERMITTED_ANNOTATION: namespace annotation holding the regex a spec's vaultMountPoint must match. */
  mountPermittedAnnotation: string
  /** SERVICE_ACCOUNT_PERMITTED_ANNOTATION: namespace annotation listing (comma-separated) the service accounts a spec may name. */
  serviceAccountPermittedAnnotation: string
  /** DEFAULT_VAULT_MOUNT_POINT (the backend's too): under enforcement, the one mount a spec may name without a mount annotation. */
  defaultVaultMountPoint: string
}

// The settings the host shares with the backend: one default, one validation (lib/settings.ts).
const SHARED = resolveSettings({})

export const DEFAULT_POLLER_CONFIG: PollerConfig = {
  pollerIntervalMilliseconds: SHARED.pollerIntervalMilliseconds,
  watchedNamespaces: [],
  instanceId: undefined,
  watchTimeoutMilliseconds: 60000,
  pollingDisabled: false,
  rolePermittedAnnotation: 'iam.amazonaws.com/permitted',
  namingPermittedAnnotation: 'externalsecrets.kubernetes-client.io/permitted-key-name',
  enforceNamespaceAnnotations: false,
  mountPermittedAnnotation: 'externalsecrets.kubernetes-client.io/permitted-vault-mount',
  serviceAccountPermittedAnnotation: 'externalsecrets.kubernetes-client.io/permitted-service-accounts',
  defaultVaultMountPoint: SHARED.defaultVaultMountPoint,
}

// KES treated any DISABLE_POLLING value (even "false") as set; we accept booleans and, like KES, a bare presence.
function readPresenceFlag(env: Env, name: string): boolean {
  const raw = env[name]
  if (raw === undefined) return false
  if (raw.trim() === '') return true
  return readBoolean(env, name, false)
}

export function loadPollerConfig(env: Env = process.env): PollerConfig {
  const shared = resolveSettings(
    { pollerIntervalMilliseconds: env.POLLER_INTERVAL_MILLISECONDS, defaultVaultMountPoint: env.DEFAULT_VAULT_MOUNT_POINT, authMethod: env.VAULT_AUTH_METHOD, approleRoleId: env.VAULT_APPROLE_ROLE_ID, approleSecretIdFile: env.VAULT_APPROLE_SECRET_ID_FILE },
    { source: 'env' },
  )
  return {
    pollerIntervalMilliseconds: shared.pollerIntervalMilliseconds,
    watchedNamespaces: readList(env, 'WATCHED_NAMESPACES'),
    instanceId: readString(env, 'INSTANCE_ID'),
    watchTimeoutMilliseconds: readInteger(env, 'WATCH_TIMEOUT', DEFAULT_POLLER_CONFIG.watchTimeoutMilliseconds, {
      min: 1000,
      max: 24 * 3600 * 1000,
    })!,
    pollingDisabled: readPresenceFlag(env, 'DISABLE_POLLING'),
    rolePermittedAnnotation: readString(env, 'ROLE_PERMITTED_ANNOTATION', DEFAULT_POLLER_CONFIG.rolePermittedAnnotation)!,
    namingPermittedAnnotation: readString(env, 'NAMING_PERMITTED_ANNOTATION', DEFAULT_POLLER_CONFIG.namingPermittedAnnotation)!,
    // KES: `'ENFORCE_NAMESPACE_ANNOTATIONS' in process.env`. Any value, even "false", turns it on: a security switch
    // that a migration must never turn off silently.
    enforceNamespaceAnnotations: env.ENFORCE_NAMESPACE_ANNOTATIONS !== undefined,
    mountPermittedAnnotation: readString(env, 'MOUNT_PERMITTED_ANNOTATION', DEFAULT_POLLER_CONFIG.mountPermittedAnnotation)!,
    serviceAccountPermittedAnnotation: readString(env, 'SERVICE_ACCOUNT_PERMITTED_ANNOTATION', DEFAULT_POLLER_CONFIG.serviceAccountPermittedAnnotation)!,
    defaultVaultMountPoint: shared.defaultVaultMountPoint,
  }
}
