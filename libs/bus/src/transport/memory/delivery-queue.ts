/**
 * Runs deliveries after the publisher has returned (NATS never calls a subscriber inside publish), in order.
 * Deliveries run as microtasks, but never more than BATCH of them per turn of the event loop: in-process
 * request/reply can otherwise keep the microtask queue busy for ever, and timers (deadlines, liveness probes)
 * and I/O (HTTP, NATS) of the process would starve. The count is per event-loop turn, across drains, because
 * ping-pong traffic empties the queue and starts a new drain at every step.
 */
const BATCH = 1024;
// A queue read from `head` (Array.shift would move every remaining item on each delivery).
let queue: Array<(() => void) | undefined> = [];
let head = 0;
let scheduled = false;
let ranThisTurn = 0;
let turnMarked = false;

export function enqueueDelivery(task: () => void): void {
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
      task();
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
