"""The routing context: where a new request goes (domain.aggregates.routing)."""
