"""The attendant console: web pages for the people behind self-service (docs/console.md)."""
