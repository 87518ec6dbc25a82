import type { BridgeFactory } from './interfaces/bridge.interface.js';

const globalFactories = new Map<string, BridgeFactory>();

/**
 * Registers a bridge factory for a `type` of bridge configuration documents, for every BridgeModule of the
 * process (built-ins: `openclaw_chat_sse`; `mcp_tool` when the MCP bridge is present). Per-module factories
 * (`BridgeModule.forRoot({ factories })`) take precedence.
 */
export function registerBridgeFactory(type: string, factory: BridgeFactory): void {
  if (!type || typeof type !== 'string') throw new TypeError('bridge type must be a non-empty string');
  if (typeof factory !== 'function') throw new TypeError(`factory for bridge type "${type}" must be a function`);
  globalFactories.set(type, factory);
}

/** The factories registered process-wide, by type. */
export function registeredBridgeFactories(): ReadonlyMap<string, BridgeFactory> {
  return globalFactories;
}
