"""The project's Python: one package per concern (see docs/architecture.md).

Operators' path: ops (the scripts' commands) over chart, kube and core; it needs Python, helm
and kubectl only. Everything else serves set-up, the tests and the measurements.
"""
