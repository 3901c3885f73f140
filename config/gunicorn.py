"""gunicorn settings of the Procfile's and the image's web server (`--config config/gunicorn.py`).

The application and the claim-matching encoder are loaded once, in the master, before it forks the
workers: their pages (the encoder's 14 MB of weights and its tokenizer above all) are then shared by
every worker copy-on-write instead of loaded again in each (benchmarks/claim_index_memory.py). The
encoder's 65 MB embedding table is in none of them: its rows are read from a file at each encode
(claims.matching.embedding). A code change therefore needs a restart of the master, not only of the
workers (HUP).
"""

import gc

preload_app = True


def when_ready(server: object) -> None:
    """In the master, the application loaded and the workers not yet forked."""
    from django.db import connections

    from claims.matching import sentence_encoder

    sentence_encoder()
    # A connection opened while loading would be shared by every worker's copy of it.
    connections.close_all()
    # The objects loaded so far never change: the collector need not visit them, and visiting them
    # (writing their headers) would give each worker a private copy of their pages.
    gc.freeze()
