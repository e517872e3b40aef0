/**
 * Metrics and log lines for every token decision. Each renewal, login and failure is logged once, with the identity,
 * the remaining TTL and what an operator should check; the token itself never (only its accessor).
 */
import type { VaultMetrics } from '../metrics.js'
import { remainingSeconds, type TokenLease } from '../token/lease.js'
import type { SecretLeaseEvents } from '../token/secret-lease.js'
import type { Identity, SessionEvents } from '../token/session.js'
import type { Clock, Logger } from '../types.js'
import { VaultRequestError } from '../vault/errors.js'

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
  if (lease && !lease.lookedUp && lease.origin === 'seed') return 'a time not known yet (not looked up)'
  const s = lease ? remainingSeconds(lease, now) : 0
  return Number.isFinite(s) ? `${Math.max(0, Math.round(s))} s` : 'never'
}

export function observeSessions(metrics: VaultMetrics, logger: Logger, clock: Clock): SessionEvents {
  // Labels come from specs: an identity gets its own series once Vault accepted it (a login), within the cap. The
  // static token's labels are the operator's ("token"/"static"), never a tenant's.
  const proven = (id: Identity) => {
    if (id.method === 'token') metrics.admit(id.mount, id.role)
  }
  return {
    lookup(id, result, lease, error) {
      proven(id)
      metrics.lookup(id.mount, id.role, result)
      const now = clock.now()
      if (result === 'success') logger.debug(who(id, lease, now), 'vault token looked up')
      else if (result === 'invalid') {
        // A static token has no role to log in with: say what to do instead.
        const next = id.method === 'token' ? 'set a new VAULT_TOKEN or configure DEFAULT_VAULT_ROLE' : 'logging in again'
        logger.warn({ ...who(id, lease, now), error: error?.message }, `vault token is no longer valid (revoked or expired); ${next}`)
      }
      else if (result === 'denied') logger.debug({ ...who(id, lease, now), error: error?.message }, 'vault denied lookup-self to a live token')
      else
        logger.warn(
          { ...who(id, lease, now), error: error?.message },
          `vault token lookup failed; keeping the cached token, which expires in ${secs(lease, now)}; check that Vault is reachable`,
        )
    },
    lookupSkipped(id) {
      proven(id)
      metrics.lookupSkipped(id.mount, id.role)
    },
    renewal(id, result, lease, error) {
      proven(id)
      metrics.renewal(id.mount, id.role, result)
      const now = clock.now()
      const fields = { ...who(id, lease, now), decision: 'renew', result, ...(error ? { error: error.message } : {}) }
      if (result === 'success') logger.info(fields, 'vault token renewed')
      else if (result === 'capped')
        logger.info(fields, `vault token reached its max TTL; it expires in ${secs(lease, now)} and will be replaced by a new login before then`)
      else if (result === 'not_renewable') logger.info(fields, `vault token is not renewable; a new login will replace it before it expires in ${secs(lease, now)}`)
      else if (result === 'denied') logger.info(fields, `vault denied renew-self; a new login will replace the token before it expires in ${secs(lease, now)}`)
      else
        logger.error(
          fields,
          `vault token renewal failed; the token expires in ${secs(lease, now)}; check Vault health and the role's token_max_ttl and policies`,
        )
    },
    login(id, result, reason, lease, error, retryInMs) {
      if (result === 'success') metrics.admit(id.mount, id.role)
      metrics.login(id.mount, id.role, result, reason)
      const now = clock.now()
      if (result === 'success') {
        logger.info({ ...who(id, lease, now), decision: 'login', reason, renewable: lease?.renewable, policies: lease?.policies }, 'logged in to vault')
        return
      }
      const retry = `retrying in ${Math.ceil((retryInMs ?? 0) / 1000)} s`
      const fields = { ...who(id), decision: 'login', reason, error: error?.message, retryInSeconds: retryInMs === undefined ? undefined : Math.ceil(retryInMs / 1000) }
      if (!(error instanceof VaultRequestError)) {
        logger.error(fields, `vault login not attempted: no credential to log in with; ${retry}; see the error for what is missing`)
        return
      }
      switch (error.kind) {
        case 'bad_response':
          logger.error(fields, `vault's login answer could not be used; ${retry}; check that VAULT_ADDR points at Vault and not at a proxy error page`)
          break
        case 'sealed':
        case 'unavailable':
        case 'rate_limited':
        case 'server':
        case 'timeout':
        case 'network':
          logger.error(fields, `vault login failed: Vault is unavailable; ${retry}`)
          break
        case 'redirect_refused':
        case 'too_large':
          // The transport refused the answer; the error names the setting (VAULT_REDIRECT_ORIGINS, VAULT_MAX_RESPONSE_BYTES).
          logger.error(fields, `vault login failed: the answer was refused; ${retry}; see the error`)
          break
        default:
          logger.error(fields, `vault login failed; ${retry}; check that the role "${id.role}" exists on auth mount "${id.mount}" and that the service account is bound to it`)
      }
    },
    warning(id, code, lease, detail) {
      proven(id)
      metrics.warning(id.mount, id.role, code)
      logger.warn({ ...who(id, lease, clock.now()), code }, detail)
    },
  }
}

