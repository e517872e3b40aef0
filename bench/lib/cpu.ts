/**
 * CPU cost of ours per getSecretManifestData with lookups elided, measured one call at a time (no interleaving), against
 * a baseline that runs the same KES KVBackend path and the same in-process Vault read with a fixed token and no token
 * management at all. The difference is what the token check costs per call (2 reads per call here).
 */
import { KVBackend, type GetArgs } from '../../lib/backend/kv-backend.js'
import type { VaultClient } from '../../lib/vault/client.js'
import { makeBackend } from '../strategies/ours.js'
import { gcHeapUsed } from './heap.js'
import { MOUNT, makeWorld, peerClient } from './world.js'

export interface CpuStats {
  calls: number
  medianUs: number
  p99Us: number
  wallMedianUs: number
}

export interface CpuResult {
  n: number
  ours: CpuStats
  baseline: CpuStats
  /** Median CPU per call of ours minus baseline, per read (÷2). */
  tokenCheckUsPerRead: number
  /** sessionFor + acquire on the hot path, averaged over many calls (µs CPU each). */
  acquireUs: number
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!
}

async function measure(calls: number, n: number, fn: (i: number) => Promise<unknown>, tick: () => Promise<void>): Promise<CpuStats> {
  const cpu: number[] = []
  const wall: number[] = []
  for (let i = 0; i < calls; i++) {
    // One poll interval per 1 000 calls at most: the elided 5-min lookup never falls inside the measurement.
    if (i > 0 && i % Math.max(n, 1000) === 0) await tick()
    const w0 = performance.now()
    const c0 = process.cpuUsage()
    await fn(i % n)
    const c = process.cpuUsage(c0)
    wall.push((performance.now() - w0) * 1000)
    cpu.push(c.user + c.system)
  }
  return { calls, medianUs: pct(cpu, 0.5), p99Us: pct(cpu, 0.99), wallMedianUs: pct(wall, 0.5) }
}

class FixedTokenBackend extends KVBackend {
  constructor(
    private readonly vault: VaultClient,
    private readonly token: string,
  ) {
    super({})
  }
  override async _get({ key }: GetArgs): Promise<unknown> {
    const res = await this.vault.read(key, this.token)
    return JSON.stringify((res.data as { data?: unknown } | null)?.data)
  }
}

export async function measureCpu(n: number, calls: number, pollMs: number): Promise<CpuResult> {
  const world = makeWorld(n, 1)
  const backend = makeBackend(world, { pollMs }, true)
  const tick = () => world.clock.advance(pollMs)
  await backend.getSecretManifestData({ spec: world.secrets[0]!.spec }) // login outside the measurement
  const vault = peerClient(world)
  let bare = new FixedTokenBackend(vault, (await vault.login(MOUNT, { role: world.roles[0]!, jwt: world.jwt })).auth.client_token)
  gcHeapUsed()
  // Warm both paths (JIT), then measure alternately in blocks so drift hits both alike.
  await measure(Math.min(calls, 2000), n, (i) => backend.getSecretManifestData({ spec: world.secrets[i]!.spec }), async () => {})
  await measure(Math.min(calls, 2000), n, (i) => bare.getSecretManifestData({ spec: world.secrets[i]!.spec }), async () => {})
  const ours = await measure(calls, n, (i) => backend.getSecretManifestData({ spec: world.secrets[i]!.spec }), tick)
  bare = new FixedTokenBackend(vault, (await vault.login(MOUNT, { role: world.roles[0]!, jwt: world.jwt })).auth.client_token)
  const baseline = await measure(calls, n, (i) => bare.getSecretManifestData({ spec: world.secrets[i]!.spec }), async () => {})
  const before = world.dev.counters().requests.lookup
  const reps = 200_000
  const c0 = process.cpuUsage()
  for (let i = 0; i < reps; i++) await backend.sessionFor(world.secrets[i % n]!.spec).acquire()
  const c = process.cpuUsage(c0)
  if (world.dev.counters().requests.lookup !== before) throw new Error('a lookup happened during the acquire measurement')
  await backend.close({ revoke: false })
  return {
    n,
    ours,
    baseline,
    tokenCheckUsPerRead: (ours.medianUs - baseline.medianUs) / 2,
    acquireUs: (c.user + c.system) / reps,
  }
}
