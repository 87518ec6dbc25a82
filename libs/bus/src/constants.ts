/** Transport id of the bus strategy (Nest `transportId`). */
export const BUS_TRANSPORT = Symbol('OPENAGENTIO_BUS');
/** Metadata key of @Invoke/@Stream/@Subscribe on a method. */
export const BUS_HANDLER_METADATA = 'openagentio:bus-handler';
