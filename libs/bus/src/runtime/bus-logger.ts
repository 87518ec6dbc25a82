/** The logging the bus does; Nest's Logger satisfies it. */
export interface BusLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, trace?: string): void;
  debug?(message: string): void;
}

/**
 * The default logger outside Nest. Everything goes to stderr: stdout belongs to the application (and, for a
 * bus-only process serving MCP over stdio, to the protocol).
 */
export const consoleBusLogger: BusLogger = {
  log: (m) => console.error(`[bus] ${m}`),
  warn: (m) => console.error(`[bus] warn: ${m}`),
  error: (m, t) => console.error(`[bus] error: ${m}${t ? `\n${t}` : ''}`),
};
