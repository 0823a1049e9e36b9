"""Exit codes and the one exception type commands raise to stop with a message."""

from __future__ import annotations

import sys

OK = 0
API_ERROR = 1  # the API answered with an error, or a local input (file, key) is unusable
UNREACHABLE = 2  # the API could not be reached at all: retrying later may help
ALL_REJECTED = 3  # a bulk upload was read but not one row was usable
NOT_GENUINE = 4  # verify-pdf: the certificate's signature or printed text does not hold up
# argparse would use 2 for usage errors; 2 already means "unreachable" here, so scripts that
# retry on 2 must not retry a typo. 64 is EX_USAGE from sysexits.h.
USAGE = 64
INTERRUPTED = 130


class CliError(Exception):
    """Stops the command: `message` (and `details`, one per line) go to stderr."""

    def __init__(
        self, message: str, *, exit_code: int = API_ERROR, details: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.details = details or []

    def report(self) -> int:
        """Print the message (after whatever was written to stdout) and return the exit code."""
        sys.stdout.flush()
        print(f"error: {self.message}", file=sys.stderr)
        for line in self.details:
            print(f"  {line}", file=sys.stderr)
        return self.exit_code
