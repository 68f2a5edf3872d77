"""The console's fax verification queue, on SQLite and PostgreSQL: a fax the
domain could not place waits at /console/faxes with its page image and OCR
text; an agent's correction files it on the right request and it leaves the
queue; a refused correction says why and keeps what was typed; customers are
kept out; what OCR read is shown as text, never run.

The fax is recorded through the domain (RecordFax) with a page drawn here by
Pillow and the OCR result given outright: Tesseract's accuracy is
test_fax.py's business, and this keeps the suite fast.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from starlette.applications import Starlette
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import LinkIdentity, RegisterCustomer
from domain.requests.commands import FaxPage, OpenRequest, RecordFax
from domain.users.commands import AddUser
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.access_log import open_access_log
from projections.registry import ReadModels, open_read_models
from tests.integration.test_console import SCRIPT
from tests.support.desks import PASSWORD, csrf_of, sign_in

AGENT, CUSTOMER = "agent@desk.cn", "li@huaxin.cn"
SENDER = "0755-8888-2222"


def page_png(text: str) -> bytes:
    """A small fax-like page: black text on white, as a PNG."""
    image = Image.new("L", (240, 320), 255)
    ImageDraw.Draw(image).text((12, 12), text, fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class FaxDesk:
    def __init__(self, app: Ledgerdesk, models: ReadModels, asgi: Starlette, target: str,
                 waiting: str, external_id: str, png: bytes) -> None:
        self.app, self.models, self.asgi = app, models, asgi
        self.target, self.waiting, self.external_id, self.png = target, waiting, external_id, png

    def project(self) -> None:
        for projector in self.models.projectors:
            projector.catch_up()

    def browser(self, email: str) -> TestClient:
        client = TestClient(self.asgi)
        assert sign_in(client, email).status_code == 303
        return client


@pytest.fixture
def desk(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[FaxDesk]:
    app.handle(AddUser(AGENT, ["agent"], actor="setup", name="Agent", password=PASSWORD))
    app.handle(RegisterCustomer("HUAXIN", "华信精密机械有限公司", actor="setup"))
    app.handle(AddUser(CUSTOMER, ["customer"], actor="setup", customer_code="HUAXIN",
                       password=PASSWORD))
    target = app.handle(OpenRequest("HUAXIN", "repair", "主轴异响", actor="setup"))
    blobs = BlobStore(tmp_path / "b", 1024 * 1024)
    png = page_png("HUAX1N SR-0OO123")
    text = f"客户代码 HUAX1N\n服务单 SR-0OO123\n主轴异响 {SCRIPT}"
    # A misread customer code and reference: nobody matches, an agent must look.
    recorded = app.handle(RecordFax(FaxPage(
        external_id=hashlib.sha256(png).hexdigest(), sender_number=SENDER,
        image=blobs.put(png, "fax.png", "image/png"), ocr_text=text, confidence=71.5, pages=1,
        extracted={"reference": "SR-0OO123", "customer_code": "HUAX1N",
                   "phone": "010-6588-1234", "sender_number": SENDER},
        page_texts=(text,), page_confidences=(71.5,),
        previews=(blobs.put(png, "page-1.png", "image/png"),))))
    waiting = recorded.reference
    [external_id] = app.service_request(waiting).unverified_faxes
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    log = open_access_log(tmp_path, models.datastore)
    asgi = create_app(app, models, access_log=log, secret_key="test-secret", blobs=blobs)
    d = FaxDesk(app, models, asgi, target, waiting, external_id, png)
    d.project()
    yield d
    log.close()
    models.close()


def verify_form(desk: FaxDesk, html: str, confirm: bool = True, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_of(html), "external_id": desk.external_id,
            "confirm": "1" if confirm else "", "reference": "", "customer_code": "",
            "phone": "", "serial": "", "sender_number": SENDER, **fields}


def test_the_queue_shows_the_page_beside_the_text_and_a_correction_files_it(
    desk: FaxDesk
) -> None:
    agent = desk.browser(AGENT)
    queue = agent.get("/console/faxes?lang=en")
    assert queue.status_code == 200
    html = queue.text
    assert f'data-reference="{desk.waiting}"' in html and 'data-action="verify-fax"' in html
    assert 'value="HUAX1N"' in html and 'value="SR-0OO123"' in html  # prefilled as read
    assert "71.5 %" in html and "主轴异响" in html
    assert re.search(r'href="/console/faxes"[^>]*data-queue="fax_verification">\s*'
                     r'<span>Fax to verify</span><span class="count">1</span>', html)
    images = re.findall(rf'<img src="(/console/requests/{desk.waiting}/attachments/\d+)"', html)
    assert images, "the page image is not shown"
    shown = agent.get(images[0])
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert shown.content == desk.png

    answer = agent.post(f"/console/faxes/{desk.waiting}/verify", follow_redirects=False,
                        data=verify_form(desk, html, reference=desk.target,
                                         customer_code="HUAXIN", phone="010-6588-1234",
                                         serial="HX-4471-A"))
    assert answer.status_code == 303 and answer.headers["location"] == "/console/faxes"
    after = agent.get("/console/faxes?lang=en").text
    assert f'data-reference="{desk.waiting}"' not in after
    assert "No fax waits for verification." in after and "Fax verified and filed." in after

    # The fax is on the request its fields name, as a card: first page beside the text.
    filed = desk.app.service_request(desk.target)
    assert filed.faxes[desk.external_id]["verified"]
    assert filed.faxes[desk.external_id]["fields"]["serial"] == "HX-4471-A"
    assert desk.app.service_request(desk.waiting).status == "closed"
    page = agent.get(f"/console/requests/{desk.target}?lang=en").text
    card = page[page.index('data-kind="fax"'):]
    card = card[:card.index("</li>")]
    thumb = re.search(rf'class="fax-thumb" href="/console/requests/{desk.target}/attachments/'
                      r'(\d+)"><img src="[^"]+"', card)
    assert thumb, card
    assert agent.get(f"/console/requests/{desk.target}/attachments/{thumb.group(1)}"
                     ).content == desk.png
    assert "服务单 SR-0OO123" in card and "Filed from" in card
    # Where it arrived, the correction and the confirmation are in the history.
    source = agent.get(f"/console/requests/{desk.waiting}?lang=en").text
    assert 'data-kind="fax_correction"' in source and 'data-kind="fax_verified"' in source
    assert "Fax corrected" in source and f'href="/console/requests/{desk.target}"' in source


def test_a_wrong_reference_is_said_beside_the_form_and_what_was_typed_stays(
    desk: FaxDesk
) -> None:
    agent = desk.browser(AGENT)
    html = agent.get("/console/faxes?lang=en").text
    before = desk.app.service_request(desk.waiting).version
    refused = agent.post(f"/console/faxes/{desk.waiting}/verify",
                         data=verify_form(desk, html, reference="SR-999999",
                                          customer_code="HUAXIN", phone="021-1234-5678"))
    assert refused.status_code == 422
    form = refused.text[refused.text.index('data-action="verify-fax"'):]
    form = form[:form.index("</form>")]
    assert "no service request" in form and 'role="alert"' in form
    for typed in ("SR-999999", "HUAXIN", "021-1234-5678"):
        assert f'value="{typed}"' in form
    assert desk.app.service_request(desk.waiting).version == before  # nothing written

    # Saving without confirming keeps it in the queue, with the corrected fields.
    saved = agent.post(f"/console/faxes/{desk.waiting}/verify", follow_redirects=False,
                       data=verify_form(desk, html, confirm=False, customer_code="HUAXIN"))
    assert saved.status_code == 303
    again = agent.get("/console/faxes?lang=en").text
    assert "Corrections saved." in again and f'data-reference="{desk.waiting}"' in again
    assert 'value="HUAXIN"' in again and 'value="HUAX1N"' not in again
    assert not desk.app.service_request(desk.waiting).faxes[desk.external_id]["verified"]


def test_customers_are_kept_out_and_unknown_requests_are_404(desk: FaxDesk) -> None:
    customer = desk.browser(CUSTOMER)
    assert customer.get("/console/faxes").status_code == 403
    token = csrf_of(customer.get("/portal").text)
    assert customer.post(f"/console/faxes/{desk.waiting}/verify",
                         data={"csrf_token": token, "external_id": desk.external_id,
                               "customer_code": "HUAXIN", "confirm": "1"}).status_code == 403
    assert desk.app.service_request(desk.waiting).unverified_faxes

    agent = desk.browser(AGENT)
    token = csrf_of(agent.get("/console/faxes").text)
    assert agent.post("/console/faxes/SR-999999/verify",
                      data={"csrf_token": token, "external_id": "x"}).status_code == 404
    assert agent.post(f"/console/faxes/{desk.waiting}/verify",
                      data={"external_id": desk.external_id, "confirm": "1"}
                      ).status_code == 403  # no CSRF token


def test_what_ocr_read_is_shown_as_text_never_run(desk: FaxDesk) -> None:
    agent = desk.browser(AGENT)
    for path in ("/console/faxes", f"/console/requests/{desk.waiting}"):
        html = agent.get(path).text
        assert SCRIPT not in html, path
        assert "&lt;script&gt;" in html, path


def test_a_wrongly_read_field_can_be_cleared_and_the_text_and_image_stay(
    desk: FaxDesk
) -> None:
    agent = desk.browser(AGENT)
    html = agent.get("/console/faxes?lang=en").text
    assert "Empty a field to remove a wrongly read value." in html
    before = desk.app.service_request(desk.waiting).faxes[desk.external_id]["fields"]
    assert before["reference"] == "SR-0OO123" and before["phone"] == "010-6588-1234"
    # The misread reference emptied, the phone kept: saved without confirming.
    saved = agent.post(f"/console/faxes/{desk.waiting}/verify", follow_redirects=False,
                       data=verify_form(desk, html, confirm=False, reference="",
                                        customer_code="HUAXIN", phone="010-6588-1234"))
    assert saved.status_code == 303
    request = desk.app.service_request(desk.waiting)
    fields = request.faxes[desk.external_id]["fields"]
    assert "reference" not in fields and fields["customer_code"] == "HUAXIN"
    assert fields["phone"] == "010-6588-1234"
    [correction] = [e for e in desk.app.store.events(request.id)
                    if type(e).__name__ == "FaxCorrected"]
    assert correction.corrections == {"reference": "", "customer_code": "HUAXIN"}
    desk.project()
    again = agent.get("/console/faxes?lang=en").text
    form = again[again.index('data-action="verify-fax"'):]
    form = form[:form.index("</form>")]
    assert re.search(r'name="reference" value=""', form) and 'value="SR-0OO123"' not in form
    history = agent.get(f"/console/requests/{desk.waiting}?lang=en").text
    entry = history[history.index('data-kind="fax_correction"'):]
    entry = entry[:entry.index("</li>")]
    assert "<em>cleared</em>" in entry and "HUAXIN" in entry
    # The OCR text and the page image are as they arrived.
    fax = next(e for e in desk.app.store.events(request.id) if type(e).__name__ == "FaxReceived")
    assert "SR-0OO123" in fax.ocr_text and fax.extracted["reference"] == "SR-0OO123"
    images = re.findall(rf'<img src="(/console/requests/{desk.waiting}/attachments/\d+)"', again)
    assert agent.get(images[0]).content == desk.png

    # Confirmed without a reference: filed on a new request of the customer, not the
    # request the misread reference might have named.
    agent.post(f"/console/faxes/{desk.waiting}/verify", follow_redirects=False,
               data=verify_form(desk, again, reference="", customer_code="HUAXIN"))
    source = desk.app.service_request(desk.waiting)
    assert source.faxes[desk.external_id]["verified"] and source.status == "closed"
    assert desk.external_id not in desk.app.service_request(desk.target).faxes


def test_a_fax_customer_without_an_email_address_is_flagged_call_back(desk: FaxDesk) -> None:
    agent = desk.browser(AGENT)
    page = agent.get(f"/console/requests/{desk.waiting}?lang=en").text
    flag = re.search(r'<p class="call-back" role="status" data-call-back="([^"]+)">', page)
    assert flag and flag.group(1) == "010-6588-1234", "the callback phone read from the fax"
    assert 'href="tel:010-6588-1234"' in page and "call them back" in page
    # ... and the domain refuses the reply, as the flag says.
    token = csrf_of(page)
    refused = agent.post(f"/console/requests/{desk.waiting}/reply",
                         data={"csrf_token": token, "body": "我们会尽快处理。", "channel": ""})
    assert refused.status_code == 422 and "call the customer instead" in refused.text

    # The callback phone cleared by an agent: the sender's number is the one to ring.
    html = agent.get("/console/faxes?lang=en").text
    agent.post(f"/console/faxes/{desk.waiting}/verify",
               data=verify_form(desk, html, confirm=False, customer_code="HUAX1N"))
    desk.project()
    page = agent.get(f"/console/requests/{desk.waiting}?lang=en").text
    assert f'data-call-back="{SENDER}"' in page

    # A customer with an email address gets replies by email: no flag.
    customer = desk.app.service_request(desk.waiting).customer_code
    desk.app.handle(LinkIdentity(customer, "email", "fax.sender@huaxin.cn", actor="setup"))
    desk.project()
    page = agent.get(f"/console/requests/{desk.waiting}?lang=en").text
    assert 'class="call-back"' not in page
    # A request that did not come by fax is not flagged either.
    assert 'class="call-back"' not in agent.get(f"/console/requests/{desk.target}").text
