"""The composition root: builds the application and its adapters from settings.

Entry points (CLI, ASGI app, benchmarks, tests) call `bootstrap()` and nothing
below it knows where its collaborators came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from ledgerdesk.config import Settings, load_settings
from ledgerdesk.persistence import event_store_env


@dataclass
class Services:
    settings: Settings
    app: Ledgerdesk
    blobs: BlobStore

    def close(self) -> None:
        self.app.close()


def bootstrap(settings: Settings | None = None) -> Services:
    settings = settings or load_settings()
    app = Ledgerdesk(env=event_store_env(settings.database))
    blobs = BlobStore(settings.blob_dir, max_bytes=settings.max_upload_bytes)
    return Services(settings=settings, app=app, blobs=blobs)
