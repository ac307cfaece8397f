"""Server settings a teacher sets in the environment, declared once and checked before the
server serves: a typo must stop the start with the variable's name and its accepted range,
not surface later on some page as a bare ValueError or OverflowError.

`python -m app.serving.settings` checks them all (the README's command runs it first), and that
the workspaces' database answers when one is set, and exits 2 with one line per problem.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from pretrained.locations import OFFLINE_ENV, WEIGHTS_DIR_ENV


class SettingError(ValueError):
    """A setting's value is outside what the server accepts; the message names it."""


@dataclass(frozen=True)
class NumberSetting:
    name: str
    default: float
    minimum: float
    maximum: float
    whole: bool
    meaning: str

    def accepted(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        return f"{kind} from {self.minimum:g} to {self.maximum:g}"

    def read(self, environ: Mapping[str, str] = os.environ) -> float:
        """The value from `environ`, or the default when unset or empty."""
        text = environ.get(self.name, "").strip()
        if not text:
            return self.default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        # The comparison is False for nan, which also catches words; inf is past any maximum.
        in_range = self.minimum <= value <= self.maximum and (not self.whole or value.is_integer())
        if not in_range:
            raise SettingError(f"{self.name}={text!r}: the {self.meaning} must be {self.accepted()} "
                               f"(unset it for the default, {self.default:g})")
        return int(value) if self.whole else value


@dataclass(frozen=True)
class ChoiceSetting:
    name: str
    choices: dict[str, bool]
    meaning: str

    def read(self, environ: Mapping[str, str] = os.environ) -> bool:
        text = environ.get(self.name, "")
        if text.strip().lower() not in self.choices:
            raise SettingError(f"{self.name}={text!r}: {self.meaning} must be one of "
                               f"{', '.join(repr(c) for c in self.choices if c)} (or unset)")
        return self.choices[text.strip().lower()]


@dataclass(frozen=True)
class FolderSetting:
    name: str
    meaning: str

    def read(self, environ: Mapping[str, str] = os.environ) -> Path | None:
        text = environ.get(self.name, "").strip()
        if not text:
            return None
        folder = Path(text).expanduser()
        if not folder.is_dir():
            raise SettingError(f"{self.name}={text!r}: {self.meaning} must be an existing folder (or unset)")
        return folder


@dataclass(frozen=True)
class DataFolderSetting:
    """A folder the server writes to: made if missing, refused if it cannot be written."""
    name: str
    meaning: str

    @staticmethod
    def default(environ: Mapping[str, str]) -> Path:
        base = environ.get("XDG_DATA_HOME", "").strip() or Path(environ.get("HOME", "~")) / ".local" / "share"
        return Path(base).expanduser() / "vision-explorer"

    def read(self, environ: Mapping[str, str] = os.environ) -> Path:
        text = environ.get(self.name, "").strip()
        folder = Path(text).expanduser() if text else self.default(environ)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # A name of its own, gone when closed: every page run checks, and with one shared name
            # two sessions at once removed each other's file and saw the folder as unwritable.
            with tempfile.TemporaryFile(dir=folder, prefix=".write-check-"):
                pass
        except OSError as error:
            raise SettingError(f"{self.name}={text or str(folder)!r}: {self.meaning} must be a folder this "
                               f"server can create and write ({error.strerror or error})") from None
        return folder


@dataclass(frozen=True)
class DatabaseUrlSetting:
    """A PostgreSQL URL; its password never appears in a message (they end up in logs)."""
    name: str
    meaning: str

    def read(self, environ: Mapping[str, str] = os.environ) -> str | None:
        text = environ.get(self.name, "").strip()
        if not text:
            return None
        if not text.startswith(("postgresql://", "postgres://")):
            raise SettingError(f"{self.name}={shown_url(text)!r}: {self.meaning} must be a URL that starts with "
                               f"postgresql:// (or unset for SQLite in the data folder)")
        try:
            conninfo_to_dict(text)
        except psycopg.ProgrammingError as error:
            raise SettingError(f"{self.name}={shown_url(text)!r}: {self.meaning} does not parse "
                               f"({_one_line(str(error))})") from None
        return text

    def reachable(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """Why the server cannot reach the database, in words; None when it can."""
        url = self.read(environ)
        if url is None:
            return None
        try:
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as error:
            return f"{self.name}={shown_url(url)!r}: cannot reach {self.meaning}: {_one_line(str(error))}"
        return None


def shown_url(text: str) -> str:
    """`text` with any password in a URL replaced by ***."""
    return re.sub(r"(://[^:/@\s]*:)[^/\s]*@", r"\1***@", text)


def _one_line(text: str) -> str:
    return " ".join(shown_url(text).split())


CACHE_MB = NumberSetting("VISION_EXPLORER_CACHE_MB", 1024, 1, 1 << 20, True,
                         "megabytes of the shared capture cache")
MODELS_MB = NumberSetting("VISION_EXPLORER_MODELS_MB", 1536, 1, 1 << 20, True,
                          "megabytes of model weights kept in memory")
# Long enough for a browser to reconnect after a network blip or a laptop lid closed briefly.
DISCONNECT_GRACE_S = NumberSetting("VISION_EXPLORER_DISCONNECT_GRACE_S", 30, 0, 86_400, False,
                                   "seconds a closed browser's runs go on")
# Each job already uses several cores through torch; more at once would only share them.
SLOTS = NumberSetting("VISION_EXPLORER_SLOTS", max(2, (os.cpu_count() or 2) // 2), 1, 256, True,
                      "number of training runs and landscape grids running at once")
OFFLINE = ChoiceSetting(OFFLINE_ENV, {"": False, "0": False, "false": False, "no": False, "off": False,
                                      "1": True, "true": True, "yes": True, "on": True},
                        "the offline switch")
WEIGHTS_DIR = FolderSetting(WEIGHTS_DIR_ENV, "the folder of weight files")

DATA_DIR = DataFolderSetting("VISION_EXPLORER_DATA", "the data folder (students' workspaces, downloaded datasets)")
KEEP_DAYS = NumberSetting("VISION_EXPLORER_KEEP_DAYS", 30, 1, 36_500, False,
                          "days an unused workspace is kept")
WORKSPACE_MB = NumberSetting("VISION_EXPLORER_WORKSPACE_MB", 200, 1, 1 << 20, True,
                             "megabytes one workspace may store")
STORE_MB = NumberSetting("VISION_EXPLORER_STORE_MB", 5120, 1, 1 << 30, True,
                         "megabytes all workspaces together may store")

# Set for several replicas behind one address: they share the workspaces (blobs included) there.
DATABASE_URL = DatabaseUrlSetting("VISION_EXPLORER_DATABASE_URL", "the workspaces' PostgreSQL database")

SETTINGS = (CACHE_MB, MODELS_MB, DISCONNECT_GRACE_S, SLOTS, OFFLINE, WEIGHTS_DIR, DATA_DIR, KEEP_DAYS,
            WORKSPACE_MB, STORE_MB, DATABASE_URL)


def setting_problems(environ: Mapping[str, str] = os.environ) -> list[str]:
    """One message per setting that `environ` gets wrong; empty when all are fine."""
    problems = []
    for setting in SETTINGS:
        try:
            setting.read(environ)
        except SettingError as problem:
            problems.append(str(problem))
    return problems


# Streamlit signs its cookies with this secret, random per process when unset.
COOKIE_SECRET_ENV = "STREAMLIT_SERVER_COOKIE_SECRET"


def replica_warnings(environ: Mapping[str, str] = os.environ) -> list[str]:
    """What a replica among several lacks, though one server would run without it."""
    if DATABASE_URL.read(environ) and not environ.get(COOKIE_SECRET_ENV, "").strip():
        return [f"{DATABASE_URL.name} is set but {COOKIE_SECRET_ENV} is not: replicas behind one address need "
                f"the same secret, or a student moved to another replica after a failure has uploads refused"]
    return []


def main() -> int:
    problems = setting_problems()
    if not problems and (unreachable := DATABASE_URL.reachable()):
        problems.append(unreachable)
    for problem in problems:
        print(f"Vision Explorer will not start: {problem}", file=sys.stderr)
    if not problems:
        for warning in replica_warnings():
            print(f"Vision Explorer warns: {warning}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
