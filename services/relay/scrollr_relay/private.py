"""Private events: the changes that belong to one signed-in user, never to the public stream.

A `user_preferences` change reaches the relay as any change does (the change feed, the webhook, the
bus), so it has a position in the one stream and resumes under the one cursor. It is kept out of
every public path: the hub's fan-out, its recent frames and a public replay all frame events through
`encode_frames` (hub.py), which leaves private topics out.
"""

from __future__ import annotations

PREFERENCES_TOPIC = "user_preferences"
PRIVATE_TOPICS = frozenset({PREFERENCES_TOPIC})
