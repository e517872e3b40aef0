/**
 * npm run bench [-- --quick | --full | --dynamic] [--jobs=2] [--update-results | --out=DIR]
 *
 * Writes bench-results/ (untracked); --update-results writes the committed bench/results/ that README links to.
 *
 * Every strategy on the same workloads, on the dev Vault (in-process) and a ManualClock: no real sleeping.
 * Default (~9 min on 2 cores): N=10 simulated in full for 24 h (and, R=1, also sampled, to show the sampler's error),
 * N ∈ {100, 1 000} as a sampled day (see lib/simulate.ts); outage and revocation at N=100, R=10 for 1 h in full.
 * --large: adds N=10 000 as a sampled day (about 10× the N=1 000 cost: roughly another hour on 2 cores).
 * --full: every steady workload N ∈ {10, 100, 1 000, 10 000} simulated in full for 24 h (many hours).
 * --quick: N ∈ {10, 100}, sampled; scenarios as default (3-4 min).
 * Every profile ends with the dynamic-secrets section (N=10, 24 h in full, ~10 s): mints and writes per day of ours
 * against KES's mint-every-poll (bench/lib/dynamic.ts), also written to dynamic.md and dynamic.json.
 * --dynamic: only that section.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measureCpu, type CpuResult } from './lib/cpu.js'
import { chartSvg, floorRow, goals, markdownTable, toRow, type Row, workloadId } from './lib/report.js'
import type { RunResult, RunSpec } from './lib/simulate.js'
import { STRATEGY_NAMES } from './strategies/index.js'
import { STRATEGIES } from './strategies/index.js'
import { makeWorld } from './lib/world.js'
import { dynamicSection, runDynamic, type DynamicResult } from './lib/dynamic.js'

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const profile = args.includes('--full') ? 'full' : args.includes('--quick') ? 'quick' : 'default'
const jobs = Number(args.find((a) => a.startsWith('--jobs='))?.split('=')[1] ?? Math.max(1, Math.min(2, cpus().length)))
/** `--n=10000` and `--only=ours,ours-elided`: a focused run (no outage/revocation scenarios), e.g. to add one N. */
const onlyN = args.find((a) => a.startsWith('--n='))?.slice(4).split(',').map(Number)
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',')
// A casual or quick run must not overwrite the committed results README cites: those change only when asked.
const outDir = args.find((a) => a.startsWith('--out='))?.slice(6) ?? (args.includes('--update-results') ? join('bench', 'results') : 'bench-results')
const POLL_MS = 10_000
const DAY = 24 * 3_600_000

function plan(): RunSpec[] {
  const specs: RunSpec[] = []
  const ns = onlyN ?? (profile === 'quick' ? [10, 100] : profile === 'full' || args.includes('--large') ? [10, 100, 1000, 10_000] : [10, 100, 1000])
  const names = STRATEGY_NAMES.filter((n) => !only || only.includes(n))
  for (const n of ns) {
    for (const roles of [1, 10]) {
      for (const strategy of names) {
        const base = { strategy, n, roles, pollMs: POLL_MS, durationMs: DAY, scenario: 'steady' as const }
        if (profile === 'full' || (profile === 'default' && n === 10)) specs.push({ ...base, mode: 'full' })
        else specs.push({ ...base, mode: 'sampled' })
      }
    }
  }
  // The sampler checked against the exact run: N=10 also sampled (default profile only, reported in the JSON).
  if (onlyN) return specs
  if (profile === 'default') for (const roles of [1]) for (const strategy of STRATEGY_NAMES) specs.push({ strategy, n: 10, roles, pollMs: POLL_MS, durationMs: DAY, scenario: 'steady', mode: 'sampled' })
  for (const strategy of STRATEGY_NAMES) {
    specs.push({ strategy, n: 100, roles: 10, pollMs: POLL_MS, durationMs: 3_600_000, mode: 'full', scenario: 'outage', eventAtMs: 1_800_000, outageMs: 300_000 })
    specs.push({ strategy, n: 100, roles: 10, pollMs: POLL_MS, durationMs: 3_600_000, mode: 'full', scenario: 'revocation', eventAtMs: 1_800_000 })
  }
  // Biggest first so the two workers finish together.
  const cost = (s: RunSpec) => s.n * (s.mode === 'full' ? s.durationMs / s.pollMs : 100 + 8640 / Math.max(1, s.n / s.roles)) * (s.strategy.startsWith('ours') ? 1 : 2)
  return specs.sort((a, b) => cost(b) - cost(a))
}

