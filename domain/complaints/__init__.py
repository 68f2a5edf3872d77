"""Complaints (投诉, seeds 001 and 003): register, classify, route, handle, review, answer."""
