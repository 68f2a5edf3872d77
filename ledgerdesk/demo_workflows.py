"""Demo data for complaints (投诉), urging (催办) and reminders (预约提示): the
teams complaints are routed to, an urge and a reminder for the demo agent.
(No complaint request of its own: the other demo figures, which tests rely
on, stay as they are; open one with type "complaint" to try the panel.)"""

from __future__ import annotations

from datetime import timedelta

from domain.application import Ledgerdesk
from domain.errors import AlreadyExists
from domain.reminders.commands import SetReminder
from domain.requests.commands import Urge
from domain.teams.commands import AddTeamMember, CreateTeam

ACTOR = "demo-loader"
AGENT, MANAGER = "agent@ledgerdesk.example", "manager@ledgerdesk.example"
TEAMS = (("hotline", "热线 Hotline", AGENT), ("quality", "质量部 Quality", MANAGER),
         ("complaints", "投诉组 Complaints", AGENT))


def load(app: Ledgerdesk, held: str) -> None:
    """`held`: a request the demo agent holds, to urge and set a reminder on."""
    for code, name, member in TEAMS:
        try:
            app.handle(CreateTeam(code, name, actor="admin@ledgerdesk.example"))
            app.handle(AddTeamMember(code, member, actor="admin@ledgerdesk.example"))
        except AlreadyExists:  # another part of the demo made it
            pass
    app.handle(Urge(held, "客户已第二次来电，请今天下班前给出上门时间。", actor=MANAGER))
    app.handle(SetReminder(held, app.clock.now() + timedelta(days=1),
                           "回访李伟，确认卡纸问题已解决", actor=MANAGER, for_user=AGENT))
