"""The context budget of agentjobs_mcp.py (issue 11): what it costs a model's context window.

Every conversation with the server configured carries its tool definitions, and every
answer lands in the context. Sizes are characters of compact JSON
(json.dumps(x, separators=(",", ":"), ensure_ascii=False); about 4 characters a token),
deterministic for a given file, so the test suite checks the same budgets.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

# Tool definitions as a model sees them, [{name, description, inputSchema}]: each tool's
# share, and all eight together (the shares add up to it).
SHARES = {"cancel_job": 450, "get_job": 690, "list_jobs": 1580, "get_jobs_stats": 680,
          "get_job_activities": 1000, "create_job": 1410, "get_job_type": 390, "get_context": 300}
DEFINITIONS_BUDGET = 6500


def compact_size(value):
    """Characters of compact JSON: the measure of issue 11."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def definition_sizes(tools):
    """[(name, characters)] of each tool's definition as a model sees it."""
    return [(entry.name, compact_size({"name": entry.name, "description": entry.description,
                                       "inputSchema": entry.published_schema}))
            for entry in tools]
