"""The `frt-stress` command line.

Each subcommand group has a registrar ``register_<name>(subparsers)`` that adds its parser
and points ``func`` at a ``cmd_<name>(args) -> int`` handler.  To add a command, write a
registrar (here or in its own module) and list it in ``registrars()``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from engine.config import ConfigError, default_config_path, load_config, render_default_toml, write_config_file

SECRET_KEYS = {"api_key"}  # never printed by `config show`
Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def config_path(args: argparse.Namespace) -> Path:
    """The config file this invocation uses: --config, else $FRT_STRESS_CONFIG, else the default."""
    return Path(args.config).expanduser() if args.config else default_config_path()


# --------------------------------------------------------------------------- config

def cmd_config_init(args: argparse.Namespace) -> int:
    path = Path(args.path).expanduser() if args.path else config_path(args)
    write_config_file(path, render_default_toml(), force=args.force)
    print(f"wrote default configuration to {path}")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    values = {key: ("<redacted>" if value and key.rsplit(".", 1)[-1] in SECRET_KEYS else value)
              for key, value in loaded.values().items()}
    path = str(loaded.path) if loaded.path else None
    if args.json:
        print(json.dumps({"path": path, "values": values, "sources": loaded.sources}, indent=2))
        return 0
    print(f"config file: {path or 'none (defaults)'}")
    width = max(len(key) for key in values)
    for key, value in values.items():
        print(f"{key:<{width}} = {json.dumps(value):<48} ({loaded.sources[key]})")
    return 0


def cmd_config_path(args: argparse.Namespace) -> int:
    print(config_path(args))
    return 0


def register_config(subparsers) -> None:
    config = subparsers.add_parser("config", help="create and inspect the configuration file")
    actions = config.add_subparsers(dest="config_command", metavar="ACTION")
    config.set_defaults(func=lambda args: _usage(config))

    init = actions.add_parser("init", help="write a commented default config file")
    init.add_argument("--path", help="where to write it (default: the config path)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=cmd_config_init)

    show = actions.add_parser("show", help="print the effective configuration and where each value came from")
    show.add_argument("--json", action="store_true", help="print a JSON object instead")
    show.set_defaults(func=cmd_config_show)

    path = actions.add_parser("path", help="print the config file path")
    path.set_defaults(func=cmd_config_path)


# --------------------------------------------------------------------------- localnet

def cmd_localnet(args: argparse.Namespace) -> int:
    import asyncio

    from rpcapi.solana_localnet import run_localnet

    settings = load_config(args.config).settings
    host = args.host or settings.localnet.host
    port = settings.localnet.port if args.port is None else args.port
    return asyncio.run(run_localnet(settings, host, port))


def register_localnet(subparsers) -> None:
    localnet = subparsers.add_parser(
        "localnet", help="serve the embedded chain as a Solana JSON-RPC endpoint (like a test validator)")
    localnet.add_argument("--host", help="address to listen on (default: localnet.host, 127.0.0.1)")
    localnet.add_argument("--port", type=int, help="port to listen on (default: localnet.port, 8899)")
    localnet.set_defaults(func=cmd_localnet)


# --------------------------------------------------------------------------- wiring

def registrars() -> list[Registrar]:
    """Subcommand registrars, in help order. Imported here, not at the top: each command module
    brings its own dependencies (Textual, aiohttp servers, the engine)."""
    from console.api_commands import register_api
    from console.chain_commands import register_demo
    from console.console_command import register_console
    from console.findings_command import register_findings
    from console.reproduce_commands import register_reproduce
    from console.run_command import register_run

    return [register_console, register_run, register_findings, register_reproduce, register_api, register_localnet, register_demo,
            register_config]


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frt-stress", description="Stress tester for the FRT Solana program.")
    parser.add_argument("--config", metavar="PATH",
                        help="config file (default: $FRT_STRESS_CONFIG or the platform config dir)")
    from console.console_command import default_command

    parser.set_defaults(func=default_command(parser))  # no subcommand: the console on a terminal
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in registrars():
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # SIGINT where the command had no handler of its own: while `serve` opens its engine, or a
        # second one while it closes. Shard processes close themselves when their stdin ends.
        print("error: interrupted", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
