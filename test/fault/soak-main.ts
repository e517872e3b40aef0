/**
 * The soak CLI: `npm run soak` (long profile) or `node --import tsx test/fault/soak-main.ts --profile fast --seed 7`.
 * Prints the seed first (pass it back with --seed to replay the same run), then a table per fault and the totals.
 * Exit code 1 when an invariant of issue 8 does not hold.
 */
import os from 'node:os'
import { checkInvariants, PROFILES, type ProfileName, runProfile } from './profiles.js'
import { formatResult } from './soak.js'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  if (i >= 0) return process.argv[i + 1]
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`))
  return eq?.slice(name.length + 3)
}

const profile = (arg('profile') ?? 'fast') as ProfileName
if (!(profile in PROFILES)) {
  console.error(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`)
  process.exit(2)
}
const seedArg = arg('seed')
const seed = seedArg === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(seedArg)
if (!Number.isInteger(seed) || seed < 0) {
  console.error(`--seed must be a non-negative integer; got ${seedArg}`)
  process.exit(2)
}
console.log(`soak: profile ${profile}, seed ${seed} (replay with --seed ${seed})`)
console.log(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, ${os.platform()} ${os.arch()}`)
const result = await runProfile(profile, seed, (h) => process.stderr.write(`  simulated hour ${h}\n`))
console.log(formatResult(result))
const problems = checkInvariants(result)
if (problems.length) {
  console.log(`\nFAILED (${problems.length}):`)
  for (const p of problems) console.log(`- ${p}`)
  process.exitCode = 1
} else {
  console.log('\nall invariants held')
}
