/**
 * Part 1 ports KES's own lib/backends/kv-backend.test.js (commit 4dbb6dd, KES 8.4.0; unchanged to 8.5.4): same inputs,
 * same expected outputs, with a hand-rolled stub instead of sinon. Part 2 covers what KES's tests did not pin down
 * (real merge order, key order, lodash property paths, Vault-shaped values) and the clearer errors added here.
 */
import assert from 'node:assert/strict'
import {
  KVBackend,
  KVBackendError,
  get,
  hasIn,
  type GetArgs,
  type GetByPathArgs,
  type KVContext,
  type SpecOptions,
} from '../../lib/backend/kv-backend.js'
import type { Logger } from '../../lib/types.js'

interface LogEntry {
  level: string
  obj: object | string
  msg?: string
}

class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = []
  debug(obj: object | string, msg?: string): void {
    this.entries.push({ level: 'debug', obj, msg })
  }
  info(obj: object | string, msg?: string): void {
    this.entries.push({ level: 'info', obj, msg })
  }
  warn(obj: object | string, msg?: string): void {
    this.entries.push({ level: 'warn', obj, msg })
  }
  error(obj: object | string, msg?: string): void {
    this.entries.push({ level: 'error', obj, msg })
  }
  text(): string {
    return JSON.stringify(this.entries)
  }
}

/** In-memory backend: answers by call index (sinon's onCall), else one answer for all (resolves), else a store. */
class MemoryBackend extends KVBackend {
  readonly calls: Array<{ args: GetArgs; context: KVContext }> = []
  readonly answers = new Map<number, unknown>()
  answerAll: { value: unknown } | undefined
  readonly store = new Map<string, unknown>()

  constructor(readonly logger = new RecordingLogger()) {
    super({ logger })
  }

  onCall(index: number, value: unknown): this {
    this.answers.set(index, value)
    return this
  }

  resolves(value: unknown): this {
    this.answerAll = { value }
    return this
  }

  override async _get(args: GetArgs, context: KVContext): Promise<unknown> {
    const index = this.calls.length
    this.calls.push({ args, context })
    if (this.answers.has(index)) return this.answers.get(index)
    if (this.answerAll) return this.answerAll.value
    if (this.store.has(args.key)) return this.store.get(args.key)
    throw new Error(`no such key ${args.key}`)
  }

  arg(index: number): GetArgs {
    const call = this.calls[index]
    assert.ok(call, `_get call #${index} was not made`)
    return call.args
  }
}

/** Replace a _fetch* method with a stub that records its arguments and resolves `value`. */
function stubFetch<K extends '_fetchDataValues' | '_fetchDataFromValues'>(
  backend: MemoryBackend,
  method: K,
  value: unknown[],
): Array<{ args: unknown; context: KVContext }> {
  const calls: Array<{ args: unknown; context: KVContext }> = []
  const stub = async (args: unknown, context: KVContext = {}) => {
    calls.push({ args, context })
    return value
  }
  ;(backend as unknown as Record<K, typeof stub>)[method] = stub
  return calls
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof Error, 'rejected with an Error')
    return err
  }
  assert.fail('Should not reach')
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')

