"""SLA: targets in business time, and the commands the timers issue (policies.sla_timers)."""
