#!/usr/bin/env python3
"""An MCP client vtr did not write: the official MCP Python SDK (PyPI `mcp`).

It connects over streamable HTTP or stdio, initializes, lists the tools and
calls the ones a script names, all through the SDK's `ClientSession`, and
prints one JSON report on stdout for the Rust integration tests to assert on.
Run it with the venv .ci/setup makes: target/mcp-venv/bin/python.

Usage:
  mcp_client.py http URL --token FILE SCRIPT_JSON
  mcp_client.py stdio --command EXE [--arg A]... SCRIPT_JSON

  http       streamable HTTP to URL, sending `Authorization: Bearer <FILE>`
  stdio      start EXE with the given arguments and speak MCP on its stdio
             (it inherits this process's environment; its stderr is ours)
  SCRIPT_JSON  a JSON array of steps, called in order:
             {"tool": NAME, "args": {...}}
             {"tool": NAME, "args": {...},
              "repeat_until": {"contains": STRING, "timeout_s": N}}
             (the second calls again every 0.1 s until the text contains
             STRING or N seconds pass, and reports the last call)

The report:
  {"server": {"name", "version"}, "protocol_version", "sdk": {"mcp": VERSION},
   "tools": [{"name", "annotations": {only the hints the server set}}] by name,
   "calls": [{"tool", "is_error", "text", "structured"}]}
"text" joins the text contents; "structured" is structuredContent or null. A
tool error (isError) is reported, not fatal; so is a JSON-RPC error answering
tools/call, as is_error true, its message as text, plus "rpc_error": {"code",
"message"}. Exit 0 when the protocol worked, 1 with a message on stderr when
it did not (or when everything took longer than 30 s).
"""

import argparse
import importlib.metadata
import json
import os
import sys
import time
from contextlib import asynccontextmanager

import anyio
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

try:
    from mcp import MCPError
except ImportError:  # mcp 1.x spells it McpError
    from mcp.shared.exceptions import McpError as MCPError

TIMEOUT = 30
POLL_INTERVAL = 0.1
# ToolAnnotations' hints, by their wire names.
HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


class Failure(Exception):
    """The protocol did not work: the message goes to stderr, the exit code is 1."""


# --- transports -----------------------------------------------------------
# Both yield the (read, write) stream pair ClientSession takes.


@asynccontextmanager
async def http_transport(url, token, statuses):
    headers = {"Authorization": f"Bearer {token}"}
    try:
        # mcp >= 1.24 (and 2.x): headers go on an httpx client we hand over.
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client
    except ImportError:
        # Older releases took the headers themselves.
        from mcp.client.streamable_http import streamablehttp_client

        async with streamablehttp_client(url, headers=headers) as streams:
            yield streams[0], streams[1]
        return

    async def note_status(response):
        # The SDK turns an HTTP error into a bare JSON-RPC "Server returned an
        # error response"; keep the status so a failure can name it.
        if response.status_code >= 400:
            statuses.append(f"HTTP {response.status_code} for {response.request.method} {response.request.url}")

    async with create_mcp_http_client(headers=headers) as client:
        client.event_hooks["response"].append(note_status)
        # The 2.x transport yields (read, write), some 1.x ones a third item.
        async with streamable_http_client(url, http_client=client) as streams:
            yield streams[0], streams[1]


@asynccontextmanager
async def stdio_transport(command, args):
    # The SDK passes on only HOME, PATH and a few more by default; the server
    # under test gets everything the test harness gave us.
    params = StdioServerParameters(command=command, args=list(args), env=dict(os.environ))
    async with stdio_client(params) as streams:
        yield streams[0], streams[1]


# --- the session ------------------------------------------------------------


def wire(model):
    """A protocol model as its JSON (camelCase names, in 1.x and 2.x alike)."""
    return model.model_dump(mode="json", by_alias=True)


async def list_all_tools(session):
    tools = []
    result = wire(await session.list_tools())
    tools.extend(result.get("tools") or [])
    while result.get("nextCursor"):
        params = types.PaginatedRequestParams(cursor=result["nextCursor"])
        result = wire(await session.list_tools(params=params))
        tools.extend(result.get("tools") or [])
    report = []
    for tool in tools:
        annotations = tool.get("annotations") or {}
        hints = {key: annotations[key] for key in HINTS if annotations.get(key) is not None}
        report.append({"name": tool["name"], "annotations": hints})
    return sorted(report, key=lambda tool: tool["name"])


