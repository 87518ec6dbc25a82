/** Something with a deadline: `expire()` runs once, after the deadline has passed. */
export interface Expiring {
  expire(): void;
}

/** Where a scheduled item sits (slot keys count granules of the monotonic clock): pass it back to `cancelDeadline`. */
export interface DeadlineSlot {
  readonly key: number;
  readonly items: Set<Expiring>;
}

/**
 * Width of a slot (ms). A deadline fires at most this late, never early. Coarse on purpose: every call has a
 * deadline but almost none reaches it, and one `setTimeout`/`clearTimeout` per call (on both ends) capped an
 * in-process call path at 1–1.6 M calls/s where a Set insert and delete cost next to nothing.
 */
export const DEADLINE_GRANULARITY_MS = 4;

const slots = new Map<number, DeadlineSlot>();
/** Keys of `slots`, a binary min-heap: new keys are rare (one per distinct deadline per granule). */
const heap: number[] = [];
let timer: NodeJS.Timeout | undefined;
let timerKey = Infinity;
/** Items scheduled and not yet cancelled or expired: the timer keeps the process alive only while this is > 0. */
let live = 0;
let refed = false;
/** The slot used last: calls started together with the same timeout land in it, without a map lookup. */
let lastSlot: DeadlineSlot | undefined;

/** An item that can wait until the end of this event-loop turn before its deadline is put on the wheel. */
export interface DeferredExpiring extends Expiring {
  readonly deadline: number;
  /** True once the item no longer needs its deadline. */
  readonly settled: boolean;
  /** Set when the item goes on the wheel. */
  slot?: DeadlineSlot;
}

let young: DeferredExpiring[] = [];
let youngScheduled = false;

/**
 * Like scheduleDeadline, for items that mostly settle within the turn they start in (in-process calls): they only
 * go on the wheel, in one pass at the end of the turn, if they are still pending then. Deadlines are coarse anyway
 * (a turn is far shorter than a granule under normal load), and an insert and delete per call are saved.
 */
export function scheduleDeadlineAfterTurn(item: DeferredExpiring): void {
  young.push(item);
  if (youngScheduled) return;
  youngScheduled = true;
  setImmediate(promoteYoung);
}

function promoteYoung(): void {
  youngScheduled = false;
  const items = young;
  young = [];
  for (const item of items) if (!item.settled) item.slot = scheduleDeadline(item.deadline, item);
}

/**
 * Calls `item.expire()` once `at` (epoch ms) has passed, unless `cancelDeadline` comes first. The time left is
 * measured on the monotonic clock from now on, as a setTimeout would: a wall-clock step after scheduling (a VM
 * resumed, a clock set by hand) moves no deadline.
 */
export function scheduleDeadline(at: number, item: Expiring): DeadlineSlot {
  const key = Math.ceil((performance.now() + (at - Date.now())) / DEADLINE_GRANULARITY_MS);
  let slot = lastSlot !== undefined && lastSlot.key === key ? lastSlot : slots.get(key);
  if (!slot) {
    slot = { key, items: new Set() };
    slots.set(key, slot);
    heapPush(key);
    if (key < timerKey) arm(key);
  }
  lastSlot = slot;
  slot.items.add(item);
  if (live++ === 0 && timer && !refed) {
    timer.ref();
    refed = true;
  }
  return slot;
}

export function cancelDeadline(slot: DeadlineSlot, item: Expiring): void {
  if (!slot.items.delete(item)) return;
  if (--live === 0 && timer && refed) {
    timer.unref();
    refed = false;
  }
}

/**
 * Every item scheduled and not yet cancelled or expired. Also how a bus finds its direct calls when it closes:
 * every pending call has a deadline, so the wheel already holds them all and no other registry is kept per call.
 */
export function* scheduledItems(): Generator<Expiring> {
  for (const item of [...young]) if (!item.settled && !item.slot) yield item;
  for (const slot of [...slots.values()]) yield* [...slot.items];
}

function arm(key: number): void {
  if (timer) clearTimeout(timer);
  timerKey = key;
  timer = setTimeout(fire, Math.max(0, key * DEADLINE_GRANULARITY_MS - performance.now()));
  refed = live > 0;
  if (!refed) timer.unref();
}

function fire(): void {
  timer = undefined;
  timerKey = Infinity;
  const now = performance.now();
  const due: DeadlineSlot[] = [];
  while (heap.length > 0 && heap[0] * DEADLINE_GRANULARITY_MS <= now) {
    const slot = slots.get(heapPop())!;
    slots.delete(slot.key);
    if (slot === lastSlot) lastSlot = undefined;
    due.push(slot);
  }
  if (heap.length > 0) arm(heap[0]);
  for (const slot of due) {
    for (const item of slot.items) {
      slot.items.delete(item);
      live--;
      try {
        item.expire();
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }
  // `arm` (above, or from an expire() that scheduled again) may have set a new timer.
  const next = timer as NodeJS.Timeout | undefined;
  if (live === 0 && next && refed) {
    next.unref();
    refed = false;
  }
}

function heapPush(key: number): void {
  let i = heap.push(key) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent] <= key) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = key;
}

function heapPop(): number {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const c = r < heap.length && heap[r] < heap[l] ? r : l;
      if (heap[c] >= last) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
  }
  return top;
}
