/** The soak profiles and the invariants every soak must end with (issue 8). */
import { H, planFaults, runSoak, type SoakResult } from './soak.js'

export const PROFILES = {
  /** Inside `npm test`: every fault once, 10 roles x 1 ExternalSecret, 12 simulated hours (a few seconds). */
  fast: { roles: 10, perRole: 1, durationMs: 12 * H, repeat: 1, heap: false },
  /** `npm run soak`: 1 000 ExternalSecrets, 10 roles, 24 simulated hours, every fault at seeded random times. */
  long: { roles: 10, perRole: 100, durationMs: 24 * H, repeat: 1, heap: true },
} as const

export type ProfileName = keyof typeof PROFILES

export function runProfile(name: ProfileName, seed: number, onProgress?: (hour: number) => void): Promise<SoakResult> {
  const p = PROFILES[name]
  return runSoak({
    seed,
    profile: name,
    roles: p.roles,
    perRole: p.perRole,
    durationMs: p.durationMs,
    faults: planFaults(seed, p.durationMs, p.roles, p.repeat),
    rotateValuesEveryMs: H,
    control: true,
    heap: p.heap,
    onProgress,
  })
}

/** What must hold at the end of any soak; returns the broken ones, in words. */
export function checkInvariants(r: SoakResult): string[] {
  const t = r.totals
  const out: string[] = []
  if (t.secretsWrong) out.push(`${t.secretsWrong} Secrets do not hold Vault's current value at the end`)
  if (t.secretsLost) out.push(`${t.secretsLost} Secrets lost (blanked or a value Vault never held)`)
  if (t.secretsDeleted) out.push(`${t.secretsDeleted} Secrets deleted or blanked`)
  // A token revoked from outside between two lookups is unknowable to the cache: the reads already in flight carry it,
  // but after the first 403 it must never be sent again, so such requests fall in at most one second per revocation.
  if (t.deadRevokedSeconds > t.expectedExtraLogins) {
    out.push(`a revoked token was used in ${t.deadRevokedSeconds} distinct seconds for ${t.expectedExtraLogins} revocations`)
  }
  if (t.deadExpired) out.push(`${t.deadExpired} requests sent with a token the cache knew had expired`)
  if (t.crashes) out.push(`${t.crashes} crashes (unhandled rejections or exceptions)`)
  if (t.leakedLogLines) out.push(`${t.leakedLogLines} log lines carry a token, JWT or secret value`)
  const [low, high] = loginBounds(r)
  if (!Number.isNaN(t.loginFloor) && (t.logins < low || t.logins > high)) out.push(`logins ${t.logins} outside [${low}, ${high}]`)
  for (const row of r.rows) {
    if (row.avoidable) out.push(`${row.fault}: ${row.avoidable} failed reads after the fault was lifted`)
    // Login backoff is capped at 5 min: recovery within 5 min + one poll interval of the lift.
    if (row.pollsToRecover > 31) out.push(`${row.fault}: ${row.pollsToRecover} polls to recover`)
    if (row.secretsLost) out.push(`${row.fault}: ${row.secretsLost} Secrets lost`)
    if (!Number.isFinite(row.pollsToRecover)) out.push(`${row.fault}: never recovered`)
  }
  if (t.heapGrowthMb > 64) out.push(`heap grew ${t.heapGrowthMb} MB`)
  return out
}

/**
 * Logins = the fault-free floor + one per forced re-login. Slack, per role: a host clock stepping forward makes tokens
 * shorter than the jump look expired (one early login each), and an outage or a re-login shifts a role's max-TTL
 * chain, which can push its last scheduled login past the end of the run.
 */
export function loginBounds(r: SoakResult): [number, number] {
  const t = r.totals
  const forward = r.rows.filter((row) => row.fault.startsWith('host clock +')).length
  const shifts = r.rows.filter((row) => row.failedReads > 0 || row.expectedExtraLogins > 0).length
  return [t.loginFloor - Math.min(shifts, r.roles), t.loginFloor + t.expectedExtraLogins + forward * r.roles]
}
