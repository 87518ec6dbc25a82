/** Transport id of the bus strategy (Nest `transportId`). */
export const BUS_TRANSPORT = Symbol('OPENAGENTIO_BUS');
/** Metadata key of @Invoke/@Stream/@Subscribe on a method; BusServer reads it at bootstrap. */
export const BUS_HANDLER_METADATA = 'openagentio:bus-handler';
/** Metadata key of @Task on a method; TasksModule's explorer reads it at bootstrap. */
export const TASK_HANDLER_METADATA = 'openagentio:task-handler';
