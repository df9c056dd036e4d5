// The official @lavapayments/nodejs 11.2.0 client's five webhook calls against our server.
// Usage: node node_webhooks.mjs '<{"base_url", "secret_key", "url"}>'; prints one JSON object.
// The package is resolved from tests/compat/node/node_modules (npm alias lava1120).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'compat', 'node', 'package.json'));
const { Lava } = require('lava1120');

async function attempt(fn) {
  try {
    return await fn();
  } catch (err) {
    return { error: String(err && err.message !== undefined ? err.message : err) };
  }
}

const args = JSON.parse(process.argv[2]);
const lava = new Lava(args.secret_key, { baseUrl: args.base_url });
const out = { version: require('lava1120/package.json').version };
out.created = await attempt(() => lava.webhooks.create({ name: 'node', url: args.url }));
const id = out.created.webhook_id;
out.retrieved = await attempt(() => lava.webhooks.retrieve(id));
out.listed = await attempt(() => lava.webhooks.list({ limit: 5 }));
out.updated = await attempt(() => lava.webhooks.update(id, { name: 'renamed' }));
for (let i = 0; i < 2; i++) await attempt(() => lava.webhooks.create({ name: `n${i}`, url: args.url }));
out.fourth = await attempt(() => lava.webhooks.create({ name: 'fourth', url: args.url }));
out.deleted = await attempt(() => lava.webhooks.delete(id));
out.after_delete = await attempt(() => lava.webhooks.retrieve(id));
console.log(JSON.stringify(out));
