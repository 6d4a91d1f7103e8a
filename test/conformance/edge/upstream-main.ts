/** Child-process entry of the upstream stand-in: `node --import tsx upstream-main.ts NAME`; prints `{"port":N}`. */
import { startUpstream } from './upstream.js';

const name = process.argv[2] ?? 'upstream';
const up = await startUpstream(name);
process.stdout.write(JSON.stringify({ port: Number(new URL(up.url).port), url: up.url }) + '\n');
process.on('SIGTERM', () => void up.close().then(() => process.exit(0)));
