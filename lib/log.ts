import { credentials, type CredentialRegistry } from './redact.js'
import type { Logger } from './types.js'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

const rank: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

export interface LoggerOptions {
  level?: LogLevel
  write?: (line: string) => void
  name?: string
  /** Default: the process-wide registry of live credentials. */
  credentials?: CredentialRegistry
  clock?: { now(): number }
}

/** JSON lines in pino's shape (level number, time, msg), with redaction applied to every field. */
export function createLogger(o: LoggerOptions = {}): Logger {
  const min = rank[o.level ?? 'info']
  const write = o.write ?? ((line: string) => process.stdout.write(line + '\n'))
  const r = o.credentials ?? credentials
  const emit = (level: Exclude<LogLevel, 'silent' | 'trace' | 'fatal'>) => (obj: object | string, msg?: string) => {
    if (rank[level] < min) return
    const fields = typeof obj === 'string' ? {} : (r.value(obj) as Record<string, unknown>)
    const text = typeof obj === 'string' ? obj : msg
    write(JSON.stringify({ level: rank[level], time: o.clock?.now() ?? Date.now(), ...(o.name ? { name: o.name } : {}), ...fields, msg: text === undefined ? undefined : r.text(text) }))
  }
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}

/** Wrap a caller's logger (KES passed pino) so what we hand it is already redacted. */
export function redacting(inner: Logger, r: CredentialRegistry = credentials): Logger {
  const wrap = (fn: Logger['info']) => (obj: object | string, msg?: string) =>
    typeof obj === 'string' ? fn.call(inner, r.text(obj)) : fn.call(inner, r.value(obj) as object, msg === undefined ? undefined : r.text(msg))
  return { debug: wrap(inner.debug), info: wrap(inner.info), warn: wrap(inner.warn), error: wrap(inner.error) }
}

export function parseLogLevel(v: string | undefined): LogLevel {
  const l = (v ?? 'info').toLowerCase()
  if ((LOG_LEVELS as readonly string[]).includes(l)) return l as LogLevel
  throw new Error(`LOG_LEVEL=${JSON.stringify(v)} is not a log level; expected one of ${LOG_LEVELS.join(', ')}`)
}
