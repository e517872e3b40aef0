/** SIGTERM/SIGINT → graceful stop; a stray rejection is logged, never fatal (KES #407, #583, #826 crash-looped on them). */

import type { Logger } from '../types.js'
import { errorMessageOf } from './poller.js'

export interface Stoppable {
  stop(): Promise<void>
}

/** Returns a function that removes the handlers. `exit` defaults to process.exit. */
export function installShutdownHandlers(
  host: Stoppable,
  logger: Logger,
  { proc = process, exit = (code: number) => process.exit(code) }: { proc?: NodeJS.Process; exit?: (code: number) => void } = {},
): () => void {
  let stopping = false
  const onSignal = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: stopping pollers, finishing in-flight writes')
    host.stop().then(
      () => exit(0),
      (err) => {
        logger.error({ error: errorMessageOf(err) }, 'shutdown failed')
        exit(1)
      },
    )
  }
  const onRejection = (reason: unknown) => {
    logger.error({ error: errorMessageOf(reason) }, 'unhandled rejection (ignored, the host keeps running)')
  }
  const term = () => onSignal('SIGTERM')
  const int = () => onSignal('SIGINT')
  proc.on('SIGTERM', term)
  proc.on('SIGINT', int)
  proc.on('unhandledRejection', onRejection)
  return () => {
    proc.off('SIGTERM', term)
    proc.off('SIGINT', int)
    proc.off('unhandledRejection', onRejection)
  }
}
