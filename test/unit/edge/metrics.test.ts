import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EdgeMetrics } from '../../../src/edge/metrics.js';

describe('edge metrics (counted on the request path, exported on scrape)', () => {
  it('exports per-Prod request counts by code, a cumulative latency histogram, retries and health', async () => {
    const m = new EdgeMetrics();
    const a = m.prod('a');
    a.observe(200, 0.002);
    a.observe(200, 0.02);
    a.observe(503, 20);
    a.retry();
    a.setHealthy(false);
    m.prod('b').observe(200, 0.0005);
    const text = await m.registry.metrics();
    assert.match(text, /^drover_edge_requests_total\{prod="a",code="200"\} 2$/m, 'two 200s for a');
    assert.match(text, /^drover_edge_requests_total\{prod="a",code="503"\} 1$/m, 'one 503 for a');
    assert.match(text, /^drover_edge_request_duration_seconds_bucket\{le="0.001",prod="a"\} 0$/m, 'nothing of a under 1 ms');
    assert.match(text, /^drover_edge_request_duration_seconds_bucket\{le="0.0025",prod="a"\} 1$/m, 'cumulative: 1 under 2.5 ms');
    assert.match(text, /^drover_edge_request_duration_seconds_bucket\{le="0.025",prod="a"\} 2$/m, 'cumulative: 2 under 25 ms');
    assert.match(text, /^drover_edge_request_duration_seconds_bucket\{le="10",prod="a"\} 2$/m, 'the 20 s answer is above every bound');
    assert.match(text, /^drover_edge_request_duration_seconds_bucket\{le="\+Inf",prod="a"\} 3$/m, '+Inf holds all');
    assert.match(text, /^drover_edge_request_duration_seconds_count\{prod="a"\} 3$/m, 'count');
    assert.match(text, /^drover_edge_request_duration_seconds_sum\{prod="a"\} 20.022$/m, 'sum of seconds');
    assert.match(text, /^drover_edge_request_duration_seconds_bucket\{le="0.001",prod="b"\} 1$/m, 'b has its own series');
    assert.match(text, /^drover_edge_retries_total\{prod="a"\} 1$/m, 'retries');
    assert.match(text, /^drover_edge_endpoint_healthy\{prod="a"\} 0$/m, 'a unhealthy');
    assert.match(text, /^drover_edge_endpoint_healthy\{prod="b"\} 1$/m, 'b healthy');
    assert.match(text, /^# TYPE drover_edge_request_duration_seconds histogram$/m, 'typed as a histogram');
    // A second scrape reports the same totals (collect resets before re-adding, so nothing doubles).
    assert.match(await m.registry.metrics(), /^drover_edge_requests_total\{prod="a",code="200"\} 2$/m, 'no double counting across scrapes');
    assert.equal(m.prod('a'), a, 'a Prod keeps its counters across plan updates');
  });
});
