"""The project's Python harness: tools, rendering, deploying."""
