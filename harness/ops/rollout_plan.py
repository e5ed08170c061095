"""Print what a rollout of each workload kind needs from the IP pool, for the given values.

    scripts/rollout-plan [--release NAME] [-n NAMESPACE] [-f FILE ...] [--set KEY=VALUE ...]
                         [--chart REF [--version V]] [-o text|md|json]

Needs helm only: the chart is rendered, nothing reaches a cluster (harness.chart.plan). It
exits 2 when the chart refuses the values as given, a rollout the pool cannot hold among
them: the plan still prints, and shows which kind would work.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from harness.chart.plan import plans, report
from harness.chart.render import RenderError
from harness.ops import cli
from harness.ops.deploy import described


def main(argv: Sequence[str] | None = None) -> int:
    name = cli.prog("harness.ops.rollout_plan")
    parser = argparse.ArgumentParser(
        prog=name,
        description=__doc__.splitlines()[0],
        epilog="exits 2 when the chart refuses the values (the pool cannot hold the rollout"
        " as configured, or another check); " + cli.EXIT_CODES,
    )
    cli.add_values_arguments(parser)
    parser.add_argument(
        "--output",
        "-o",
        "--format",
        dest="output",
        choices=["text", "md", "json"],
        default="text",
        help="text for people, md for a table, json for CI (default text)",
    )
    args = parser.parse_args(argv)

    def print_plan() -> int:
        helm = cli.helm_tool()
        cli.report_tools(helm)
        with described(args, helm.path) as release:
            found = plans(helm=helm.path, **release.chart_options())
            try:
                configured = release.manifests(helm.path)
            except RenderError:
                # Still print the plan: it shows which kind would work with these values.
                print(report(found, None, args.output), end="", flush=True)
                raise
            print(report(found, configured.workload["kind"], args.output), end="")
        return 0

    return cli.run_main(name, print_plan)


if __name__ == "__main__":
    sys.exit(main())
