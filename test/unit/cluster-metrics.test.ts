// Unit: merging the workers' Prometheus expositions into one (server/cluster-metrics.ts).
import { describe, expect, it } from 'vitest';
import { mergeExpositions } from '../../server/cluster-metrics.js';
import { Metrics } from '../../server/metrics.js';

describe('mergeExpositions', () => {
  it('keeps each family once, in order, and labels every sample with its worker', () => {
    const a = '# HELP x_total Xs.\n# TYPE x_total counter\nx_total{op="A"} 1\n# HELP g A gauge.\n# TYPE g gauge\ng 5\n';
    const b = '# HELP x_total Xs.\n# TYPE x_total counter\nx_total{op="A"} 2\nx_total{op="B"} 3\n# HELP g A gauge.\n# TYPE g gauge\ng 7\n';
    expect(mergeExpositions([{ worker: '1', text: a }, { worker: '2', text: b }])).toBe(
      [
        '# HELP x_total Xs.', '# TYPE x_total counter', 'x_total{op="A",worker="1"} 1', 'x_total{op="A",worker="2"} 2', 'x_total{op="B",worker="2"} 3',
        '# HELP g A gauge.', '# TYPE g gauge', 'g{worker="1"} 5', 'g{worker="2"} 7',
      ].join('\n') + '\n',
    );
  });

  it('keeps label values holding braces, quotes and spaces, and histogram series under their family', () => {
    const m = new Metrics();
    m.errors.inc({ operation: 'Encrypt', error: 'we"ird} name' });
    m.startRequest('Encrypt')(200, null);
    const merged = mergeExpositions([{ worker: '3', text: m.render() }]);
    expect(merged).toContain('coffer_request_errors_total{operation="Encrypt",error="we\\"ird} name",worker="3"} 1\n');
    const histogram = merged.slice(merged.indexOf('# TYPE coffer_request_duration_seconds histogram'));
    expect(histogram).toMatch(/^# TYPE coffer_request_duration_seconds histogram\ncoffer_request_duration_seconds_bucket\{operation="Encrypt",le="0.005",worker="3"\} [01]\n/);
    expect(histogram).toContain('coffer_request_duration_seconds_count{operation="Encrypt",worker="3"} 1\n');
    expect(merged.split('\n').filter((l) => l && !l.startsWith('#') && !l.includes('worker="3"'))).toEqual([]);
  });
});
