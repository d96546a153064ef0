"""What every Scrollr command shares: settings parsing, logging, backoff, webhook signatures, and
Postgres rows as Sequin encodes them. Nothing here knows the relay or the emitter."""
