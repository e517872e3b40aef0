import assert from 'node:assert/strict'
import { systemClock } from '../lib/types.js'

describe('toolchain', () => {
  it('runs TypeScript tests under mocha', () => {
    assert.equal(typeof systemClock.now(), 'number')
  })
})
