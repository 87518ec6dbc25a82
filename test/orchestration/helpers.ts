// How a well-behaved agent waits: the demo agents' helper, the same in the tests.
export { abortableSleep as abortable } from '@openagentio/nestjs';
