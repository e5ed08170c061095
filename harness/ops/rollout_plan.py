"""Print what a rollout of each workload kind needs from the IP pool, for the given values.

    scripts/rollout-plan [--release NAME] [-n NAMESPACE] [-f FILE ...] [--set KEY=VALUE ...]
                         [--format text|md]

Needs helm only: the chart is rendered, nothing reaches a cluster (harness.chart.plan).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from harness.chart.plan import plans, report
from harness.chart.render import RenderError, render
from harness.ops import cli


def main(argv: Sequence[str] | None = None) -> int:
    name = cli.prog("harness.ops.rollout_plan")
    parser = argparse.ArgumentParser(
        prog=name, description=__doc__.splitlines()[0], epilog=cli.EXIT_CODES
    )
    cli.add_values_arguments(parser)
    parser.add_argument("--format", choices=["text", "md"], default="text")
    args = parser.parse_args(argv)

    def print_plan() -> int:
        set_values = cli.parse_set_args(args.set_values)
        helm = cli.helm_tool()
        cli.report_tools(helm)
        release = {"release": args.release, "namespace": args.namespace, "helm": helm.path}
        found = plans(args.values, set_values, **release)
        try:
            configured = render(values_files=args.values, set=set_values, **release)
        except RenderError:
            # Still print the plan: it shows which kind would work with these values.
            print(report(found, None, args.format), end="", flush=True)
            raise
        print(report(found, configured.workload["kind"], args.format), end="")
        return 0

    return cli.run_main(name, print_plan)


if __name__ == "__main__":
    sys.exit(main())
