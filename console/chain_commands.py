"""Command-line commands that work on a chain directly: `demo` (what `make run` starts for now)."""
from __future__ import annotations

import argparse
import asyncio
import random

from engine.bootstrap import bootstrap, load_wallets
from engine.chain.factory import describe, open_cluster
from engine.config import load_config
from engine.demo import run_scenario
from engine.frt.client import FrtClient


async def _demo(settings, seed: int) -> int:
    core, created, authority = load_wallets(settings)
    cluster = await open_cluster(settings, upgrade_authority=authority)
    try:
        print(f"chain: {describe(cluster)}")
        print(f"program: {cluster.program_id}")
        print(f"data directory: {settings.data_dir}")
        report = await bootstrap(cluster, settings, core, authority, core_created=created)
        for line in report.lines():
            print(line)
        outcome = await run_scenario(FrtClient(cluster), core, seed=seed, report=print)
        surprises = outcome.unexpected
        print(f"{len(outcome.steps)} operations, {len(surprises)} surprising outcomes")
        return 1 if surprises else 0
    finally:
        cluster.checkpoint()  # the embedded ledger's state, kept for the next run
        await cluster.close()


def cmd_demo(args: argparse.Namespace) -> int:
    settings = load_config(args.config).settings
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    return asyncio.run(_demo(settings, seed))


def register_demo(subparsers) -> None:
    demo = subparsers.add_parser("demo", help="run a short headless scenario on the configured chain")
    demo.add_argument("--seed", type=int, help="seed for the scenario's wallets (default: random)")
    demo.set_defaults(func=cmd_demo)
