import { promises as nodeFs } from 'node:fs'
import { systemClock, silentLogger, type Clock, type Logger } from '../types.js'
import { decodeJwtClaims, JwtDecodeError, ServiceAccountJwtError, type ServiceAccountJwtSource } from './jwt-source.js'

/** Where the kubelet mounts the pod's projected service-account token (automountServiceAccountToken). */
export const DEFAULT_PROJECTED_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token'

/** Re-read this long before `exp` at least; the kubelet rotates at 80 % of life, so a healthy file never gets here. */
export const MIN_REREAD_MARGIN_MS = 60_000
/** ...or within this fraction of the token's life, whichever is longer. */
export const REREAD_MARGIN_FRACTION = 0.1

/** The two calls we make, injectable so tests count reads and simulate EACCES. */
export interface TokenFileSystem {
  stat(path: string): Promise<{ mtimeMs: number; ctimeMs: number; size: number; ino: number; dev: number }>
  readFile(path: string, encoding: 'utf8'): Promise<string>
}

export interface ProjectedServiceAccountTokenFileOptions {
  path?: string
  clock?: Clock
  logger?: Logger
  fs?: TokenFileSystem
}

/** What we remember about the last good read. Times in ms since the epoch. */
export interface CachedFileJwt {
  jwt: string
  /** stat identity of the file when read: the kubelet's atomic writer swaps a symlink, so the inode changes. */
  version: string
  expiresAt?: number
  issuedAt?: number
}

export function fileVersion(st: { mtimeMs: number; ctimeMs: number; size: number; ino: number; dev: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
}

/** Legacy secret-based tokens have no `exp`: they never expire, so only a file change triggers a re-read. */
export function isExpired(cached: Pick<CachedFileJwt, 'expiresAt'>, now: number): boolean {
  return cached.expiresAt !== undefined && now >= cached.expiresAt
}

/** Pure: must the file be read again before answering? */
export function requiresReread(cached: CachedFileJwt | undefined, currentVersion: string, now: number): boolean {
  if (!cached || cached.version !== currentVersion) return true
  if (cached.expiresAt === undefined) return false
  const life = cached.issuedAt !== undefined ? cached.expiresAt - cached.issuedAt : 0
  const margin = Math.max(MIN_REREAD_MARGIN_MS, life * REREAD_MARGIN_FRACTION)
  return now >= cached.expiresAt - margin
}

/**
 * The pod's projected service-account token, read when a login needs it. KES read it once per process, so logins
 * broke after the kubelet rotated it; this re-reads whenever the file changed or the JWT nears `exp`.
 */
export class ProjectedServiceAccountTokenFile implements ServiceAccountJwtSource {
  readonly path: string
  readonly description: string
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly fs: TokenFileSystem
  private cached: CachedFileJwt | undefined
  private inflight: Promise<string> | undefined

  constructor(opts: ProjectedServiceAccountTokenFileOptions = {}) {
    this.path = opts.path ?? DEFAULT_PROJECTED_TOKEN_PATH
    this.description = `projected file ${this.path}`
    this.clock = opts.clock ?? systemClock
    this.logger = opts.logger ?? silentLogger
    this.fs = opts.fs ?? nodeFs
  }

  getJwt(): Promise<string> {
    // Concurrent logins share one stat (and at most one read).
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined
    })
    return this.inflight
  }

  private async load(): Promise<string> {
    let fresh: CachedFileJwt
    try {
      const version = fileVersion(await this.fs.stat(this.path))
      if (!requiresReread(this.cached, version, this.clock.now())) return this.cached!.jwt
      fresh = await this.read(version)
    } catch (err) {
      return this.fallBack(this.classify(err))
    }
    this.cached = fresh
    this.logger.debug(
      { path: this.path, expiresAt: iso(fresh.expiresAt) },
      'read service account token file',
    )
    return fresh.jwt
  }

  private async read(version: string): Promise<CachedFileJwt> {
    const jwt = (await this.fs.readFile(this.path, 'utf8')).trim()
    if (jwt === '') throw new ServiceAccountJwtError('FileEmpty', `service account token file ${this.path} is empty`)
    let claims
    try {
      claims = decodeJwtClaims(jwt)
    } catch (err) {
      const why = err instanceof JwtDecodeError ? err.message : 'undecodable'
      throw new ServiceAccountJwtError('NotAJwt', `service account token file ${this.path} does not hold a JWT (${why})`)
    }
    const entry: CachedFileJwt = {
      jwt,
      version,
      expiresAt: claims.exp !== undefined ? claims.exp * 1000 : undefined,
      issuedAt: claims.iat !== undefined ? claims.iat * 1000 : undefined,
    }
    if (isExpired(entry, this.clock.now())) {
      throw new ServiceAccountJwtError(
        'Expired',
        `the JWT in service account token file ${this.path} expired at ${iso(entry.expiresAt)}; is the kubelet rotating it?`,
      )
    }
    return entry
  }

  /** A re-read failed: a still-valid cached JWT beats an outage; an expired one is useless. */
  private fallBack(err: ServiceAccountJwtError): string {
    const cached = this.cached
    const now = this.clock.now()
    if (cached && !isExpired(cached, now)) {
      this.logger.warn(
        { path: this.path, reason: err.reason, err: err.message, expiresAt: iso(cached.expiresAt) },
        'could not re-read service account token file; using the JWT read earlier',
      )
      return cached.jwt
    }
    if (cached) {
      throw new ServiceAccountJwtError(
        'Expired',
        `the JWT read from ${this.path} expired at ${iso(cached.expiresAt)} and the file could not be read again: ${err.message}`,
      )
    }
    throw err
  }

  private classify(err: unknown): ServiceAccountJwtError {
    if (err instanceof ServiceAccountJwtError) return err
    const code = (err as NodeJS.ErrnoException | undefined)?.code
    switch (code) {
      case 'ENOENT':
      case 'ENOTDIR':
        return new ServiceAccountJwtError(
          'FileMissing',
          `service account token file ${this.path} does not exist (${code}); mount a projected service account token there or configure another path`,
        )
      case 'EACCES':
      case 'EPERM':
        return new ServiceAccountJwtError(
          'FileUnreadable',
          `service account token file ${this.path} is not readable by this process (${code}); check the volume's defaultMode and the pod's runAsUser/fsGroup`,
        )
      case 'EISDIR':
        return new ServiceAccountJwtError('FileUnreadable', `service account token file ${this.path} is a directory (EISDIR)`)
      default:
        return new ServiceAccountJwtError(
          'FileUnreadable',
          `could not read service account token file ${this.path}: ${code ?? (err instanceof Error ? err.message : String(err))}`,
        )
    }
  }
}

function iso(ms: number | undefined): string {
  return ms === undefined ? 'never' : new Date(ms).toISOString()
}
