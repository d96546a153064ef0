import pytest
from scrollr_cdc.config import load_cdc_settings
from scrollr_core.settings import ConfigError

OK = {"DATABASE_URL": "postgresql://localhost/x", "SEQUIN_WEBHOOK_SECRET": "s" * 20}


def test_defaults():
    settings = load_cdc_settings(OK)
    assert (settings.slot, settings.publication, settings.batch_size) == ("scrollr_cdc", "scrollr", 100)
    assert (settings.parked_retry_max_seconds, settings.metrics_port) == (600.0, 0)  # no metrics endpoint


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"SEQUIN_WEBHOOK_SECRET": ""}, "SEQUIN_WEBHOOK_SECRET"),
        ({"RELAY_WEBHOOK_URL": "ftp://x"}, "RELAY_WEBHOOK_URL"),
        ({"CDC_SLOT": "Bad-Name"}, "CDC_SLOT"),
        ({"CDC_BATCH_SIZE": "0"}, "CDC_BATCH_SIZE"),
        ({"CDC_PARKED_RETRY_MAX_SECONDS": "0.5"}, "CDC_PARKED_RETRY_MAX_SECONDS"),
        ({"CDC_METRICS_PORT": "70000"}, "CDC_METRICS_PORT"),
    ],
)
def test_invalid_settings_name_the_variable(env, names):
    with pytest.raises(ConfigError, match=names):
        load_cdc_settings({**OK, **env})


def test_the_emitter_and_the_relay_share_one_secret_rule():
    from scrollr_relay.config import load_settings

    short = {"SEQUIN_WEBHOOK_SECRET": "too-short", "DATABASE_URL": "postgresql://x/y"}
    for load in (load_cdc_settings, load_settings):
        with pytest.raises(ConfigError, match="at least 16 characters"):
            load(short)


@pytest.mark.parametrize("rate", ["0", "fast", "5000"])
def test_the_demo_refuses_a_bad_rate(rate):
    from scrollr_cdc.demo import load_demo_settings

    with pytest.raises(ConfigError, match="DEMO_RATE"):
        load_demo_settings({"DATABASE_URL": "postgresql://x/y", "DEMO_RATE": rate})


def test_the_dev_stack_defaults_to_the_relays_port_and_makes_up_a_secret():
    from scrollr_cdc.devstack import load_dev_settings
    from scrollr_core.settings import DEFAULT_PORT

    settings = load_dev_settings({})
    assert settings.port == DEFAULT_PORT and len(settings.secret) >= 16 and settings.database_url is None
    with pytest.raises(ConfigError, match="PORT"):
        load_dev_settings({"PORT": "http"})
