/**
 * Runs deliveries after the publisher has returned (NATS never calls a subscriber inside publish), in order,
 * in batches: a burst drains in microtasks, and every BATCH deliveries the queue yields to the event loop
 * through setImmediate so that timers and I/O still run while agents exchange messages.
 */
const BATCH = 2048;
let queue: Array<() => void> = [];
let scheduled = false;

export function enqueueDelivery(task: () => void): void {
  queue.push(task);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
}

function drain(): void {
  let ran = 0;
  while (queue.length > 0) {
    const batch = queue;
    queue = [];
    for (let i = 0; i < batch.length; i++) {
      try {
        batch[i]();
      } catch (err) {
        // A subscriber's exception must not stop delivery to others; surface it like an uncaught error would be.
        process.nextTick(() => {
          throw err;
        });
      }
      if (++ran >= BATCH && (i < batch.length - 1 || queue.length > 0)) {
        queue = batch.slice(i + 1).concat(queue);
        setImmediate(drain);
        return;
      }
    }
  }
  scheduled = false;
}
