// One non-streaming and one streaming chat completion through the Lava gateway with the
// official openai npm SDK, given the Lava-style base URL (…/v1/forward?u=https://api.openai.com/v1).
// The SDK puts the endpoint path inside u= and URL-encodes it. Prints one JSON object.
import OpenAI from "openai";

const baseURL = process.env.LAVA_OPENAI_URL;
const apiKey = process.env.LAVA_TOKEN;
if (!baseURL || !apiKey) throw new Error("set LAVA_OPENAI_URL and LAVA_TOKEN");

const seen = [];
const recordingFetch = async (url, init) => {
  const u = new URL(url);
  seen.push(u.pathname + u.search);
  return fetch(url, init);
};
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, fetch: recordingFetch });

const plain = await client.chat.completions
  .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello from node fake-words=6" }] })
  .withResponse();

const streamed = await client.chat.completions
  .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "stream from node" }], stream: true })
  .withResponse();
let text = "";
let usageChunks = 0;
for await (const chunk of streamed.data) {
  if (chunk.usage) usageChunks += 1;
  for (const choice of chunk.choices) text += choice.delta?.content ?? "";
}

console.log(
  JSON.stringify({
    plain: {
      request_id: plain.response.headers.get("x-lava-request-id"),
      usage: plain.data.usage,
      content: plain.data.choices[0].message.content,
    },
    stream: {
      request_id: streamed.response.headers.get("x-lava-request-id"),
      text,
      usage_chunks: usageChunks,
      raw_request_line: seen[1],
    },
  }),
);
