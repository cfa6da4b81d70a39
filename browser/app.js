// The second test host (make browser): @mcp-ui/client's AppRenderer (React, with the
// ext-apps AppBridge inlined in its dist) and the TypeScript SDK's Client, bundled by esbuild into
// app.bundle.js. The Client is the host's own MCP client: it speaks to a real server
// process through a Playwright binding (window.mcpSend out, window.mcpReceive in; run.mjs
// pipes both to the server's stdio), initializes with the MCP Apps extension, lists the
// tools, calls the model's tool, and reads the view's HTML. AppRenderer renders the view
// through the sandbox proxy on the other origin. The host's approval: a tool whose
// annotations say destructive is passed on only after window.hostApprove (the person,
// played by run.mjs) says yes; a "no" is a JSON-RPC error to the view.
//
// AppRenderer is given no `client`: with one, AppBridge.connect() wires tools/call straight
// to it and drops onCallTool, so a host could not ask the person first. The documented
// other way (toolResourceUri + onReadResource + onCallTool) keeps the call in the host.
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { AppRenderer, UI_EXTENSION_CAPABILITIES } from "@mcp-ui/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ElicitRequestSchema, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";

class BindingTransport {
  async start() { window.mcpReceive = (message) => { if (this.onmessage) this.onmessage(message); }; }
  async send(message) { await window.mcpSend(message); }
  async close() { if (this.onclose) this.onclose(); }
}

// AppRenderer hands its hostContext to the bridge before the bridge is connected: the
// context is kept (ui/initialize carries it), but the host-context-changed notification it
// also sends rejects with "Not connected", unhandled. That one is expected, not an error.
window.addEventListener("unhandledrejection", (event) => {
  if (event.reason && event.reason.message === "Not connected") event.preventDefault();
});

window.startView = async function (options) {
  const client = new Client({ name: "agentjobs-apprenderer-host", version: "1" },
    { capabilities: { elicitation: { form: {} }, extensions: UI_EXTENSION_CAPABILITIES } });
  client.setRequestHandler(ElicitRequestSchema, async (request) => await window.hostElicit(request.params));
  await client.connect(new BindingTransport());
  const tools = (await client.listTools()).tools;
  const tool = tools.find((t) => t.name === options.tool);
  const uri = tool && tool._meta && tool._meta.ui && tool._meta.ui.resourceUri;
  const destructive = new Set(tools.filter((t) => t.annotations && t.annotations.destructiveHint).map((t) => t.name));
  const result = await client.callTool({ name: options.tool, arguments: options.arguments });
  window.viewCalls = [];
  window.sizes = [];
  let context = { ...options.hostContext, toolInfo: { tool } };
  const root = createRoot(document.getElementById("app"));
  // The same objects on every render: AppRenderer makes a new bridge (and frame) when
  // hostInfo, hostCapabilities or the sandbox URL is a new object.
  const sandbox = { url: new URL(options.sandboxUrl) };
  const hostInfo = { name: "agentjobs-apprenderer-host", version: "1" };
  const hostCapabilities = { serverTools: {}, serverResources: {}, logging: {} };
  const render = () => root.render(createElement(AppRenderer, {
    toolName: options.tool, toolResourceUri: uri, toolInput: options.arguments, toolResult: result,
    sandbox, hostContext: context, hostInfo, hostCapabilities,
    onReadResource: (params) => client.readResource(params),
    onCallTool: async (params) => {
      window.viewCalls.push({ name: params.name, arguments: params.arguments });
      if (options.refuse.includes(params.name))
        throw new McpError(ErrorCode.InvalidRequest, "This host does not pass " + params.name + " on.");
      if (destructive.has(params.name) && !(await window.hostApprove(params)))
        throw new McpError(ErrorCode.InvalidRequest, "The person did not approve " + params.name + ".");
      return await client.callTool(params);
    },
    onSizeChanged: (size) => window.sizes.push(size),
    onError: (error) => console.error("AppRenderer: " + error.message),
  }));
  window.setTheme = (theme) => { context = { ...context, theme }; render(); };
  render();
  return { result, uri };
};
