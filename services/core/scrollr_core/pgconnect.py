"""What a failed connection to DATABASE_URL means, said in one line that tells what to fix.

psycopg's own message is several lines of libpq text (and, uncaught, a traceback); a person needs to
know which part of the URL is wrong. The password never appears in what is said.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

import psycopg

CONNECT_TIMEOUT_SECONDS = 5


class DatabaseProblem(NamedTuple):
    message: str
    # Postgres answered and refused what the URL names (database, role, password): waiting won't
    # help. Otherwise (refused, unreachable) it may just not be up yet.
    permanent: bool


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"


def describe(url: str, error: str) -> DatabaseProblem:
    """The problem behind libpq's connection error text, naming the part of DATABASE_URL to fix."""
    where = _where(url)
    if found := re.search(r'database "([^"]*)" does not exist', error):
        return DatabaseProblem(
            f'database "{found[1]}" does not exist on {where}: create it, or fix the database name in DATABASE_URL',
            True,
        )
    if found := re.search(r'role "([^"]*)" does not exist', error):
        return DatabaseProblem(
            f'role "{found[1]}" does not exist on {where}: create it, or fix the user name in DATABASE_URL',
            True,
        )
    if found := re.search(r'authentication failed for user "([^"]*)"', error):
        return DatabaseProblem(
            f'{where} refused the password of user "{found[1]}": fix the password in DATABASE_URL', True
        )
    if "no pg_hba.conf entry" in error:
        return DatabaseProblem(
            f"{where} does not admit this client (pg_hba.conf): allow it, or fix DATABASE_URL", True
        )
    if "Connection refused" in error or "No such file or directory" in error:
        return DatabaseProblem(
            f"nothing accepts connections at {where}: start Postgres there, or fix the host and port in DATABASE_URL",
            False,
        )
    if "could not translate host name" in error or "Name or service not known" in error:
        return DatabaseProblem(f"the host of {where} is unknown: fix the host in DATABASE_URL", False)
    if "timeout expired" in error:
        return DatabaseProblem(
            f"{where} did not answer in time: check the host and port in DATABASE_URL", False
        )
    first = next((line.strip() for line in error.splitlines() if line.strip()), "unknown error")
    return DatabaseProblem(f"cannot connect to {where} (DATABASE_URL): {first}", False)


def problem_of(url: str, exc: psycopg.OperationalError) -> DatabaseProblem:
    text = exc.pgconn.error_message.decode(errors="replace") if exc.pgconn is not None else str(exc)
    return describe(url, text or str(exc))


def check(url: str) -> DatabaseProblem | None:
    """Connect once: None if DATABASE_URL works, else what is wrong with it."""
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS):
            return None
    except psycopg.OperationalError as exc:
        return problem_of(url, exc)
