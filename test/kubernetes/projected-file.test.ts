import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import { mkdtemp, rm, writeFile, rename, symlink, mkdir, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '../../lib/clock.js'
import { ProjectedServiceAccountTokenFile, ServiceAccountJwtError, type TokenFileSystem } from '../../lib/kubernetes/index.js'
import { assertNoSecrets, captureLogger, makeJwt } from './helpers.js'

/** node's fs with reads counted and failures injectable. */
function countingFs() {
  const counts = { stat: 0, read: 0 }
  let failWith: string | undefined
  const wrapped: TokenFileSystem & { counts: typeof counts; fail(code: string | undefined): void } = {
    counts,
    fail(code) {
      failWith = code
    },
    async stat(p) {
      counts.stat++
      if (failWith) throw Object.assign(new Error(`${failWith}: injected, stat '${p}'`), { code: failWith })
      return fs.stat(p)
    },
    async readFile(p, enc) {
      counts.read++
      if (failWith) throw Object.assign(new Error(`${failWith}: injected, open '${p}'`), { code: failWith })
      return fs.readFile(p, enc)
    },
  }
  return wrapped
}

describe('kubernetes: projected service account token file', () => {
  let dir: string
  let clock: ManualClock
  const nowS = () => Math.floor(clock.now() / 1000)
  const issued: string[] = []
  /** A token like the kubelet writes: 1 h life (3607 s by default), issued now. */
  const kubeletJwt = (lifeS = 3607) => {
    const jwt = makeJwt({ iat: nowS(), exp: nowS() + lifeS, namespace: 'kes', serviceAccount: 'kes', aud: ['https://kubernetes.default.svc'] })
    issued.push(jwt)
    return jwt
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kes-sa-token-'))
    clock = new ManualClock()
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reads the file once however many logins ask, until it changes', async () => {
    const path = join(dir, 'token')
    const jwt = kubeletJwt()
    await writeFile(path, jwt + '\n')
    const cfs = countingFs()
    const src = new ProjectedServiceAccountTokenFile({ path, clock, fs: cfs })
    for (let i = 0; i < 300; i++) {
      assert.equal(await src.getJwt(), jwt)
      await clock.advance(1000) // five minutes of logins
    }
    assert.equal(cfs.counts.read, 1)
    assert.equal(src.description, `projected file ${path}`)
  })

  it('concurrent logins share one read', async () => {
    const path = join(dir, 'token')
    const jwt = kubeletJwt()
    await writeFile(path, jwt)
    const cfs = countingFs()
    const src = new ProjectedServiceAccountTokenFile({ path, clock, fs: cfs })
    const got = await Promise.all(Array.from({ length: 100 }, () => src.getJwt()))
    assert.ok(got.every((j) => j === jwt))
    assert.equal(cfs.counts.read, 1)
    assert.equal(cfs.counts.stat, 1)
  })

  it('returns the rotated JWT after the kubelet swaps the ..data symlink (KES kept the old one)', async () => {
    // The kubelet's AtomicWriter layout: token -> ..data/token, ..data -> ..<timestamp>/
    const writeVersion = async (name: string, jwt: string) => {
      await mkdir(join(dir, name))
      await writeFile(join(dir, name, 'token'), jwt)
      await symlink(name, join(dir, '..data_tmp'))
      await rename(join(dir, '..data_tmp'), join(dir, '..data'))
    }
    const first = kubeletJwt()
    await writeVersion('..2026_01_01_00_00_00.1', first)
    await symlink(join('..data', 'token'), join(dir, 'token'))
    const cfs = countingFs()
    const src = new ProjectedServiceAccountTokenFile({ path: join(dir, 'token'), clock, fs: cfs })
    assert.equal(await src.getJwt(), first)

    await clock.advance(48 * 60_000) // kubelet rotates at 80 % of 1 h
    const second = kubeletJwt()
    assert.equal(second.length, first.length, 'same size: only the inode tells the versions apart')
    await writeVersion('..2026_01_01_00_48_00.2', second)
    assert.equal(await src.getJwt(), second)
    assert.equal(await src.getJwt(), second)
    assert.equal(cfs.counts.read, 2)
  })

  it('returns the new JWT after the file is rewritten in place', async () => {
    const path = join(dir, 'token')
    await writeFile(path, kubeletJwt())
    const src = new ProjectedServiceAccountTokenFile({ path, clock })
    await src.getJwt()
    await clock.advance(60_000)
    const rotated = kubeletJwt(7200)
    await writeFile(path, rotated)
    assert.equal(await src.getJwt(), rotated)
  })

  it('re-reads an unchanged file once the JWT is within 10 % of its life of expiring', async () => {
    const path = join(dir, 'token')
    const jwt = kubeletJwt(3600)
    await writeFile(path, jwt)
    const cfs = countingFs()
    const src = new ProjectedServiceAccountTokenFile({ path, clock, fs: cfs })
    await src.getJwt()
    await clock.advance((3600 - 361) * 1000)
    await src.getJwt()
    assert.equal(cfs.counts.read, 1, '6 min 1 s before exp: still trusted')
    await clock.advance(2000)
    await src.getJwt()
    assert.equal(cfs.counts.read, 2, 'inside the last 10 %: the file is read again')
  })

  it('re-reads a short-lived JWT in its last 60 s', async () => {
    const path = join(dir, 'token')
    await writeFile(path, kubeletJwt(600))
    const cfs = countingFs()
    const src = new ProjectedServiceAccountTokenFile({ path, clock, fs: cfs })
    await src.getJwt()
    await clock.advance(539_000)
    await src.getJwt()
    assert.equal(cfs.counts.read, 1)
    await clock.advance(2_000)
    await src.getJwt()
    assert.equal(cfs.counts.read, 2)
  })

  it('a legacy token without exp is re-read only when the file changes', async () => {
    const path = join(dir, 'token')
    const legacy = makeJwt({ namespace: 'kes', serviceAccount: 'kes' })
    await writeFile(path, legacy)
    const cfs = countingFs()
    const src = new ProjectedServiceAccountTokenFile({ path, clock, fs: cfs })
    await src.getJwt()
    await clock.advance(365 * 24 * 3600_000)
    assert.equal(await src.getJwt(), legacy)
    assert.equal(cfs.counts.read, 1)
  })

  it('a missing file is an error that names the path', async () => {
    const path = join(dir, 'nope', 'token')
    const src = new ProjectedServiceAccountTokenFile({ path, clock })
    await assert.rejects(src.getJwt(), (err: unknown) => {
      assert.ok(err instanceof ServiceAccountJwtError)
      assert.equal(err.reason, 'FileMissing')
      assert.match(err.message, /does not exist \(ENOENT\)/)
      assert.ok(err.message.includes(path))
      return true
    })
  })

  it('an unreadable file is an error that names the path and EACCES', async () => {
    const path = join(dir, 'token')
    await writeFile(path, kubeletJwt())
    const cfs = countingFs()
    cfs.fail('EACCES')
    const src = new ProjectedServiceAccountTokenFile({ path, clock, fs: cfs })
    await assert.rejects(src.getJwt(), (err: ServiceAccountJwtError) => {
      assert.equal(err.reason, 'FileUnreadable')
      assert.ok(err.message.includes(path))
      assert.match(err.message, /not readable by this process \(EACCES\)/)
      return true
    })
  })

  it('an empty file or one without a JWT is a clear error that does not echo the content', async () => {
    const path = join(dir, 'token')
    await writeFile(path, '  \n')
    const src = new ProjectedServiceAccountTokenFile({ path, clock })
    await assert.rejects(src.getJwt(), (err: ServiceAccountJwtError) => err.reason === 'FileEmpty' && err.message.includes(path))

    const notAJwt = 'hvs.CAESIsupersecretvaulttokenvalue'
    await writeFile(path, notAJwt)
    await assert.rejects(src.getJwt(), (err: ServiceAccountJwtError) => {
      assert.equal(err.reason, 'NotAJwt')
      assert.ok(err.message.includes(path))
      assert.ok(!err.message.includes('supersecret'))
      return true
    })
  })

  it('keeps serving a still-valid JWT when a re-read fails, and fails clearly once it has expired', async () => {
    const path = join(dir, 'token')
    const jwt = kubeletJwt(600)
    await writeFile(path, jwt)
    const logger = captureLogger()
    const cfs = countingFs()
    const src = new ProjectedServiceAccountTokenFile({ path, clock, fs: cfs, logger })
    await src.getJwt()

    await unlink(path) // volume unmounted under us
    assert.equal(await src.getJwt(), jwt, 'file gone but the cached JWT is valid for 10 more minutes')
    const warns = logger.lines.filter((l) => l.level === 'warn')
    assert.equal(warns.length, 1)
    assert.match(logger.text(), /ENOENT/)

    await clock.advance(600_000)
    await assert.rejects(src.getJwt(), (err: ServiceAccountJwtError) => {
      assert.equal(err.reason, 'Expired')
      assert.ok(err.message.includes(path))
      assert.match(err.message, /expired at 2026-01-01T00:10:00\.000Z/)
      assertNoSecrets(err.message, [jwt], 'error')
      return true
    })
    assertNoSecrets(logger.text(), issued, 'log')
  })

  it('refuses a file whose JWT already expired (the kubelet stopped rotating)', async () => {
    const path = join(dir, 'token')
    await writeFile(path, makeJwt({ iat: nowS() - 3600, exp: nowS() - 1 }))
    const src = new ProjectedServiceAccountTokenFile({ path, clock })
    await assert.rejects(src.getJwt(), (err: ServiceAccountJwtError) => err.reason === 'Expired' && err.message.includes(path))
  })
})
