/**
 * The adapter with its default client against a real HTTP endpoint named by
 * AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 (as an emulator would be): the SDK's own serialization of
 * ModifyRule's ForwardConfig and deserialization of ELBv2's XML answers and errors, not a mock's.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { albClient, syncAlbForwardWeights, type AlbForwardTarget } from '../../../src/cloud/alb/forward-weights.js';

// A region no other test uses: the adapter keeps one client per region.
const base = 'arn:aws:elasticloadbalancing:eu-central-2:123456789012';
const RULE = `${base}:listener-rule/app/game-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`;
const LEGACY = `${base}:targetgroup/legacy-ec2/73e2d6bc24d8a067`;
const FLEET = `${base}:targetgroup/drover-eks/3bb63f11dfb0faf9`;
const NS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

let server: Server;
const requests: { action: string; params: URLSearchParams; host: string }[] = [];
let throttleNext = 1;
let groups: [string, number][] = [[LEGACY, 1]];
let sticky = 'false';
let saved: { id: string | undefined; secret: string | undefined } = { id: undefined, secret: undefined };

function rulesXml(): string {
  const tgs = groups.map(([arn, w]) => `<member><TargetGroupArn>${arn}</TargetGroupArn><Weight>${w}</Weight></member>`).join('');
  const single = groups.length === 1 ? `<TargetGroupArn>${groups[0]![0]}</TargetGroupArn>` : '';
  return `<DescribeRulesResponse xmlns="${NS}"><DescribeRulesResult><Rules><member><IsDefault>false</IsDefault>
<Conditions><member><Field>path-pattern</Field><Values><member>/api/*</member></Values></member></Conditions><Priority>10</Priority>
<Actions><member><Type>forward</Type>${single}<Order>1</Order><ForwardConfig><TargetGroups>${tgs}</TargetGroups>
<TargetGroupStickinessConfig><Enabled>${sticky}</Enabled>${sticky === 'true' ? '<DurationSeconds>3600</DurationSeconds>' : ''}</TargetGroupStickinessConfig></ForwardConfig></member></Actions>
<RuleArn>${RULE}</RuleArn></member></Rules></DescribeRulesResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeRulesResponse>`;
}

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const params = new URLSearchParams(body);
      const action = params.get('Action') ?? '?';
      requests.push({ action, params, host: req.headers.host ?? '' });
      res.setHeader('content-type', 'text/xml');
      if (throttleNext > 0) {
        throttleNext--;
        res.statusCode = 400;
        res.end(`<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r-0</RequestId></ErrorResponse>`);
        return;
      }
      if (action === 'ModifyRule') {
        const p = 'Actions.member.1.ForwardConfig.';
        groups = [1, 2].map((i) => [params.get(`${p}TargetGroups.member.${i}.TargetGroupArn`) ?? '', Number(params.get(`${p}TargetGroups.member.${i}.Weight`))]);
        sticky = params.get(`${p}TargetGroupStickinessConfig.Enabled`) ?? 'false';
        res.end(`<ModifyRuleResponse xmlns="${NS}"><ModifyRuleResult><Rules/></ModifyRuleResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></ModifyRuleResponse>`);
        return;
      }
      res.end(rulesXml());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
});

after(async () => {
  delete process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2;
  for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await new Promise<void>((r) => server.close(() => r()));
});

describe('ALB forward weights through the standard SDK configuration (a real endpoint, AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2)', () => {
  it('the default client takes the region from the ARN and the endpoint from the environment; ForwardConfig goes out as ELBv2 expects', async () => {
    const target: AlbForwardTarget = { ruleArn: RULE, legacyTargetGroupArn: LEGACY, fleetTargetGroupArn: FLEET };
    assert.equal(await albClient(target).config.region(), 'eu-central-2');
    const r = await syncAlbForwardWeights(target, 10, undefined, { retry: { attempts: 3, baseMs: 1, capMs: 2 } });
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.observed, { legacyWeight: 90, fleetWeight: 10, stickinessSeconds: 3600 });
    assert.equal(r.calls?.retries, 1, 'the XML Throttling error was classified as throttling and retried');
    assert.deepEqual(
      requests.map((q) => q.action),
      ['DescribeRules', 'DescribeRules', 'ModifyRule', 'DescribeRules'],
    );
    const modify = requests.find((q) => q.action === 'ModifyRule')!.params;
    assert.equal(modify.get('RuleArn'), RULE);
    assert.equal(modify.get('Actions.member.1.Type'), 'forward');
    assert.equal(modify.get('Actions.member.1.TargetGroupArn'), null, 'no single TargetGroupArn beside a two-group ForwardConfig');
    assert.equal(modify.get('Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds'), '3600');
    assert.equal([...modify.keys()].some((k) => k.startsWith('Conditions')), false, 'conditions are not sent');
  });
});