/** Every listener hears every event, in order (metrics and logs first, then a caller's own). */
export function combineEvents(first: SessionEvents, ...more: (Partial<SessionEvents> | undefined)[]): SessionEvents {
  const extra = more.filter((m): m is Partial<SessionEvents> => m !== undefined)
  if (extra.length === 0) return first
  const all = [first, ...extra]
  return {
    lookup: (...a) => all.forEach((e) => e.lookup?.(...a)),
    lookupSkipped: (...a) => all.forEach((e) => e.lookupSkipped?.(...a)),
    renewal: (...a) => all.forEach((e) => e.renewal?.(...a)),
    login: (...a) => all.forEach((e) => e.login?.(...a)),
    warning: (...a) => all.forEach((e) => e.warning?.(...a)),
    decided: (...a) => all.forEach((e) => e.decided?.(...a)),
  }
}

// ---- dynamic secrets ------------------------------------------------------------------------------------------

/** A kept lease in log fields: its id (not a secret; the data is) and what is left of it. Never the data. */
function leaseFields(id: Identity, path: string, lease: TokenLease | undefined, now: number) {
  const ttl = lease ? remainingSeconds(lease, now) : undefined
  return { mount: id.mount, role: id.role, path, ...(lease ? { leaseId: lease.token, ttl: ttl === undefined ? null : Math.round(ttl) } : {}) }
}

/**
 * Metrics and log lines for dynamic secrets: each mint, lease renewal and revocation once, with the identity, the
 * path and the lease id; the minted credential never (like a KV value, it goes into the Secret and nowhere else).
 */
export function observeSecretLeases(metrics: VaultMetrics, logger: Logger, clock: Clock): SecretLeaseEvents {
  return {
    mint(id, path, result, reason, lease, error, retryInMs) {
      metrics.mint(result, reason)
      const now = clock.now()
      const fields = { ...leaseFields(id, path, lease, now), decision: 'mint', reason }
      if (result === 'success') {
        logger.info({ ...fields, renewable: lease?.renewable }, reason === 'first' ? 'dynamic secret read; keeping its lease' : 'dynamic secret minted again: a new credential under a new lease')
        return
      }
      const kept = lease && remainingSeconds(lease, now) > 0 ? `the kept credential is served until it expires in ${secs(lease, now)}` : 'no valid credential is kept'
      logger.error(
        { ...fields, error: error?.message, retryInSeconds: retryInMs === undefined ? undefined : Math.ceil(retryInMs / 1000) },
        `minting a new credential failed; ${kept}; retrying in ${Math.ceil((retryInMs ?? 0) / 1000)} s`,
      )
    },
    renewal(id, path, result, lease, error) {
      metrics.leaseRenewal(result)
      const now = clock.now()
      const fields = { ...leaseFields(id, path, lease, now), decision: 'renew', result, ...(error ? { error: error.message } : {}) }
      if (result === 'success') logger.info(fields, 'dynamic secret lease renewed')
      else if (result === 'capped') logger.info(fields, `dynamic secret lease reached its max TTL; it expires in ${secs(lease, now)} and a new credential will be minted before then`)
      else if (result === 'not_renewable') logger.info(fields, `dynamic secret lease is not renewable; a new credential will be minted before it expires in ${secs(lease, now)}`)
      else if (result === 'denied')
        logger.warn(fields, `vault denied sys/leases/renew (the role's policies lack the default policy); a new credential will be minted before the lease expires in ${secs(lease, now)}`)
      else logger.error(fields, `dynamic secret lease renewal failed; the credential expires in ${secs(lease, now)}; check Vault health`)
    },
    revocation(id, leaseId, result, why, error) {
      metrics.leaseRevocation(result, why)
      const fields = { mount: id.mount, role: id.role, leaseId, reason: why, ...(error ? { error: error.message } : {}) }
      if (result === 'success') logger.info(fields, `dynamic secret lease revoked (${why})`)
      else if (result === 'denied')
        logger.warn(
          fields,
          `vault denies sys/leases/revoke to ${id.method === 'token' ? 'the static VAULT_TOKEN' : `role "${id.role}"`} (the default policy does not grant it); ` +
            'replaced and unused credentials of this identity will end at their lease TTL instead. Grant "update" on sys/leases/revoke to revoke them at once',
        )
      else logger.warn(fields, 'revoking a dynamic secret lease failed; it will end at its TTL')
    },
  }
}
