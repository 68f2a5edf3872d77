"""Staff notifications: what an urge (催办) or a reminder tells a person, in the
console and by mail."""
