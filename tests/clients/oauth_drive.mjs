// The TypeScript SDK 1.x client's own OAuth support against mcp-invoices' authorization server.
//
//   node oauth_drive.mjs <package dir holding node_modules/@modelcontextprotocol/sdk> <server url> <redirect url>
//
// A conversation over stdin/stdout, one JSON line each way, so that the pytest test can play the
// person in the browser (headless Chromium) and revoke the grant in between:
//   out {"authorize": url}          the SDK asked to send the person to the authorization URL
//   in  {"code": code}              what the browser brought back to the redirect URI
//   out {"calls": [...], "tokens"}  get_invoice of an own and of another customer's invoice, the tokens
//   in  {"refresh": true}           (the test may refresh through the SDK's own refreshAuthorization)
//   out {"refreshed": {...}}
//   in  {"again": true}             after the test revoked the grant
//   out {"again": {...}}            what the client saw calling once more
// It never decides pass or fail: the pytest test does.
import { createInterface } from "node:readline";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir, serverUrl, redirectUrl] = process.argv.slice(2);
const sdk = (module) =>
  import(pathToFileURL(join(packageDir, "node_modules/@modelcontextprotocol/sdk/dist/esm", module)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const { UnauthorizedError, refreshAuthorization, discoverAuthorizationServerMetadata } = await sdk("client/auth.js");

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (message) => process.stdout.write(JSON.stringify(message) + "\n");
const hear = async () => JSON.parse((await lines.next()).value);

const store = { client: undefined, tokens: undefined, verifier: undefined };
const authProvider = {
  get redirectUrl() { return redirectUrl; },
  get clientMetadata() {
    return {
      client_name: "TypeScript SDK client",
      redirect_uris: [redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  },
  clientInformation: () => store.client,
  saveClientInformation: (info) => { store.client = info; },
  tokens: () => store.tokens,
  saveTokens: (tokens) => { store.tokens = tokens; },
  redirectToAuthorization: (url) => { say({ authorize: url.toString() }); },
  saveCodeVerifier: (verifier) => { store.verifier = verifier; },
  codeVerifier: () => store.verifier,
};

async function call(client, id) {
  try {
    const result = await client.callTool({ name: "get_invoice", arguments: { invoice_id: id } });
    const text = (result.content ?? []).map((block) => block.text ?? "").join("\n");
    return { id, isError: Boolean(result.isError), structured: result.structuredContent ?? null, text };
  } catch (error) {
    return { id, thrown: String(error && error.message ? error.message : error) };
  }
}

async function connected() {
  const client = new Client({ name: "oauth-drive", version: "0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider }));
  return client;
}

let client;
try {
  client = await connected();
  say({ error: "connected without signing in" });
  process.exit(1);
} catch (error) {
  if (!(error instanceof UnauthorizedError)) {
    say({ error: `not an UnauthorizedError: ${error}` });
    process.exit(1);
  }
}
const { code } = await hear();
const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider });
await transport.finishAuth(code);
client = new Client({ name: "oauth-drive", version: "0" });
await client.connect(transport);
say({ calls: [await call(client, "ord_1001"), await call(client, "ord_2001")], tokens: store.tokens, client: store.client });

const next = await hear();
if (next.refresh) {
  const metadata = await discoverAuthorizationServerMetadata(new URL(serverUrl).origin);
  const before = store.tokens;
  const refreshed = await refreshAuthorization(new URL(serverUrl).origin, {
    metadata, clientInformation: store.client, refreshToken: before.refresh_token, resource: new URL(serverUrl),
  });
  store.tokens = refreshed;
  await client.close();
  client = await connected();
  say({ refreshed: { rotated: refreshed.refresh_token !== before.refresh_token, call: await call(client, "ord_1001") }, tokens: store.tokens });
  await hear();
}
say({ again: await call(client, "ord_1001") });
await client.close().catch(() => {});
process.exit(0);
