"""The hook by which the layers above learn that a source's fetch state moved.

`source_fetch_state_changed` is sent with `source_id` whenever a source is marked pending, starts
fetching or gets a new snapshot, inside the transaction that wrote it, and with `never_fetched`:
whether the source has no snapshot yet (True, False, or None when the sender did not read it), so
that a listener spares itself a query on the many fetches of sources already fetched. Published claims show
their sources' fetch state, so verifier.public_content listens to supersede cached public
responses; this layer cannot tell which sources a published claim cites.
"""

from django.dispatch import Signal

source_fetch_state_changed = Signal()
