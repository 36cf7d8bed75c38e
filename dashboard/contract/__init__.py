"""The Live OpenAPI contract shared by the dashboard and the sandbox.

Facts from the public API documentation (written up, with sources, in docs/live-api.md): the
operations, their parameter rules, error codes and QPS limits, and the callback URL safety
rules. Both the upstream client/forms and the sandbox import this package; it imports
nothing from either of them.
"""
