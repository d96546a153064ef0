import pytest
from scrollr_cdc.config import load_cdc_settings
from scrollr_relay.config import ConfigError

OK = {"DATABASE_URL": "postgresql://localhost/x", "SEQUIN_WEBHOOK_SECRET": "s" * 20}


def test_defaults():
    settings = load_cdc_settings(OK)
    assert (settings.slot, settings.publication, settings.batch_size) == ("scrollr_cdc", "scrollr", 100)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"SEQUIN_WEBHOOK_SECRET": ""}, "SEQUIN_WEBHOOK_SECRET"),
        ({"RELAY_WEBHOOK_URL": "ftp://x"}, "RELAY_WEBHOOK_URL"),
        ({"CDC_SLOT": "Bad-Name"}, "CDC_SLOT"),
        ({"CDC_BATCH_SIZE": "0"}, "CDC_BATCH_SIZE"),
    ],
)
def test_invalid_settings_name_the_variable(env, names):
    with pytest.raises(ConfigError, match=names):
        load_cdc_settings({**OK, **env})
