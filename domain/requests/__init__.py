"""Service requests: messages in every channel, replies, notes, calls, status, assignment."""
