// Every call to the API goes through here: same origin, the session cookie goes along by itself, writes carry the
// CSRF token, and failures become ApiError with the server's code and message (the one error format).

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let csrfToken: string | null = null;
let onUnauthenticated: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the server says the session is gone, so the console can show the sign-in page. */
export function setUnauthenticatedHandler(handler: (() => void) | null): void {
  onUnauthenticated = handler;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal | undefined;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(
      0,
      'network',
      'The server cannot be reached. Check your connection; the console retries.',
    );
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined; // not JSON (a proxy's error page): the status line says what happened
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)
      ?.error;
    if (response.status === 401 && path !== '/v1/session') onUnauthenticated?.();
    throw new ApiError(
      response.status,
      error?.code ?? 'http_' + response.status,
      error?.message ?? `The server answered ${response.status} ${response.statusText}`,
      error?.details,
    );
  }
  return body as T;
}

/** A query string from the defined values only. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** What a person should read for a failure: the server's message, with what to do for the common cases. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.code) {
      case 'network':
        return error.message;
      case 'unauthenticated':
        return `${error.message}.`.replace(/\.\.$/, '.');
      case 'forbidden':
        return `Not allowed: ${error.message}`;
      case 'conflict':
        // Claims taken by someone else, a decision already decided, nothing to roll back to: the server says which.
        return error.message;
      case 'not_found':
        return `Not found: ${error.message}`;
      case 'validation_failed':
        return `Please check the input: ${error.message}`;
      default:
        return error.status >= 500
          ? `The server had a problem (${error.status}). Try again; if it persists, the server log has the details.`
          : error.message;
    }
  }
  return error instanceof Error ? error.message : String(error);
}
