/**
 * Root hooks (mocha `require`). nock intercepts every http request from the moment it is imported; only the files
 * that test wire formats with it switch it on (`nockOn()` / `nockOff()`), so every other test talks to real sockets.
 */
import nock from 'nock'

export const mochaHooks = {
  beforeAll(): void {
    nock.restore()
  },
}

export function nockOn(): void {
  if (!nock.isActive()) nock.activate()
  nock.disableNetConnect()
}

export function nockOff(): void {
  nock.cleanAll()
  nock.enableNetConnect()
  nock.restore()
}
