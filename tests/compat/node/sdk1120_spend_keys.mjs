// The official @lavapayments/nodejs 11.2.0 (npm alias lava1120): its 6 spend-key calls
// (spendKeys.create/list/retrieve/update/revoke/rotate), plus models.list with the spend key
// itself, against the server under test.
// Usage: node sdk1120_spend_keys.mjs '{"scenario": "...", "base_url": "http://127.0.0.1:PORT/v1/", "secret_key": "aks_test_..."}'
import { Lava } from 'lava1120';

import { attempt, main, methodsOf } from './lib.mjs';

function client(args, key) {
  return new Lava(key || args.secret_key, { baseUrl: args.base_url });
}

await main({
  /** The spendKeys resource's methods. */
  async surface(args) {
    return { methods: methodsOf(client(args).spendKeys) };
  },

  /** Every spend-key call, in a lifecycle; then the same calls on another merchant's key. */
  async lifecycle(args) {
    const lava = client(args);
    const created = await attempt(() =>
      lava.spendKeys.create({
        name: 'agent',
        allowed_models: ['gpt-4o-mini'],
        spend_limit: { amount: '1.5', cycle: 'daily' },
        request_limit: { count: 100, cycle: 'monthly' },
        rate_limit: { rpm: 60, burst: 10 },
        expires_at: args.expires_at,
      }),
    );
    const second = await attempt(() => lava.spendKeys.create({ name: 'second' }));
    const id = created.spend_key_id;
    const page1 = await attempt(() => lava.spendKeys.list({ limit: 1 }));
    const page2 = await attempt(() => lava.spendKeys.list({ limit: 1, cursor: page1.next_cursor }));
    const retrieved = await attempt(() => lava.spendKeys.retrieve(id));
    const updated = await attempt(() =>
      lava.spendKeys.update(id, { name: 'renamed', status: 'paused', rate_limit: null, allowed_models: null }),
    );
    const models = await attempt(() => client(args, second.key).models.list());
    const rotated = await attempt(() => lava.spendKeys.rotate(id));
    const revoked = await attempt(() => lava.spendKeys.revoke(id));
    const afterRevoke = await attempt(() => lava.spendKeys.retrieve(id));
    const foreign = args.foreign_spend_key_id;
    return {
      created,
      second,
      page1,
      page2,
      retrieved,
      updated,
      models,
      rotated,
      revoked,
      after_revoke: afterRevoke,
      foreign: {
        retrieve: await attempt(() => lava.spendKeys.retrieve(foreign)),
        update: await attempt(() => lava.spendKeys.update(foreign, { name: 'x' })),
        rotate: await attempt(() => lava.spendKeys.rotate(foreign)),
        revoke: await attempt(() => lava.spendKeys.revoke(foreign)),
      },
    };
  },
});
