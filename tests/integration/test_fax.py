"""The fax channel end to end, with real Tesseract on fax-like images drawn here
(bench.fax_samples): Chinese and English in WenQuanYi Zen Hei, line noise, a
slight skew, standard and fine resolution, G4 multi-page TIFF and PDF.

OCR costs about a second a page on a shared machine, so the accuracy checks
run once (no store), and the store tests (SQLite and PostgreSQL) use one-page
faxes.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from starlette.testclient import TestClient

from bench.fax_samples import FINE, STANDARD, FormFields, fax_pages, form_lines, pdf, tiff_g4
from channels.fax_ocr.folder import FaxFolder
from channels.fax_ocr.gateway import gateway_routes
from channels.fax_ocr.intake import FaxIntake, FaxUnreadable
from channels.fax_ocr.ocr import Recogniser
from channels.fax_ocr.pages import UnreadableFax, load_pages
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import CorrectFax, OpenRequest
from domain.requests.fax import NO_CUSTOMER
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import ReadModels, open_read_models

LANGS = "chi_sim+eng"


def similarity(a: str, b: str) -> float:
    squash = lambda s: "".join(s.split())  # noqa: E731 - spaces are OCR's guess
    return difflib.SequenceMatcher(None, squash(a), squash(b)).ratio()


@pytest.mark.parametrize("resolution", [STANDARD, FINE], ids=["standard", "fine"])
def test_g4_tiff_pages_are_read_exactly_where_it_matters(resolution: tuple[int, int]) -> None:
    fields = FormFields()
    data = tiff_g4(fax_pages(fields, resolution, pages=2), resolution)
    pages = load_pages(data)
    assert len(pages) == 2 and pages[0].dpi == (float(resolution[0]), float(resolution[1]))
    texts = Recogniser(LANGS).pages(pages)
    from channels.fax_ocr.extract import extract_fields
    found = extract_fields(texts[0].text)
    assert found["reference"] == "SR-000123"
    assert found["customer_code"] == "HUAXIN"
    assert found["phone"] == "010-6588-1234"
    assert found["serial"] == "HX-4471-A"
    assert found["sender_number"] == "+86-10-6588-0000"
    for number, text in enumerate(texts, 1):
        assert similarity(text.text, "\n".join(form_lines(fields, number))) > 0.8
        assert text.confidence > 60


def test_pdf_pages_are_rendered_and_read() -> None:
    data = pdf(fax_pages(FormFields(reference="SR-004242"), FINE, pages=1), FINE)
    texts = Recogniser(LANGS).pages(load_pages(data))
    assert "SR-004242" in texts[0].text
    assert similarity(texts[0].text, "\n".join(form_lines(FormFields(reference="SR-004242")))
                      ) > 0.85


def encrypted_pdf() -> bytes:
    from pypdfium2 import raw  # noqa: F401 - pdfium cannot encrypt: a hand-made encrypted PDF
    body = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"3 0 obj<</Filter/Standard/V 2/R 3/Length 128/O(" + b"a" * 32 + b")/U("
            + b"b" * 32 + b")/P -4>>endobj\n")
    xref = len(body)
    return body + (b"xref\n0 4\n0000000000 65535 f \ntrailer<</Size 4/Root 1 0 R/Encrypt 3 0 R"
                   b"/ID[<01><01>]>>\nstartxref\n" + str(xref).encode() + b"\n%%EOF")


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"hello, this is no fax", "not a fax image"),
    (tiff_g4(fax_pages(FormFields(), FINE, pages=1), FINE)[:2500], "damaged or truncated"),
    (pdf(fax_pages(FormFields(), FINE, pages=1), FINE)[:900], "damaged or truncated"),
], ids=["empty", "unreadable", "truncated-tiff", "truncated-pdf"])
def test_bad_files_have_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFax, match=reason):
        load_pages(data)


def test_an_encrypted_pdf_says_so() -> None:
    data = encrypted_pdf()
    try:
        pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        assert "password" in str(error).lower()
    with pytest.raises(UnreadableFax, match="encrypted"):
        load_pages(data)


# --- recording, on both stores --------------------------------------------------


def one_page(fields: FormFields, resolution: tuple[int, int] = FINE) -> bytes:
    return tiff_g4(fax_pages(fields, resolution, pages=1), resolution)


@pytest.fixture
def intake(app: Ledgerdesk, tmp_path: Path) -> FaxIntake:
    app.handle(RegisterCustomer("HUAXIN", "华信精密机械有限公司", actor="t"))
    return FaxIntake(app, BlobStore(tmp_path / "blobs", 5 * 1024 * 1024), LANGS)


def test_a_reference_of_the_customer_joins_and_a_customer_alone_opens(
    app: Ledgerdesk, intake: FaxIntake, tmp_path: Path
) -> None:
    reference = app.handle(OpenRequest("HUAXIN", "repair", "Jam", actor="t"))
    joined = intake.record(one_page(FormFields(reference=reference)), "a.tif")
    assert joined.recorded.reference == reference and not joined.recorded.new_request
    request = app.service_request(reference)
    fax = next(iter(request.faxes.values()))
    assert fax["verified"] and fax["fields"]["phone"] == "010-6588-1234"

    opened = intake.record(one_page(FormFields(reference="", phone="021-5555-0101")), "b.tif")
    assert opened.recorded.new_request and opened.recorded.customer_code == "HUAXIN"
    assert not app.service_request(opened.recorded.reference).unverified_faxes

    stored = sorted((tmp_path / "blobs").rglob("*"))
    again = intake.record(one_page(FormFields(reference="", phone="021-5555-0101")), "b2.tif")
    assert again.recorded.duplicate and again.recorded.reference == opened.recorded.reference
    # Known by its hash before OCR: not read nor stored again; its fields as recorded.
    assert again.confidence is None and again.fields["phone"] == "021-5555-0101"
    assert sorted((tmp_path / "blobs").rglob("*")) == stored


def test_bad_files_with_bytes_are_kept_for_an_agent(app: Ledgerdesk, intake: FaxIntake) -> None:
    with pytest.raises(FaxUnreadable) as empty:
        intake.record(b"", "empty.tif")
    assert empty.value.recorded is None
    with pytest.raises(FaxUnreadable, match="truncated") as truncated:
        intake.record(one_page(FormFields())[:2500], "cut.tif", sender_number="010-7777-1111")
    assert truncated.value.recorded is not None
    request = app.service_request(truncated.value.recorded.reference)
    assert request.unverified_faxes


def test_the_watched_folder_survives_a_crash_between_claim_and_record(
    app: Ledgerdesk, intake: FaxIntake, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    folder = FaxFolder(inbox, intake, settle=0)
    folder.prepare()
    (inbox / "fax1.tif").write_bytes(one_page(FormFields(reference="")))
    (inbox / "bad.pdf").write_bytes(encrypted_pdf())
    (inbox / "partial.tif.part").write_bytes(b"still arriving")
    assert folder.claim(inbox / "fax1.tif") is not None  # ... and the process dies here

    report = FaxFolder(inbox, intake, settle=0).pass_once()  # the next process
    assert [name for name, _ in report.recorded] == ["fax1.tif"]
    assert (inbox / "done" / "fax1.tif").exists() and not any((inbox / "working").iterdir())
    assert "encrypted" in (inbox / "failed" / "bad.pdf.reason").read_text()
    assert (inbox / "partial.tif.part").exists()

    # A crash after the record but before the move: picked up again, recorded once.
    reference = report.recorded[0][1]
    (inbox / "done" / "fax1.tif").rename(inbox / "working" / "fax1.tif")
    report = FaxFolder(inbox, intake, settle=0).pass_once()
    assert report.recorded == [("fax1.tif", reference)]
    assert len(app.service_request(reference).faxes) == 1
    faxes = [e for e in app.store.events(app.service_request(reference).id)
             if type(e).__name__ == "FaxReceived"]
    assert len(faxes) == 1


@pytest.fixture
def api(store: Database, app: Ledgerdesk, intake: FaxIntake, tmp_path: Path
        ) -> Iterator[tuple[TestClient, str, ReadModels]]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    app.handle(AddUser("agent@desk.cn", ["agent"], actor="t"))
    token = app.handle(IssueToken("agent@desk.cn", actor="t"))
    models = open_read_models(settings, app)
    routes = gateway_routes(app, intake, max_bytes=2 * 1024 * 1024)
    with TestClient(create_app(app, models, channel_routes=routes)) as client:
        yield client, token, models
    models.close()


def test_gateway_upload_then_verification_with_a_correction(api: Any, app: Ledgerdesk) -> None:
    client, token, models = api
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/upload", content=b"x").status_code == 401
    assert client.post("/upload", content=b"x" * (3 * 1024 * 1024),
                       headers=auth).status_code == 413
    # A stranger's fax whose customer code was misread: nobody matches it.
    data = one_page(FormFields(reference="", customer_code="HUAX1N"))
    response = client.post("/upload?from=0755-8888-2222&filename=f.tif", content=data,
                           headers=auth)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["fields"]["sender_number"] == "0755-8888-2222"
    waiting = body["reference"]
    for projector in models.projectors:
        projector.catch_up()
    queue = client.get("/api/v1/inbox?queue=fax_verification", headers=auth).json()["items"]
    assert [item["reference"] for item in queue] == [waiting]
    timeline = client.get(f"/api/v1/service-requests/{waiting}", headers=auth).json()["timeline"]
    fax = next(e for e in timeline if e["kind"] == "fax")
    assert NO_CUSTOMER in fax["data"]["verification_reasons"]
    assert [a["content_type"] for a in fax["attachments"]] == ["image/tiff", "image/png"]

    request = app.service_request(waiting)
    external_id = request.unverified_faxes[0]
    filed = app.handle(CorrectFax(waiting, external_id, {"customer_code": "HUAXIN"},
                                  actor="agent@desk.cn", confirm=True))
    assert filed != waiting and app.service_request(filed).customer_code == "HUAXIN"
    source = app.service_request(waiting)
    assert source.status == "closed" and not source.unverified_faxes
    for projector in models.projectors:
        projector.catch_up()
    assert client.get("/api/v1/inbox?queue=fax_verification", headers=auth).json()["items"] == []
    timeline = client.get(f"/api/v1/service-requests/{waiting}", headers=auth).json()["timeline"]
    kinds = [e["kind"] for e in timeline]
    assert "fax_correction" in kinds and "fax_verified" in kinds
    # The OCR text and image stay where they arrived; the filed copy reads the same.
    original = next(e for e in timeline if e["kind"] == "fax")
    copy = next(e for e in client.get(f"/api/v1/service-requests/{filed}",
                                      headers=auth).json()["timeline"] if e["kind"] == "fax")
    assert copy["body"] == original["body"] and copy["data"]["filed_from"] == waiting
    assert io.BytesIO(data).getbuffer().nbytes == original["attachments"][0]["size"]
