"""The spare-parts context (备件库, seed 002): receive, issue, return, consume."""
