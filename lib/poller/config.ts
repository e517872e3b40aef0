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
  /** ROLE_PERMITTED_ANNOTATION: namespace annotation holding the regex a role must match. */
  rolePermittedAnnotation: string
}

export const DEFAULT_POLLER_CONFIG: PollerConfig = {
  // The backend's setting: one default, one validation (lib/settings.ts).
  pollerIntervalMilliseconds: resolveSettings({}).pollerIntervalMilliseconds,
  watchedNamespaces: [],
  instanceId: undefined,
  watchTimeoutMilliseconds: 60000,
  pollingDisabled: false,
  rolePermittedAnnotation: 'iam.amazonaws.com/permitted',
}

// KES treated any DISABLE_POLLING value (even "false") as set; we accept booleans and, like KES, a bare presence.
function readPresenceFlag(env: Env, name: string): boolean {
  const raw = env[name]
  if (raw === undefined) return false
  if (raw.trim() === '') return true
  return readBoolean(env, name, false)
}

export function loadPollerConfig(env: Env = process.env): PollerConfig {
  return {
    pollerIntervalMilliseconds: resolveSettings({ pollerIntervalMilliseconds: env.POLLER_INTERVAL_MILLISECONDS }, { source: 'env' }).pollerIntervalMilliseconds,
    watchedNamespaces: readList(env, 'WATCHED_NAMESPACES'),
    instanceId: readString(env, 'INSTANCE_ID'),
    watchTimeoutMilliseconds: readInteger(env, 'WATCH_TIMEOUT', DEFAULT_POLLER_CONFIG.watchTimeoutMilliseconds, {
      min: 1000,
      max: 24 * 3600 * 1000,
    })!,
    pollingDisabled: readPresenceFlag(env, 'DISABLE_POLLING'),
    rolePermittedAnnotation: readString(env, 'ROLE_PERMITTED_ANNOTATION', DEFAULT_POLLER_CONFIG.rolePermittedAnnotation)!,
  }
}
