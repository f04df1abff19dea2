"""What a service's command line does around each command: settings, errors, exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from pydantic import ValidationError

from servicekit.settings import ServingSettings

SettingsT = TypeVar("SettingsT", bound=ServingSettings)


class CommandError(Exception):
    """A failure worth one line on stderr and a non-zero exit, never a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def load_settings(settings_class: type[SettingsT]) -> SettingsT:
    try:
        return settings_class()
    except ValidationError as error:
        message = f"invalid configuration: {settings_class.describe(error)}"
        raise CommandError(message, exit_code=2) from None


def run_command(program: str, command: str, handler: Callable[[], int | None]) -> NoReturn:
    """Run `handler` and exit with its code; a CommandError becomes `program command: why`."""
    try:
        sys.exit(handler() or 0)
    except CommandError as error:
        print(f"{program} {command}: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
