/**
 * The OpenAI chat-completions request fields passed on unchanged, besides `messages` and `model`: the gateway's
 * OpenAI-compatible API copies them from the client's body into the bus payload, and the OpenAI-SSE bridge copies
 * them from the bus payload into the upstream request. One list, so a field accepted at one end is not dropped at
 * the other.
 */
export const OPENAI_CHAT_PARAMS: readonly string[] = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'tools',
  'tool_choice',
  'response_format',
  'seed',
  'user',
  'presence_penalty',
  'frequency_penalty',
  'reasoning_effort',
];
