"""A wrong DATABASE_URL is one line saying what to fix, in every command that connects (pure part
here, the commands themselves against a real cluster below)."""

import os
import subprocess
import sys

import pytest
from scrollr_core.pgconnect import describe

from tests.support.procs import SECRET, free_port

URL = "postgresql://app:secret-pw@db.example:6543/scrollr"


@pytest.mark.parametrize(
    ("error", "says", "permanent"),
    [
        ('connection to server at "10.0.0.5", port 6543 failed: FATAL:  database "scrollr" does not exist\n',
         'database "scrollr" does not exist on db.example:6543: create it, or fix the database name', True),
        ('connection to server at "10.0.0.5", port 6543 failed: FATAL:  role "app" does not exist\n',
         'role "app" does not exist on db.example:6543: create it, or fix the user name', True),
        ('failed: FATAL:  password authentication failed for user "app"\n',
         'db.example:6543 refused the password of user "app": fix the password', True),
        ('connection to server at "10.0.0.5", port 6543 failed: Connection refused\n\tIs the server running on that host?\n',
         "nothing accepts connections at db.example:6543: start Postgres there, or fix the host and port", False),
        ('could not translate host name "db.example" to address: Name or service not known\n',
         "the host of db.example:6543 is unknown", False),
        ("something new\nand more\n", "cannot connect to db.example:6543 (DATABASE_URL): something new", False),
    ],
)  # fmt: skip
def test_each_failure_says_which_part_of_the_url_to_fix_in_one_line(error, says, permanent):
    problem = describe(URL, error)
    assert problem.message.startswith(says) and "\n" not in problem.message
    assert "secret-pw" not in problem.message
    assert problem.permanent is permanent


def run(module, database_url):
    return subprocess.run(
        [sys.executable, "-m", module],
        env={
            **os.environ,
            "SEQUIN_WEBHOOK_SECRET": SECRET,
            "DATABASE_URL": database_url,
            "PORT": str(free_port()),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wrong_urls(cluster_url):
    base = cluster_url.rsplit("/", 1)[0]
    return {
        "refused": (
            f"postgresql://postgres@127.0.0.1:{free_port()}/scrollr",
            "nothing accepts connections at",
        ),
        "missing database": (f"{base}/no_such_database", 'database "no_such_database" does not exist'),
        "missing role": (
            base.replace("postgres@", "no_such_role@") + "/postgres",
            'role "no_such_role" does not exist',
        ),
    }


@pytest.mark.parametrize("case", ["refused", "missing database", "missing role"])
def test_the_emitter_says_what_to_fix_in_one_line(pg_cluster, case):
    url, says = wrong_urls(pg_cluster.url())[case]
    result = run("scrollr_cdc", url)
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and says in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("case", ["missing database", "missing role"])
def test_the_relay_refuses_to_start_on_a_url_postgres_refuses(pg_cluster, case):
    url, says = wrong_urls(pg_cluster.url())[case]
    result = run("scrollr_relay", url)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"scrollr-relay: configuration error: {result.stderr.strip().split(': ', 2)[2]}"
    )
    assert says in result.stderr and "Traceback" not in result.stderr + result.stdout


def test_the_relay_serves_streams_while_postgres_is_unreachable_and_says_so_in_one_line(start_relay):
    relay = start_relay({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/scrollr"})
    line = next(line for line in relay.log().splitlines() if "nothing accepts connections at" in line)
    assert "snapshots and the catalog are unavailable until Postgres answers" in line
    assert "Traceback" not in relay.log()
