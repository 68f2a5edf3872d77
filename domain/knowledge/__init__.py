"""Knowledge: articles made of short statements, and resolved requests turned into knowledge."""
