/** The soak's fast profile inside `npm test`: every fault of issue 8 once, at seeded times, and every invariant. */
import assert from 'node:assert/strict'
import { checkInvariants, loginBounds, runProfile } from './profiles.js'
import { FAULT_CATALOGUE, formatResult } from './soak.js'

describe('soak, fast profile (10 roles, 12 simulated hours, every fault once)', function () {
  this.timeout(60_000)

  it('seed 8: every invariant holds (replay: node --import tsx test/fault/soak-main.ts --profile fast --seed 8)', async () => {
    const r = await runProfile('fast', 8)
    const problems = checkInvariants(r)
    assert.deepEqual(problems, [], formatResult(r))
    assert.equal(r.rows.length, FAULT_CATALOGUE.length, 'every fault of the catalogue was injected')
    assert.ok(r.failedReads > 0, 'the faults did bite')
    assert.equal(r.totals.secretsWrong + r.totals.secretsLost + r.totals.secretsDeleted, 0)
    assert.equal(r.totals.crashes, 0)
    assert.equal(r.totals.leakedLogLines, 0)
    assert.equal(r.totals.thresholdWarnings, 1)
    const [low, high] = loginBounds(r)
    assert.ok(r.totals.logins >= low && r.totals.logins <= high)
  })
})
