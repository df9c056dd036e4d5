// Shared plumbing for the SDK driver scripts (sdk250.mjs, sdk800.mjs).
//
// Contract with tests/compat/test_node_sdk.py:
//   node sdkNNN.mjs '<json-args>'   where args = {scenario, base_url, secret_key, ...}
// prints exactly ONE JSON object on stdout. An SDK call that throws is reported in
// place as {error: "<message>"}, so Python can assert on the SDK's own error text.
// Anything unexpected (bad args, a bug in a driver) is {fatal: "<stack>"}, exit code 1.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The version actually installed under an npm alias, e.g. installedVersion('lava250'). */
export function installedVersion(alias) {
  return require(`${alias}/package.json`).version;
}

/** Run one SDK call; a thrown error becomes {error: message} instead of aborting the scenario. */
export async function attempt(fn) {
  try {
    return await fn();
  } catch (err) {
    return { error: String(err && err.message !== undefined ? err.message : err) };
  }
}

/**
 * Decode a checkout_session_token exactly as @lavapayments/checkout 0.1.3 does in
 * open(token): JSON.parse(atob(token)), then it needs .secret and .base.
 */
export function decodeCheckoutToken(token) {
  try {
    const decoded = JSON.parse(atob(token));
    return { decoded, usable_by_hook: Boolean(decoded && decoded.secret && decoded.base) };
  } catch (err) {
    return { error: String(err.message), usable_by_hook: false };
  }
}

/** Base64 JSON (as produced by generateForwardToken) back to an object, via Buffer like the SDK. */
export function decodeBase64Json(token) {
  try {
    return JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch (err) {
    return { error: String(err.message) };
  }
}

/** Method names of an SDK resource instance (own prototype chain, minus the constructor). */
export function methodsOf(resource) {
  const names = new Set();
  for (let proto = Object.getPrototypeOf(resource); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && typeof resource[name] === 'function') names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * Follow next_cursor through every page of a list call.
 * Returns [{ids, has_more, next_cursor}] per page, or {error} if any page throws.
 */
export async function pageAll(list, params, idField, maxPages = 50) {
  return attempt(async () => {
    const pages = [];
    let cursor;
    for (let i = 0; i < maxPages; i += 1) {
      const page = await list(cursor ? { ...params, cursor } : { ...params });
      pages.push({
        ids: page.data.map((item) => item[idField]),
        has_more: page.has_more,
        next_cursor: page.next_cursor === undefined ? null : page.next_cursor,
      });
      if (!page.has_more || !page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return pages;
  });
}

/** Parse argv, run the named scenario, print one JSON object. */
export async function main(scenarios) {
  let out;
  try {
    const raw = process.argv[2];
    if (!raw) throw new Error('usage: node <driver>.mjs \'{"scenario": ..., "base_url": ..., "secret_key": ...}\'');
    const args = JSON.parse(raw);
    const scenario = scenarios[args.scenario];
    if (!scenario) {
      throw new Error(`unknown scenario ${JSON.stringify(args.scenario)}; known: ${Object.keys(scenarios).join(', ')}`);
    }
    out = await scenario(args);
  } catch (err) {
    out = { fatal: String(err && err.stack ? err.stack : err) };
    process.exitCode = 1;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
