import { EnvelopeCallContext } from '../context/envelope-call-context.js';
import type { HandlerContext } from '../interfaces/handler.interface.js';
import type { StreamWriter } from '../interfaces/stream-writer.interface.js';

/**
 * A stream handler's context: the call context of its request with the writer. One object serves as both the
 * handler's `ctx` and the ambient call context, and its session and trace are built on first read, as an invoke's
 * are (an object literal copying them made both for every stream, and kept them while it ran).
 */
export class StreamCallContext extends EnvelopeCallContext implements HandlerContext {
  /** Set by the stream runner before the handler runs. */
  writer!: StreamWriter;
}
