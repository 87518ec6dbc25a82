import type { TaskWebhook, TaskWebhookInput } from '@openagentio/nestjs';
import { A2aErrorCodes, A2aRpcError, type A2aVersion, isObject } from './a2a-mapping.js';
import type { GatewayRequest } from './gateway-auth.js';
import { assertWebhookAllowed } from './push-notifications.js';
import type { TaskGatewayService } from './task-gateway.service.js';

// A2A push notification configs ↔ task webhooks. A2A 1.0 (`CreateTaskPushNotificationConfig`…) sends a flat
// `TaskPushNotificationConfig` `{taskId, id, url, token, authentication: {scheme, credentials}}`; A2A 0.3
// (`tasks/pushNotificationConfig/set`…) nests it: `{taskId, pushNotificationConfig: {id, url, token,
// authentication: {schemes: [], credentials}}}`. The webhook keeps the version, so its POST carries that version's Task.

/** The JSON-RPC methods of push notification configs, both versions. */
export const PUSH_CONFIG_METHODS = new Set([
  'CreateTaskPushNotificationConfig',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
  'tasks/pushNotificationConfig/set',
  'tasks/pushNotificationConfig/get',
  'tasks/pushNotificationConfig/list',
  'tasks/pushNotificationConfig/delete',
]);

const invalid = (message: string) => new A2aRpcError(A2aErrorCodes.INVALID_PARAMS, message);

/** A gateway without an allow list does not take push configs at all (and its card says so). */
function assertEnabled(allow: readonly URL[]): void {
  if (allow.length === 0) {
    throw new A2aRpcError(
      A2aErrorCodes.PUSH_NOTIFICATION_NOT_SUPPORTED,
      'push notifications are not enabled on this gateway: GatewayModule option pushNotifications.allowUrls is empty (nothing is allowed by default)',
    );
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * A push notification config (1.0: the flat form; 0.3: `PushNotificationConfig`, the inner object) as a webhook,
 * checked against the allow list (INVALID_PARAMS naming the option).
 */
export function readPushConfig(raw: unknown, v: A2aVersion, allow: readonly URL[]): TaskWebhookInput {
  assertEnabled(allow);
  if (!isObject(raw)) throw invalid('the push notification config must be an object');
  const url = str(raw.url);
  if (!url) throw invalid('the push notification config needs a url');
  try {
    assertWebhookAllowed(url, allow);
  } catch (err) {
    throw invalid((err as Error).message);
  }
  const w: TaskWebhookInput = { url, format: v === '0.3' ? 'a2a-0.3' : 'a2a-1.0' };
  const id = str(raw.id);
  if (id) w.id = id;
  const token = str(raw.token);
  if (token) w.token = token;
  const auth = isObject(raw.authentication) ? raw.authentication : undefined;
  const scheme = v === '0.3' ? (Array.isArray(auth?.schemes) ? str(auth.schemes[0]) : undefined) : str(auth?.scheme);
  const credentials = str(auth?.credentials);
  if (scheme && credentials) w.authentication = { scheme, credentials };
  return w;
}

/** A stored webhook as the version's `TaskPushNotificationConfig`. */
export function wirePushConfig(taskId: string, w: TaskWebhook, v: A2aVersion): Record<string, unknown> {
  if (v === '0.3') {
    const inner: Record<string, unknown> = { id: w.id, url: w.url };
    if (w.token) inner.token = w.token;
    if (w.authentication) inner.authentication = { schemes: [w.authentication.scheme], credentials: w.authentication.credentials };
    return { taskId, pushNotificationConfig: inner };
  }
  const out: Record<string, unknown> = { tenant: '', id: w.id, taskId, url: w.url, token: w.token ?? '' };
  if (w.authentication) out.authentication = { ...w.authentication };
  return out;
}

/** One push config method: the result to answer with. The task is the caller's tenant's, or TaskNotFound. */
export async function pushConfigMethod(
  tasks: TaskGatewayService,
  req: GatewayRequest,
  method: string,
  params: Record<string, unknown>,
  v: A2aVersion,
): Promise<unknown> {
  // 1.0 names the task `taskId` and the config `id`; 0.3 the task `id` (`taskId` in set) and the config `pushNotificationConfigId`.
  const allow = tasks.gateway.options.pushNotifications.allowUrls;
  assertEnabled(allow);
  const set = method === 'CreateTaskPushNotificationConfig' || method === 'tasks/pushNotificationConfig/set';
  const taskId = str(v === '1.0' || set ? params.taskId : params.id);
  if (!taskId) throw invalid(`params.${v === '1.0' || set ? 'taskId' : 'id'} (the task id) is required`);
  const task = await tasks.find(req, taskId);
  const client = tasks.tasks;
  const configId = str(v === '1.0' ? params.id : params.pushNotificationConfigId);
  if (set) {
    const stored = await client.setWebhook(task.id, readPushConfig(v === '0.3' ? params.pushNotificationConfig : params, v, allow));
    return wirePushConfig(task.id, stored, v);
  }
  const hooks = await client.webhooks(task.id);
  const notFound = () => invalid(`task ${task.id} has no push notification config "${configId}"`);
  switch (method) {
    case 'GetTaskPushNotificationConfig':
    case 'tasks/pushNotificationConfig/get': {
      const w = configId ? hooks.find((h) => h.id === configId) : hooks[0];
      if (!w) throw configId ? notFound() : invalid(`task ${task.id} has no push notification config`);
      return wirePushConfig(task.id, w, v);
    }
    case 'ListTaskPushNotificationConfigs':
    case 'tasks/pushNotificationConfig/list': {
      const configs = hooks.map((w) => wirePushConfig(task.id, w, v));
      return v === '0.3' ? configs : { configs, nextPageToken: '' };
    }
    default: {
      if (!configId) throw invalid(`params.${v === '1.0' ? 'id' : 'pushNotificationConfigId'} (the config id) is required`);
      if (!(await client.removeWebhook(task.id, configId))) throw notFound();
      return v === '0.3' ? null : {};
    }
  }
}
