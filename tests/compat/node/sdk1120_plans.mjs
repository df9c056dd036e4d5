// The official @lavapayments/nodejs 11.2.0 (npm alias lava1120) against our plans, subscriptions and
// credit bundles: the 9 subscription/plan calls and the 2 credit-bundle calls, plus
// customers.getSubscription. One JSON object on stdout (see lib.mjs).
// Usage: node sdk1120_plans.mjs '{"scenario": "plans", "base_url": "http://127.0.0.1:PORT/v1/", "secret_key": "aks_test_..."}'
import { Lava } from 'lava1120';

import { attempt, decodeCheckoutToken, main, pageAll } from './lib.mjs';

await main({
  async plans(args) {
    const lava = new Lava(args.secret_key, { baseUrl: args.base_url });
    const meter = await attempt(() =>
      lava.meters.create({ name: 'Plan tokens', rate_type: 'fixed', tier_type: 'tokens_1m', tiers: [{ start: '0', rate: '2.00' }] }),
    );
    const before = await attempt(() => lava.subscriptions.listPlans());
    const free10 = await attempt(() =>
      lava.subscriptions.createPlan({
        name: 'Starter',
        period_amount: '0',
        billing_interval: 'month',
        included_credit: '10',
        rollover_type: 'full',
        meter_ids: [meter.meter_id],
        credit_bundles: [{ name: 'Boost', cost: '5', credit_amount: '6' }],
        default_auto_top_up_bundle_index: 0,
      }),
    );
    const paid = await attempt(() =>
      lava.subscriptions.createPlan({ name: 'Pro', period_amount: '20.00', billing_interval: 'year', included_credit: '15' }),
    );
    const updated = await attempt(() =>
      lava.subscriptions.updatePlan(paid.plan_id, {
        name: 'Pro yearly',
        bundle_rollover_type: 'none',
        credit_bundles: [{ name: 'Extra', cost: '3', credit_amount: '3' }],
      }),
    );
    const immutable = await attempt(() => lava.subscriptions.updatePlan(paid.plan_id, { period_amount: '1' }));
    const bundleId = free10.credit_bundles ? free10.credit_bundles[0].credit_bundle_id : undefined;
    const customer = await attempt(() => lava.customers.create({ reference_id: args.reference_id, phone: '+14155550123' }));
    const created = await attempt(() => lava.subscriptions.create({ customer_id: customer.customer_id, plan_id: free10.plan_id }));
    const paidRefused = await attempt(() => lava.subscriptions.create({ customer_id: customer.customer_id, plan_id: paid.plan_id }));
    const subId = created.subscription ? created.subscription.subscription_id : 'none';
    return {
      meter,
      before,
      free10,
      paid,
      retrieved: await attempt(() => lava.subscriptions.retrievePlan(free10.plan_id)),
      updated,
      immutable,
      plans: await pageAll((p) => lava.subscriptions.listPlans(p), { limit: 2 }, 'plan_id'),
      bundles: await attempt(() => lava.creditBundles.list({ plan_id: free10.plan_id })),
      all_bundles: await pageAll((p) => lava.creditBundles.list(p), { limit: 1 }, 'credit_bundle_id'),
      bundle: await attempt(() => lava.creditBundles.retrieve(bundleId)),
      customer,
      created,
      paid_refused: paidRefused,
      listed: await attempt(() => lava.subscriptions.list({ customer_id: customer.customer_id })),
      listed_all: await attempt(() => lava.subscriptions.list({ status: 'all' })),
      listed_cancelled: await attempt(() => lava.subscriptions.list({ status: 'cancelled' })),
      top_up_off: await attempt(() => lava.subscriptions.update(subId, { auto_top_up_bundle_id: null })),
      top_up_on: await attempt(() => lava.subscriptions.update(subId, { auto_top_up_bundle_id: bundleId })),
      top_up_foreign: await attempt(() =>
        lava.subscriptions.update(subId, { auto_top_up_bundle_id: updated.credit_bundles ? updated.credit_bundles[0].credit_bundle_id : 'x' }),
      ),
      current: await attempt(() => lava.customers.getSubscription(customer.customer_id)),
      cancelled: await attempt(() => lava.subscriptions.cancel(subId)),
      after_cancel: await attempt(() => lava.customers.getSubscription(customer.customer_id)),
      delete_in_use: await attempt(() => lava.subscriptions.deletePlan(free10.plan_id)),
      delete_default: await attempt(() => lava.subscriptions.deletePlan(before.data[0].plan_id)),
      deleted: await attempt(() => lava.subscriptions.deletePlan(paid.plan_id)),
      gone: await attempt(() => lava.subscriptions.retrievePlan(paid.plan_id)),
      gone_bundle: await attempt(() => lava.creditBundles.retrieve(updated.credit_bundles ? updated.credit_bundles[0].credit_bundle_id : 'x')),
    };
  },

  /** checkoutSessions.create in both 11.2.0 modes (the page is completed by the Python side). */
  async checkout(args) {
    const lava = new Lava(args.secret_key, { baseUrl: args.base_url });
    const subscription = await attempt(() =>
      lava.checkoutSessions.create({ checkout_mode: 'subscription', origin_url: args.origin_url, plan_id: args.plan_id }),
    );
    const bundle = args.customer_id
      ? await attempt(() =>
          lava.checkoutSessions.create({
            checkout_mode: 'credit_bundle',
            origin_url: args.origin_url,
            customer_id: args.customer_id,
            credit_bundle_id: args.credit_bundle_id,
          }),
        )
      : null;
    return {
      subscription,
      subscription_token: subscription.checkout_session_token ? decodeCheckoutToken(subscription.checkout_session_token) : null,
      bundle,
    };
  },
});
