// Building CloudEvents for tests.
let counter = 0;

export function cloudEvent(type: string, data: unknown, overrides: Record<string, unknown> = {}) {
  counter += 1;
  return {
    specversion: '1.0',
    id: `evt-${Date.now()}-${counter}`,
    source: 'test-crm',
    type,
    time: '2026-03-02T10:00:00Z',
    data,
    ...overrides,
  };
}
