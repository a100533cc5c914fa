// Drives mcp-invoices with the TypeScript SDK 1.x client, the way Claude Desktop, VS Code and Cursor do.
//
//   node drive.mjs <package dir holding node_modules/@modelcontextprotocol/sdk>  < plan.json  > report.json
//
// The plan (written by tests/clients/test_independent_clients.py) names the transport and, per tool
// name, one argument set that must succeed and one that must fail. This script lists the tools and
// resource templates the server offers, calls every tool twice and reads every template once, and
// reports what the client saw -- including any exception the client threw -- as JSON on stdout.
// It never decides pass or fail: the pytest test does.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const packageDir = process.argv[2];
const plan = JSON.parse(readFileSync(0, "utf8"));
const sdk = (module) =>
  import(pathToFileURL(join(packageDir, "node_modules/@modelcontextprotocol/sdk/dist/esm", module)).href);

const { Client } = await sdk("client/index.js");
const sdkVersion = JSON.parse(
  readFileSync(join(packageDir, "node_modules/@modelcontextprotocol/sdk/package.json"), "utf8"),
).version;

let transport;
if (plan.transport === "stdio") {
  const { StdioClientTransport } = await sdk("client/stdio.js");
  transport = new StdioClientTransport({
    command: plan.command,
    args: plan.args,
    env: { ...process.env, ...plan.env },
    cwd: plan.cwd,
    stderr: "ignore",
  });
} else {
  const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
  transport = new StreamableHTTPClientTransport(new URL(plan.url), {
    requestInit: { headers: { Authorization: `Bearer ${plan.token}` } },
  });
}

const client = new Client({ name: "mcp-invoices-ts-client-test", version: "1.0.0" });
// The protocol version this client and the server agreed on, from the initialize result itself.
let negotiated = null;
const request = client.request.bind(client);
client.request = async (message, ...rest) => {
  const result = await request(message, ...rest);
  if (message.method === "initialize") negotiated = result.protocolVersion;
  return result;
};

const timeout = { timeout: plan.request_timeout_ms ?? 30000 };
const describe = (error) => ({ name: error?.name ?? "Error", message: String(error?.message ?? error) });

const report = { sdk_version: sdkVersion, transport: plan.transport, tools: [], calls: [], resources: [] };
try {
  await client.connect(transport, timeout);
  report.protocol_version = negotiated;
  const { tools } = await client.listTools({}, timeout); // also primes the client's outputSchema validation
  report.tools = tools.map((tool) => tool.name);
  for (const tool of tools) {
    const cases = plan.cases[tool.name];
    if (!cases) {
      report.calls.push({ tool: tool.name, case: "missing", exception: { name: "NoCase", message: "no entry" } });
      continue;
    }
    for (const which of ["success", "error"]) {
      const entry = { tool: tool.name, case: which };
      try {
        const result = await client.callTool({ name: tool.name, arguments: cases[which] }, undefined, timeout);
        entry.is_error = result.isError === true;
        entry.content_types = result.content.map((block) => block.type);
        entry.texts = result.content.filter((block) => block.type === "text").map((block) => block.text);
        entry.structured = result.structuredContent ?? null;
      } catch (error) {
        entry.exception = describe(error);
      }
      report.calls.push(entry);
    }
  }
  const { resourceTemplates } = await client.listResourceTemplates({}, timeout);
  for (const template of resourceTemplates) {
    const uri = template.uriTemplate.replace(/\{(\w+)\}/g, (_, name) => plan.template_values[name] ?? `{${name}}`);
    const entry = { template: template.uriTemplate, uri };
    try {
      const { contents } = await client.readResource({ uri }, timeout);
      entry.contents = contents.map((item) => ({
        uri: item.uri,
        mime_type: item.mimeType ?? null,
        text: item.text ?? null,
        blob_prefix: item.blob ? Buffer.from(item.blob, "base64").subarray(0, 5).toString("latin1") : null,
      }));
    } catch (error) {
      entry.exception = describe(error);
    }
    report.resources.push(entry);
  }
} catch (error) {
  report.fatal = describe(error);
} finally {
  await client.close().catch(() => {});
}
process.stdout.write(JSON.stringify(report));
