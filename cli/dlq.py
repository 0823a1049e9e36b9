"""`attesta dlq …`: dead-lettered Kafka messages. List them, look at one, and send them back
to the service that failed. Talks to Kafka directly: the services have no HTTP API for this."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from cli import dead_letters
from cli.dead_letters import (
    DEFAULT_KAFKA,
    KAFKA_ENV,
    ROW_HEADERS,
    SERVICES,
    DeadLetter,
    MessageId,
    Replayed,
)
from cli.errors import API_ERROR, OK, UNREACHABLE, USAGE, CliError
from cli.output import print_json, print_table
from cli.registry import GLOBAL_OPTIONS, Context, Parser, Subcommands, command, usage

T = TypeVar("T")

HELP = "dead-lettered Kafka messages: list, show, replay"
DESCRIPTION = f"""\
Messages a service could not process wait on <topic>.dlq with the error in their headers.
These commands read them straight from Kafka: --kafka, else {KAFKA_ENV},
else {DEFAULT_KAFKA}; no API key is needed. A message's ID is
<dlq topic>:<partition>:<offset>, as `list` prints it.
"""
REPLAY_DESCRIPTION = """\
Publish dead-lettered messages again (same key, body and headers, without the dlq_* headers,
plus attesta_replayed_from) to <topic>.retry.<service>, which only the service that failed
reads. Its consumers drop events they already processed, so replaying twice is harmless.
The dead-letter topic keeps the messages: Kafka cannot delete one record.
"""
TOPIC_HELP = "one topic: enrolment.completed or enrolment.completed.dlq"
SERVICE_HELP = "only the messages this service failed to process"
RUN_HINT = f"is `make run` running? (or pass --kafka / set {KAFKA_ENV})"


def register(commands: Subcommands) -> None:
    dlq: Parser = commands.add_parser(
        "dlq",
        help=HELP,
        description=DESCRIPTION,
        parents=[GLOBAL_OPTIONS],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_kafka_option(dlq)
    dlq.set_defaults(handler=usage(dlq))
    subcommands = dlq.add_subparsers(title="commands", metavar="COMMAND")

    listing = command(
        subcommands, "list", list_dead_letters, help="every dead-lettered message, oldest first"
    )
    add_kafka_option(listing)
    listing.add_argument("--topic", metavar="T", help=TOPIC_HELP)
    listing.add_argument("--service", choices=SERVICES, help=SERVICE_HELP)
    listing.add_argument("--limit", metavar="N", type=positive_int, help="only the N oldest")

    show = command(
        subcommands,
        "show",
        show_dead_letter,
        help="one message whole: headers (with the stack trace), key and body",
    )
    add_kafka_option(show)
    show.add_argument("message_id", metavar="ID", type=message_id, help="as `list` prints it")

    replay = command(
        subcommands,
        "replay",
        replay_dead_letters,
        help="send messages back to the service that failed",
        description=REPLAY_DESCRIPTION,
    )
    add_kafka_option(replay)
    replay.add_argument(
        "message_ids", metavar="ID", nargs="*", type=message_id, help="as `list` prints them"
    )
    replay.add_argument("--topic", metavar="T", help=f"with --all: {TOPIC_HELP}")
    replay.add_argument("--service", choices=SERVICES, help=f"with --all: {SERVICE_HELP}")
    replay.add_argument(
        "--all", action="store_true", help="every message on --topic (of --service)"
    )


def add_kafka_option(parser: argparse.ArgumentParser) -> None:
    # On the group and on each command, so it goes before or after the command; SUPPRESS keeps
    # a command's parser from overwriting a value given to the group (see GLOBAL_OPTIONS).
    parser.add_argument(
        "--kafka",
        metavar="HOST:PORT",
        default=argparse.SUPPRESS,
        help=f"Kafka bootstrap servers (env {KAFKA_ENV}; default {DEFAULT_KAFKA})",
    )


def positive_int(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def message_id(text: str) -> MessageId:
    try:
        return MessageId.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def address_of(args: argparse.Namespace) -> str:
    return dead_letters.kafka_address(getattr(args, "kafka", None), os.environ)


@contextlib.contextmanager
def quiet_kafka_logs() -> Iterator[None]:
    """aiokafka logs every failed connection attempt; our one error message says it better."""
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def run(address: str, work: Coroutine[Any, Any, T]) -> T:
    with quiet_kafka_logs():
        try:
            return asyncio.run(work)
        except KafkaConnectionError:
            raise CliError(
                f"cannot reach Kafka at {address}", exit_code=UNREACHABLE, details=[RUN_HINT]
            ) from None
        except KafkaTimeoutError:
            raise CliError(
                f"Kafka at {address} did not answer in time", exit_code=UNREACHABLE
            ) from None
        except KafkaError as error:
            raise CliError(f"Kafka at {address} answered with an error: {error}") from None


def list_dead_letters(ctx: Context, args: argparse.Namespace) -> int:
    topic = dead_letters.dead_letter_topic_name(args.topic) if args.topic else None
    address = address_of(args)
    letters = read_selected(address, topic, args.service)
    shown = letters[: args.limit] if args.limit else letters
    if ctx.as_json:
        print_json([dead_letters.listing_json(letter) for letter in shown])
        return OK
    if not letters:
        print(f"no dead-lettered messages{where(topic, args.service)}")
        return OK
    for line in dead_letters.summary_lines(letters):
        print(line)
    print()
    print_table(ROW_HEADERS, [dead_letters.row(letter) for letter in shown])
    if len(shown) < len(letters):
        print(f"(the {len(shown)} oldest of {len(letters)}: raise --limit to see more)")
    return OK


def read_selected(address: str, topic: str | None, service: str | None) -> list[DeadLetter]:
    letters = run(address, dead_letters.read_dead_letters(address, topic))
    return dead_letters.oldest_first(dead_letters.select(letters, service))


def where(topic: str | None, service: str | None) -> str:
    return (f" on {topic}" if topic else "") + (f" failed by {service}" if service else "")


def show_dead_letter(ctx: Context, args: argparse.Namespace) -> int:
    letter = find(address_of(args), [args.message_id])[0]
    if ctx.as_json:
        print_json(dead_letters.document_json(letter))
    else:
        print("\n".join(dead_letters.document_lines(letter)))
    return OK


def find(address: str, ids: list[MessageId]) -> list[DeadLetter]:
    """The letters at `ids`, in that order; exit 1 naming every ID that has none."""
    found = run(address, dead_letters.read_by_ids(address, ids))
    unknown = [str(i) for i in ids if i not in found]
    if unknown:
        raise CliError(
            f"no dead-lettered message with ID {', '.join(unknown)} on Kafka at {address}",
            exit_code=API_ERROR,
            details=["`attesta dlq list` shows the IDs"],
        )
    return [found[i] for i in ids]


def replay_dead_letters(ctx: Context, args: argparse.Namespace) -> int:
    check_replay_usage(args)
    address = address_of(args)
    if args.all:
        topic = dead_letters.dead_letter_topic_name(args.topic)
        letters = read_selected(address, topic, args.service)
        if not letters:
            if ctx.as_json:
                print_json([])
            else:
                print(f"no dead-lettered messages{where(topic, args.service)}: nothing replayed")
            return OK
    else:
        letters = find(address, list(dict.fromkeys(args.message_ids)))
    problems = dead_letters.unreplayable(letters)
    if problems:
        raise CliError("nothing replayed: where to send these is unknown", details=problems)
    print_replayed(ctx, run(address, dead_letters.replay(address, letters)))
    return OK


def check_replay_usage(args: argparse.Namespace) -> None:
    if args.all and args.message_ids:
        raise CliError("give IDs or --all, not both", exit_code=USAGE)
    if args.all and not args.topic:
        raise CliError(
            "--all needs --topic T: replay one topic's messages at a time", exit_code=USAGE
        )
    if not args.all and not args.message_ids:
        raise CliError("give the IDs to replay, or --topic T --all", exit_code=USAGE)
    if args.message_ids and (args.topic or args.service):
        raise CliError(
            "--topic and --service choose what --all replays; IDs need neither", exit_code=USAGE
        )


def print_replayed(ctx: Context, sent: list[Replayed]) -> None:
    if ctx.as_json:
        print_json(
            [
                {"id": str(r.source), "to": r.topic, "partition": r.partition, "offset": r.offset}
                for r in sent
            ]
        )
        return
    for r in sent:
        print(f"{r.source} -> {r.topic} (partition {r.partition}, offset {r.offset})")
    print(f"replayed {dead_letters.plural(len(sent), 'message')}")
