import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible chat endpoint that answers at once with a fixed reply and usage, so a
 * benchmark measures our service, not a model. JSON only (no streaming).
 */
export interface InstantProvider {
  /** Base URL for the OpenAI SDK (ends in /v1). */
  baseURL: string;
  requests(): number;
  close(): Promise<void>;
}

const REPLY = 'Post a behind-the-scenes reel on Tuesday and a customer story on Friday.';
const USAGE = { prompt_tokens: 42, completion_tokens: 15, total_tokens: 57 };

export async function startInstantProvider(): Promise<InstantProvider> {
  let count = 0;
  const body = JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 0,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }],
    usage: USAGE,
  });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
