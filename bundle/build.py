"""make bundle: the Claude Desktop bundle dist/agentjobs-mcp.mcpb (MCP Bundle, formerly DXT).

An .mcpb file is a zip with manifest.json at its top: Claude Desktop installs it on a
double-click, asks the user for the settings under `user_config` (the API key is
`sensitive`, so it lives in the OS keychain), and starts the server as `mcp_config`
says, with ${__dirname} (the unpacked folder) and ${user_config.NAME} substituted.

The manifest is made here, from the server itself: its version and its tool table, so
the bundle can never list a tool the server does not have. Steps:
  1. stage build/bundle/: manifest.json, agentjobs_mcp.py, LICENSE, README.md;
  2. with --mcpb PATH (the official packer, @anthropic-ai/mcpb, pinned in dev/node):
     `mcpb validate` the manifest and `mcpb pack` the folder into dist/agentjobs-mcp.mcpb;
     without it, zip the folder with the standard library (what the suite does);
  3. with --mcpb, run the suite's BundleTest on the packed file: it unpacks it, asks the
     mcpb package's own getMcpConfigForManifest (the code hosts use) for the command,
     starts the server from it and runs a real session against the stand-in API.
Stdlib only; runs on CPython 3.6+.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
import agentjobs_mcp  # noqa: E402

NAME = "agentjobs-mcp"
STAGE = os.path.join(ROOT, "build", "bundle")
OUTPUT = os.path.join(ROOT, "dist", NAME + ".mcpb")
FILES = ("agentjobs_mcp.py", "LICENSE", "README.md")
# What the server runs on (tested by `make test-all`); the manifest says the same.
PYTHON_RANGE = ">=3.6"


def first_sentence(text):
    """The sentence a bundle listing shows for a tool."""
    end = text.find(". ")
    return text if end < 0 else text[:end + 1]


# The settings Claude Desktop asks for: (user_config key, environment variable, option).
# One more setting is one more entry. An optional setting without a default would reach
# the server as the literal "${user_config.NAME}" (hosts substitute only what has a
# value): every optional one has one; "none" says "off" where the server refuses an empty value.
SETTINGS = [
    ("api_key", "AICONNECT_API_KEY", {
        "type": "string", "title": "API key", "sensitive": True, "required": True,
        "description": "Your AI Connect API key (AICONNECT_API_KEY); kept in the OS keychain."}),
    ("api_url", "AICONNECT_API_URL", {
        "type": "string", "title": "API URL", "required": False, "default": agentjobs_mcp.DEFAULT_API_URL,
        "description": "The Agent Jobs API base URL (AICONNECT_API_URL), ending in /api/v0."}),
    ("org_id", "DEFAULT_ORG_ID", {
        "type": "string", "title": "Organization", "required": False, "default": agentjobs_mcp.DEFAULT_ORG,
        "description": "The organization used where a call names none (DEFAULT_ORG_ID)."}),
    ("timezone", "DEFAULT_TIMEZONE", {
        "type": "string", "title": "Time zone", "required": False, "default": agentjobs_mcp.DEFAULT_TZ,
        "description": "Your time zone, told to the agent (DEFAULT_TIMEZONE), e.g. Europe/Berlin."}),
    ("timeout", "AGENTJOBS_TIMEOUT", {
        "type": "number", "title": "Timeout (seconds)", "required": False,
        "default": agentjobs_mcp.HTTP_TIMEOUT_S, "min": 1, "max": 3600,
        "description": "How long one tool call may wait for the API, retries included (AGENTJOBS_TIMEOUT)."}),
    ("read_only", "AGENTJOBS_READ_ONLY", {
        "type": "boolean", "title": "Read-only", "required": False, "default": False,
        "description": "Leave out cancel_job, cancel_jobs and create_job: the agent can look, not change "
                       "(AGENTJOBS_READ_ONLY)."}),
    ("confirm", "AGENTJOBS_CONFIRM", {
        "type": "string", "title": "Confirm first", "required": False, "default": "none",
        "description": "Tools you must confirm in a dialog before they run, comma-separated: "
                       "cancel_job, cancel_jobs, create_job (AGENTJOBS_CONFIRM); none: no more than Claude's own."}),
    ("audit_log", "AGENTJOBS_AUDIT_LOG", {
        "type": "string", "title": "Audit log file", "required": False, "default": "none",
        "description": "A file that gets one JSON line per cancel_job, cancel_jobs or create_job attempt "
                       "(AGENTJOBS_AUDIT_LOG), e.g. /Users/me/agentjobs-audit.jsonl; none: no audit log."}),
    # Off by default: customer text is marked either way, and lockdown hides what most
    # questions need (why a job failed, what the customer answered).
    ("lockdown", "AGENTJOBS_LOCKDOWN", {
        "type": "boolean", "title": "Lockdown", "required": False, "default": False,
        "description": "Keep all customer- and AI-written text (results, params, names, "
                       "log lines) from the agent, and ask before cancel_job, cancel_jobs and create_job "
                       "(AGENTJOBS_LOCKDOWN)."}),
]


def prompts():
    """The server's prompts as the manifest lists them (the server renders them itself)."""
    listed = []
    for entry in agentjobs_mcp.PROMPTS:
        names = list(entry.input_schema.get("properties", {}))
        listed.append({"name": entry.name, "description": entry.description, "arguments": names,
                       "text": "%s. %s" % (entry.title, " ".join(
                           "%s: ${arguments.%s}." % (name, name) for name in names))})
    return listed


