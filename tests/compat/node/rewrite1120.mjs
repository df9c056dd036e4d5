// Drive /v1/rewrite with the official @lavapayments/nodejs 11.2.0 (npm alias lava1120):
// `lava.gateway(url, {format, body})` POSTs `${baseUrl}rewrite/${format}/${url}` with the URL raw.
// Usage: node rewrite1120.mjs '{"base_url": "http://127.0.0.1:PORT/v1/", "secret_key": "aks_test_...",
//                              "url": "https://api.anthropic.com/v1/messages", "format": "openai", "body": {...}, "provider_key"?: "..."}'
// Prints one JSON line: {"ok": true, "response": ...} or {"ok": false, "error": "<message>"}.
import { Lava } from 'lava1120';

const args = JSON.parse(process.argv[2]);
const lava = new Lava(args.secret_key, { baseUrl: args.base_url });
try {
  const options = { format: args.format, body: args.body };
  if (args.provider_key) options.provider_key = args.provider_key;
  const response = await lava.gateway(args.url, options);
  console.log(JSON.stringify({ ok: true, response }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err && err.message) }));
}