async def call_once(session, name, args):
    try:
        result = wire(await session.call_tool(name, args))
    except MCPError as e:
        error = e.error
        return {
            "tool": name,
            "is_error": True,
            "text": error.message,
            "structured": None,
            "rpc_error": {"code": error.code, "message": error.message},
        }
    text = "".join(block.get("text", "") for block in result.get("content") or [] if block.get("type") == "text")
    return {
        "tool": name,
        "is_error": bool(result.get("isError")),
        "text": text,
        "structured": result.get("structuredContent"),
    }


async def run_step(session, step):
    name, args, until = step["tool"], step.get("args") or {}, step.get("repeat_until")
    if until is None:
        return await call_once(session, name, args)
    deadline = time.monotonic() + float(until.get("timeout_s", 10))
    while True:
        call = await call_once(session, name, args)
        if until["contains"] in call["text"] or time.monotonic() >= deadline:
            return call
        await anyio.sleep(POLL_INTERVAL)


async def session_report(transport, script, phase):
    async with transport as (read, write):
        async with ClientSession(read, write) as session:
            phase[0] = "initialize"
            init = wire(await session.initialize())
            info = init.get("serverInfo") or {}
            report = {
                "server": {"name": info.get("name"), "version": info.get("version")},
                "protocol_version": init.get("protocolVersion"),
                "sdk": {"mcp": importlib.metadata.version("mcp")},
            }
            phase[0] = "tools/list"
            report["tools"] = await list_all_tools(session)
            report["calls"] = []
            for step in script:
                phase[0] = f"tools/call {step['tool']}"
                report["calls"].append(await run_step(session, step))
            phase[0] = "closing the session"
    return report


def leaves(error):
    """The exceptions inside (nested) exception groups, or the one given."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


async def run(transport, script, statuses):
    phase = ["connecting"]
    try:
        with anyio.fail_after(TIMEOUT):
            return await session_report(transport, script, phase)
    except Exception as error:
        if isinstance(error, TimeoutError):
            message = f"timed out after {TIMEOUT} s ({phase[0]})"
        else:
            details = "; ".join(f"{type(e).__name__}: {e}" for e in leaves(error))
            message = f"{phase[0]} failed: {details}"
        if statuses:
            message += " [" + "; ".join(statuses) + "]"
        raise Failure(message) from error


# --- command line -----------------------------------------------------------


def parse_script(text):
    try:
        script = json.loads(text)
    except json.JSONDecodeError as e:
        raise Failure(f"SCRIPT_JSON is not JSON: {e}") from e
    if not isinstance(script, list):
        raise Failure("SCRIPT_JSON must be a JSON array of steps")
    for i, step in enumerate(script):
        if not isinstance(step, dict) or not isinstance(step.get("tool"), str):
            raise Failure(f"step {i}: want an object with a string \"tool\"")
        if not isinstance(step.get("args", {}), dict):
            raise Failure(f"step {i}: \"args\" must be an object")
        until = step.get("repeat_until")
        if until is not None and not (isinstance(until, dict) and isinstance(until.get("contains"), str)):
            raise Failure(f"step {i}: \"repeat_until\" wants a string \"contains\"")
    return script


def main():
    parser = argparse.ArgumentParser(description="An MCP client on the official Python SDK.")
    modes = parser.add_subparsers(dest="mode", required=True)
    http = modes.add_parser("http", help="streamable HTTP")
    http.add_argument("url")
    http.add_argument("--token", required=True, help="file holding the bearer token")
    http.add_argument("script")
    stdio = modes.add_parser("stdio", help="a server started as a child process")
    stdio.add_argument("--command", required=True)
    stdio.add_argument("--arg", action="append", default=[], dest="args")
    stdio.add_argument("script")
    try:
        args = parser.parse_args()
    except SystemExit as e:
        # A usage error is a failure like any other: 1, not argparse's 2.
        sys.exit(1 if e.code == 2 else e.code)

    statuses = []
    try:
        script = parse_script(args.script)
        if args.mode == "http":
            try:
                with open(args.token, encoding="utf-8") as f:
                    token = f.read().strip()
            except OSError as e:
                raise Failure(f"reading the token: {e}") from e
            transport = http_transport(args.url, token, statuses)
        else:
            transport = stdio_transport(args.command, args.args)
        report = anyio.run(run, transport, script, statuses)
    except Failure as e:
        print(f"mcp_client: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump(report, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
