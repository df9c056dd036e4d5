// Drive the server under test with the official @lavapayments/nodejs 11.2.0 (npm alias lava1120),
// the current API generation: customers, meters, requests (cost + charge), usage (total_cost,
// total_charge), secretKeys, models, checkoutSessions, and the billed gateway() helper.
// 11.2.0 sends NO X-Lava-API-Version header: the server picks the merchant's default profile.
// Usage: node sdk1120.mjs '{"scenario": "...", "base_url": "http://127.0.0.1:PORT/v1/", "secret_key": "aks_test_..."}'
import { Lava } from 'lava1120';

import { attempt, decodeBase64Json, decodeCheckoutToken, installedVersion, main, methodsOf, pageAll } from './lib.mjs';

function client(args, key) {
  return new Lava(key || args.secret_key, { baseUrl: args.base_url });
}

const CHAT = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello from 11.2.0' }], max_tokens: 16 };

await main({
  /** What this SDK version exposes. */
  async surface(args) {
    const lava = client(args);
    const resources = {};
    for (const name of ['customers', 'meters', 'requests', 'usage', 'secretKeys', 'models', 'checkoutSessions']) {
      resources[name] = methodsOf(lava[name]);
    }
    return {
      package_version: installedVersion('lava1120'),
      resources,
      gateway: typeof lava.gateway,
      generate_forward_token: typeof lava.generateForwardToken,
      openai_url: lava.providers.openai,
    };
  },

  /** customers: create (+ idempotent replay), list paging, retrieve by id and reference_id, update,
   *  getSubscription, delete, then everything on the deleted and on another merchant's customer. */
  async customers(args) {
    const lava = client(args);
    const params = {
      reference_id: args.reference_id,
      email: 'ada@example.com',
      phone: '+14155550123',
      name: 'Ada Lovelace',
      metadata: { plan: 'pro', seats: 3 },
    };
    const created = await attempt(() => lava.customers.create(params));
    const replay = await attempt(() => lava.customers.create(params));
    const others = [];
    for (let i = 0; i < 3; i += 1) others.push(await attempt(() => lava.customers.create({})));
    const id = created.customer_id;
    return {
      created,
      replay,
      others,
      pages: await pageAll((p) => lava.customers.list(p), { limit: 2 }, 'customer_id'),
      retrieved: await attempt(() => lava.customers.retrieve(id)),
      by_reference: await attempt(() => lava.customers.retrieve(args.reference_id)),
      updated: await attempt(() =>
        lava.customers.update(id, { name: 'Ada King', email: null, metadata: { plan: 'team' } }),
      ),
      subscription: await attempt(() => lava.customers.getSubscription(id)),
      deleted: await attempt(() => lava.customers.delete(id)),
      after_delete: await attempt(() => lava.customers.retrieve(id)),
      foreign_retrieve: await attempt(() => lava.customers.retrieve(args.foreign_customer_id)),
      foreign_update: await attempt(() => lava.customers.update(args.foreign_customer_id, { name: 'x' })),
      foreign_delete: await attempt(() => lava.customers.delete(args.foreign_customer_id)),
      foreign_subscription: await attempt(() => lava.customers.getSubscription(args.foreign_customer_id)),
    };
  },

  /** meters: create (slug generated, per-request tiers), list, retrieve, update, immutable fields,
   *  duplicate slug, delete, and another merchant's meter. */
  async meters(args) {
    const lava = client(args);
    const tokens = await attempt(() =>
      lava.meters.create({
        name: 'GPT Tokens (EU)',
        rate_type: 'fixed',
        tier_type: 'tokens_1m',
        tiers: [
          { start: '0', rate: '5.00' },
          { start: '1000000', rate: '4.00' },
        ],
      }),
    );
    const perRequest = await attempt(() =>
      lava.meters.create({
        name: 'Per call',
        meter_slug: 'per-call',
        rate_type: 'fixed',
        tier_type: 'requests',
        tiers: [{ start: '0', rate: '0.01' }],
      }),
    );
    const id = tokens.meter_id;
    return {
      tokens,
      per_request: perRequest,
      duplicate: await attempt(() =>
        lava.meters.create({ name: 'dup', meter_slug: 'per-call', rate_type: 'fixed', tier_type: 'requests', tiers: [{ start: '0', rate: '1' }] }),
      ),
      bad_tiers: await attempt(() =>
        lava.meters.create({ name: 'bad', rate_type: 'fixed', tier_type: 'tokens_1m', tiers: [{ start: '5', rate: '1' }] }),
      ),
      listed: await attempt(() => lava.meters.list({ limit: 10 })),
      retrieved: await attempt(() => lava.meters.retrieve(id)),
      updated: await attempt(() => lava.meters.update(id, { name: 'GPT tokens', tiers: [{ start: '0', rate: '6' }] })),
      immutable: await attempt(() => lava.meters.update(id, { rate_type: 'percentage' })),
      deleted: await attempt(() => lava.meters.delete(id)),
      after_delete: await attempt(() => lava.meters.retrieve(id)),
      foreign_retrieve: await attempt(() => lava.meters.retrieve(args.foreign_meter_id)),
      foreign_delete: await attempt(() => lava.meters.delete(args.foreign_meter_id)),
    };
  },

  /** requests.create (customer_id + meter_slug), replay, list with filters, retrieve; usage totals. */
  async requests(args) {
    const lava = client(args);
    const body = {
      request_id: args.request_id,
      customer_id: args.customer_id,
      meter_slug: args.meter_slug,
      metadata: { team: 'a' },
      input_tokens: 600000,
      output_tokens: 400000,
    };
    const created = await attempt(() => lava.requests.create(body));
    return {
      created,
      replay: await attempt(() => lava.requests.create(body)),
      conflict: await attempt(() => lava.requests.create({ ...body, output_tokens: 1 })),
      unknown_customer: await attempt(() =>
        lava.requests.create({ ...body, request_id: `${args.request_id}_x`, customer_id: args.foreign_customer_id }),
      ),
      listed: await attempt(() =>
        lava.requests.list({ customer_id: args.customer_id, meter_id: args.meter_id, metadata_filters: { team: 'a' } }),
      ),
      other_meter: await attempt(() => lava.requests.list({ meter_id: args.other_meter_id })),
      retrieved: await attempt(() => lava.requests.retrieve(args.request_id)),
      usage: await attempt(() =>
        lava.usage.retrieve({ start: args.start, customer_id: args.customer_id, meter_id: args.meter_id }),
      ),
    };
  },

  /** secretKeys: list, create (shown once), the new key works, delete an old key, cooldown. */
  async secret_keys(args) {
    const lava = client(args);
    const listed = await attempt(() => lava.secretKeys.list());
    const created = await attempt(() => lava.secretKeys.create({ name: 'ci key' }));
    const fresh = created.secret_key ? client(args, created.secret_key) : null;
    return {
      listed,
      created,
      new_key_works: fresh ? await attempt(() => fresh.secretKeys.list()) : { error: 'create failed' },
      cooldown: created.secret_key_id
        ? await attempt(() => lava.secretKeys.delete(created.secret_key_id))
        : { error: 'create failed' },
      deleted: await attempt(() => lava.secretKeys.delete(args.old_key_id)),
      old_key_after: await attempt(() => client(args, args.old_key).customers.list()),
      foreign_delete: await attempt(() => lava.secretKeys.delete(args.foreign_key_id)),
    };
  },

  /** The last key of a merchant cannot be deleted. */
  async last_key(args) {
    const lava = client(args);
    const listed = await attempt(() => lava.secretKeys.list());
    const id = listed.data && listed.data[0] ? listed.data[0].secret_key_id : 'none';
    return { listed, deleted: await attempt(() => lava.secretKeys.delete(id)) };
  },

  async models(args) {
    return { listed: await attempt(() => client(args).models.list()) };
  },

  /** checkoutSessions.create for a known customer: the response carries customer_id. */
  async checkout(args) {
    const lava = client(args);
    const created = await attempt(() =>
      lava.checkoutSessions.create({ checkout_mode: 'topup', origin_url: args.origin_url, customer_id: args.customer_id }),
    );
    return {
      created,
      token: created.checkout_session_token ? decodeCheckoutToken(created.checkout_session_token) : null,
    };
  },

  /** gateway() in each token form; each returns the provider's JSON. */
  async gateway(args) {
    const lava = client(args);
    const url = args.chat_url;
    const call = (options) => attempt(() => lava.gateway(url, { body: CHAT, ...options }));
    const forms = {
      merchant: await call({}),
      meter_only: await call({ meter_slug: args.meter_slug }),
      customer: await call({ customer_id: args.customer_id, meter_slug: args.meter_slug }),
      customer_by_reference: await call({ customer_id: args.reference_id, meter_slug: args.meter_slug }),
      disable_billing: await call({ customer_id: args.customer_id, meter_slug: args.meter_slug, disable_billing: true }),
      byok: await call({ provider_key: 'sk-byok-1120' }),
      customer_without_meter: await call({ customer_id: args.customer_id }),
      unknown_meter: await call({ customer_id: args.customer_id, meter_slug: 'no-such-meter' }),
      foreign_customer: await call({ customer_id: args.foreign_customer_id, meter_slug: args.meter_slug }),
    };
    const tokens = {
      secret_only: lava.generateForwardToken({}),
      customer: lava.generateForwardToken({ customer_id: args.customer_id, meter_slug: args.meter_slug }),
      disable_billing: lava.generateForwardToken({
        customer_id: args.customer_id,
        meter_slug: args.meter_slug,
        disable_billing: true,
      }),
      byok: lava.generateForwardToken({ customer_id: null, meter_slug: null, provider_key: 'sk-byok-1120' }),
    };
    const decoded = Object.fromEntries(Object.entries(tokens).map(([k, t]) => [k, decodeBase64Json(t)]));
    return { forms, decoded };
  },

  /** Raw token for a form, for Python to send itself (e.g. to a deleted customer). */
  async token(args) {
    return { token: client(args).generateForwardToken(args.options) };
  },
});
