from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from services.certification.issuing import Issuer
from services.certification.keyring import Keyring
from services.certification.render import CertificateRenderer
from services.certification.store import CertificationStore
from shared import outbox
from shared.consuming import PROCESSED_EVENTS
from shared.mongo import Database, connect
from tests.conftest import Stack


@pytest.fixture
async def database(stack: Stack) -> AsyncIterator[Database]:
    """A fresh database of its own on the real MongoDB-wire server."""
    client = connect(stack.mongo_url)
    database = Database(client, f"it_{uuid.uuid4().hex[:10]}", serialise=True)
    await database.ensure_collections("state", "certificates", PROCESSED_EVENTS, outbox.COLLECTION)
    yield database
    await client.close()


@pytest.fixture(scope="session")
def renderer() -> CertificateRenderer:
    return CertificateRenderer()


@pytest.fixture
async def issuer(database: Database, renderer: CertificateRenderer) -> Issuer:
    """Certification's issuer on a fresh database, with its indexes and first signing key."""
    store = CertificationStore(database)
    await store.ensure_indexes()
    keyring = Keyring(database)
    await keyring.load()
    return Issuer(store, renderer, keyring, "https://verify.example")
