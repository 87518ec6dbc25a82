// How a well-behaved agent waits: the demo agents' helper, the same in the tests.
export { abortableDelay as abortable } from '../../src/agents/abortable-delay.js';
