// The one cookie the server reads and writes: the console's session. Parsed and written by hand (RFC 6265
// cookie-octets only), which is all a single opaque value needs.

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() !== name) continue;
    const value = part.slice(index + 1).trim();
    return /^[A-Za-z0-9_-]+$/.test(value) ? value : undefined;
  }
  return undefined;
}

export function sessionCookie(
  name: string,
  value: string,
  options: { expires: Date | null; secure: boolean },
): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (options.expires) {
    parts.push(`Expires=${options.expires.toUTCString()}`);
    parts.push(`Max-Age=${Math.max(0, Math.floor((options.expires.getTime() - Date.now()) / 1000))}`);
  } else {
    parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'Max-Age=0');
  }
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
