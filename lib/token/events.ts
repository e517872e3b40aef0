import type { VaultMetrics } from '../metrics.js'
import { VaultRequestError } from '../vault/errors.js'
import type { Clock, Logger } from '../types.js'
import { remainingSeconds, type TokenLease } from './lease.js'
import type { Identity, SessionEvents } from './session.js'

function who(id: Identity, lease?: TokenLease, now?: number) {
  const ttl = lease && now !== undefined ? remainingSeconds(lease, now) : undefined
  return {
    mount: id.mount,
    role: id.role,
    ...(id.namespace ? { namespace: id.namespace, serviceAccount: id.serviceAccount } : {}),
    ...(lease ? { accessor: lease.accessor, ttl: ttl === undefined || !Number.isFinite(ttl) ? null : Math.round(ttl) } : {}),
  }
}

const secs = (lease: TokenLease | undefined, now: number) => {
  const s = lease ? remainingSeconds(lease, now) : 0
  return Number.isFinite(s) ? `${Math.max(0, Math.round(s))} s` : 'never'
}

/**
 * Metrics and log lines for every token decision. Each renewal, login and failure is logged once, with the identity,
 * the remaining TTL and what an operator should check; the token itself never (only its accessor).
 */
export function observeSessions(metrics: VaultMetrics, logger: Logger, clock: Clock): SessionEvents {
  return {
    lookup(id, result, lease, error) {
      metrics.lookup(id.mount, id.role, result)
      const now = clock.now()
      if (result === 'success') logger.debug(who(id, lease, now), 'vault token looked up')
      else if (result === 'invalid') logger.warn({ ...who(id, lease, now), error: error?.message }, 'vault token is no longer valid (revoked or expired); logging in again')
      else
        logger.warn(
          { ...who(id, lease, now), error: error?.message },
          `vault token lookup failed; keeping the cached token, which expires in ${secs(lease, now)}; check that Vault is reachable`,
        )
    },
    lookupSkipped(id) {
      metrics.lookupSkipped(id.mount, id.role)
    },
    renewal(id, result, lease, error) {
      metrics.renewal(id.mount, id.role, result)
      const now = clock.now()
      const fields = { ...who(id, lease, now), decision: 'renew', result, ...(error ? { error: error.message } : {}) }
      if (result === 'success') logger.info(fields, 'vault token renewed')
      else if (result === 'capped')
        logger.info(fields, `vault token reached its max TTL; it expires in ${secs(lease, now)} and will be replaced by a new login before then`)
      else if (result === 'not_renewable') logger.info(fields, `vault token is not renewable; a new login will replace it before it expires in ${secs(lease, now)}`)
      else
        logger.error(
          fields,
          `vault token renewal failed; the token expires in ${secs(lease, now)}; check Vault health and the role's token_max_ttl and policies`,
        )
    },
    login(id, result, reason, lease, error, retryInMs) {
      metrics.login(id.mount, id.role, result, reason)
      const now = clock.now()
      if (result === 'success') logger.info({ ...who(id, lease, now), decision: 'login', reason, renewable: lease?.renewable, policies: lease?.policies }, 'logged in to vault')
      else
        logger.error(
          { ...who(id), decision: 'login', reason, error: error?.message, retryInSeconds: retryInMs === undefined ? undefined : Math.ceil(retryInMs / 1000) },
          error instanceof VaultRequestError
            ? `vault login failed; retrying in ${Math.ceil((retryInMs ?? 0) / 1000)} s; check that the role "${id.role}" exists on auth mount "${id.mount}" and that the service account is bound to it`
            : `vault login not attempted: no credential to log in with; retrying in ${Math.ceil((retryInMs ?? 0) / 1000)} s; see the error for what is missing`,
        )
    },
    warning(id, code, lease, detail) {
      logger.warn({ ...who(id, lease, clock.now()), code }, detail)
    },
  }
}
