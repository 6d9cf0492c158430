"""Renderers: text tables, Markdown, JSON; diagrams later."""
