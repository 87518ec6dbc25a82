/**
 * Runs deliveries after the publisher has returned (NATS never calls a subscriber inside publish), in order.
 * Deliveries run as microtasks, but never more than BATCH of them per turn of the event loop: in-process
 * request/reply can otherwise keep the microtask queue busy for ever, and timers (deadlines, liveness probes)
 * and I/O (HTTP, NATS) of the process would starve. The count is per event-loop turn, across drains, because
 * ping-pong traffic empties the queue and starts a new drain at every step.
 */
const BATCH = 1024;
/** A delivery that is an object rather than a closure (an in-process call carries its own `run`). */
export interface QueuedDelivery {
  run(): void;
}

type Delivery = (() => void) | QueuedDelivery;

// A queue read from `head` (Array.shift would move every remaining item on each delivery).
let queue: Array<Delivery | undefined> = [];
let head = 0;
let scheduled = false;
let ranThisTurn = 0;
let turnMarked = false;
/** Counts event-loop turns in which deliveries ran (see deliveryTurn). */
let turn = 0;

/**
 * The current delivery turn: it changes between two event-loop turns in which deliveries run. A delivery that
 * sees the turn it was enqueued in ran in the same turn, within microseconds: it may use the enqueue time as now.
 */
export function deliveryTurn(): number {
  return turn;
}

export function enqueueDelivery(task: Delivery): void {
  queue.push(task);
  if (scheduled) return;
  scheduled = true;
  if (ranThisTurn >= BATCH) setImmediate(drain);
  else queueMicrotask(drain);
}

function markTurn(): void {
  turnMarked = true;
  // Runs once the current turn's microtasks are done: the next turn starts with a fresh allowance.
  setImmediate(() => {
    turnMarked = false;
    ranThisTurn = 0;
    turn++;
  });
}

function drain(): void {
  if (!turnMarked) markTurn();
  while (head < queue.length) {
    if (ranThisTurn >= BATCH) {
      // Under sustained load the queue may never run empty: drop the delivered part before yielding.
      queue = queue.slice(head);
      head = 0;
      setImmediate(drain);
      return;
    }
    const task = queue[head]!;
    queue[head++] = undefined;
    ranThisTurn++;
    try {
      if (typeof task === 'function') task();
      else task.run();
    } catch (err) {
      // A subscriber's exception must not stop delivery to others; surface it like an uncaught error would be.
      process.nextTick(() => {
        throw err;
      });
    }
  }
  queue = [];
  head = 0;
  scheduled = false;
}
