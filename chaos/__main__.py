"""`python -m chaos` (`make chaos`): drive trainees through the system while faults strike,
then audit. Exit 0 when nothing was lost or done twice, 1 otherwise."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from chaos.faults import FULL, SHORT
from chaos.progress import Progress
from chaos.report import save, table
from chaos.run import RunSettings, run


def parse(argv: list[str]) -> RunSettings:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__)
    parser.add_argument("--trainees", type=int, default=1000)
    parser.add_argument("--poison", type=int, default=50, help="poison messages per topic")
    parser.add_argument("--seed", type=int, default=2002, help="the same seed, the same plan")
    parser.add_argument("--short", action="store_true", help="the short faults of make test")
    parser.add_argument("--keep", action="store_true", help="keep the logs and data")
    args = parser.parse_args(argv)
    settings = RunSettings(
        trainees=args.trainees, poison_per_topic=args.poison, seed=args.seed, keep=args.keep
    )
    return replace(settings, scale=SHORT if args.short else FULL)


def main(argv: list[str]) -> int:
    settings = parse(argv)
    outcome = asyncio.run(run(settings, Progress()))
    print()
    print(table(outcome))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path("chaos") / "results" / f"chaos-{stamp}.json"
    save(outcome, path)
    print(f"\nsaved {path}")
    return 0 if outcome.audit.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
