/** Turns run results into per-hour rows, the Markdown table, the goals verdicts and the vega chart. */
import * as vega from 'vega'
import { floorRates } from './floor.js'
import type { RunResult } from './simulate.js'
import type { CpuResult } from './cpu.js'

export interface Row {
  workload: string
  scenario: string
  n: number
  roles: number
  strategy: string
  simulated: string
  hours: number
  perHour: { read: number; lookup: number; renew: number; login: number; revoke: number; writes: number }
  writesToFloor: number
  requestsPerPoll: number
  tokenRequestsPerPoll: number
  failedReads: number
  failedReadsOutsideOutage: number
  deadTokenReads: number
  deadTokenRequests: number
  unexpectedSentinelEvents: number
  tokenCacheEntries?: number
  heapUsedEndMiB?: number
  heapGrowthKiB?: number
  wallSeconds?: number
}

export function workloadId(r: { scenario: string; n: number; roles: number }): string {
  return r.scenario === 'steady' ? `N=${r.n} R=${r.roles}` : `${r.scenario} N=${r.n} R=${r.roles}`
}

export function describeSimulated(r: RunResult): string {
  const h = r.spec.durationMs / 3_600_000
  if (r.spec.mode === 'full') return `${h} h, all ${r.polls} polls × N`
  return `${h} h sampled: ${r.fullPolls} polls × N, ${r.sentinelPolls} × R, rest extrapolated`
}

export function toRow(r: RunResult): Row {
  const s = r.spec
  const hours = s.durationMs / 3_600_000
  const t = r.total
  const floor = floorRates(s.n, s.roles, s.pollMs)
  const requests = t.login + t.lookup + t.renew + t.revoke + t.create + t.read + t.health + t.other
  const token = t.login + t.lookup + t.renew + t.revoke
  return {
    workload: workloadId({ scenario: s.scenario, n: s.n, roles: s.roles }),
    scenario: s.scenario,
    n: s.n,
    roles: s.roles,
    strategy: s.strategy,
    simulated: describeSimulated(r),
    hours,
    perHour: { read: t.read / hours, lookup: t.lookup / hours, renew: t.renew / hours, login: t.login / hours, revoke: t.revoke / hours, writes: t.writes / hours },
    writesToFloor: t.writes / hours / floor.writesPerHour,
    requestsPerPoll: requests / r.polls,
    tokenRequestsPerPoll: token / r.polls,
    failedReads: t.failedReads,
    failedReadsOutsideOutage: r.failedReadsOutsideOutage,
    deadTokenReads: t.deadReads,
    deadTokenRequests: t.deadRequests,
    unexpectedSentinelEvents: r.unexpectedSentinelEvents,
    tokenCacheEntries: r.tokenCacheEntries,
    heapUsedEndMiB: r.heapUsedEnd / 2 ** 20,
    heapGrowthKiB: r.heapGrowth / 1024,
    wallSeconds: r.wallMs / 1000,
  }
}

export function floorRow(scenario: string, n: number, roles: number, pollMs: number): Row {
  const f = floorRates(n, roles, pollMs)
  return {
    workload: workloadId({ scenario, n, roles }),
    scenario,
    n,
    roles,
    strategy: 'floor',
    simulated: 'computed',
    hours: 1,
    perHour: { read: f.readsPerHour, lookup: 0, renew: f.renewalsPerHour, login: f.loginsPerHour, revoke: 0, writes: f.writesPerHour },
    writesToFloor: 1,
    requestsPerPoll: f.requestsPerPoll,
    tokenRequestsPerPoll: f.tokenRequestsPerPoll,
    failedReads: 0,
    failedReadsOutsideOutage: 0,
    deadTokenReads: 0,
    deadTokenRequests: 0,
    unexpectedSentinelEvents: 0,
  }
}

const fmt = (x: number): string => {
  if (x === 0) return '0'
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US')
  if (Math.abs(x) >= 1) return x.toFixed(2)
  return x.toPrecision(3)
}

