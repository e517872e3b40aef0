import { KubeConfig } from '@kubernetes/client-node'
import type { Logger } from '../../lib/types.js'

let serial = 0

/** A JWT shaped like the ones Kubernetes issues (unsigned: nothing here verifies signatures). */
export function makeJwt(claims: { exp?: number; iat?: number; namespace?: string; serviceAccount?: string; aud?: string[] } = {}): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const payload: Record<string, unknown> = {
    iss: 'https://kubernetes.default.svc.cluster.local',
    jti: `jti-${++serial}`,
  }
  if (claims.aud) payload.aud = claims.aud
  if (claims.exp !== undefined) payload.exp = claims.exp
  if (claims.iat !== undefined) payload.iat = payload.nbf = claims.iat
  if (claims.namespace && claims.serviceAccount) {
    payload.sub = `system:serviceaccount:${claims.namespace}:${claims.serviceAccount}`
    payload['kubernetes.io'] = { namespace: claims.namespace, serviceaccount: { name: claims.serviceAccount, uid: `uid-${serial}` } }
  }
  return `${b64({ alg: 'RS256', kid: 'test-key' })}.${b64(payload)}.${Buffer.from(`sig-${serial}-signature-bytes`).toString('base64url')}`
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error'
  obj: object | string
  msg?: string
}

export function captureLogger(): Logger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = []
  const at = (level: LogLine['level']) => (obj: object | string, msg?: string) => void lines.push({ level, obj, msg })
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => JSON.stringify(lines),
  }
}

export const FAKE_API_SERVER = 'https://kube.test:6443'
export const CONTROLLER_BEARER = 'controller-bearer-credential'

/** A kubeconfig for the controller talking to a fake API server that nock answers. */
export function fakeKubeConfig(): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: FAKE_API_SERVER, skipTLSVerify: true }],
    users: [{ name: 'controller', token: CONTROLLER_BEARER }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'controller' }],
    currentContext: 'fake',
  })
  return kc
}

/** Assert that none of `secrets` occurs in `text`. */
export function assertNoSecrets(text: string, secrets: Iterable<string>, where: string): void {
  for (const s of secrets) {
    if (text.includes(s)) throw new Error(`${where} contains a JWT`)
    // the signature or payload alone would also be a leak
    for (const part of s.split('.').slice(1)) if (part.length > 8 && text.includes(part)) throw new Error(`${where} contains part of a JWT`)
  }
}
