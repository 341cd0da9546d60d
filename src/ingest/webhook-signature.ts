// Standard Webhooks (https://www.standardwebhooks.com): HMAC-SHA256 over "<id>.<timestamp>.<body>", keyed with
// the base64 secret after "whsec_", sent as "v1,<base64>" (several, space-separated, during rotation).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.ts';

export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/** Throws unauthenticated with the precise reason, or returns when one of the secrets signed this body. */
export function verifyWebhook(
  secrets: string[],
  headers: WebhookHeaders,
  body: string,
  now = Date.now(),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): void {
  if (!headers.id || !headers.timestamp || !headers.signature) {
    throw new AppError(
      'unauthenticated',
      'Missing webhook-id, webhook-timestamp or webhook-signature header (Standard Webhooks)',
    );
  }
  if (!/^\d{1,12}$/.test(headers.timestamp))
    throw new AppError('unauthenticated', 'webhook-timestamp must be Unix seconds');
  const timestamp = Number(headers.timestamp);
  const skew = Math.abs(now / 1000 - timestamp);
  if (skew > toleranceSeconds) {
    throw new AppError(
      'unauthenticated',
      `webhook-timestamp is ${Math.round(skew)} s away from now; the tolerance is ${toleranceSeconds} s`,
    );
  }
  if (secrets.length === 0)
    throw new AppError('unauthenticated', 'This source has no webhook secret; create one first');
  const presented = headers.signature
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .map((part) => Buffer.from(part.slice(3), 'base64'));
  for (const secret of secrets) {
    const expected = Buffer.from(signWebhook(secret, headers.id, timestamp, body).slice(3), 'base64');
    if (
      presented.some(
        (candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected),
      )
    )
      return;
  }
  throw new AppError('unauthenticated', 'webhook-signature does not match any current secret of this source');
}
