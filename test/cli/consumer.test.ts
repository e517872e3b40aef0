import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ROOT, userEnv } from './helpers.js'

/**
 * The package as a user gets it: `npm pack`, installed into a fresh project outside the repository, then used from
 * CommonJS (KES's way), from ESM, from the bin, and type-checked with skipLibCheck: false. Installs come from the npm
 * cache that `npm ci` filled (--prefer-offline), so this needs the registry only on a cold cache.
 */
const FIXTURE = path.join(ROOT, 'test', 'cli', 'consumer')
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
// Warnings about the machine's own npm configuration are not the package's.
const ownWarnings = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !/Unknown (user|env|global|project) config/.test(l))

describe('package: npm pack, installed in a fresh project', function () {
  this.timeout(150_000)
  let dir: string
  let files: string[]
  let install: Run

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kes-consumer-'))
    const pack = await run(npm, ['pack', '--json', '--pack-destination', dir], ROOT, 90_000)
    assert.equal(pack.code, 0, `npm pack failed:\n${pack.stderr}`)
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[]
    files = info!.files.map((f) => f.path)
    await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
    for (const f of await fs.readdir(FIXTURE)) await fs.copyFile(path.join(FIXTURE, f), path.join(dir, f))
    const typesNode = JSON.parse(await fs.readFile(path.join(ROOT, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version
    install = await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(dir, info!.filename), `@types/node@${typesNode}`], dir, 120_000)
    assert.equal(install.code, 0, `npm install of the tarball failed:\n${install.stderr}`)
  })

  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true })
  })

  it('ships the build, the examples and the licence; no sources, source maps or build state', () => {
    for (const f of ['LICENSE', 'README.md', 'docs/vault-api.md', 'dist/index.js', 'dist/index.d.ts', 'dist/poller/index.d.ts', 'dist/devserver/index.d.ts', 'dist/cli.js', 'examples/demo/externalsecrets.yaml', 'examples/kes-wiring.ts']) {
      assert.ok(files.includes(f), `${f} is missing from the tarball`)
    }
    const unwanted = files.filter((f) => f.endsWith('.map') || f.startsWith('lib/') || f.startsWith('test/') || f.includes('tsbuildinfo'))
    assert.deepEqual(unwanted, [])
  })

  it('installs without an install script of ours (npm warns about those, and they would need our devDependencies)', async () => {
    assert.deepEqual(ownWarnings(install.stdout + install.stderr).filter((l) => /install-scripts.*kes-vault-backend/.test(l)), [])
    const installed = JSON.parse(await fs.readFile(path.join(dir, 'node_modules', 'kes-vault-backend', 'package.json'), 'utf8'))
    assert.deepEqual(Object.keys(installed.scripts ?? {}).filter((s) => /^(pre|post)?(install|prepare)$/.test(s)), [])
  })

  it("require()s every entry point from CommonJS (KES's way) without a warning, and reads a seeded secret", async () => {
    const r = await run(process.execPath, ['cjs.cjs'], dir, 20_000)
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), { password: 'from-cjs', PollerHost: 'function', ConfigError: 'function' })
    assert.equal(r.stderr, '', 'no ExperimentalWarning or other noise on stderr')
  })

  it('imports every entry point from ESM, the same instance as require(); the library loads neither the poller host, the dev Vault nor client-node', async () => {
    const r = await run(process.execPath, ['esm.mjs'], dir, 20_000)
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.password, 'from-esm')
    assert.equal(out.PollerHost, 'function')
    assert.equal(out.sameInstance, true, 'require() and import give the same VaultBackend class')
    assert.ok(out.libraryModules > 10, 'the resolve hook saw the library load')
    assert.deepEqual(out.libraryLoaded, [])
  })

  it('type-checks a TypeScript user of all three entry points (ESM and CommonJS) with skipLibCheck: false', async () => {
    const r = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir, 60_000)
    assert.equal(r.code, 0, `tsc:\n${r.stdout}${r.stderr}`)
  })

  it('runs the bin: --help, and the demo from the installed examples', async () => {
    const bin = path.join(dir, 'node_modules', '.bin', process.platform === 'win32' ? 'kes-vault-backend.cmd' : 'kes-vault-backend')
    const help = await run(bin, ['--help'], dir, 15_000)
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /usage: kes-vault-backend/)
    const demo = await run(bin, ['demo', '--fast', '--polls', '3'], dir, 20_000)
    assert.equal(demo.code, 0, demo.stderr)
    assert.match(demo.stdout, /3 polls of 3 ExternalSecrets, 0 failed reads/)
    assert.ok(await fs.stat(path.join(dir, 'out', 'secrets', 'default', 'app-database.yaml')))
  })
})
