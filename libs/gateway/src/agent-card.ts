import type { ExposedTarget } from './exposed-targets.js';

// The A2A agent card (A2A 1.0, as the official JavaScript SDK `@a2a-js/sdk` types it), declared here so the
// bridges need no A2A package at run time; test/discovery/agent-card.test.ts checks that this type is assignable
// to the SDK's `AgentCard` and that the SDK reads our JSON.

export interface A2aAgentInterface {
  url: string;
  protocolBinding: string;
  tenant: string;
  protocolVersion: string;
}

export interface A2aAgentProvider {
  url: string;
  organization: string;
}

export interface A2aAgentExtension {
  uri: string;
  description: string;
  required: boolean;
  params: Record<string, unknown> | undefined;
}

export interface A2aAgentSkill {
  id: string;
  name: string;
  description: string;
  tags: string[];
  examples: string[];
  inputModes: string[];
  outputModes: string[];
  securityRequirements: never[];
}

export interface A2aAgentCard {
  name: string;
  description: string;
  supportedInterfaces: A2aAgentInterface[];
  provider: A2aAgentProvider | undefined;
  version: string;
  documentationUrl?: string;
  capabilities: { streaming?: boolean; pushNotifications?: boolean; extensions: A2aAgentExtension[]; extendedAgentCard?: boolean };
  /** Always empty: the gateway's `auth` is not described in the card (see docs/discovery.md). */
  securitySchemes: Record<string, never>;
  securityRequirements: never[];
  defaultInputModes: string[];
  defaultOutputModes: string[];
  skills: A2aAgentSkill[];
  signatures: never[];
  iconUrl?: string;
}

/** What the card says about the gateway itself (GatewayModuleOptions.agentCard). */
export interface GatewayAgentCardOptions {
  /** Default: the gateway bus's agent id. */
  name?: string;
  description?: string;
  /** Default `0.0.0`. */
  version?: string;
  /** The gateway's public base URL (`https://agents.example.com`); default: from the request's Host header. */
  url?: string;
  provider?: A2aAgentProvider;
  documentationUrl?: string;
  iconUrl?: string;
}

/**
 * The A2A extension that carries what A2A's skills have no field for: each skill's bus target, kind, input JSON
 * Schema and the gateway URLs that call it.
 */
export const ACP_TARGETS_EXTENSION = 'urn:openagentio:a2a:acp-targets:v1';

/** The protocol binding of the gateway's interface: its own HTTP + SSE API (docs/gateway.md), not A2A's JSON-RPC. */
export const GATEWAY_PROTOCOL_BINDING = 'OPENAGENTIO-HTTP+SSE';

/**
 * The gateway as an A2A agent card: one skill per exposed target (the ones its invokeTargets/streamTargets let
 * callers reach and discovery finds served), described by their handlers (description, tags), with their input
 * schemas in the ACP_TARGETS_EXTENSION.
 */
export function buildAgentCard(targets: ExposedTarget[], o: GatewayAgentCardOptions & { name: string; baseUrl: string }): A2aAgentCard {
  const streaming = targets.some((t) => t.stream);
  const base = o.baseUrl.replace(/\/+$/, '');
  const card: A2aAgentCard = {
    name: o.name,
    description: o.description ?? `Agents reachable through the ${o.name} gateway`,
    supportedInterfaces: [{ url: `${base}/v1`, protocolBinding: GATEWAY_PROTOCOL_BINDING, tenant: '', protocolVersion: '1.0' }],
    provider: o.provider,
    version: o.version ?? '0.0.0',
    capabilities: {
      streaming,
      pushNotifications: false,
      extendedAgentCard: false,
      extensions: [
        {
          uri: ACP_TARGETS_EXTENSION,
          description: "Each skill's acp/1.0 bus target, kind, input JSON Schema and the gateway URLs that call it",
          required: false,
          params: {
            targets: Object.fromEntries(
              targets.map((t) => [
                t.target,
                {
                  kind: t.kind,
                  ...(t.inputSchema ? { inputSchema: t.inputSchema } : {}),
                  ...(t.invoke ? { invoke: `${base}${t.invoke}` } : {}),
                  ...(t.stream ? { stream: `${base}${t.stream}` } : {}),
                },
              ]),
            ),
          },
        },
      ],
    },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['application/json'],
    defaultOutputModes: streaming ? ['application/json', 'text/event-stream'] : ['application/json'],
    skills: targets.map((t) => ({
      id: t.target,
      name: t.target,
      description: t.description ?? `${t.kind} target ${t.target}`,
      tags: [...new Set([...t.tags, t.kind])],
      examples: [],
      inputModes: ['application/json'],
      outputModes: t.stream ? ['application/json', 'text/event-stream'] : ['application/json'],
      securityRequirements: [],
    })),
    signatures: [],
  };
  if (o.documentationUrl) card.documentationUrl = o.documentationUrl;
  if (o.iconUrl) card.iconUrl = o.iconUrl;
  return card;
}
