// Matrix bridge (docs/matrix.md): rooms ↔ bus events, upstream's `matrix_event` type, agents answering in rooms.
export { MatrixEventBridge, matrixEventBridgeFactory, type MatrixBridgeStats } from './matrix-event-bridge.js';
export { MATRIX_EVENT_BRIDGE_TYPE, parseMatrixConfig, type MatrixBridgeConfig, type MatrixRespondConfig } from './matrix-config.js';
export { FileCursorStore, MemoryCursorStore, NatsKvCursorStore, type MatrixCursorStore } from './matrix-cursor-store.js';
export type { MatrixAnswerStats } from './matrix-answer.js';
export type { MatrixSendStats } from './matrix-room-sender.js';