describe('KVBackend (port of KES kv-backend.test.js)', () => {
  let kvBackend: MemoryBackend

  beforeEach(() => {
    kvBackend = new MemoryBackend()
  })

  describe('_fetchDataValues', () => {
    it('throws an error if missing a property', async () => {
      kvBackend.onCall(0, '{"foo":"bar"}')
      const err = await rejection(
        kvBackend._fetchDataValues({
          data: [{ key: 'mocked-key', name: 'mocked-name', property: 'oops' }],
          specOptions: {},
        }),
      )
      assert.ok(err instanceof Error)
      assert.equal(kvBackend.calls.length, 1)
      assert.deepEqual(kvBackend.arg(0), { key: 'mocked-key', keyOptions: {}, specOptions: {} })
    })

    it('handles secrets values that are objects', async () => {
      kvBackend.onCall(0, '{"foo":"bar"}')
      const values = await kvBackend._fetchDataValues({
        data: [{ key: 'mocked-key', name: 'mocked-name', property: 'foo' }],
      })
      assert.deepEqual(values, [{ 'mocked-name': 'bar' }])
    })

    it('handles invalid JSON objects', async () => {
      kvBackend.onCall(0, '{')
      const values = await kvBackend._fetchDataValues({
        data: [{ key: 'mocked-key', name: 'mocked-name', property: 'foo' }],
      })
      assert.deepEqual(values, [undefined])
    })

    it('fetches secret property values', async () => {
      kvBackend.onCall(0, 'fakePropertyValue1').onCall(1, 'fakePropertyValue2')
      const values = await kvBackend._fetchDataValues({
        data: [
          { key: 'fakePropertyKey1', name: 'fakePropertyName1' },
          { key: 'fakePropertyKey2', name: 'fakePropertyName2' },
        ],
        specOptions: { passMeAlong: true },
      })
      assert.deepEqual(kvBackend.arg(0), { key: 'fakePropertyKey1', keyOptions: {}, specOptions: { passMeAlong: true } })
      assert.deepEqual(kvBackend.arg(1), { key: 'fakePropertyKey2', keyOptions: {}, specOptions: { passMeAlong: true } })
      assert.deepEqual(values, [{ fakePropertyName1: 'fakePropertyValue1' }, { fakePropertyName2: 'fakePropertyValue2' }])
    })

    it('handles binary values', async () => {
      kvBackend
        .onCall(0, 'YmluYXJ5Cg==') // base64 of binary
        .onCall(1, 'stringPropertyValue1')
        .onCall(2, '{"stringPropertyKey2": "stringPropertyValue2", "binaryPropertyKey2": "YmluYXJ5Cg=="}')
        .onCall(3, '{"stringPropertyKey2": "stringPropertyValue2", "binaryPropertyKey2": "YmluYXJ5Cg=="}')

      const values = await kvBackend._fetchDataValues({
        data: [
          { key: 'binaryPropertyKey1', name: 'binaryPropertyName1', isBinary: true },
          { key: 'stringPropertyKey1', name: 'stringPropertyName1' },
          { key: 'jsonProperties', name: 'stringPropertyName2', property: 'stringPropertyKey2' },
          { key: 'jsonProperties', name: 'binaryPropertyName2', isBinary: true, property: 'binaryPropertyKey2' },
        ],
      })

      assert.deepEqual(values, [
        { binaryPropertyName1: Buffer.from('YmluYXJ5Cg==', 'base64') },
        { stringPropertyName1: 'stringPropertyValue1' },
        { stringPropertyName2: 'stringPropertyValue2' },
        { binaryPropertyName2: Buffer.from('YmluYXJ5Cg==', 'base64') },
      ])
    })

    it('fetches secret property values using the specified role', async () => {
      kvBackend.onCall(0, 'fakePropertyValue1').onCall(1, 'fakePropertyValue2')
      const values = await kvBackend._fetchDataValues({
        data: [
          { key: 'fakePropertyKey1', name: 'fakePropertyName1' },
          { key: 'fakePropertyKey2', name: 'fakePropertyName2' },
        ],
        specOptions: { roleArn: 'secretDescriptiorRole' },
      })
      assert.deepEqual(kvBackend.arg(0), { key: 'fakePropertyKey1', keyOptions: {}, specOptions: { roleArn: 'secretDescriptiorRole' } })
      assert.deepEqual(kvBackend.arg(1), { key: 'fakePropertyKey2', keyOptions: {}, specOptions: { roleArn: 'secretDescriptiorRole' } })
      assert.deepEqual(values, [{ fakePropertyName1: 'fakePropertyValue1' }, { fakePropertyName2: 'fakePropertyValue2' }])
    })

    it('fetches secret property with version', async () => {
      kvBackend.onCall(0, 'fakePropertyValue1').onCall(1, 'fakePropertyValue2').onCall(2, 'fakePropertyValue3')
      const values = await kvBackend._fetchDataValues({
        data: [
          { key: 'fakePropertyKey1', name: 'fakePropertyName1' },
          { key: 'fakePropertyKey2', versionStage: 'AWSPREVIOUS', name: 'fakePropertyName2' },
          { key: 'fakePropertyKey3', versionId: 'ea9ef8d7-ea54-4a3b-b24b-99510e8d7a3d', name: 'fakePropertyName3' },
        ],
        specOptions: {},
      })
      assert.deepEqual(kvBackend.arg(0), { key: 'fakePropertyKey1', keyOptions: {}, specOptions: {} })
      assert.deepEqual(kvBackend.arg(1), { key: 'fakePropertyKey2', keyOptions: { versionStage: 'AWSPREVIOUS' }, specOptions: {} })
      assert.deepEqual(kvBackend.arg(2), {
        key: 'fakePropertyKey3',
        keyOptions: { versionId: 'ea9ef8d7-ea54-4a3b-b24b-99510e8d7a3d' },
        specOptions: {},
      })
      assert.deepEqual(values, [
        { fakePropertyName1: 'fakePropertyValue1' },
        { fakePropertyName2: 'fakePropertyValue2' },
        { fakePropertyName3: 'fakePropertyValue3' },
      ])
    })
  })

  describe('_fetchDataFromValues', () => {
    it('handles secrets values that are objects', async () => {
      kvBackend.onCall(0, '{"foo":"bar"}')
      assert.deepEqual(await kvBackend._fetchDataFromValues({ dataFrom: ['mocked-key'] }), [{ foo: 'bar' }])
    })

    it('handles invalid JSON objects', async () => {
      kvBackend.onCall(0, '{')
      assert.deepEqual(await kvBackend._fetchDataFromValues({ dataFrom: ['mocked-key'] }), [undefined])
    })

    it('disregards plain values', async () => {
      kvBackend.onCall(0, 'fakePropertyValue1')
      const values = await kvBackend._fetchDataFromValues({ dataFrom: ['fakePropertyKey1'], specOptions: { passMeAlong: true } })
      assert.deepEqual(kvBackend.arg(0), { key: 'fakePropertyKey1', keyOptions: {}, specOptions: { passMeAlong: true } })
      assert.deepEqual(values, [undefined])
    })

    it('fetches secret property values using the specified options', async () => {
      kvBackend.onCall(0, '{"fakePropertyName1":"fakePropertyValue1"}').onCall(1, '{"fakePropertyName2":"fakePropertyValue2"}')
      const values = await kvBackend._fetchDataFromValues({
        dataFrom: ['fakePropertyKey1', 'fakePropertyKey2'],
        specOptions: { roleArn: 'secretDescriptiorRole' },
      })
      assert.deepEqual(kvBackend.arg(0), { key: 'fakePropertyKey1', keyOptions: {}, specOptions: { roleArn: 'secretDescriptiorRole' } })
      assert.deepEqual(kvBackend.arg(1), { key: 'fakePropertyKey2', keyOptions: {}, specOptions: { roleArn: 'secretDescriptiorRole' } })
      assert.deepEqual(values, [{ fakePropertyName1: 'fakePropertyValue1' }, { fakePropertyName2: 'fakePropertyValue2' }])
    })
  })

  describe('_fetchDataFromValuesWithOptions', () => {
    it('handles secrets with spec and key options', async () => {
      kvBackend.onCall(0, '{"fakePropertyName1":"fakePropertyValue1"}').onCall(1, '{"fakePropertyName2":"fakePropertyValue2"}')
      const values = await kvBackend._fetchDataFromValuesWithOptions({
        dataFromWithOptions: [
          { versionStage: 'AWSCURRENT', key: 'fakeKey1' },
          { versionId: 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx', key: 'fakeKey2' },
        ],
        specOptions: { passMeAlong: true },
      })
      assert.deepEqual(values, [{ fakePropertyName1: 'fakePropertyValue1' }, { fakePropertyName2: 'fakePropertyValue2' }])
      assert.deepEqual(kvBackend.arg(0), { key: 'fakeKey1', keyOptions: { versionStage: 'AWSCURRENT' }, specOptions: { passMeAlong: true } })
      assert.deepEqual(kvBackend.arg(1), {
        key: 'fakeKey2',
        keyOptions: { versionId: 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx' },
        specOptions: { passMeAlong: true },
      })
    })

    it('handles invalid JSON objects', async () => {
      kvBackend.onCall(0, '{')
      assert.deepEqual(await kvBackend._fetchDataFromValuesWithOptions({ dataFromWithOptions: [{ key: 'fakeKey1' }] }), [undefined])
    })
  })

  describe('_get / _getByPath', () => {
    // KES: `_get` throws '_get not implemented'. Here `_get` is abstract, so a subclass without it does not compile.
    it('_getByPath is not implemented (KES message kept as the prefix)', async () => {
      const err = await rejection(
        kvBackend.getSecretManifestData({ spec: { data: [{ path: '/team/app', name: 'x' }] } }),
      )
      assert.ok(err instanceof KVBackendError)
      assert.equal(err.code, 'NOT_IMPLEMENTED')
      assert.match(err.message, /^_getByPath not implemented/)
      assert.match(err.message, /\/team\/app/)
    })
  })

  describe('getSecretManifestData', () => {
    it('returns secret manifest data', async () => {
      stubFetch(kvBackend, '_fetchDataValues', [
        { fakePropertyName0: 'should-be-overriden', fakePropertyName1: 'fakePropertyValue1' },
        { fakePropertyName0: 'fakePropertyValue0', fakePropertyName2: 'fakePropertyValue2' },
        undefined,
      ])
      stubFetch(kvBackend, '_fetchDataFromValues', [
        {
          fakePropertyName2: 'should-be-overriden', // Overriden by data
          fakePropertyName3: 'fakePropertyValue3', // not overriden
          fakePropertyName4: 'should-be-overriden', // Overriden by secondary dataFrom
        },
        undefined,
        { fakePropertyName4: 'fakePropertyValue4', fakePropertyName5: 'fakePropertyValue5' },
      ])

      const manifestData = await kvBackend.getSecretManifestData({ spec: {} })

      assert.deepEqual(manifestData, {
        fakePropertyName0: 'ZmFrZVByb3BlcnR5VmFsdWUw',
        fakePropertyName1: 'ZmFrZVByb3BlcnR5VmFsdWUx',
        fakePropertyName2: 'ZmFrZVByb3BlcnR5VmFsdWUy',
        fakePropertyName3: 'ZmFrZVByb3BlcnR5VmFsdWUz',
        fakePropertyName4: 'ZmFrZVByb3BlcnR5VmFsdWU0',
        fakePropertyName5: 'ZmFrZVByb3BlcnR5VmFsdWU1',
      })
      // Key order as KES: dataFrom keys first (in place even when overwritten), then data's new keys.
      assert.deepEqual(Object.keys(manifestData), [
        'fakePropertyName2',
        'fakePropertyName3',
        'fakePropertyName4',
        'fakePropertyName5',
        'fakePropertyName0',
        'fakePropertyName1',
      ])
    })

    it('handles undefined data', async () => {
      stubFetch(kvBackend, '_fetchDataValues', [undefined])
      stubFetch(kvBackend, '_fetchDataFromValues', [undefined])
      assert.deepEqual(await kvBackend.getSecretManifestData({ spec: {} }), {})
    })

    it('makes correct calls - with data, role and region', async () => {
      const dataCalls = stubFetch(kvBackend, '_fetchDataValues', [])
      const dataFromCalls = stubFetch(kvBackend, '_fetchDataFromValues', [])
      await kvBackend.getSecretManifestData({
        spec: {
          data: [
            { key: 'fakePropertyKey1', name: 'fakePropertyName1' },
            { key: 'fakePropertyKey2', name: 'fakePropertyName2' },
          ],
          roleArn: 'my-role',
          region: 'my-region',
        },
      })
      assert.deepEqual(dataCalls[0]?.args, {
        data: [
          { key: 'fakePropertyKey1', name: 'fakePropertyName1' },
          { key: 'fakePropertyKey2', name: 'fakePropertyName2' },
        ],
        specOptions: { roleArn: 'my-role', region: 'my-region' },
      })
      assert.deepEqual(dataFromCalls[0]?.args, { dataFrom: [], specOptions: { roleArn: 'my-role', region: 'my-region' } })
    })

    it('makes correct calls - with properties and dataFrom', async () => {
      const dataCalls = stubFetch(kvBackend, '_fetchDataValues', [])
      const dataFromCalls = stubFetch(kvBackend, '_fetchDataFromValues', [])
      await kvBackend.getSecretManifestData({
        spec: {
          properties: [
            { key: 'fakePropertyKey1', name: 'fakePropertyName1' },
            { key: 'fakePropertyKey2', name: 'fakePropertyName2' },
          ],
          dataFrom: ['fakeDataFromKey1'],
          roleArn: 'this-should-be-passed-along',
          magicSetting: 'this as well',
        },
      })
      assert.deepEqual(dataCalls[0]?.args, {
        data: [
          { key: 'fakePropertyKey1', name: 'fakePropertyName1' },
          { key: 'fakePropertyKey2', name: 'fakePropertyName2' },
        ],
        specOptions: { roleArn: 'this-should-be-passed-along', magicSetting: 'this as well' },
      })
      assert.deepEqual(dataFromCalls[0]?.args, {
        dataFrom: ['fakeDataFromKey1'],
        specOptions: { roleArn: 'this-should-be-passed-along', magicSetting: 'this as well' },
      })
    })

    it('makes correct calls - with only dataFrom', async () => {
      const dataCalls = stubFetch(kvBackend, '_fetchDataValues', [])
      const dataFromCalls = stubFetch(kvBackend, '_fetchDataFromValues', [])
      await kvBackend.getSecretManifestData({ spec: { dataFrom: ['fakeDataFromKey1', 'fakeDataFromKey2'] } })
      assert.deepEqual(dataCalls[0]?.args, { data: [], specOptions: {} })
      assert.deepEqual(dataFromCalls[0]?.args, { dataFrom: ['fakeDataFromKey1', 'fakeDataFromKey2'], specOptions: {} })
    })

    it('do not skew binary data', async () => {
      stubFetch(kvBackend, '_fetchDataValues', [
        {
          textProperty: 'text',
          binaryProperty: Buffer.from('test', 'utf-8'),
          binaryProperty2: Buffer.from([0xefbfbdef, 2, 3]),
        },
      ])
      stubFetch(kvBackend, '_fetchDataFromValues', [])
      assert.deepEqual(await kvBackend.getSecretManifestData({ spec: {} }), {
        textProperty: 'dGV4dA==',
        binaryProperty: 'dGVzdA==',
        binaryProperty2: '7wID',
      })
    })
  })

  describe('base64 encoding', () => {
    it('handles json objects', async () => {
      kvBackend.resolves(
        JSON.stringify({
          textProperty: 'text',
          jsonStringProperty: '{ "someKey": { "myText": "text" } }',
          jsonProperty: { someKey: { myText: 'text' } },
        }),
      )
      const manifestData = await kvBackend.getSecretManifestData({ spec: { dataFrom: ['test-key'] } })
      assert.equal(kvBackend.calls.length, 1)
      assert.deepEqual(manifestData, {
        textProperty: 'dGV4dA==',
        jsonStringProperty: 'eyAic29tZUtleSI6IHsgIm15VGV4dCI6ICJ0ZXh0IiB9IH0=',
        jsonProperty: 'eyJzb21lS2V5Ijp7Im15VGV4dCI6InRleHQifX0=',
      })
    })

    it('handles different types of binary data returned by backends', async () => {
      kvBackend
        .onCall(0, Buffer.from('YmluYXJ5Cg==', 'base64'))
        .onCall(1, Buffer.from('YmluYXJ5Cg==', 'base64'))
        .onCall(2, 'YmluYXJ5Cg==')
        .onCall(3, 'test')
      const manifestData = await kvBackend.getSecretManifestData({
        spec: {
          data: [
            { key: 'binaryPropertyKey1', name: 'binaryPropertyName1', isBinary: true },
            { key: 'binaryPropertyKey2', name: 'binaryPropertyName2' },
            { key: 'stringPropertyKey3', name: 'stringPropertyName3' },
            { key: 'stringPropertyKey4', name: 'stringPropertyName4', isBinary: false },
          ],
        },
      })
      assert.deepEqual(manifestData, {
        binaryPropertyName1: 'YmluYXJ5Cg==',
        binaryPropertyName2: 'YmluYXJ5Cg==',
        stringPropertyName3: 'WW1sdVlYSjVDZz09',
        stringPropertyName4: 'dGVzdA==',
      })
    })
  })
})

describe('KVBackend (beyond KES tests: same outputs, clearer failures)', () => {
  let backend: MemoryBackend

  beforeEach(() => {
    backend = new MemoryBackend()
  })

  describe('merge order, call order and key order (unstubbed)', () => {
    it('dataFrom < dataFromWithOptions < data; later overwrites, first position kept; byte-exact JSON', async () => {
      backend.store.set('from1', JSON.stringify({ b: 'from1-b', a: 'from1-a', z: 'from1-z' }))
      backend.store.set('from2', JSON.stringify({ a: 'from2-a', y: 'from2-y' }))
      backend.store.set('opt1', JSON.stringify({ y: 'opt1-y', x: 'opt1-x' }))
      backend.store.set('plain', 'data-a')
      backend.store.set('doc', JSON.stringify({ inner: 'data-z' }))

      const out = await backend.getSecretManifestData({
        spec: {
          data: [
            { key: 'plain', name: 'a' },
            { key: 'doc', name: 'z', property: 'inner' },
          ],
          dataFromWithOptions: [{ key: 'opt1', versionId: 'v3' }],
          dataFrom: ['from1', 'from2'],
          vaultRole: 'role-a',
        },
      })

      assert.equal(
        JSON.stringify(out),
        JSON.stringify({ b: b64('from1-b'), a: b64('data-a'), z: b64('data-z'), y: b64('opt1-y'), x: b64('opt1-x') }),
      )
      // _get order: every dataFrom key, then every dataFromWithOptions key, then every data key (as KES).
      assert.deepEqual(
        backend.calls.map((c) => c.args.key),
        ['from1', 'from2', 'opt1', 'plain', 'doc'],
      )
      assert.deepEqual(backend.arg(2).keyOptions, { versionId: 'v3' })
      // One specOptions object, shared by every call.
      assert.deepEqual(backend.arg(0).specOptions, { vaultRole: 'role-a' })
      assert.ok(backend.calls.every((c) => c.args.specOptions === backend.arg(0).specOptions))
    })

    it('encodes JSON scalars and objects from dataFrom as KES does', async () => {
      backend.resolves('{"n":1,"f":1.5,"t":true,"z":null,"o":{"x":[1,"2"]},"s":"héllo ✓"}')
      const out = await backend.getSecretManifestData({ spec: { dataFrom: ['k'] } })
      assert.deepEqual(out, {
        n: b64('1'),
        f: b64('1.5'),
        t: b64('true'),
        z: b64('null'),
        o: b64('{"x":[1,"2"]}'),
        s: b64('héllo ✓'),
      })
    })

    it('keeps a "__proto__" key as an own entry (object spread semantics, as KES)', async () => {
      backend.resolves('{"__proto__":"p","a":"b"}')
      const out = await backend.getSecretManifestData({ spec: { dataFrom: ['k'] } })
      assert.deepEqual(Object.keys(out), ['__proto__', 'a'])
      assert.equal(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, b64('p'))
    })

    it('keeps isBinary in keyOptions (KES only strips name, property, key, path)', async () => {
      backend.resolves('aGk=')
      await backend.getSecretManifestData({ spec: { data: [{ key: 'k', name: 'n', isBinary: true, versionStage: 'S' }] } })
      assert.deepEqual(backend.arg(0), { key: 'k', keyOptions: { isBinary: true, versionStage: 'S' }, specOptions: {} })
    })

    it('isBinary must be exactly true; it applies after property extraction', async () => {
      backend.onCall(0, 'aGk=').onCall(1, '{"bin":"aGk="}')
      const out = await backend.getSecretManifestData({
        spec: {
          data: [
            { key: 'k1', name: 'notBinary', isBinary: 'true' as unknown as boolean },
            { key: 'k2', name: 'binary', property: 'bin', isBinary: true },
          ],
        },
      })
      assert.deepEqual(out, { notBinary: b64('aGk='), binary: 'aGk=' })
    })

    it('an undefined value from _get is encoded as the text "undefined" (KES; e.g. JSON.stringify(undefined))', async () => {
      backend.resolves(undefined)
      assert.deepEqual(await backend.getSecretManifestData({ spec: { data: [{ key: 'k', name: 'n' }] } }), { n: b64('undefined') })
    })
  })

  describe('property paths (lodash get/hasIn, as KES)', () => {
    it('follows dotted and bracket paths into nested JSON', async () => {
      backend.resolves(JSON.stringify({ db: { user: 'u', hosts: ['h0', 'h1'] }, 'x.y': 'literal', x: { y: 'deep' } }))
      const out = await backend.getSecretManifestData({
        spec: {
          data: [
            { key: 'k', name: 'user', property: 'db.user' },
            { key: 'k', name: 'host1', property: 'db.hosts[1]' },
            { key: 'k', name: 'literal', property: 'x.y' },
            { key: 'k', name: 'quoted', property: '["x.y"]' },
            { key: 'k', name: 'whole', property: 'db' },
          ],
        },
      })
      assert.deepEqual(out, {
        user: b64('u'),
        host1: b64('h1'),
        literal: b64('literal'), // a literal key with a dot wins over the deep path, as in lodash
        quoted: b64('literal'),
        whole: b64('{"user":"u","hosts":["h0","h1"]}'),
      })
    })

    it('hasIn/get follow lodash 4.17.21 source (expected values worked from that source; lodash is not installed)', () => {
      const obj = { a: { b: [{ c: 1 }, null] }, 'a.b': 2, '': { '': 3 }, n: null, arr: [0, 1] }
      assert.equal(get(obj, 'a.b[0].c'), 1)
      assert.equal(get(obj, 'a.b'), 2)
      assert.equal(get(obj, 'a["b"][0]["c"]'), 1)
      assert.equal(get(obj, 'arr.1'), 1)
      assert.equal(get(obj, 'arr[1]'), 1)
      assert.equal(get(obj, '.'), 3) // lodash: '.' is ['', '']
      assert.equal(hasIn(obj, 'a.b[1]'), true)
      assert.equal(hasIn(obj, 'a.b[2]'), false)
      assert.equal(hasIn(obj, 'n'), true)
      assert.equal(hasIn(obj, 'n.x'), false)
      assert.equal(hasIn(obj, 'missing'), false)
      assert.equal(hasIn('str', 'length'), true)
      assert.equal(hasIn(5, 'x'), false)
      assert.equal(hasIn(null, 'x'), false)
      assert.equal(hasIn({ null: 1 }, null), true) // KES's `property = null` default, only reachable with `property: null`
      assert.equal(hasIn([, 1], '0'), true) // eslint-disable-line no-sparse-arrays
    })
  })

  describe('namespace context', () => {
    it('passes namespace as the second _get argument; the first stays KES-shaped', async () => {
      backend.onCall(0, '{"a":"1"}').onCall(1, '{"b":"2"}').onCall(2, 'v')
      await backend.getSecretManifestData({
        spec: { dataFrom: ['f'], dataFromWithOptions: [{ key: 'o' }], data: [{ key: 'd', name: 'n' }], vaultRole: 'r' },
        namespace: 'team-a',
      })
      assert.equal(backend.calls.length, 3)
      for (const call of backend.calls) {
        assert.deepEqual(call.context, { namespace: 'team-a' })
        assert.deepEqual(Object.keys(call.args).sort(), ['key', 'keyOptions', 'specOptions'])
        assert.deepEqual(call.args.specOptions, { vaultRole: 'r' })
      }
    })

    it('namespace is undefined when not given, and never leaks into specOptions', async () => {
      backend.resolves('v')
      await backend.getSecretManifestData({ spec: { data: [{ key: 'd', name: 'n' }] } })
      assert.equal(backend.calls[0]?.context.namespace, undefined)
      assert.deepEqual(backend.arg(0).specOptions, {})
    })

    it('passes namespace to _getByPath too', async () => {
      const seen: KVContext[] = []
      class PathBackend extends MemoryBackend {
        override async _getByPath(_args: GetByPathArgs, context: KVContext): Promise<unknown> {
          seen.push(context)
          return { p1: 'one', p2: 'two' }
        }
      }
      const out = await new PathBackend().getSecretManifestData({ spec: { data: [{ path: '/p' }] }, namespace: 'ns' })
      assert.deepEqual(seen, [{ namespace: 'ns' }])
      assert.deepEqual(out, { p1: b64('one'), p2: b64('two') })
    })
  })

  describe('confusing KES failures, same outcome, clear message', () => {
    const SECRET = 's3cr3t-VALUE-do-not-log'

    it('property asked for on a non-JSON value: item skipped (KES), warning names key and property, not the value', async () => {
      backend.onCall(0, SECRET).onCall(1, 'kept')
      const out = await backend.getSecretManifestData({
        spec: {
          data: [
            { key: 'team/db', name: 'password', property: 'pw' },
            { key: 'team/other', name: 'other' },
          ],
        },
      })
      assert.deepEqual(out, { other: b64('kept') }) // KES: no entry for the unparseable item, no rejection
      const warn = backend.logger.entries.find((e) => e.level === 'warn')
      assert.ok(warn)
      assert.deepEqual(warn.obj, { source: 'data', index: 0, key: 'team/db', property: 'pw' })
      assert.match(warn.msg ?? '', /'team\/db'/)
      assert.match(warn.msg ?? '', /pw/)
      assert.match(warn.msg ?? '', /JSON object/)
      assert.ok(!backend.logger.text().includes(SECRET))
    })

    it('missing property: rejects with the KES message plus what was expected, never the value', async () => {
      backend.resolves(JSON.stringify({ user: SECRET }))
      const err = await rejection(
        backend.getSecretManifestData({ spec: { data: [{ key: 'team/db', name: 'pw', property: 'password' }] } }),
      )
      assert.ok(err instanceof KVBackendError)
      assert.equal(err.code, 'PROPERTY_NOT_FOUND')
      assert.equal(err.key, 'team/db')
      assert.equal(err.property, 'password')
      assert.match(err.message, /^Could not find property password in team\/db \(spec\.data\[0\]: /)
      assert.match(err.message, /JSON object without that property/)
      assert.ok(!err.message.includes(SECRET))
      assert.ok(!String(err.stack).includes(SECRET))
    })

    it('property on a JSON scalar: rejects naming the JSON type, not the value', async () => {
      backend.resolves(JSON.stringify(SECRET))
      const err = await rejection(
        backend.getSecretManifestData({ spec: { data: [{ key: 'k', name: 'n', property: 'p' }] } }),
      )
      assert.match(err.message, /^Could not find property p in k .*a JSON string, expected a JSON object/)
      assert.ok(!err.message.includes(SECRET))
    })

    it('dataFrom / dataFromWithOptions of a non-JSON value: skipped (KES), warning names the key (KES said [object Object])', async () => {
      backend.onCall(0, SECRET).onCall(1, SECRET).onCall(2, '{"ok":"1"}')
      const out = await backend.getSecretManifestData({
        spec: { dataFrom: ['plain/a'], dataFromWithOptions: [{ key: 'plain/b', versionId: '1' }, { key: 'json/c' }] },
      })
      assert.deepEqual(out, { ok: b64('1') })
      const warns = backend.logger.entries.filter((e) => e.level === 'warn')
      assert.equal(warns.length, 2)
      assert.match(warns[0]?.msg ?? '', /'plain\/a'/)
      assert.match(warns[1]?.msg ?? '', /'plain\/b'/)
      assert.ok(!backend.logger.text().includes('[object Object]'))
      assert.ok(!backend.logger.text().includes(SECRET))
    })

    const invalidSpecs: Array<[string, unknown, RegExp]> = [
      ['no spec', {}, /spec is missing/],
      ['spec null', { spec: null }, /spec is missing/],
      ['data null', { spec: { data: null } }, /^spec\.data must be an array; got null$/],
      ['properties a string', { spec: { properties: 'x' } }, /^spec\.properties must be an array; got a string$/],
      ['dataFrom an object', { spec: { dataFrom: { a: 1 } } }, /^spec\.dataFrom must be an array; got an object$/],
      ['dataFromWithOptions null', { spec: { dataFromWithOptions: null } }, /^spec\.dataFromWithOptions must be an array/],
      ['data item null', { spec: { data: [{ key: 'k', name: 'n' }, null] } }, /^spec\.data\[1\] must be an object with key \(or path\) and name; got null$/],
      ['data item a string', { spec: { data: ['k'] } }, /^spec\.data\[0\] must be an object/],
      ['dataFromWithOptions item undefined', { spec: { dataFromWithOptions: [undefined] } }, /^spec\.dataFromWithOptions\[0\] must be an object with key/],
    ]
    for (const [label, args, message] of invalidSpecs) {
      it(`rejects (as KES, which threw a TypeError) before any read: ${label}`, async () => {
        backend.resolves('{}')
        const err = await rejection(backend.getSecretManifestData(args as { spec: Record<string, unknown> }))
        assert.ok(err instanceof KVBackendError)
        assert.equal(err.code, 'INVALID_SPEC')
        assert.match(err.message, message)
        assert.equal(backend.calls.length, 0)
      })
    }
  })

  describe('a Vault-shaped subclass (KES VaultBackend._get return values)', () => {
    /** Mirrors KES vault-backend.js `_get`: JSON.stringify of data (kv 1) or data.data (kv 2, the default). */
    class VaultShaped extends KVBackend {
      constructor(private readonly responses: Map<string, unknown>) {
        super()
      }
      override async _get({ key, specOptions }: GetArgs): Promise<unknown> {
        const { kvVersion = 2 } = specOptions as SpecOptions & { kvVersion?: number }
        const secretResponse = this.responses.get(key) as { data: { data?: unknown } }
        if (kvVersion === 1) return JSON.stringify(secretResponse.data)
        if (kvVersion === 2) return JSON.stringify(secretResponse.data.data)
        throw new Error('Unknown "kvVersion" specified')
      }
    }
    const secretData = { fakeSecretKey: 'open, sesame' }
    const quotedSecretValueAsBase64 = Buffer.from(JSON.stringify(secretData)).toString('base64')

    it('data item without property gets the whole JSON document (KES vault-backend.test.js)', async () => {
      const vault = new VaultShaped(new Map([['fakeSecretKey', { data: { data: secretData } }]]))
      const out = await vault.getSecretManifestData({
        spec: { backendType: 'vault', vaultRole: 'fakeRole', vaultMountPoint: 'fakeMountPoint', data: [{ key: 'fakeSecretKey', name: 'fakeSecretKey' }] },
      })
      assert.equal(out.fakeSecretKey, quotedSecretValueAsBase64)
    })

    it('kv 1 and kv 2 give the same Secret for the same data; property and dataFrom work on both', async () => {
      const v1 = new VaultShaped(new Map([['secret/app', { data: secretData }]]))
      const v2 = new VaultShaped(new Map([['secret/data/app', { data: { data: secretData, metadata: { version: 3 } } }]]))
      const spec1 = { kvVersion: 1, dataFrom: ['secret/app'], data: [{ key: 'secret/app', name: 'pw', property: 'fakeSecretKey' }] }
      const spec2 = { kvVersion: 2, dataFrom: ['secret/data/app'], data: [{ key: 'secret/data/app', name: 'pw', property: 'fakeSecretKey' }] }
      const expected = { fakeSecretKey: b64('open, sesame'), pw: b64('open, sesame') }
      assert.deepEqual(await v1.getSecretManifestData({ spec: spec1 }), expected)
      assert.deepEqual(await v2.getSecretManifestData({ spec: spec2 }), expected)
    })

    it('an unknown kvVersion rejects the whole call', async () => {
      const vault = new VaultShaped(new Map([['k', { data: {} }]]))
      const err = await rejection(vault.getSecretManifestData({ spec: { kvVersion: '2', data: [{ key: 'k', name: 'n' }] } }))
      assert.equal(err.message, 'Unknown "kvVersion" specified')
    })
  })
})
