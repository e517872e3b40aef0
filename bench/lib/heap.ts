import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as (() => void) | undefined

/** heapUsed after a full GC (when GC can be forced), so runs compare retained memory, not garbage. */
export function gcHeapUsed(): number {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}
