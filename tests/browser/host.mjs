// The host side of MCP Apps for the browser tests, built on the real AppBridge of
// @modelcontextprotocol/ext-apps (bundled by `npm run build-host`, which the tests run).
//
// It loads the view the MCP server serves into a sandboxed frame (scripts only, opaque origin),
// hands it one scenario's real tool call (arguments and result, as the test read them from the server),
// and records what the view asks of the host, for the tests to read from `window.__host`.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

const query = new URLSearchParams(location.search);
const theme = query.get("theme") === "dark" ? "dark" : "light";
const width = Number(query.get("width") || "720");
const state = { initialized: false, delivered: false, sizes: [], downloads: [], links: [], failures: [] };
window.__host = state;

async function main() {
  const scenario = await (await fetch(`/scenario/${encodeURIComponent(query.get("scenario"))}`)).json();
  document.body.className = theme;

  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.title = "Invoice view";
  frame.style.width = `${width}px`;
  document.body.append(frame);

  const bridge = new AppBridge(
    null,
    { name: "mcp-invoices-test-host", version: "1" },
    { openLinks: {}, downloadFile: {} },
    {
      hostContext: {
        theme,
        locale: "en-GB",
        displayMode: "inline",
        containerDimensions: { maxWidth: width },
        toolInfo: { tool: scenario.tool },
      },
    },
  );
  bridge.onsizechange = ({ height }) => {
    if (typeof height === "number") {
      frame.style.height = `${height}px`;
      state.sizes.push(height);
    }
  };
  bridge.onopenlink = async ({ url }) => {
    state.links.push(url);
    return {};
  };
  // A download asks the host for a resource of the server: this host reads it (through the test's
  // MCP client) and records what came back.
  bridge.ondownloadfile = async ({ contents }) => {
    for (const item of contents) {
      const response = await fetch(`/resource?uri=${encodeURIComponent(item.uri)}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      state.downloads.push({
        uri: item.uri,
        name: item.name,
        mimeType: item.mimeType,
        served: response.headers.get("content-type"),
        size: bytes.length,
        magic: String.fromCharCode(...bytes.slice(0, 5)),
      });
    }
    return {};
  };
  bridge.oninitialized = async () => {
    state.initialized = true;
    await bridge.sendToolInput({ arguments: scenario.arguments });
    await bridge.sendToolResult(scenario.result);
    state.delivered = true;
  };
  // The person switches the host's theme while the view is shown.
  window.__setTheme = (next) => bridge.sendHostContextChange({ theme: next });
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  frame.src = "/view.html";
}

main().catch((error) => state.failures.push(String(error && error.stack || error)));
