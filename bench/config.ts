/** Counts and time caps; `--quick` keeps the whole run under a minute. */
export interface BenchConfig {
  quick: boolean;
  runs: number;
  /** Sequential invoke: warm-up calls per stack, then rounds × blocks of calls, stacks interleaved block by block. */
  seqWarmup: number;
  seqRounds: number;
  seqBlock: number;
  seqBlockCapMs: number;
  concurrency: number;
  /** 64-in-flight time per stack, cut into concRounds blocks interleaved across the stacks. */
  concMs: number;
  concRounds: number;
  concWarmupMs: number;
  /** Time a one-stream measurement aims at (the delta count is sized from a warm-up rate), and its cap. */
  streamSeconds: number;
  /** One-stream figure: the median of this many streams, which share streamSeconds. */
  streamSamples: number;
  streamMaxDeltas: number;
  streamsConcurrent: number;
  ttfdSamples: number;
  cancelSamples: number;
  pubsubCount: number;
  pubsubCapMs: number;
  memMs: number;
  scaleStreams: number;
  payload: { bytes: number; label: string; seq: number; capMs: number; concurrency: number; concMs: number }[];
}

export function configFor(quick: boolean): BenchConfig {
  if (quick) {
    return {
      quick,
      runs: 2,
      seqWarmup: 200,
      seqRounds: 3,
      seqBlock: 200,
      seqBlockCapMs: 1500,
      concurrency: 64,
      concMs: 450,
      concRounds: 2,
      concWarmupMs: 200,
      streamSeconds: 0.5,
      streamSamples: 1,
      streamMaxDeltas: 100_000,
      streamsConcurrent: 100,
      ttfdSamples: 150,
      cancelSamples: 60,
      pubsubCount: 100_000,
      pubsubCapMs: 1000,
      memMs: 300,
      scaleStreams: 10_000,
      payload: [
        { bytes: 100, label: '100 B', seq: 200, capMs: 1000, concurrency: 16, concMs: 400 },
        { bytes: 10 * 1024, label: '10 KB', seq: 200, capMs: 1000, concurrency: 16, concMs: 400 },
        { bytes: 1024 * 1024, label: '1 MB', seq: 6, capMs: 1500, concurrency: 4, concMs: 400 },
      ],
    };
  }
  return {
    quick,
    runs: 3,
    seqWarmup: 500,
    seqRounds: 6,
    seqBlock: 500,
    seqBlockCapMs: 4000,
    concurrency: 64,
    concMs: 3000,
    concRounds: 6,
    concWarmupMs: 500,
    streamSeconds: 2,
    streamSamples: 3,
    streamMaxDeltas: 400_000,
    streamsConcurrent: 100,
    ttfdSamples: 500,
    cancelSamples: 200,
    pubsubCount: 1_000_000,
    pubsubCapMs: 3000,
    memMs: 2000,
    scaleStreams: 10_000,
    payload: [
      { bytes: 100, label: '100 B', seq: 1000, capMs: 3000, concurrency: 16, concMs: 1500 },
      { bytes: 10 * 1024, label: '10 KB', seq: 1000, capMs: 3000, concurrency: 16, concMs: 1500 },
      { bytes: 1024 * 1024, label: '1 MB', seq: 30, capMs: 6000, concurrency: 4, concMs: 2000 },
    ],
  };
}
