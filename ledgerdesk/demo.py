"""Demo data: a small, realistic service desk in Chinese and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain import ids
from domain.aggregates.user import User
from domain.application import Ledgerdesk
from domain.customers.commands import (
    AddContact,
    AssignRepresentative,
    GrantModules,
    RegisterCustomer,
)
from domain.installed_base.commands import ChangeProductStatus, RegisterProduct
from domain.knowledge.commands import (
    ApproveArticle,
    DraftArticle,
    PublishArticle,
    SubmitArticle,
)
from domain.quality.commands import RaiseQualityCase
from domain.requests.commands import (
    AddNote,
    Assign,
    ChangeStatus,
    Escalate,
    InboundMessage,
    LogCall,
    OpenRequest,
    QueueReply,
    RecordInbound,
)
from domain.returns.commands import Diagnose, Judge
from domain.teams.commands import AddTeamMember, CreateTeam
from domain.users.commands import AddUser, IssueToken
from ledgerdesk import demo_account, demo_field, demo_workflows

DEMO_PASSWORD = "ledgerdesk-demo"
ACTOR = "demo-loader"
# The login whose token the README's API examples use: an agent sees the inbox,
# the 360 and the knowledge base.
API_EXAMPLE_LOGIN = "agent@ledgerdesk.example"


def is_empty(app: Ledgerdesk) -> bool:
    return not app.recorder.max_notification_id()


def has_demo_logins(app: Ledgerdesk) -> bool:
    return app.store.find(User, *ids.user_ids(API_EXAMPLE_LOGIN)) is not None


ENGINEER = "engineer@ledgerdesk.example"


def load(app: Ledgerdesk) -> dict[str, str]:
    """Loads the demo; returns each demo login and its API token."""
    app.handle(RegisterCustomer(
        "HUAXIN", "华信精密机械有限公司", actor=ACTOR, classification="key_account",
        identities=[("email", "li.wei@huaxin.example.cn"), ("phone", "+86 10 6655 0101"),
                    ("fax", "+86 10 6655 0199")],
        profile={"region": "华北", "address": "北京市海淀区中关村南大街 5 号"},
    ))
    app.handle(RegisterCustomer(
        "NORDIC", "Nordic Print Services AB", actor=ACTOR, classification="dealer",
        identities=[("email", "anna@nordicprint.example.com"), ("telegram", "5550101")],
    ))
    # A dealer (seed 003): its people use the modules an admin granted, not all of them.
    app.handle(GrantModules("NORDIC", ["requests", "products", "knowledge"], actor=ACTOR))
    app.handle(AddContact("HUAXIN", "李伟", actor=ACTOR, department="设备科", phone="13800000001",
                    email="li.wei@huaxin.example.cn"))
    logins = {
        "admin@ledgerdesk.example": ["admin"],
        "agent@ledgerdesk.example": ["agent"],
        "engineer@ledgerdesk.example": ["engineer"],
        "manager@ledgerdesk.example": ["manager"],
        "auditor@ledgerdesk.example": ["auditor"],
        "li.wei@huaxin.example.cn": ["customer"],
    }
    tokens = {}
    for email, roles in logins.items():
        customer = "HUAXIN" if roles == ["customer"] else None
        app.handle(AddUser(email, roles, actor=ACTOR, customer_code=customer,
                           password=DEMO_PASSWORD))
        tokens[email] = app.handle(IssueToken(email, actor=ACTOR, label="demo"))
    app.handle(AssignRepresentative("HUAXIN", "agent@ledgerdesk.example", actor=ACTOR))
    # Two of the desk's functions, for /console/teams and transfers (routing stays off
    # without a [routing] table).
    for code, name, members in (("hotline", "热线", ["agent@ledgerdesk.example"]),
                                ("field", "现场服务", ["engineer@ledgerdesk.example"])):
        app.handle(CreateTeam(code, name, actor=ACTOR))
        for member in members:
            app.handle(AddTeamMember(code, member, actor=ACTOR))
    # `make run` has no SMTP relay: the demo's reply then goes to the portal, which
    # always delivers, instead of being refused as undeliverable by email.
    reply_channel = "email" if "email" in app.store.reply_channels else "web"
    app.handle(RegisterProduct(
        "MX3000-2024-00817", "MX-3000", "HUAXIN", actor=ACTOR, name="激光复印打印一体机",
        install_address="北京市海淀区中关村南大街 5 号 3 层", installed_on="2024-03-18",
        warranty_until="2027-03-17", configuration={"paper_trays": "A3+A4", "firmware": "4.2.1"},
        maintainer="engineer@ledgerdesk.example",
    ))
    app.handle(RegisterProduct("CH500-7781", "CH-500", "HUAXIN", actor=ACTOR, name="工业冷水机",
                         installed_on="2021-06-01", warranty_until="2024-05-31"))
    app.handle(ChangeProductStatus("CH500-7781", "faulty", actor="engineer@ledgerdesk.example",
                              reason="压缩机异响"))
    app.handle(RegisterProduct("NX220-0042", "NX-220", "NORDIC", actor=ACTOR,
                         install_address="Sveavägen 12, Stockholm", warranty_until="2028-01-31"))

    now = datetime.now(UTC)
    jam = app.handle(RecordInbound(InboundMessage(
        channel="email", external_id="<demo-1@huaxin.example.cn>",
        sender="li.wei@huaxin.example.cn", sender_name="李伟", subject="MX-3000 复印机频繁卡纸",
        body="您好，我们的 MX-3000 复印机这周每天都卡纸，错误代码 J-17。请尽快安排工程师。",
        occurred_at=now - timedelta(hours=5),
    ))).reference
    app.handle(Assign(jam, "agent@ledgerdesk.example", actor="manager@ledgerdesk.example"))
    app.handle(QueueReply(jam, "李先生您好，已收到。请先检查搓纸轮是否有纸屑，"
                         "我们的工程师明天上午联系您。", actor="agent@ledgerdesk.example",
                          channel=reply_channel))
    app.handle(AddNote(jam, "保修期内，安排上门服务。", actor="agent@ledgerdesk.example"))
    app.handle(RaiseQualityCase(jam, "repair", "MX-3000", "B2024-03",
                                "搓纸轮三个月即磨损，J-17 卡纸反复出现", actor=ENGINEER))
    app.handle(LogCall("demo-call-1", "inbound", "+86 10 6655 0101", now - timedelta(hours=2),
                 actor="agent@ledgerdesk.example", notes="客户来电催办，工程师已出发。",
                 reference=jam, ended_at=now - timedelta(hours=2) + timedelta(minutes=4)))
    toner = app.handle(RecordInbound(InboundMessage(
        channel="telegram", external_id="demo-update-1", sender="5550101",
        sender_name="Anna", body="Hi, the toner cartridges from order 4471 arrived damaged. "
        "Can we get a replacement?", request_type="return",
    ))).reference
    app.handle(Escalate(toner, "Dealer return needs manager approval",
                        actor="agent@ledgerdesk.example"))
    # The return (退换货): diagnosed and judged, waiting for the manager's approval.
    app.handle(Diagnose(toner, "cartridge housings cracked in transit", actor=ENGINEER,
                        findings="Outer box crushed on one corner; 3 of 10 cartridges leak."))
    app.handle(Judge(toner, "exchange", "Transport damage on delivery of order 4471",
                     actor="agent@ledgerdesk.example"))
    app.handle(RecordInbound(InboundMessage(
        channel="email", external_id="<demo-2@unknown.example.com>",
        sender="buyer@unknown.example.com", subject="Quote for annual maintenance",
        body="Could you send a quote for an annual maintenance contract for 12 printers?",
        request_type="inquiry",
    )))
    manual = app.handle(OpenRequest("HUAXIN", "document", "索取 MX-3000 维修手册", actor=ACTOR,
                              channel="web", product="MX3000-2024-00817"))
    app.handle(ChangeStatus(manual, "resolved", actor="agent@ledgerdesk.example",
                      reason="已通过邮件发送 PDF 手册"))
    _knowledge(app)
    demo_account.load(app)  # HUAXIN's orders, shipments, invoices, payments, returns
    demo_workflows.load(app, jam)  # teams, an urge and a reminder
    demo_field.load(app, jam)  # spare parts, a service agreement, the jam's intake
    return tokens


def _knowledge(app: Ledgerdesk) -> None:
    """Two articles written by the agent and approved by the manager, one waiting
    in the manager's review queue, and one imported as published (the older way)."""
    agent, manager = "agent@ledgerdesk.example", "manager@ledgerdesk.example"
    articles = [
        ("KB-0001", "MX-3000 复印机卡纸 (J-17) 处理方法", "solution", "MX-3000", ["卡纸", "J-17"],
         "zh", [("symptom", "面板显示 J-17，纸张卡在定影单元前"),
                ("cause", "搓纸轮沾有纸屑或磨损"),
                ("solution", "打开前盖，取出卡住的纸张"),
                ("solution", "检查搓纸轮是否有纸屑并清洁"),
                ("solution", "如仍卡纸，更换搓纸轮（备件号 PR-3000-17）")]),
        ("KB-0002", "Toner cartridge damaged on delivery", "faq", None, ["return", "toner"],
         "en", [("question", "The toner cartridge arrived damaged. What do I do?"),
                ("answer", "Photograph the damage and the box"),
                ("answer", "Open a return request with the order number"),
                ("answer", "A replacement ships after manager approval")]),
        ("KB-0003", "CH500 冷水机组高压报警", "countermeasure", "CH500", ["报警"],
         "zh", [("symptom", "机组停机，面板显示高压报警 HP"),
                ("cause", "冷凝器翅片积灰，散热不良"),
                ("solution", "清洗冷凝器翅片后复位报警")]),
    ]
    for article_id, title, kind, product, tags, language, statements in articles:
        app.handle(DraftArticle(title, kind, agent, article_id=article_id, product=product,
                                tags=tags, language=language,
                                statements=[{"kind": k, "text": t} for k, t in statements]))
        app.handle(SubmitArticle(article_id, agent))
        if article_id != "KB-0003":  # this one waits in the review queue
            app.handle(ApproveArticle(article_id, manager))
    app.handle(PublishArticle("KB-0004", "如何查询保修状态", "在门户“我的产品”中查看保修截止日期\n"
                              "或拨打服务热线并提供序列号", "faq", actor=ACTOR, tags=["保修"]))
