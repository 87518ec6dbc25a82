/** The logging the bus does; Nest's Logger satisfies it. */
export interface BusLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, trace?: string): void;
  debug?(message: string): void;
}

export const consoleBusLogger: BusLogger = {
  log: (m) => console.log(`[bus] ${m}`),
  warn: (m) => console.warn(`[bus] ${m}`),
  error: (m, t) => console.error(`[bus] ${m}${t ? `\n${t}` : ''}`),
};