def manifest():
    """manifest.json (MCPB manifest_version 0.3) for this server, as a dict."""
    tools = [{"name": entry.name, "description": first_sentence(entry.description)}
             for entry in agentjobs_mcp.TOOLS]
    env = dict((variable, "${user_config.%s}" % key) for key, variable, _ in SETTINGS)
    return {
        "manifest_version": "0.3",
        "name": NAME,
        "display_name": "AI Connect Agent Jobs",
        "version": agentjobs_mcp.__version__,
        "description": "Cancel, list, inspect, create and count AI Connect Agent Jobs, "
                       "read their activity trail and look up job types.",
        "long_description": (
            "A single-file MCP server for the AI Connect Agent Jobs API. It needs nothing "
            "but Python (3.6 or newer) and talks to no host but the API URL you set. "
            "cancel_job and cancel_jobs cannot be undone and create_job reaches real customers: all are "
            "marked as such (MCP tool annotations), so Claude Desktop asks before running them."),
        "author": {"name": "agentjobs-mcp developers"},
        "license": "MIT",
        "keywords": ["agent jobs", "ai connect", "jobs", "mcp"],
        "server": {
            "type": "python",
            "entry_point": "agentjobs_mcp.py",
            "mcp_config": {
                # macOS and Linux have python3; the python.org installer on Windows
                # puts python (and the py launcher) on PATH, not python3.
                "command": "python3",
                "args": ["${__dirname}/agentjobs_mcp.py"],
                "env": env,
                "platform_overrides": {
                    "win32": {"command": "python", "args": ["${__dirname}\\agentjobs_mcp.py"],
                              "env": env},
                },
            },
        },
        "tools": tools,
        "compatibility": {
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": PYTHON_RANGE},
        },
        "prompts": prompts(),
        "user_config": dict((key, option) for key, _, option in SETTINGS),
    }


def stage(folder=STAGE):
    """Write the bundle's files into `folder` (emptied first); return its path."""
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    with open(os.path.join(folder, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest(), handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    for name in FILES:
        shutil.copyfile(os.path.join(ROOT, name), os.path.join(folder, name))
    return folder


def zip_folder(folder, output):
    """The bundle as the standard library makes it: a plain zip of the folder."""
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(os.listdir(folder)):
            archive.write(os.path.join(folder, name), name)
    return output


def mcpb_module(command):
    """The mcpb package's library entry (dist/index.js), from its CLI (dist/cli/cli.js)."""
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(command))))
    return os.path.join(package, "dist", "index.js")


def run(argv):
    sys.stdout.write("$ %s\n" % " ".join(argv))
    sys.stdout.flush()
    subprocess.check_call(argv, cwd=ROOT)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mcpb", metavar="PATH",
                        help="the mcpb command: validate, pack and test with it")
    parser.add_argument("--output", default=OUTPUT, help="the .mcpb to write (%(default)s)")
    opts = parser.parse_args(argv)
    folder = stage()
    if not os.path.isdir(os.path.dirname(opts.output)):
        os.makedirs(os.path.dirname(opts.output))
    if os.path.exists(opts.output):
        os.remove(opts.output)
    if not opts.mcpb:
        zip_folder(folder, opts.output)
        sys.stdout.write("wrote %s (zip; no mcpb given, not validated)\n" % opts.output)
        return 0
    run([opts.mcpb, "validate", os.path.join(folder, "manifest.json")])
    run([opts.mcpb, "pack", folder, opts.output])
    run([opts.mcpb, "info", opts.output])
    env = dict(os.environ, AGENTJOBS_BUNDLE=opts.output,
               AGENTJOBS_MCPB_MODULE=mcpb_module(opts.mcpb))
    sys.stdout.write("$ %s test_agentjobs_mcp.py BundleTest  (on %s)\n" % (sys.executable, opts.output))
    sys.stdout.flush()
    return subprocess.call([sys.executable, os.path.join(ROOT, "test_agentjobs_mcp.py"), "BundleTest"],
                           cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
