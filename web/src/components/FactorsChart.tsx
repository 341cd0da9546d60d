// The top factors for and against a proposal: a bar chart for the eye, and the same factors as lists for
// everyone (the chart is hidden from screen readers, the lists are not).
import { Bar, BarChart, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Factor } from '../types.ts';

export function FactorsChart({ factorsFor, against }: { factorsFor: Factor[]; against: Factor[] }) {
  const data = [
    ...factorsFor.map((f) => ({ phrase: f.phrase, value: Math.abs(f.contribution), side: 'for' })),
    ...against.map((f) => ({ phrase: f.phrase, value: -Math.abs(f.contribution), side: 'against' })),
  ];
  if (data.length === 0) return <p className="muted">The agent recorded no factors.</p>;
  return (
    <div className="factors">
      <div className="factors-chart" aria-hidden="true">
        <ResponsiveContainer width="100%" height={Math.max(140, data.length * 30 + 30)}>
          <BarChart
            accessibilityLayer={false}
            data={data}
            layout="vertical"
            margin={{ left: 8, right: 16, top: 4, bottom: 4 }}
          >
            <XAxis type="number" tick={{ fontSize: 11 }} />
            <YAxis type="category" dataKey="phrase" width={220} tick={{ fontSize: 11 }} interval={0} />
            <Tooltip formatter={(value) => [Number(value).toFixed(3), 'contribution']} />
            <Bar dataKey="value" isAnimationActive={false}>
              {data.map((d, i) => (
                <Cell key={i} fill={d.side === 'for' ? '#2e7d4f' : '#b3261e'} />
              ))}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <div className="factor-lists">
        <div>
          <h4>For</h4>
          <ul>
            {factorsFor.map((f) => (
              <li key={f.feature + f.phrase}>{f.phrase}</li>
            ))}
            {factorsFor.length === 0 ? <li className="muted">none recorded</li> : null}
          </ul>
        </div>
        <div>
          <h4>Against</h4>
          <ul>
            {against.map((f) => (
              <li key={f.feature + f.phrase}>{f.phrase}</li>
            ))}
            {against.length === 0 ? <li className="muted">none recorded</li> : null}
          </ul>
        </div>
      </div>
    </div>
  );
}
