// The test host page's script, bundled by esbuild with the pinned reference host side
// (@modelcontextprotocol/ext-apps/app-bridge) into host.bundle.js. The page runs on
// 127.0.0.1; the sandbox proxy it frames runs on localhost (another origin, as the
// spec asks). Tool calls are passed to run.mjs (window.hostCallTool, a Playwright
// binding), which sends them to the real server over stdio.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

window.startView = async function (options) {
  const frame = document.getElementById("sandbox");
  let context = options.hostContext;
  const bridge = new AppBridge(null, { name: "agentjobs-test-host", version: "1" },
    { serverTools: {}, logging: {} }, { hostContext: options.hostContext });
  window.bridge = bridge;
  window.sizes = [];
  window.viewCalls = [];
  // The host's approval: a destructive tool is passed on only after the person says yes.
  bridge.oncalltool = async (params) => {
    window.viewCalls.push({ name: params.name, arguments: params.arguments });
    if ((options.destructive || []).includes(params.name) && !(await window.hostApprove(params)))
      throw new Error("The person did not approve " + params.name + ".");
    return await window.hostCallTool(params);
  };
  bridge.onrequestdisplaymode = async ({ mode }) => {
    const modes = context.availableDisplayModes || ["inline"];
    const next = modes.includes(mode) ? mode : (context.displayMode || "inline");
    context = { ...context, displayMode: next };
    bridge.setHostContext(context);
    return { mode: next };
  };
  window.setTheme = (theme) => {
    context = { ...context, theme };
    bridge.setHostContext(context);
  };
  bridge.onsizechange = ({ width, height }) => {
    window.sizes.push({ width, height });
    if (height != null) frame.style.height = height + "px";
  };
  const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
  const ready = new Promise((resolve) => { bridge.onsandboxready = resolve; });
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  frame.src = options.sandboxUrl;
  await ready;
  await bridge.sendSandboxResourceReady({ html: options.html, sandbox: "allow-scripts allow-same-origin" });
  await initialized;
  await bridge.sendToolInput({ arguments: options.arguments });
  const sent = performance.now();
  await bridge.sendToolResult(options.result);
  return sent;
};
