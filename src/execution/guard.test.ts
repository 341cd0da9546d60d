import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DECISION_STATES } from '../domain/decision-state.ts';
import { inverseAction, refusalReason } from './guard.ts';

const routing = {
  type: 'lead.assign_owner' as const,
  params: {
    contact_id: '00000000-0000-4000-8000-000000000001',
    owner_id: '00000000-0000-4000-8000-000000000002',
    previous_owner_id: '00000000-0000-4000-8000-000000000003',
  },
};

describe('refusalReason', () => {
  it('lets an action through only from an approved, executing (retry) or failed (replay) decision', () => {
    const allowed = new Set(['auto_approved', 'approved', 'edited_approved', 'executing', 'failed']);
    for (const status of DECISION_STATES) {
      const reason = refusalReason('action', { status, approved_action: routing }, routing, 'claim');
      expect(reason === null, status).toBe(allowed.has(status));
    }
  });

  it('sends only from executing, and only the approved payload, whatever the key order', () => {
    fc.assert(
      fc.property(fc.constantFrom(...DECISION_STATES), fc.jsonValue(), (status, other) => {
        const sent = refusalReason('action', { status, approved_action: routing }, routing, 'send');
        expect(sent === null).toBe(status === 'executing');
        const reordered = { params: { ...routing.params }, type: routing.type };
        expect(
          refusalReason('action', { status: 'executing', approved_action: routing }, reordered, 'send'),
        ).toBe(null);
        if (JSON.stringify(other) !== JSON.stringify(routing))
          expect(
            refusalReason('action', { status: 'executing', approved_action: routing }, other, 'send'),
          ).not.toBeNull();
      }),
    );
  });

  it('refuses a decision without an approved action, and a missing decision', () => {
    expect(refusalReason('action', { status: 'approved', approved_action: null }, routing, 'claim')).toMatch(
      /no approved action/,
    );
    expect(refusalReason('action', undefined, routing, 'claim')).toMatch(/does not exist/);
  });

  it('compensates only an executed decision, with exactly the inverse action', () => {
    const inverse = inverseAction(routing);
    if (!inverse.ok) throw new Error('expected an inverse');
    expect(inverse.action.params).toEqual({
      contact_id: routing.params.contact_id,
      owner_id: routing.params.previous_owner_id,
      previous_owner_id: routing.params.owner_id,
    });
    for (const status of DECISION_STATES) {
      const reason = refusalReason(
        'compensation',
        { status, approved_action: routing },
        inverse.action,
        'claim',
      );
      expect(reason === null, status).toBe(status === 'executed');
    }
    expect(
      refusalReason('compensation', { status: 'executed', approved_action: routing }, routing, 'send'),
    ).toMatch(/not the inverse/);
  });
});

describe('inverseAction', () => {
  it('knows only routings with a previous owner', () => {
    expect(
      inverseAction({ ...routing, params: { ...routing.params, previous_owner_id: null } }),
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no previous owner/),
    });
    expect(
      inverseAction({ type: 'lead.qualify', params: { contact_id: 'x', to_stage: 'sql', reason: 'r' } }),
    ).toMatchObject({ ok: false, reason: expect.stringMatching(/not reversible/) });
  });
});