export function markdownTable(rows: Row[]): string {
  const head = ['workload', 'strategy', 'reads/h', 'lookups/h', 'renews/h', 'logins/h', 'revokes/h', '**writes/h**', 'writes ÷ floor', 'req/poll', 'token req/poll', 'failed reads', 'dead-token reads', 'simulated']
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i < 2 || i === head.length - 1 ? '---' : '--:')).join('|')}|`]
  for (const r of rows) {
    const failed = r.scenario === 'outage' ? `${fmt(r.failedReads)} (${fmt(r.failedReadsOutsideOutage)} after)` : fmt(r.failedReads)
    const sim = r.unexpectedSentinelEvents ? `${r.simulated}; ${r.unexpectedSentinelEvents} UNEXPECTED sentinel events` : r.simulated
    lines.push(
      `| ${r.workload} | ${r.strategy} | ${fmt(r.perHour.read)} | ${fmt(r.perHour.lookup)} | ${fmt(r.perHour.renew)} | ${fmt(r.perHour.login)} | ${fmt(r.perHour.revoke)} | **${fmt(r.perHour.writes)}** | ${r.writesToFloor.toFixed(r.writesToFloor < 10 ? 3 : 0)}× | ${fmt(r.requestsPerPoll)} | ${r.tokenRequestsPerPoll.toFixed(r.tokenRequestsPerPoll < 10 ? 4 : 1)} | ${failed} | ${fmt(r.deadTokenReads)} | ${sim} |`,
    )
  }
  return lines.join('\n')
}

export interface Goal {
  goal: string
  met: boolean
  figure: string
}

export function goals(rows: Row[], cpu: CpuResult[]): Goal[] {
  const ours = rows.filter((r) => r.strategy === 'ours' || r.strategy === 'ours-elided')
  const steady = ours.filter((r) => r.scenario === 'steady')
  const out: Goal[] = []
  const worst = steady.reduce((a, b) => (b.writesToFloor > a.writesToFloor ? b : a), steady[0]!)
  out.push({
    goal: 'storage writes per hour within 1.1× of the floor at every N',
    met: steady.every((r) => r.writesToFloor <= 1.1),
    figure: `worst ${worst.writesToFloor.toFixed(3)}× (${worst.strategy}, ${worst.workload}: ${fmt(worst.perHour.writes)} writes/h vs floor ${fmt(worst.perHour.writes / worst.writesToFloor)})`,
  })
  const parts: string[] = []
  let flat = true
  for (const strategy of ['ours', 'ours-elided']) {
    for (const roles of [...new Set(steady.map((r) => r.roles))]) {
      const xs = steady.filter((r) => r.strategy === strategy && r.roles === roles).sort((a, b) => a.n - b.n)
      if (!xs.length) continue
      const v = xs.map((r) => r.tokenRequestsPerPoll)
      const spread = Math.max(...v) / Math.min(...v)
      if (spread > 1.01) flat = false
      parts.push(`${strategy} R=${roles}: ${xs.map((r) => `N=${r.n} ${r.tokenRequestsPerPoll.toFixed(4)}`).join(', ')}`)
    }
  }
  out.push({ goal: 'token requests (lookup + renew + login + revoke) per poll independent of N', met: flat, figure: parts.join('; ') })
  const bad = ours.filter((r) => r.deadTokenReads > 0 || r.failedReadsOutsideOutage > 0)
  out.push({
    goal: 'zero reads with a dead token and zero failed reads outside the injected outage (ours)',
    met: bad.length === 0,
    figure: bad.length
      ? bad.map((r) => `${r.strategy} ${r.workload}: ${r.deadTokenReads} dead-token reads, ${r.failedReadsOutsideOutage} failed reads outside the outage`).join('; ')
      : `0 and 0 in all ${ours.length} runs of ours (incl. outage: ${ours.filter((r) => r.scenario === 'outage').map((r) => `${r.strategy} ${r.failedReads} failed during the 5 min`).join(', ')})`,
  })
  if (cpu.length) {
    const worstCpu = cpu.reduce((a, b) => (b.tokenCheckUsPerRead > a.tokenCheckUsPerRead ? b : a))
    out.push({
      goal: 'the token check adds under 50 µs CPU per read when the lookup is elided',
      met: cpu.every((c) => c.tokenCheckUsPerRead < 50),
      figure: cpu
        .map((c) => `N=${c.n}: ours ${c.ours.medianUs} µs median / ${c.ours.p99Us} µs p99 per getSecretManifestData (2 reads), fixed-token baseline ${c.baseline.medianUs} / ${c.baseline.p99Us} µs → ${c.tokenCheckUsPerRead.toFixed(1)} µs per read; sessionFor+acquire alone ${c.acquireUs.toFixed(2)} µs`)
        .join('; ') + ` (worst N=${worstCpu.n})`,
    })
  }
  const mem = steady.filter((r) => r.strategy === 'ours-elided' && r.roles === Math.max(...steady.map((x) => x.roles))).sort((a, b) => a.n - b.n)
  const entries = steady.every((r) => r.tokenCacheEntries === r.roles)
  const growth = mem.map((r) => r.heapGrowthKiB ?? 0)
  const memFlat = entries && mem.length > 1 && Math.max(...growth) - Math.min(...growth) < 1024
  out.push({
    goal: 'memory stays flat in N for the token cache',
    met: memFlat,
    figure: `token cache entries = R in every steady run of ours (${entries ? 'yes' : 'NO'}); heap retained by the backend after GC (ours-elided, R=${mem[0]?.roles}): ${mem.map((r) => `N=${r.n} ${fmt(r.heapGrowthKiB ?? 0)} KiB`).join(', ')}`,
  })
  return out
}

export async function chartSvg(rows: Row[]): Promise<string> {
  const values = rows
    .filter((r) => r.scenario === 'steady')
    .map((r) => ({ N: r.n, writes: Math.max(r.perHour.writes, 0.01), series: `${r.strategy} (R=${r.roles})`, strategy: r.strategy, R: `R=${r.roles}` }))
  const spec: vega.Spec = {
    $schema: 'https://vega.github.io/schema/vega/v5.json',
    width: 640,
    height: 400,
    padding: 8,
    title: { text: 'Vault storage writes per hour vs number of ExternalSecrets (log–log)', subtitle: 'logins + renewals + revocations; poll 10 s, TTL 1 h, max TTL 24 h; solid R=1, dashed R=10' },
    data: [{ name: 'table', values }],
    scales: [
      { name: 'x', type: 'log', domain: { data: 'table', field: 'N' }, range: 'width', nice: true },
      { name: 'y', type: 'log', domain: { data: 'table', field: 'writes' }, range: 'height', nice: true },
      { name: 'color', type: 'ordinal', domain: { data: 'table', field: 'strategy' }, range: 'category' },
      { name: 'dash', type: 'ordinal', domain: ['R=1', 'R=10'], range: [[1, 0], [6, 3]] },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'ExternalSecrets (N), 2 keys each', format: '~s' },
      { orient: 'left', scale: 'y', title: 'storage writes / hour', format: '~s' },
    ],
    legends: [{ fill: 'color', title: 'strategy' }],
    marks: [
      {
        type: 'group',
        from: { facet: { name: 'series', data: 'table', groupby: ['series'] } },
        marks: [
          {
            type: 'line',
            from: { data: 'series' },
            sort: { field: 'datum.N' },
            encode: {
              enter: {
                x: { scale: 'x', field: 'N' },
                y: { scale: 'y', field: 'writes' },
                stroke: { scale: 'color', field: 'strategy' },
                strokeDash: { scale: 'dash', field: 'R' },
                strokeWidth: { value: 2 },
              },
            },
          },
          {
            type: 'symbol',
            from: { data: 'series' },
            encode: { enter: { x: { scale: 'x', field: 'N' }, y: { scale: 'y', field: 'writes' }, fill: { scale: 'color', field: 'strategy' }, size: { value: 30 } } },
          },
        ],
      },
    ],
  }
  const view = new vega.View(vega.parse(spec), { renderer: 'none' })
  return view.toSVG()
}
