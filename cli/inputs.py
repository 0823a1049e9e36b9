"""Files named on the command line, where `-` means stdin."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from cli.errors import CliError


@contextmanager
def open_binary(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the caller is done
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None
    try:
        yield handle
    finally:
        handle.close()


def size_of(handle: BinaryIO) -> int | None:
    """Bytes left to read, when knowable: a pipe has no size, a redirected file has."""
    try:
        info = os.fstat(handle.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    try:
        return max(0, info.st_size - handle.tell())
    except OSError:
        return info.st_size


def display_name(path: str) -> str:
    return "stdin" if path == "-" else path


def read_text(path: str) -> str:
    with open_binary(path) as handle:
        raw = handle.read()
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CliError(
            f"{display_name(path)} is not UTF-8 ({error.reason} at byte {error.start})"
        ) from None


def read_json(path: str) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(
            f"{display_name(path)} is not valid JSON: {error.msg} "
            f"(line {error.lineno}, column {error.colno})"
        ) from None