async function runPool(specs: RunSpec[]): Promise<RunResult[]> {
  const results: RunResult[] = new Array(specs.length)
  let next = 0
  let done = 0
  const started = performance.now()
  const worker = () =>
    new Promise<void>((resolve, reject) => {
      const child: ChildProcess = fork(join(here, 'worker.ts'), [], { execArgv: ['--import', 'tsx', '--max-old-space-size=3072'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      let current = -1
      const send = () => {
        if (next >= specs.length) {
          child.disconnect()
          resolve()
          return
        }
        current = next++
        child.send({ id: current, spec: specs[current] })
      }
      child.on('message', (m: { ready?: boolean; id?: number; result?: RunResult; error?: string }) => {
        if (m.ready) return send()
        if (m.error) return reject(new Error(`run ${JSON.stringify(specs[m.id!])} failed: ${m.error}`))
        results[m.id!] = m.result!
        done++
        const s = specs[m.id!]!
        process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${done}/${specs.length} ${s.strategy} ${workloadId(s)} ${s.mode} (${(m.result!.wallMs / 1000).toFixed(1)} s)\n`)
        send()
      })
      child.on('exit', (code) => (current >= 0 && results[current] === undefined && code ? reject(new Error(`worker exited ${code}`)) : undefined))
    })
  await Promise.all(Array.from({ length: jobs }, worker))
  return results
}

const order = ['floor', ...STRATEGY_NAMES]
const sortRows = (rows: Row[]) =>
  rows.sort((a, b) => ['steady', 'outage', 'revocation'].indexOf(a.scenario) - ['steady', 'outage', 'revocation'].indexOf(b.scenario) || a.roles - b.roles || a.n - b.n || order.indexOf(a.strategy) - order.indexOf(b.strategy))

const DYNAMIC_N = 10

/** The dynamic-secrets section: run, printed, written as dynamic.md and dynamic.json. */
async function dynamic(dir: string): Promise<{ results: DynamicResult[]; markdown: string }> {
  const results = await runDynamic(DYNAMIC_N, POLL_MS, DAY, (line) => process.stderr.write(`${line}\n`))
  const markdown = dynamicSection(results)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'dynamic.md'), `${markdown}\n`)
  writeFileSync(join(dir, 'dynamic.json'), `${JSON.stringify({ results }, null, 1)}\n`)
  return { results, markdown }
}

async function main(): Promise<void> {
  const t0 = performance.now()
  if (args.includes('--dynamic')) {
    process.stderr.write(`bench dynamic secrets: N=${DYNAMIC_N}, 3 strategies, 24 h; results go to ${outDir}/\n`)
    const { markdown } = await dynamic(resolve(outDir))
    process.stdout.write(`${markdown}\n`)
    process.stderr.write(`wrote ${resolve(outDir)}/{dynamic.md,dynamic.json} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`)
    return
  }
  const specs = plan()
  process.stderr.write(`bench profile ${profile}: ${specs.length} runs on ${jobs} worker process(es); results go to ${outDir}/\n`)
  const results = await runPool(specs)
  // CPU per call alone, after the pool, so nothing else competes for the cores.
  const cpu: CpuResult[] = []
  for (const n of profile === 'quick' ? [10, 1000] : [10, 1000, 10_000]) cpu.push(await measureCpu(n, profile === 'quick' ? 5_000 : 20_000, POLL_MS))

  // Reported rows: the exact run where there is one, else the sampled one.
  const primary = results.filter((r) => !(profile === 'default' && r.spec.n === 10 && r.spec.mode === 'sampled' && r.spec.scenario === 'steady'))
  const rows: Row[] = primary.map(toRow)
  const workloads = new Map(primary.map((r) => [workloadId(r.spec), r.spec]))
  for (const w of workloads.values()) rows.push(floorRow(w.scenario, w.n, w.roles, w.pollMs))
  sortRows(rows)
  const validation = results
    .filter((r) => r.spec.n === 10 && r.spec.mode === 'sampled' && profile === 'default')
    .map((s) => {
      const exact = results.find((r) => r.spec.mode === 'full' && r.spec.scenario === 'steady' && r.spec.n === s.spec.n && r.spec.roles === s.spec.roles && r.spec.strategy === s.spec.strategy)!
      const diff = Object.fromEntries(Object.keys(s.total).map((k) => [k, s.total[k as keyof typeof s.total] - exact.total[k as keyof typeof s.total]]).filter(([, v]) => v !== 0))
      return { strategy: s.spec.strategy, roles: s.spec.roles, sampledMinusExact: diff, fullPollsSampled: s.fullPolls }
    })
  const g = goals(rows, cpu)
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  }
  const dynamicPart = await dynamic(resolve(outDir))
  const wallSeconds = (performance.now() - t0) / 1000
  const simulatedNote = simulationNote(results)

  const table = markdownTable(rows)
  const goalsMd = g.map((x) => `- ${x.met ? '**met**' : '**MISSED**'}: ${x.goal} — ${x.figure}`).join('\n')
  const descriptions = STRATEGY_NAMES.map((n) => {
    const w = makeWorld(1, 1)
    return `- \`${n}\`: ${STRATEGIES[n](w, { pollMs: POLL_MS }).description}`
  }).join('\n')
  const validationMd = validation.length
    ? `Sampler check (N=10, sampled vs exact 24 h, all strategies, R=1): ${validation.every((v) => Object.keys(v.sampledMinusExact).length === 0) ? 'identical totals for every counter' : 'DIFFERENCES: ' + JSON.stringify(validation.filter((v) => Object.keys(v.sampledMinusExact).length))}.`
    : ''
  const out = [
    `## Benchmark: load on Vault (\`npm run bench${profile === 'default' ? '' : ' -- --' + profile}\`)`,
    '',
    `Machine: ${machine.cpus} × ${machine.model}, ${machine.memGiB} GiB, Node ${machine.node}, ${machine.platform}. Bench wall time ${wallSeconds.toFixed(0)} s (${jobs} worker processes).`,
    '',
    'Workloads: N ExternalSecrets × 2 keys (each ExternalSecret has its own two KV v2 paths), R roles (ExternalSecret i uses role i mod R), every ExternalSecret polled every 10 s, token TTL 1 h, max TTL 24 h, renew threshold 3 polls = 30 s. Dev Vault in-process on a virtual clock; storage writes = logins + renewals + revocations as counted by the dev Vault.',
    '',
    simulatedNote,
    '',
    'Strategies (the peers are re-implementations in `bench/strategies/` of their published behaviour, not their code):',
    descriptions,
    `- \`floor\`: computed: one read per distinct path per poll, one renewal per identity per (TTL − threshold) = 3 570 s, one login per identity per max TTL.`,
    '',
    table,
    '',
    '![Vault storage writes per hour vs N](bench/results/writes-per-hour.svg)',
    '',
    '### Goals',
    goalsMd,
    '',
    validationMd,
    '',
    dynamicPart.markdown,
  ].join('\n')
  process.stdout.write(`${out}\n`)
  const dir = resolve(outDir)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'README-section.md'), `${out}\n`)
  writeFileSync(join(dir, 'writes-per-hour.svg'), await chartSvg(rows))
  writeFileSync(
    join(dir, 'latest.json'),
    `${JSON.stringify({ profile, machine, wallSeconds, simulated: simulatedNote, goals: g, cpu, rows, validation, runs: results, dynamic: dynamicPart.results }, null, 1)}\n`,
  )
  process.stderr.write(`wrote ${dir}/{latest.json,writes-per-hour.svg,README-section.md} in ${wallSeconds.toFixed(0)} s\n`)
}

function simulationNote(results: RunResult[]): string {
  const steady = results.filter((r) => r.spec.scenario === 'steady')
  const full = [...new Set(steady.filter((r) => r.spec.mode === 'full').map((r) => r.spec.n))]
  const sampled = [...new Set(steady.filter((r) => r.spec.mode === 'sampled').map((r) => r.spec.n))]
  const unexpected = steady.reduce((a, r) => a + r.unexpectedSentinelEvents, 0)
  const fp = steady.filter((r) => r.spec.mode === 'sampled').map((r) => r.fullPolls)
  return [
    '**What was simulated and what was extrapolated.**',
    full.length ? `N ∈ {${full.join(', ')}}: all 8 640 polls of 24 h, every ExternalSecret every poll: exact counts, nothing extrapolated.` : '',
    sampled.length
      ? `N ∈ {${sampled.sort((a, b) => a - b).join(', ')}} (${profile === 'default' ? 'N=10 sampled only as a check' : 'sampled'}): the full 24 h timeline runs, every token event at its real time, but only ${Math.min(...fp)}–${Math.max(...fp)} of the 8 640 polls poll all N ExternalSecrets (the first minute, one poll per hour, and every poll from one poll before each of the strategy's token events until it has happened); the other polls poll one ExternalSecret per role, which drives the token state exactly as full load does, and are counted as the steady full poll measured at that N (reads, and per-read lookups/renewals/logins of the peers) plus what they did beyond a steady sentinel poll. So token events (logins, renewals, the max-TTL re-login, bursts of the peers' concurrent callers) are simulated at full N; the steady per-poll traffic of ${Math.max(...steady.filter((r) => r.spec.mode === 'sampled').map((r) => r.sentinelPolls))} polls is extrapolated from measured full polls. Self-check: sentinel polls with a token event (which would be under-counted) = ${unexpected}.`
      : '',
    'Outage (Vault sealed 30:00–35:00) and revocation (every role\'s tokens revoked externally at 30:00) workloads: N=100, R=10, 1 h, every poll in full; per-hour figures are that hour\'s counts.',
  ]
    .filter(Boolean)
    .join(' ')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
