// One JSON request to a connector's target, and the rule that says which failures are worth retrying.
import type { DeliveryResult } from './connector.ts';

export interface JsonRequest {
  method: 'POST' | 'PATCH' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

const KEPT_BODY_CHARS = 4000;

/** Retry what may succeed later: timeouts, conflicts (the receiver is busy with the same key), rate limits, 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export async function sendJson(
  request: JsonRequest,
  signal: AbortSignal,
  options: { keepRequestBody?: boolean } = {},
): Promise<DeliveryResult> {
  const text = JSON.stringify(request.body);
  const requestSummary = {
    method: request.method,
    url: request.url,
    ...(options.keepRequestBody === false ? {} : { body: request.body }),
  };
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: { 'content-type': 'application/json', accept: 'application/json', ...request.headers },
      body: text,
      signal,
      // A redirect would resend (or drop) the body somewhere else: configure the final URL instead.
      redirect: 'manual',
    });
  } catch (error) {
    const reason = signal.aborted
      ? `no answer in time (${describe(signal.reason)})`
      : `the request failed: ${describe(error)}`;
    return { ok: false, retryable: true, error: `${request.method} ${request.url}: ${reason}` };
  }
  let body: unknown;
  try {
    body = await readBody(response);
  } catch (error) {
    return {
      ok: false,
      retryable: true,
      status: response.status,
      error: `${request.method} ${request.url}: answered ${response.status} but the body could not be read: ${describe(error)}`,
    };
  }
  if (response.status >= 200 && response.status < 300) {
    return { ok: true, response: { status: response.status, body, request: requestSummary } };
  }
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  const detail = typeof body === 'string' ? body : JSON.stringify(body);
  const what =
    response.status >= 300 && response.status < 400
      ? `redirected to ${response.headers.get('location') ?? '(no location)'}; configure the final URL`
      : (detail ?? '').slice(0, 500);
  return {
    ok: false,
    retryable: isRetryableStatus(response.status),
    status: response.status,
    error: `${request.method} ${request.url} answered ${response.status}: ${what}`,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  const kept = text.length > KEPT_BODY_CHARS ? `${text.slice(0, KEPT_BODY_CHARS)}…` : text;
  if ((response.headers.get('content-type') ?? '').includes('json') && kept === text) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return kept;
    }
  }
  return kept;
}

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
