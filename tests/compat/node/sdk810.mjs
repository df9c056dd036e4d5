// Drive the server under test with the official @lavapayments/nodejs 8.1.0 (npm alias lava810).
// The same wire as 8.0.0 without the version header: the server serves the merchant's default profile (compat).
// Surface differences from 2.5.0, read from its dist:
//   - checkout is `lava.checkoutSessions` and has ONLY create(): no retrieve, no list. A session is
//     read back through the SDK's public `lava.request(method, path, {query})`, the same transport
//     every resource uses (Authorization, Content-Type, X-Lava-API-Version, error handling).
//   - connections.list() takes only cursor and limit (reference_id is not forwarded).
//   - generateForwardToken({connection_id, meter_slug, provider_key?}).
// Usage: node sdk800.mjs '{"scenario": "...", "base_url": "http://127.0.0.1:PORT/v1/", "secret_key": "aks_test_..."}'
import { Lava } from 'lava810';

import { attempt, decodeBase64Json, decodeCheckoutToken, installedVersion, main, methodsOf, pageAll } from './lib.mjs';

const API_VERSION = null; // 8.1.0 sends no X-Lava-API-Version header

function client(args) {
  return new Lava(args.secret_key, { baseUrl: args.base_url });
}

await main({
  /** What this SDK version exposes: guards against a wrong package behind the alias. */
  async surface(args) {
    const lava = client(args);
    return {
      package_version: installedVersion('lava810'),
      api_version: API_VERSION,
      resources: {
        checkoutSessions: methodsOf(lava.checkoutSessions),
        connections: methodsOf(lava.connections),
        requests: methodsOf(lava.requests),
        usage: methodsOf(lava.usage),
      },
      generate_forward_token: typeof lava.generateForwardToken,
      request: typeof lava.request,
      openai_url: lava.providers.openai,
    };
  },

  /** Onboarding session (+ reference_id), its token as the checkout hook decodes it, read back, topup. */
  async checkout(args) {
    const lava = client(args);
    // reference_id is not in 8.0.0's CreateCheckoutSessionParams type, but create() sends params verbatim.
    const created = await attempt(() =>
      lava.checkoutSessions.create({
        checkout_mode: 'onboarding',
        origin_url: args.origin_url,
        reference_id: args.reference_id,
      }),
    );
    const id = created.checkout_session_id;
    const retrieved = id
      ? await attempt(() => lava.request('GET', `checkout_sessions/${id}`))
      : { error: 'create failed' };
    const listed = await attempt(() =>
      lava.request('GET', 'checkout_sessions', { query: { reference_id: args.reference_id, limit: '10' } }),
    );
    const topup = await attempt(() =>
      lava.checkoutSessions.create({
        checkout_mode: 'topup',
        origin_url: args.origin_url,
        connection_id: args.connection_id,
      }),
    );
    return {
      created,
      token: created.checkout_session_token ? decodeCheckoutToken(created.checkout_session_token) : null,
      retrieve_via: "lava.request('GET', 'checkout_sessions/<id>')",
      retrieved,
      listed,
      topup,
      topup_token: topup.checkout_session_token ? decodeCheckoutToken(topup.checkout_session_token) : null,
      unknown: await attempt(() => lava.request('GET', `checkout_sessions/${args.unknown_checkout_session_id}`)),
    };
  },

  /** list (limit), cursor paging, retrieve, delete, retrieve after delete. */
  async connections(args) {
    const lava = client(args);
    const list = (params) => lava.connections.list(params);
    const pages = await pageAll(list, { limit: args.page_limit }, 'connection_id');
    const retrieved = await attempt(() => lava.connections.retrieve(args.credited_connection_id));
    const deleted = await attempt(() => lava.connections.delete(args.delete_connection_id));
    return {
      pages,
      retrieved,
      deleted,
      after_delete: await attempt(() => lava.connections.retrieve(args.delete_connection_id)),
      pages_after_delete: await pageAll(list, { limit: args.page_limit }, 'connection_id'),
      unknown: await attempt(() => lava.connections.retrieve(args.unknown_connection_id)),
    };
  },

  /** requests.list with connection_id + metadata_filters, requests.retrieve of an unknown id. */
  async requests(args) {
    const lava = client(args);
    return {
      filtered: await attempt(() =>
        lava.requests.list({ limit: 5, connection_id: args.connection_id, metadata_filters: { team: 'a' } }),
      ),
      unfiltered: await attempt(() => lava.requests.list()),
      unknown: await attempt(() => lava.requests.retrieve(args.unknown_request_id)),
    };
  },

  /** usage.retrieve: UTC range for one connection, an offset range (the "+" must survive), filters. */
  async usage(args) {
    const lava = client(args);
    return {
      by_connection: await attempt(() =>
        lava.usage.retrieve({ start: args.start, end: args.end, connection_id: args.connection_id }),
      ),
      with_offset: await attempt(() => lava.usage.retrieve({ start: args.offset_start, end: args.offset_end })),
      with_metadata: await attempt(() =>
        lava.usage.retrieve({ start: args.start, end: args.end, metadata_filters: { team: 'a' } }),
      ),
    };
  },

  /** Every call with a key the server does not know must throw "Lava API Error: 401 ...". */
  async bad_key(args) {
    const lava = client(args);
    return {
      connections_list: await attempt(() => lava.connections.list({ limit: 1 })),
      checkout_create: await attempt(() =>
        lava.checkoutSessions.create({ checkout_mode: 'onboarding', origin_url: 'http://127.0.0.1:3000' }),
      ),
      usage_retrieve: await attempt(() => lava.usage.retrieve({ start: '2025-01-01T00:00:00Z' })),
    };
  },

  /** generateForwardToken for each {secret_key, options} in args.cases (no network). */
  async forward_token(args) {
    return {
      tokens: args.cases.map(({ secret_key: secretKey, options }) => {
        const token = client({ ...args, secret_key: secretKey }).generateForwardToken(options);
        return { token, decoded: decodeBase64Json(token) };
      }),
    };
  },
});
