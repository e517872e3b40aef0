/** Helpers for the per-fault tests: one fault on a small fleet, through the same engine as the soak. */
import assert from 'node:assert/strict'
import { type FaultRow, H, type PlannedFault, runSoak, type SoakOptions, type SoakResult } from './soak.js'

/** Indices into ROLE_KINDS. */
export const STD = 0
export const SHORT = 1
export const NONRENEW = 2
export const BATCH = 3
export const PERIODIC = 4
export const TINYTTL = 5
export const EXPLICITMAX = 6
export const TOKENREQ = 7
export const KV1 = 8

export interface OneFault {
  result: SoakResult
  row: FaultRow
}

/** 5 ExternalSecrets per role, 10 s polls, 2 simulated hours, one fault. */
export async function oneFault(kinds: number[], fault: PlannedFault | undefined, o: Partial<SoakOptions> = {}): Promise<OneFault> {
  const result = await runSoak({ seed: 1, roles: kinds.length, kinds, perRole: 5, durationMs: 2 * H, faults: fault ? [fault] : [], ...o })
  return { result, row: result.rows[0]! }
}

/** What every scenario must end with, whatever the fault. */
export function assertHealthy(r: SoakResult): void {
  const t = r.totals
  assert.equal(t.secretsLost, 0, 'Secrets lost')
  assert.equal(t.secretsDeleted, 0, 'Secrets deleted or blanked')
  assert.equal(t.secretsWrong, 0, `final content wrong: ${r.samples.join('; ')}`)
  assert.equal(t.deadExpired, 0, 'requests with a token the cache knew had expired')
  assert.equal(t.crashes, 0, `crashes: ${r.samples.join('; ')}`)
  assert.equal(t.leakedLogLines, 0, `credentials in logs: ${r.samples.join('; ')}`)
  for (const row of r.rows) {
    assert.equal(row.avoidable, 0, `${row.fault}: failed reads after the fault was lifted that login backoff does not explain`)
    assert.equal(row.secretsLost, 0)
  }
}
