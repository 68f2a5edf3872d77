"""The web channel: Starlette.  HTTP commands (the JSON command endpoints under
/api/v1 and the CTI webhook), and later the agent console, the customer portal
and web chat.  It turns requests into domain commands; it reads nothing but
the projections' query functions."""
