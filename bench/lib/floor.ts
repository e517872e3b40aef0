/**
 * The floor: the least Vault load any implementation could cause for a workload. Computed, not simulated:
 * one read per distinct secret path per poll, one renewal per identity per (TTL − renew threshold),
 * one login per identity per max TTL, no lookups, no revocations.
 */
import { TOKEN_MAX_TTL_S, TOKEN_TTL_S } from './world.js'

export interface FloorRates {
  readsPerHour: number
  renewalsPerHour: number
  loginsPerHour: number
  writesPerHour: number
  pollsPerHour: number
  requestsPerPoll: number
  tokenRequestsPerPoll: number
}

export function floorRates(n: number, roles: number, pollMs: number, thresholdS = (3 * pollMs) / 1000): FloorRates {
  const pollsPerHour = 3_600_000 / pollMs
  const readsPerHour = 2 * n * pollsPerHour
  const renewalsPerHour = (roles * 3600) / (TOKEN_TTL_S - thresholdS)
  const loginsPerHour = (roles * 3600) / TOKEN_MAX_TTL_S
  const writesPerHour = renewalsPerHour + loginsPerHour
  return {
    readsPerHour,
    renewalsPerHour,
    loginsPerHour,
    writesPerHour,
    pollsPerHour,
    requestsPerPoll: (readsPerHour + writesPerHour) / pollsPerHour,
    tokenRequestsPerPoll: writesPerHour / pollsPerHour,
  }
}
