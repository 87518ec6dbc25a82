import type { ParallelBranch } from '@openagentio/nestjs';

/** The three workers every turn fans out to, side by side (each as one branch of `bus.parallel`). */
export function analysisBranches(text: string): ParallelBranch[] {
  return ['worker.summarize', 'worker.keywords', 'worker.sentiment'].map((target) => ({ invoke: target, payload: { text } }));
}

/** What the workers answer (each says the session and trace it saw, to show they travelled with the call). */
export interface WorkerAnswer {
  agent: string;
  summary?: string;
  keywords?: string[];
  label?: string;
  seen_session?: string;
  seen_trace?: string;
}
