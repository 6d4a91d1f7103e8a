/**
 * A Migration on an ALB (issue 15): AWS calls per step, time per step beyond the bake, and abort → the ALB
 * holding fleet weight 0. Run: `npx tsx bench/migration-alb.ts [steps] [latencyMs] [throttlePercent]`.
 *
 * ELBv2 is faked over the wire: an HTTP server speaking ELBv2's Query protocol (form-encoded requests, XML
 * answers as in the API reference) holds one listener rule; the adapter reaches it with its default client
 * through the SDK's standard AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2, so the numbers include the SDK's
 * serialization, signing and parsing. `latencyMs` is added to every answer (a regional ELBv2 call from
 * inside the region is ~20–60 ms); `throttlePercent` of the requests answer `Throttling` (400), retried by
 * awsCall with backoff and full jitter (100 ms base). Steps: `steps` evenly spaced shares up to 100 %.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { syncAlbForwardWeights, type AlbForwardTarget } from '../src/cloud/alb/forward-weights.js';

const steps = Number(process.argv[2] ?? 30);
const latencyMs = Number(process.argv[3] ?? 30);
const throttlePercent = Number(process.argv[4] ?? 0);

const base = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012';
const RULE = `${base}:listener-rule/app/game-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`;
const LEGACY = `${base}:targetgroup/legacy-ec2/73e2d6bc24d8a067`;
const FLEET = `${base}:targetgroup/drover-eks/3bb63f11dfb0faf9`;
const NS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

let groups: [string, number][] = [[LEGACY, 1]];
let sticky = { enabled: false, seconds: 0 };
const log: { at: number; action: string; throttled: boolean }[] = [];
/** When the fake first held fleet weight 0 after the abort started. */
let fleetZeroAt = 0;

function rulesXml(): string {
  const tgs = groups.map(([arn, w]) => `<member><TargetGroupArn>${arn}</TargetGroupArn><Weight>${w}</Weight></member>`).join('');
  const single = groups.length === 1 ? `<TargetGroupArn>${groups[0]![0]}</TargetGroupArn>` : '';
  const st = sticky.enabled ? `<Enabled>true</Enabled><DurationSeconds>${sticky.seconds}</DurationSeconds>` : '<Enabled>false</Enabled>';
  return `<DescribeRulesResponse xmlns="${NS}"><DescribeRulesResult><Rules><member><IsDefault>false</IsDefault><Priority>10</Priority>
<Conditions><member><Field>path-pattern</Field><Values><member>/api/*</member></Values></member></Conditions>
<Actions><member><Type>forward</Type>${single}<Order>1</Order><ForwardConfig><TargetGroups>${tgs}</TargetGroups>
<TargetGroupStickinessConfig>${st}</TargetGroupStickinessConfig></ForwardConfig></member></Actions>
<RuleArn>${RULE}</RuleArn></member></Rules></DescribeRulesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeRulesResponse>`;
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.on('data', (b: Buffer) => (body += b.toString()));
  req.on('end', () => {
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '?';
    const throttled = Math.random() * 100 < throttlePercent;
    log.push({ at: performance.now(), action, throttled });
    setTimeout(() => {
      res.setHeader('content-type', 'text/xml');
      if (throttled) {
        res.statusCode = 400;
        res.end(`<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>`);
        return;
      }
      if (action === 'ModifyRule') {
        const p = 'Actions.member.1.ForwardConfig.';
        groups = [1, 2].map((i) => [params.get(`${p}TargetGroups.member.${i}.TargetGroupArn`) ?? '', Number(params.get(`${p}TargetGroups.member.${i}.Weight`))]);
        sticky = { enabled: params.get(`${p}TargetGroupStickinessConfig.Enabled`) === 'true', seconds: Number(params.get(`${p}TargetGroupStickinessConfig.DurationSeconds`) ?? 0) };
        if (!fleetZeroAt && groups[1]?.[1] === 0) fleetZeroAt = performance.now();
        res.end(`<ModifyRuleResponse xmlns="${NS}"><ModifyRuleResult><Rules/></ModifyRuleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ModifyRuleResponse>`);
        return;
      }
      res.end(rulesXml());
    }, latencyMs);
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const target: AlbForwardTarget = { ruleArn: RULE, legacyTargetGroupArn: LEGACY, fleetTargetGroupArn: FLEET };
  const shares = Array.from({ length: steps }, (_, i) => Math.round((100 * (i + 1)) / steps));

  // Warm-up: the first call loads credentials and the SDK's lazy parts; not a step's cost.
  await syncAlbForwardWeights(target, 0, undefined);
  groups = [[LEGACY, 1]];
  sticky = { enabled: false, seconds: 0 };

  const stepMs: number[] = [];
  const idleMs: number[] = [];
  const stepCalls: string[] = [];
  const idleCalls: string[] = [];
  let last: number | undefined;
  let retries = 0;
  for (const p of shares) {
    let t0 = performance.now();
    const r = await syncAlbForwardWeights(target, p, last);
    stepMs.push(performance.now() - t0);
    if (!r.ok) throw new Error(`step ${p}: ${r.code}: ${r.message}`);
    stepCalls.push(`${r.calls?.reads ?? 0}r+${r.calls?.writes ?? 0}w`);
    retries += r.calls?.retries ?? 0;
    last = p;
    // The next pass of the same step (a requeue, a bake tick): level-based, nothing to write.
    t0 = performance.now();
    const idle = await syncAlbForwardWeights(target, p, last);
    idleMs.push(performance.now() - t0);
    if (!idle.ok || idle.changed) throw new Error(`idle pass at ${p} wrote or failed`);
    idleCalls.push(`${idle.calls?.reads ?? 0}r+${idle.calls?.writes ?? 0}w`);
    retries += idle.calls?.retries ?? 0;
  }

  // Abort mid-way: back to 0 % in one write.
  groups = [[LEGACY, 50], [FLEET, 50]];
  sticky = { enabled: true, seconds: 3600 };
  fleetZeroAt = 0;
  const abortStart = performance.now();
  const abort = await syncAlbForwardWeights(target, 0, 50);
  const abortDone = performance.now();
  if (!abort.ok) throw new Error(`abort: ${abort.code}`);

  const count = (xs: string[]) => Object.entries(xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {})).map(([k, n]) => `${k} ×${n}`).join(', ');
  const throttledCount = log.filter((l) => l.throttled).length;
  console.log(`steps=${steps} latencyMs=${latencyMs} throttlePercent=${throttlePercent} node ${process.version}`);
  console.log(`calls per changing step: ${count(stepCalls)}; per idle pass: ${count(idleCalls)}; retries ${retries} (${throttledCount} throttled answers)`);
  console.log(`changing step: median ${median(stepMs).toFixed(1)} ms, max ${Math.max(...stepMs).toFixed(1)} ms; idle pass: median ${median(idleMs).toFixed(1)} ms, max ${Math.max(...idleMs).toFixed(1)} ms`);
  console.log(`whole migration's AWS time (${steps} steps + ${steps} idle passes): ${(stepMs.reduce((a, b) => a + b, 0) + idleMs.reduce((a, b) => a + b, 0)).toFixed(0)} ms`);
  console.log(`abort 50% → ALB holds fleet 0: ${(fleetZeroAt - abortStart).toFixed(1)} ms (write received), read back at ${(abortDone - abortStart).toFixed(1)} ms; calls ${abort.calls?.reads}r+${abort.calls?.writes}w`);
  await new Promise<void>((r) => server.close(() => r()));
}

await main();
