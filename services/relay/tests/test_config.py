import subprocess
import sys

import pytest
from scrollr_core.settings import ConfigError, log_level_setting
from scrollr_relay.config import load_settings

OK = {"SEQUIN_WEBHOOK_SECRET": "x" * 20}


def test_defaults():
    settings = load_settings(OK)
    assert settings.heartbeat_seconds == 5
    assert settings.port == 8080
    assert settings.redis is None
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.workers == 1


def test_no_secret_refuses_to_start_unless_dev_mode():
    with pytest.raises(ConfigError, match="SEQUIN_WEBHOOK_SECRET"):
        load_settings({})
    assert len(load_settings({"SCROLLR_DEV": "1"}).webhook_secret) >= 16


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SSE_HEARTBEAT_SECONDS": "soon"}, "SSE_HEARTBEAT_SECONDS"),
        ({"SSE_HEARTBEAT_SECONDS": "0"}, "SSE_HEARTBEAT_SECONDS"),
        ({"PORT": "-1"}, "PORT"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"ALLOWED_ORIGINS": "example.com"}, "ALLOWED_ORIGINS"),
        ({"SCROLLR_DEV": "maybe"}, "SCROLLR_DEV"),
        ({"SEQUIN_WEBHOOK_SECRET": "short"}, "SEQUIN_WEBHOOK_SECRET"),
        ({"MAX_STREAMS": "0"}, "MAX_STREAMS"),
        ({"WORKERS": "0"}, "WORKERS"),
        ({"WORKERS": "two"}, "WORKERS"),
        ({"WORKERS": "65", "REDIS_URL": "redis://localhost"}, "WORKERS"),
        ({"WORKERS": "2"}, "WORKERS=2 needs REDIS_URL"),
        ({"WORKERS": "2", "REDIS_URL": "redis://localhost", "PORT": "0"}, "fixed PORT"),
        ({"REDIS_MODE": "replicated", "REDIS_URL": "redis://localhost"}, "REDIS_MODE"),
        ({"REDIS_MODE": "cluster"}, "REDIS_MODE=cluster needs REDIS_URL"),
        ({"REDIS_MODE": "sentinel"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "a:26379"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINELS": "a:26379,b"}, "REDIS_SENTINELS entry 'b'"),
        ({"REDIS_SENTINELS": "a:99999", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS entry"),
        (
            {"REDIS_SENTINELS": "a:1", "REDIS_SENTINEL_MASTER": "m", "REDIS_URL": "redis://a"},
            "REDIS_URL and Sentinel",
        ),
        ({"REDIS_SENTINEL_MASTER": "m", "REDIS_URL": "redis://a"}, "REDIS_MODE=sentinel"),
    ],
)
def test_invalid_values_name_the_variable(env, names):
    with pytest.raises(ConfigError, match=names):
        load_settings({**OK, **env})


def test_redis_topologies():
    auto = load_settings({**OK, "REDIS_URL": "redis://:pw@cache:6379/0"}).redis
    assert auto is not None and (auto.mode, auto.url) == ("auto", "redis://:pw@cache:6379/0")
    assert auto.describe() == "redis cache:6379/0"  # no credentials in the banner
    cluster = load_settings({**OK, "REDIS_URL": "redis://node1:7000", "REDIS_MODE": "Cluster"}).redis
    assert cluster is not None and cluster.mode == "cluster"
    sentinel = load_settings(
        {
            **OK,
            "REDIS_SENTINELS": "10.0.0.1:26379, [::1]:26380",
            "REDIS_SENTINEL_MASTER": "scrollr",
            "REDIS_PASSWORD": "data-pw",
            "REDIS_SENTINEL_PASSWORD": "sentinel-pw",
            "WORKERS": "2",
        }
    )
    assert sentinel.workers == 2
    assert sentinel.redis is not None
    assert sentinel.redis.mode == "sentinel"
    assert sentinel.redis.sentinels == (("10.0.0.1", 26379), ("::1", 26380))
    assert (sentinel.redis.password, sentinel.redis.sentinel_password) == ("data-pw", "sentinel-pw")
    assert "pw" not in sentinel.redis.describe()


def test_allowed_origins_take_web_and_extension_origins():
    settings = load_settings({**OK, "ALLOWED_ORIGINS": "https://myscrollr.com/, chrome-extension://abcdef"})
    assert settings.allowed_origins == ("https://myscrollr.com", "chrome-extension://abcdef")


def test_the_command_stops_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scrollr_relay"],
        env={"PATH": "/usr/bin", "SSE_HEARTBEAT_SECONDS": "x", "SEQUIN_WEBHOOK_SECRET": "y" * 20},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "SSE_HEARTBEAT_SECONDS='x' is not a valid float" in result.stderr


def test_a_dotenv_file_fills_in_and_the_environment_wins(tmp_path, monkeypatch):
    from scrollr_core.settings import merged_environment

    env_file = tmp_path / ".env"
    env_file.write_text("SEQUIN_WEBHOOK_SECRET=from-dotenv-0123456789\nPORT=9001\n")
    monkeypatch.setenv("PORT", "9002")
    monkeypatch.delenv("SEQUIN_WEBHOOK_SECRET", raising=False)
    settings = load_settings(merged_environment(env_file))
    assert settings.webhook_secret == "from-dotenv-0123456789"
    assert settings.port == 9002


def test_accounts_are_off_without_an_issuer():
    settings = load_settings(OK)
    assert settings.auth_issuer is None and settings.auth_audience is None


def test_accounts_take_an_issuer_and_an_audience():
    settings = load_settings(
        {**OK, "AUTH_ISSUER": "https://auth.example.com/oidc", "AUTH_AUDIENCE": "https://api"}
    )
    assert settings.auth_issuer == "https://auth.example.com/oidc"
    assert settings.auth_audience == "https://api"
    local = load_settings({**OK, "AUTH_ISSUER": "http://127.0.0.1:9000", "AUTH_AUDIENCE": "x"})
    assert local.auth_issuer == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"AUTH_AUDIENCE": "https://api"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": "https://auth.example.com"}, "AUTH_AUDIENCE"),
        ({"AUTH_ISSUER": "http://auth.example.com", "AUTH_AUDIENCE": "a"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": "auth.example.com", "AUTH_AUDIENCE": "a"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": "https://auth.example.com?x=1", "AUTH_AUDIENCE": "a"}, "AUTH_ISSUER"),
    ],
)
def test_bad_account_settings_name_the_variable(env, names):
    with pytest.raises(ConfigError, match=names):
        load_settings({**OK, **env})


@pytest.mark.parametrize("module", ["scrollr_relay", "scrollr_cdc"])
def test_an_unknown_log_level_is_one_line_naming_it_not_a_traceback(tmp_path, module):
    env = {"PATH": "/usr/bin", "LOG_LEVEL": "verbose", "SEQUIN_WEBHOOK_SECRET": "y" * 20}
    result = subprocess.run(
        [sys.executable, "-m", module],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    command = module.replace("_", "-")
    assert result.returncode == 2
    assert result.stderr == (
        f"{command}: configuration error: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL,"
        " not 'verbose'\n"
    )


def test_the_log_level_is_read_in_any_case_and_defaults_to_info():
    assert log_level_setting({}) == "INFO"
    assert log_level_setting({"LOG_LEVEL": " debug "}) == "DEBUG"
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        log_level_setting({"LOG_LEVEL": "5"})
