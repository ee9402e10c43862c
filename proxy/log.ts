import pino, { type Logger } from 'pino';

/** Structured JSON logs on stdout; fixed lower-case messages, data in fields. */
export function createLogger(level = 'info', name = 'strangler'): Logger {
  return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
