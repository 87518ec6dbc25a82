/** How supervision restarts a failed bridge. */
export interface SupervisionOptions {
  /** First restart delay (ms). Default 250. */
  initialDelayMs?: number;
  /** Upper bound of the delay (ms). Default 30 000. */
  maxDelayMs?: number;
  /** Delay multiplier per consecutive failure. Default 2. */
  factor?: number;
  /** Random part of each delay, 0..1 (0.2 = ±20 %). Default 0.2. */
  jitter?: number;
  /** Restarts allowed within `budgetWindowMs`; beyond it the bridge is left unhealthy. Default 5. */
  maxRestarts?: number;
  /** Window of the restart budget (ms). Default 60 000. */
  budgetWindowMs?: number;
  /** A bridge that ran this long without failing resets its backoff (ms). Default 30 000. */
  resetAfterMs?: number;
}
